"""`ngk play PLAYBOOK`: validate a playbook, then run its steps with progress and a result table."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
import yaml

from controller import data
from controller.cli.common import Col, JsonOption, TopologyOption, console, emit, err_console, \
    table, topology
from controller.errors import InputError
from controller.lab.state import DEFAULT_LAB

if TYPE_CHECKING:  # the playbook actions (and networkx, Nornir...) load only when one runs
    from controller.playbook.model import Step


def register(app: typer.Typer) -> None:
    """Add `play` to the top-level app."""
    app.command("play")(play)


def shipped(playbook: Path) -> Path:
    """A playbook file as given, else the shipped playbook of that name (package data)."""
    if playbook.exists() or playbook.suffix or len(playbook.parts) > 1:
        return playbook
    return data.path("playbooks", f"{playbook}.yaml")


def play(
    playbook: Path = typer.Argument(..., help="Playbook YAML, or the name of one that ships "
                                    "with ngk (playbooks/: e.g. failover-drill)."),
    topology_file: Path = TopologyOption,
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate and show what each step "
                                 "would do; change nothing."),
    limit: str = typer.Option(None, "--limit", "-l", help="Only these routers: comma-separated "
                              "ids, globs or KEY=VALUE (site, role, platform, group, host, kind)."),
    var: list[str] = typer.Option([], "--var", help="Override a playbook variable: NAME=VALUE."),
    lab: str = typer.Option(DEFAULT_LAB, "--lab", envvar="NGK_LAB", help="Lab name."),
    as_json: bool = JsonOption,
) -> None:
    """Run a playbook: every step validated first, live progress, per-step results (exit 1 on
    any failed step)."""
    from controller.model.select import select_limit
    from controller.playbook.model import load_playbook
    from controller.playbook.registry import Context
    from controller.playbook.runner import run_playbook

    overrides = {}
    for item in var:
        name, sep, value = item.partition("=")
        if not sep:
            raise InputError(f"--var {item!r}: use NAME=VALUE")
        try:
            overrides[name] = yaml.safe_load(value) if value else value  # true, 3, [a, b] typed
        except yaml.YAMLError:
            raise InputError(f"--var {item!r}: the value is not a YAML scalar or list") from None
    topo = topology(topology_file)
    book = load_playbook(shipped(playbook), overrides, topo)
    chosen = select_limit(topo, limit) if limit else None
    ctx = Context(topo, dry_run=dry_run, lab=lab, limit=chosen)

    def progress(step: Step, status: str) -> None:
        err_console.print(f"{step.name} ({step.action}): {status}", markup=False)

    try:
        report = run_playbook(book, ctx, progress)
    except KeyboardInterrupt:  # already rolled back by the runner's undo stack
        raise typer.Exit(130) from None
    emit(report, as_json, render_run)
    if not report["ok"]:
        raise typer.Exit(1)


def render_run(r: dict[str, Any]) -> None:
    """The steps as a table, then the reasons of every failed step (every list of text in its
    details: problems, reasons, failing rules, routers down...)."""
    table(f"playbook {r['playbook']}{' (dry-run)' if r['dry_run'] else ''}: "
          f"{'OK' if r['ok'] else 'FAILED'}",
          ["step", "action", "status", Col("time (s)", right=True), "summary"],
          [[s["name"], s["action"], s["status"], s["duration_s"], s["summary"]]
           for s in r["steps"]])
    for step in r["steps"]:
        if step["status"] != "failed":
            continue
        console.print(f"{step['name']} failed: {step['summary']}", markup=False)
        for key, value in step["details"].items():
            if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
                for item in value:
                    console.print(f"  {key.replace('_', ' ')}: {item}", markup=False)
