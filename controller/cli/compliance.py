"""`ngk compliance` (+ `ngk compliance history`) and `ngk schedule`: parse, call one service,
print a table or JSON."""
from __future__ import annotations

import signal
import threading
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from controller.cli.common import (
    JsonOption, StoreOption, TopologyOption, console, emit, err_console, fail, table, topology)
from controller.cli.common import InventoryOption, inventory as inventory_dir
from controller.cli.deploy import InsecureOption, LimitOption
from controller.config.rules import SEVERITIES, load_rules
from controller.model.select import select_limit

if TYPE_CHECKING:
    from controller.services.compliance import ComplianceReport
    from controller.services.schedule import JobRun

WorkersOption = typer.Option(20, "--workers", "-w", min=1, help="Routers read in parallel.")
EXIT_VIOLATION, EXIT_UNKNOWN = 1, 3
app = typer.Typer(invoke_without_command=True, no_args_is_help=False,
                  help="Intended vs running config and rules, per router; `history` for trends.")


def _progress(router: str, message: str) -> None:
    err_console.print(f"[dim]{router}[/dim] {message}", highlight=False, soft_wrap=True)


@app.callback()
def compliance(
    ctx: typer.Context, topology_path: Optional[Path] = TopologyOption,
    inventory: Optional[Path] = InventoryOption, limit: Optional[str] = LimitOption,
    recorded: Optional[Path] = typer.Option(
        None, "--from", help="Read running configs from <router>.conf files here (e.g. an "
                             "`ngk backup` folder) instead of the routers."),
    rules_file: Optional[Path] = typer.Option(None, "--rules", help="Rules YAML (default "
                                              "rules/compliance.yaml)."),
    threshold: str = typer.Option("low", "--severity-threshold", "-s",
                                  help=f"Exit 1 when a rule of this severity or worse fails "
                                       f"({', '.join(SEVERITIES)})."),
    junit: Optional[Path] = typer.Option(None, "--junit", help="Write a JUnit XML report."),
    html: Optional[Path] = typer.Option(None, "--html", help="Write a single-file HTML report."),
    fix: bool = typer.Option(False, "--fix", help="Hand non-compliant routers to deploy."),
    commit: bool = typer.Option(False, "--commit", help="With --fix: apply (default dry-run)."),
    db: Optional[str] = StoreOption,
    no_history: bool = typer.Option(False, "--no-history", help="Do not record this run."),
    workers: int = WorkersOption, insecure: bool = InsecureOption, as_json: bool = JsonOption,
) -> None:
    """Diff intended vs running per router and feature, check the rules, score, record.

    Exit 0 all good, 1 a rule at/above the threshold failed (or the fix failed), 2 bad input,
    3 no such rule failure but some routers unknown (unreachable)."""
    from controller.services import compliance as service
    from controller.services import reports
    from controller.southbound.nornir_setup import build_nornir
    from controller.store import Store

    if ctx.invoked_subcommand is not None:
        return
    if commit and not fix:
        fail("--commit only goes with --fix")
    topo = topology(topology_path)
    rules = load_rules(rules_file)
    routers = select_limit(topo, limit)
    nr = None if recorded else build_nornir(inventory_dir(inventory),
                                            workers=workers, insecure=insecure)
    store = None if no_history else Store(db)
    report = service.compliance(topo, routers, rules, threshold=threshold, nr=nr,
                                recorded_dir=recorded, store=store, fix=fix, commit=commit,
                                progress=_progress)
    if store is not None and store.errors:
        err_console.print(f"[yellow]warning:[/yellow] history not saved: {store.errors[-1][1]}")
    if junit:
        reports.write(junit, reports.junit_xml(report))
    if html:
        reports.write(html, reports.html_report(report))
    emit(report.as_dict(), as_json, lambda _: _show(report))
    if not report.ok or (report.fix is not None and not report.fix["ok"]):
        raise typer.Exit(EXIT_VIOLATION)
    if report.count("unknown"):
        raise typer.Exit(EXIT_UNKNOWN)


def _show(report: ComplianceReport) -> None:
    from controller.services import reports

    findings = reports.finding_rows(report)
    if findings:
        table("Findings", ["router", "rule / diff", "feature", "severity", "where", "line",
                           "detail"], findings)
    score = "n/a" if report.score is None else f"{report.score:g} %"
    table(f"Compliance: score {score}, threshold {report.threshold}",
          ["router", "status", "violations", "drifted features", "error"],
          reports.router_rows(report))
    if report.fix is not None:
        mode = "commit" if report.fix["committed"] else "dry-run"
        table(f"Fix ({mode})", ["router", "status", "error"],
              [[r["router"], r["status"], r["error"]] for r in report.fix["routers"]])


@app.command("history")
def history(
    runs: int = typer.Option(20, "--runs", min=1, help="Runs shown in the trend."),
    router: Optional[str] = typer.Option(None, "--router", help="Only this router's drifts."),
    db: Optional[str] = StoreOption, as_json: bool = JsonOption,
) -> None:
    """Score trend of the last runs and, for each open finding, when it started."""
    from controller.services import compliance as service
    from controller.services import reports
    from controller.store import Store

    store = Store(db)
    if not store.exists():
        fail(f"no compliance history at {store.name}")
    data = service.history(store, runs, router)

    def show(_: object) -> None:
        trend, drifts = reports.history_rows(data)
        table("Compliance trend", ["time", "score %", "routers", "compliant", "non-compliant",
                                   "unknown"], trend)
        table("Open drifts", ["router", "feature", "severity", "since", "finding"], drifts)

    emit(data, as_json, show)


def schedule(
    config: Path = typer.Option(Path("/etc/ngk/schedule.yaml"), "--config", "-c",
                                envvar="NGK_SCHEDULE", help="Schedule YAML."),
    run: Optional[str] = typer.Option(None, "--run", help="Run this job once now and exit "
                                      "(for a systemd timer); skipped if already running."),
    show: bool = typer.Option(False, "--list", help="List the jobs and their next runs."),
    as_json: bool = JsonOption,
) -> None:
    """Run compliance, uptime and backup jobs on cron schedules; a job never overlaps itself."""
    from controller.services import schedule as scheduling

    plan = scheduling.load_schedule(config)
    jobs = {j.name: j for j in plan.jobs}
    if show:
        now = datetime.now()
        emit([{"job": j.name, "cron": j.cron.text, "command": j.argv,
               "next": j.cron.next_after(now).isoformat(timespec="minutes")} for j in plan.jobs],
             as_json, lambda rows: table(f"Schedule {config}", ["job", "cron", "next", "command"],
                                         [[r["job"], r["cron"], r["next"], " ".join(r["command"])]
                                          for r in rows]))
        return
    if run is not None:
        if run not in jobs:
            fail(f"no job {run!r} in {config} (jobs: {', '.join(jobs)})")
        result = scheduling.run_job(plan, jobs[run])
        emit(result.as_dict(), as_json, lambda _: _print_run(result))
        raise typer.Exit(0 if result.status in ("ok", "skipped") else 1)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    err_console.print(f"ngk schedule: {len(plan.jobs)} job(s) from {config}", highlight=False)
    scheduling.Scheduler(plan, on_result=_print_run).loop(stop)


def _print_run(result: JobRun) -> None:
    console.print(f"job {result.job}: {result.status} in {result.seconds:g} s"
                  + (f" (exit {result.exit_code})" if result.exit_code else "")
                  + (f": {result.output.strip()[-300:]}" if result.output else ""),
                  highlight=False, soft_wrap=True)


def register(root: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""
    root.add_typer(app, name="compliance")
    root.command("schedule")(schedule)
