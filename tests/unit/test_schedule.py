"""Cron expressions, the schedule file, per-job locks (no overlap, also across processes) and the
scheduler loop on a fake clock."""
from __future__ import annotations

import random
import subprocess
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from controller.model.source import InputError
from controller.services import schedule as sched
from controller.services.schedule import Cron, Job, Schedule

WEEKDAY = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]


@pytest.mark.parametrize("expr,field,values", [
    ("*/15 * * * *", "minutes", {0, 15, 30, 45}),
    ("5,10-12 * * * *", "minutes", {5, 10, 11, 12}),
    ("0 9-17/4 * * *", "hours", {9, 13, 17}),
    ("0 22/1 * * *", "hours", {22, 23}),
    ("0 0 * jan,jun-aug *", "months", {1, 6, 7, 8}),
    ("0 0 * * mon-fri", "weekdays", {1, 2, 3, 4, 5}),
    ("0 0 * * 7", "weekdays", {0}),
    ("@hourly", "minutes", {0}),
])
def test_fields_expand(expr: str, field: str, values: set[int]) -> None:
    assert getattr(Cron.parse(expr), field) == values


@pytest.mark.parametrize("expr,start,expected", [
    ("0 0 29 2 *", "2023-03-01 00:00", "2024-02-29 00:00"),  # leap day
    ("*/15 9-17 * * mon-fri", "2024-05-03 17:50", "2024-05-06 09:00"),  # Fri -> Mon
    ("0 12 1 * 1", "2024-01-02 00:00", "2024-01-08 12:00"),  # dom OR dow: next Monday
    ("0 12 1 * 1", "2024-01-30 13:00", "2024-02-01 12:00"),  # ... or the 1st
    ("30 2 * * 7", "2024-05-05 02:30", "2024-05-12 02:30"),  # 7 = Sunday, strictly after
    ("@monthly", "2024-12-31 23:59", "2025-01-01 00:00"),
    ("59 23 31 12 *", "2024-01-01 00:00", "2024-12-31 23:59"),
])
def test_next_after_known_answers(expr: str, start: str, expected: str) -> None:
    got = Cron.parse(expr).next_after(datetime.fromisoformat(start))
    assert got == datetime.fromisoformat(expected)


def _hit(spec: str, value: int, low: int) -> bool:
    if spec == "*":
        return True
    if spec.startswith("*/"):
        return (value - low) % int(spec[2:]) == 0
    return value in {int(x) for x in spec.split(",")}


def naive_day(expr: str, t: datetime) -> bool:
    """An independent matcher for the subset used below: lists and steps of numbers only."""
    _, _, dom, mon, dow = expr.split()
    day_dom, day_dow = _hit(dom, t.day, 1), _hit(dow, t.isoweekday() % 7, 0)
    day = (day_dom and day_dow) if "*" in (dom[0], dow[0]) else (day_dom or day_dow)
    return _hit(mon, t.month, 1) and day


def naive_match(expr: str, t: datetime) -> bool:
    m, h = expr.split()[:2]
    return _hit(m, t.minute, 0) and _hit(h, t.hour, 0) and naive_day(expr, t)


def test_next_after_matches_a_brute_force_scan() -> None:
    rng = random.Random(7)
    choices = {0: ["*", "*/7", "0", "5,35"], 1: ["*", "*/5", "3", "0,12"],
               2: ["*", "1", "15,31", "*/10"], 3: ["*", "2", "*/4", "6,12"],
               4: ["*", "0", "1,5", "*/3"]}
    for _ in range(40):
        expr = " ".join(rng.choice(choices[i]) for i in range(5))
        cron = Cron.parse(expr)
        t = datetime(2024, 1, 1) + timedelta(minutes=rng.randrange(400 * 24 * 60))
        got = cron.next_after(t)
        scan = t.replace(second=0) + timedelta(minutes=1)
        while not naive_match(expr, scan):  # minute by minute, skipping days that cannot match
            scan = scan + timedelta(minutes=1) if naive_day(expr, scan) else (
                scan.replace(hour=0, minute=0) + timedelta(days=1))
        assert got == scan, expr


@pytest.mark.parametrize("expr,fragment", [
    ("* * * *", "needs 5 fields"),
    ("60 * * * *", "minute: 60 is outside 0-59"),
    ("* 24 * * *", "hour: 24 is outside 0-23"),
    ("* * 0 * *", "day of month: 0 is outside 1-31"),
    ("* * * 13 *", "month: 13 is outside 1-12"),
    ("* * * * fri-mon", "day of week: range 'fri-mon' runs backwards"),
    ("*/0 * * * *", "minute: step '0' must be a positive number"),
    ("x * * * *", "minute: 'x' is not a number"),
])
def test_bad_expressions_name_the_field(expr: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment.replace("*", r"\*")):
        Cron.parse(expr)


def test_never_matching_expression_is_rejected() -> None:
    with pytest.raises(ValueError, match="never matches"):
        Cron.parse("0 0 30 2 *").next_after(datetime(2024, 1, 1))


GOOD = """lock_dir: {locks}
jobs:
  compliance:
    cron: "*/15 * * * *"
    task: compliance
    args: [--inventory, /run/ngk/ngk/inventory, --html, /tmp/c.html]
  uptime:
    cron: "* * * * *"
    task: uptime
    timeout: 50
"""


def test_load_schedule(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(GOOD.format(locks=tmp_path / "locks"))
    plan = sched.load_schedule(path)
    assert plan.lock_dir == tmp_path / "locks"
    jobs = {j.name: j for j in plan.jobs}
    assert jobs["compliance"].argv == ["compliance", "--inventory", "/run/ngk/ngk/inventory",
                                       "--html", "/tmp/c.html"]
    assert jobs["uptime"].argv == ["monitor", "--once"] and jobs["uptime"].timeout == 50


def test_documented_example_loads() -> None:
    plan = sched.load_schedule(Path(__file__).resolve().parents[2] / "docs" /
                               "schedule.example.yaml")
    assert {j.name: j.task for j in plan.jobs} == {"compliance": "compliance",
                                                    "uptime": "uptime", "backup": "backup",
                                                    "discover": "discover"}


@pytest.mark.parametrize("body,path,line", [
    ("jobs:\n  a: {cron: '61 * * * *', task: uptime}\n", "jobs.a.cron", 2),
    ("jobs:\n  a: {cron: '* * * * *', task: reboot}\n", "jobs.a.task", 2),
    ("jobs:\n  a:\n    cron: '* * * * *'\n    task: uptime\n    timeout: -1\n",
     "jobs.a.timeout", 5),
    ("jobs:\n  a:\n    cron: '* * * * *'\n    task: uptime\n    when: now\n", "jobs.a.when", 5),
    ("jobs:\n  a: {cron: '0 0 31 4 *', task: uptime}\n", "jobs.a.cron", 2),
])
def test_bad_schedule_names_job_and_field(tmp_path: Path, body: str, path: str,
                                          line: int) -> None:
    file = tmp_path / "s.yaml"
    file.write_text(body)
    with pytest.raises(InputError) as exc:
        sched.load_schedule(file)
    assert [(d.path, d.line) for d in exc.value.diagnostics] == [(path, line)]


def job(name: str = "j", cron: str = "* * * * *") -> Job:
    return Job(name, Cron.parse(cron), "uptime")


def test_a_running_job_is_skipped_not_stacked(tmp_path: Path) -> None:
    plan = Schedule((job(),), tmp_path)
    release, started = threading.Event(), threading.Event()

    def slow(_job: Job) -> tuple[int, str]:
        started.set()
        release.wait(10)
        return 0, ""

    results: list[sched.JobRun] = []
    runner = sched.Scheduler(plan, runner=slow, on_result=results.append)
    first = runner.start(plan.jobs[0])
    assert started.wait(10)
    runner.start(plan.jobs[0]).join(10)
    assert [r.status for r in results] == ["skipped"]
    release.set()
    first.join(10)
    assert [r.status for r in results] == ["skipped", "ok"]
    assert sched.run_job(plan, plan.jobs[0], lambda _j: (4, "boom")).status == "failed"


def test_lock_held_by_another_process_skips(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl,sys,time; f=open(sys.argv[1],'a'); "
         "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(30)",
         str(tmp_path / "j.lock")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        ran = []
        result = sched.run_job(Schedule((job(),), tmp_path), job(),
                               lambda j: (ran.append(j), (0, ""))[1])
        assert result.status == "skipped" and not ran
    finally:
        holder.kill()
        holder.wait()
    assert sched.run_job(Schedule((job(),), tmp_path), job(), lambda j: (0, "")).status == "ok"


def test_run_ngk_runs_the_cli_and_enforces_the_timeout() -> None:
    code, out = sched.run_ngk(Job("h", Cron.parse("* * * * *"), "backup", ("--bogus",)))
    assert code == 2 and "--bogus" in out
    with pytest.raises(TimeoutError):
        sched.run_ngk(Job("h", Cron.parse("* * * * *"), "backup", ("--help",), 0.01))


class FakeClock(threading.Event):
    """stop.wait() lets the started jobs finish (as a real minute would) and then advances a
    fake clock instead of sleeping; stops after `minutes`."""

    def __init__(self, start: datetime, minutes: int) -> None:
        super().__init__()
        self.now, self.left = start, minutes
        self.threads: list[threading.Thread] = []

    def wait(self, timeout: float | None = None) -> bool:
        for thread in self.threads:
            thread.join(10)
        self.now += timedelta(seconds=timeout or 0)
        self.left -= 1
        if self.left < 0:
            self.set()
        return self.is_set()


def test_scheduler_starts_each_job_at_its_minutes(tmp_path: Path) -> None:
    jobs = (job("every5", "*/5 * * * *"), job("hourly", "0 * * * *"), job("odd", "7,31 1 * * *"))
    clock = FakeClock(datetime(2024, 3, 1, 0, 0, 20), 180)
    runs: list[sched.JobRun] = []
    scheduler = sched.Scheduler(Schedule(jobs, tmp_path), runner=lambda _j: (0, ""),
                                on_result=runs.append, now=lambda: clock.now)
    clock.threads = scheduler.threads
    scheduler.loop(clock)
    ran = [(r.job, datetime.fromisoformat(r.scheduled)) for r in runs if r.status == "ok"]
    assert len(ran) == len(runs)
    minutes = [datetime(2024, 3, 1) + timedelta(minutes=m) for m in range(1, 181)]
    expected = sorted((j.name, m) for m in minutes for j in jobs
                      if naive_match(j.cron.text, m))
    assert sorted(ran) == expected and len(expected) == 36 + 3 + 2
