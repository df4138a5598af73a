"""`ngk demo`: the main job on the embedded defaults — the reference topology, the local
namespace lab and the SQLite store: analyse, bring the lab up, deploy, drill, report."""
from __future__ import annotations

import json
from pathlib import Path

import typer

from controller import data
from controller.cli.common import Col, TopologyOption, console, fail, table, topology
from controller.cli.drill import render_report
from controller.cli.play import render_run
from controller.cli.lab import lab_errors, progress_display
from controller.lab.state import DEFAULT_LAB, LabState

PLAYBOOK = data.path("playbooks", "failover-drill.yaml")


def register(app: typer.Typer) -> None:
    """Add `demo` to the top-level app."""
    app.command("demo")(demo)


def demo(topology_file: Path = TopologyOption,
         lab: str = typer.Option(DEFAULT_LAB, "--lab", envvar="NGK_LAB", help="Lab name."),
         down: bool = typer.Option(False, "--down", help="Take the lab down at the end.")) -> None:
    """Analyse the core, bring the lab up (or reuse it), deploy, run the failover drill, report."""
    from controller.lab.down import lab_down
    from controller.lab.status import lab_wait
    from controller.lab.up import lab_up
    from controller.playbook.model import load_playbook
    from controller.playbook.registry import Context
    from controller.playbook.runner import run_playbook
    topo = topology(topology_file)
    analyse(topo)
    with lab_errors():
        if LabState.load(lab) is None:
            with progress_display(f"bringing lab {lab} up") as step:
                lab_up(topology_file, lab, progress=step)
        else:
            console.print(f"lab {lab} is already up: reusing it", highlight=False)
        console.print(f"lab converged in {lab_wait(lab, timeout=120)['seconds']} s",
                      highlight=False)
    report = run_playbook(load_playbook(PLAYBOOK, topo=topo), Context(topo, lab=lab))
    render_run(report)
    for step in report["steps"]:
        if step["action"] == "drill" and step["details"].get("report"):
            render_report(json.loads(Path(step["details"]["report"]).read_text()))
    if down:
        with lab_errors():
            lab_down(lab)
    else:
        console.print("the lab stays up: `ngk lab status`, `ngk drill cut SPAN`, "
                      "`ngk lab down` when done", highlight=False)
    if not report["ok"]:
        fail("the failover drill playbook did not pass (see above)", 1)


def analyse(topo) -> None:
    """What the model says before touching anything: the diverse Oslo-Trondheim pair, SPOFs."""
    from controller.analysis.failures import sweep
    from controller.analysis.paths import diverse_pair
    pair = diverse_pair(topo, "osl", "trd", "srlg")
    table("Oslo-Trondheim, SRLG-diverse (" + pair["guarantee"] + ")",
          [Col("#", right=True), "sites", Col("km", right=True), Col("latency (ms)", right=True)],
          [[i + 1, " > ".join(p["sites"]), round(p["km"]), round(p["latency_ms"], 2)]
           for i, p in enumerate(pair["paths"])])
    summary = sweep(topo, depth=1)["summary"]
    table(f"single failures: {summary['scenarios']} scenarios, {summary['disconnecting']} "
          "disconnect something", ["kind", "id", "sites"],
          [[s["kind"], s["id"], ", ".join(s["sites"])]
           for s in summary["single_points_of_failure"]])
