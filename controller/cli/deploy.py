"""`ngk render`, `ngk deploy` and `ngk backup`: parse, call one service, print a table or JSON.

Nornir, NAPALM and the services load inside the commands (CLI startup stays light)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from controller.errors import UnknownName
from controller.cli.common import (
    InventoryOption, JsonOption, TopologyOption, console, emit, err_console, table, topology)
from controller.cli.common import inventory as inventory_dir
from controller.model.select import select_limit
from controller.paths import state_path

if TYPE_CHECKING:
    from controller.services.deploy import DeployReport

LimitOption = typer.Option(None, "--limit", "-l", help="Routers: ids or globs, site=, role=, "
                                                       "platform=, group=, kind=; comma-separated.")
WorkersOption = typer.Option(20, "--workers", "-w", min=1, help="Routers handled in parallel.")
InsecureOption = typer.Option(False, "--insecure", help="Do NOT check SSH host keys.")


def _nornir(inventory: Path | None, workers: int, insecure: bool) -> Any:
    from controller.southbound.nornir_setup import build_nornir
    return build_nornir(inventory_dir(inventory), workers=workers, insecure=insecure)


def _progress(router: str, message: str) -> None:
    err_console.print(f"[dim]{router}[/dim] {message}", highlight=False, soft_wrap=True)


def render(
    topology_path: Path = TopologyOption, limit: str = LimitOption,
    out: Path = typer.Option(None, "--out", "-o", help="Write <router>.conf files here."),
) -> None:
    """Render the intended config of each router (stdout, or files with --out)."""
    from controller.services import deploy as deploy_service
    topo = topology(topology_path)
    configs = deploy_service.intended(topo, select_limit(topo, limit))
    if out is None:
        for router, text in configs.items():
            console.print(f"[bold]# {router}[/bold]")
            console.out(text, end="", highlight=False)
        return
    for path in deploy_service.write_configs(configs, out):
        console.print(str(path), highlight=False)


def deploy(
    topology_path: Path = TopologyOption, inventory: Optional[Path] = InventoryOption,
    limit: str = LimitOption,
    commit: bool = typer.Option(False, "--commit", help="Apply (default: dry-run, diff only)."),
    confirm_timeout: int = typer.Option(120, "--confirm-timeout", min=5,
                                        help="Routers revert by themselves unless confirmed "
                                             "within this many seconds."),
    atomic: bool = typer.Option(True, "--atomic/--per-device",
                                help="On any failure roll back every changed router (atomic) "
                                     "or only the failing ones."),
    verify_timeout: float = typer.Option(30, "--verify-timeout", help="Seconds to wait for "
                                         "the network to converge after a commit."),
    workers: int = WorkersOption, audit_log: Path = typer.Option(
        None, "--audit-log", envvar="NGK_AUDIT_LOG", help="Default $NGK_STATE_DIR/audit.log."),
    insecure: bool = InsecureOption, as_json: bool = JsonOption,
) -> None:
    """Diff the intended configs against the routers; with --commit apply, verify, confirm."""
    from controller.services import deploy as deploy_service
    from controller.services.audit import AuditLog
    topo = topology(topology_path)
    configs = deploy_service.intended(topo, select_limit(topo, limit))
    nr = _nornir(inventory, workers, insecure)
    report = deploy_service.deploy(
        topo, nr, configs, commit=commit, confirm_timeout=confirm_timeout,
        policy="atomic" if atomic else "per-device", verify_timeout=verify_timeout,
        audit=AuditLog(audit_log), progress=_progress)
    emit(report.as_dict(), as_json, lambda _: _show(report))
    if not report.ok:
        raise typer.Exit(1)


def _show(report: DeployReport) -> None:
    from rich.syntax import Syntax
    for r in report.routers:
        if r.diff:
            console.print(f"[bold]--- {r.router}[/bold]")
            console.print(Syntax(r.diff, "diff", theme="ansi_dark"))
    mode = f"commit, {report.policy}" if report.committed else "dry-run"
    table(f"Deploy ({mode})", ["router", "changed", "status", "error"],
          [[r.router, "yes" if r.changed else "no", r.status, r.error] for r in report.routers])
    for p in report.problems:
        console.print(f"[red]{p.check}[/red] {p.detail}", highlight=False)
    if report.phases:
        console.print("phases: " + ", ".join(f"{k} {v:.2f} s" for k, v in report.phases.items()))


def backup(
    inventory: Optional[Path] = InventoryOption, limit: str = LimitOption,
    to: Optional[Path] = typer.Option(None, "--to",
                                      help="Git folder (default $NGK_STATE_DIR/backups)."),
    workers: int = WorkersOption, insecure: bool = InsecureOption, as_json: bool = JsonOption,
    topology_path: Optional[Path] = TopologyOption,
) -> None:
    """Save every router's running config into a git folder: one commit per run."""
    from controller.services import backup as backup_service
    nr = _nornir(inventory, workers, insecure)
    names = select_limit(topology(topology_path), limit) if limit else None
    unknown = sorted(set(names or ()) - set(nr.inventory.hosts))
    if unknown:
        raise UnknownName(f"not in the inventory: {', '.join(unknown)}")
    report = backup_service.backup(nr, to or state_path("backups"), names)

    def show(_: dict) -> None:
        table(f"Backup to {report.dir}", ["router", "status"], sorted(report.routers.items()))
        console.print(f"commit {report.commit or '(nothing changed)'}: {report.message}",
                      highlight=False)

    emit(report.as_dict(), as_json, show)
    if not report.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""
    app.command("render")(render)
    app.command("deploy")(deploy)
    app.command("backup")(backup)
