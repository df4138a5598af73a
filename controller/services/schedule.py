"""Run ngk checks on cron schedules, unattended, one run of a job never overlapping itself.

A schedule file (YAML, see docs/compliance.md) names jobs; each has a 5-field cron expression,
a task (`compliance`, `uptime` = the monitor's one-shot cycle, `backup`) and that command's
arguments. Every run is a child `ngk` process (a crash or hang in one job cannot take the
scheduler down; `timeout` kills it). Before a run the job takes an exclusive non-blocking flock
on <lock_dir>/<job>.lock: if the previous run still holds it (in this process, another
scheduler, or a systemd-timer run) the new run is skipped and reported, never stacked.
"""
from __future__ import annotations

import fcntl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from controller.model.source import InputError, load_yaml

TASKS = {"compliance": ["compliance"], "uptime": ["monitor", "--once"], "backup": ["backup"],
         "discover": ["discover"]}
DEFAULT_LOCK_DIR = Path("/run/ngk/schedule")
_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12),
           ("day of week", 0, 7))
_NAMES = {3: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
          4: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]}
_MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
           "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
           "@hourly": "0 * * * *"}


@dataclass(frozen=True)
class Cron:
    """A parsed cron expression (Vixie semantics: when both day fields are restricted, a day
    matching either one matches; 0 and 7 are Sunday)."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool  # day-of-month field is `*`
    any_weekday: bool

    @classmethod
    def parse(cls, text: str) -> Cron:
        """Parse; ValueError names the field and what is wrong."""
        fields = _MACROS.get(text.strip().lower(), text).split()
        if len(fields) != 5:
            raise ValueError(f"cron expression {text!r} needs 5 fields "
                             "(minute hour day-of-month month day-of-week)")
        minutes, hours, days, months, dow = [_field(i, f) for i, f in enumerate(fields)]
        weekdays = frozenset(d % 7 for d in dow)
        return cls(text, minutes, hours, days, months, weekdays, fields[2].startswith("*"),
                   fields[4].startswith("*"))

    def day_matches(self, dt: datetime) -> bool:
        dom, dow = dt.day in self.days, (dt.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return dom and dow
        return dom or dow

    def matches(self, dt: datetime) -> bool:
        return (dt.minute in self.minutes and dt.hour in self.hours and dt.month in self.months
                and self.day_matches(dt))

    def next_after(self, dt: datetime) -> datetime:
        """The first matching minute strictly after `dt` (ValueError if none within 8 years)."""
        t = dt.replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = t + timedelta(days=8 * 366)
        while t < limit:
            if t.month not in self.months:
                t = (t.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
            elif not self.day_matches(t):
                t = t.replace(hour=0, minute=0) + timedelta(days=1)
            elif t.hour not in self.hours:
                t = t.replace(minute=0) + timedelta(hours=1)
            elif t.minute not in self.minutes:
                t += timedelta(minutes=1)
            else:
                return t
        raise ValueError(f"cron expression {self.text!r} never matches")


def _value(index: int, text: str) -> int:
    name, low, high = _FIELDS[index]
    names = _NAMES.get(index)
    if names and text.lower() in names:
        return names.index(text.lower()) + (1 if index == 3 else 0)
    if not text.isdigit():
        raise ValueError(f"{name}: {text!r} is not a number")
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"{name}: {value} is outside {low}-{high}")
    return value


def _field(index: int, text: str) -> frozenset[int]:
    name, low, high = _FIELDS[index]
    out: set[int] = set()
    for part in text.split(","):
        rng, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValueError(f"{name}: step {step_text!r} must be a positive number")
            step = int(step_text)
        if rng == "*":
            start, end = low, high
        elif "-" in rng:
            a, _, b = rng.partition("-")
            start, end = _value(index, a), _value(index, b)
            if start > end:
                raise ValueError(f"{name}: range {rng!r} runs backwards")
        else:
            start = _value(index, rng)
            end = high if step_text else start
        out.update(range(start, end + 1, step))
    return frozenset(out)


@dataclass(frozen=True)
class Job:
    name: str
    cron: Cron
    task: str
    args: tuple[str, ...] = ()
    timeout: float | None = 3600.0

    @property
    def argv(self) -> list[str]:
        return [*TASKS[self.task], *self.args]


@dataclass(frozen=True)
class Schedule:
    jobs: tuple[Job, ...]
    lock_dir: Path = DEFAULT_LOCK_DIR


def load_schedule(path: str | Path) -> Schedule:
    """Load and validate a schedule file; InputError names the job and field of every problem."""
    doc = load_yaml(path)
    data = doc.data if isinstance(doc.data, dict) else {}
    diags, jobs = [], []
    raw = data.get("jobs")
    if not isinstance(raw, dict) or not raw:
        raise InputError([doc.diag((), "a schedule file maps job names under 'jobs'")])
    for key in sorted(data.keys() - {"jobs", "lock_dir"}, key=str):
        diags.append(doc.diag((key,), f"unknown field {key!r}"))
    for name, spec in raw.items():
        where = ("jobs", name)
        if not isinstance(spec, dict):
            diags.append(doc.diag(where, "a job is a mapping (cron, task, args, timeout)"))
            continue
        for key in sorted(spec.keys() - {"cron", "task", "args", "timeout"}, key=str):
            diags.append(doc.diag(where + (key,), f"unknown field {key!r}"))
        try:
            cron = Cron.parse(str(spec.get("cron", "")))
            cron.next_after(datetime(2000, 1, 1))
        except ValueError as exc:
            diags.append(doc.diag(where + ("cron",), str(exc)))
            cron = None
        if spec.get("task") not in TASKS:
            diags.append(doc.diag(where + ("task",), f"task must be one of {', '.join(TASKS)}"))
        args = spec.get("args", [])
        if not isinstance(args, list) or not all(isinstance(a, (str, int, float)) for a in args):
            diags.append(doc.diag(where + ("args",), "args is a list of command-line words"))
            args = []
        timeout = spec.get("timeout", 3600)
        if timeout is not None and (not isinstance(timeout, (int, float)) or timeout <= 0):
            diags.append(doc.diag(where + ("timeout",), "timeout is a number of seconds > 0"))
        if cron is not None and spec.get("task") in TASKS:
            jobs.append(Job(str(name), cron, spec["task"], tuple(str(a) for a in args),
                            timeout))
    if not isinstance(data.get("lock_dir") or "", str):
        diags.append(doc.diag(("lock_dir",), "lock_dir is a directory path"))
    if diags:
        raise InputError(diags)
    return Schedule(tuple(jobs), Path(data.get("lock_dir") or DEFAULT_LOCK_DIR))


@dataclass
class JobRun:
    job: str
    started: float
    status: str  # ok | failed | skipped | timeout
    scheduled: str | None = None  # the cron minute this run is for (None: started by hand)
    seconds: float = 0.0
    exit_code: int | None = None
    output: str = ""  # the tail of the job's stderr/stdout when it did not succeed

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


Runner = Callable[[Job], tuple[int, str]]  # job -> (exit code, output); TimeoutError on timeout


def run_ngk(job: Job) -> tuple[int, str]:
    """Run the job as a child `ngk` process."""
    cmd = [sys.executable, "-m", "controller.cli", *job.argv]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=job.timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise TimeoutError(f"killed after {job.timeout:g} s") from exc
    return done.returncode, (done.stderr or done.stdout)[-2000:]


@contextmanager
def job_lock(lock_dir: Path, name: str) -> Iterator[bool]:
    """Hold <lock_dir>/<name>.lock if free (yields True), else yield False at once."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / f"{name}.lock", "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def run_job(schedule: Schedule, job: Job, runner: Runner = run_ngk,
            scheduled: datetime | None = None) -> JobRun:
    """One run of `job`, unless its previous run still holds the lock (then `skipped`)."""
    run = JobRun(job.name, time.time(), "skipped",
                 scheduled.isoformat(timespec="minutes") if scheduled else None)
    with job_lock(schedule.lock_dir, job.name) as mine:
        if not mine:
            run.output = "previous run still running"
            return run
        try:
            run.exit_code, output = runner(job)
            run.status = "ok" if run.exit_code == 0 else "failed"
            run.output = "" if run.exit_code == 0 else output
        except TimeoutError as exc:
            run.status, run.output = "timeout", str(exc)
    run.seconds = round(time.time() - run.started, 3)
    return run


@dataclass
class Scheduler:
    """Wakes at each minute, starts the due jobs in their own threads, until `stop` is set."""

    schedule: Schedule
    runner: Runner = run_ngk
    on_result: Callable[[JobRun], None] = lambda _run: None
    now: Callable[[], datetime] = datetime.now
    threads: list[threading.Thread] = field(default_factory=list)

    def due(self, minute: datetime) -> list[Job]:
        return [j for j in self.schedule.jobs if j.cron.matches(minute)]

    def start(self, job: Job, minute: datetime | None = None) -> threading.Thread:
        thread = threading.Thread(target=lambda: self.on_result(
            run_job(self.schedule, job, self.runner, minute)), name=f"job-{job.name}",
            daemon=True)
        thread.start()
        self.threads[:] = [t for t in self.threads if t.is_alive()] + [thread]
        return thread

    def loop(self, stop: threading.Event) -> None:
        minute = self.now().replace(second=0, microsecond=0)
        while not stop.is_set():
            minute += timedelta(minutes=1)
            wait = (minute - self.now()).total_seconds()
            if wait > 0 and stop.wait(wait):
                break
            if self.now() - minute > timedelta(minutes=1):  # clock jumped or host slept
                minute = self.now().replace(second=0, microsecond=0)
            for job in self.due(minute):
                self.start(job, minute)
        for thread in self.threads:
            thread.join()
