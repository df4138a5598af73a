"""`ngk lab`: a live FRR lab in Linux network namespaces (up, status, wait, down, cut, fail,
restore, export). See docs/lab.md."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from controller.cli.common import (
    JsonOption, TopologyOption, console, emit, err_console, fail, table, topology)
from controller.lab.state import DEFAULT_LAB, LabError

NameOption = typer.Option(DEFAULT_LAB, "--name", "-n", envvar="NGK_LAB", help="Lab name.")
app = typer.Typer(help="A live FRR lab in network namespaces.", no_args_is_help=True)
export_app = typer.Typer(help="Export the topology for other lab tools.", no_args_is_help=True)
app.add_typer(export_app, name="export")


def register(root: typer.Typer) -> None:
    """Add the `lab` sub-app to the top-level app."""
    root.add_typer(app, name="lab")


@contextmanager
def lab_errors() -> Iterator[None]:
    try:
        yield
    except LabError as exc:
        fail(str(exc), exc.code)


@contextmanager
def progress_display(title: str) -> Iterator[Callable[[str], None]]:
    start = time.monotonic()
    with err_console.status(title) as status:
        def step(message: str) -> None:
            err_console.print(f"[dim]{time.monotonic() - start:5.1f}s[/dim] {message}",
                              highlight=False)
            status.update(message)
        yield step


@app.command()
def up(topology_file: Path = TopologyOption, bare: bool = typer.Option(
        False, "--bare", help="Addresses, management, SSH/SNMP only: no routing config."),
       name: str = NameOption, as_json: bool = JsonOption) -> None:
    """Build the lab: one netns + FRR + sshd + snmpd per router, veths per IP link."""
    from controller.lab.up import lab_up
    with lab_errors(), progress_display(f"bringing lab {name} up") as step:
        result = lab_up(topology_file, name, bare=bare, progress=step)
    emit(result, as_json, lambda r: console.print(
        f"lab [bold]{r['lab']}[/bold] up: {r['routers']} routers, {r['links']} links in "
        f"{r['seconds']} s\nstate: {r['state_dir']}\nNornir inventory: {r['inventory']}",
        highlight=False))


@app.command()
def status(name: str = NameOption, as_json: bool = JsonOption) -> None:
    """Daemons, OSPF adjacencies, BFD, loopback reachability, QoS policy, SSH and SNMP per
    router."""
    from controller.lab.status import lab_status
    with lab_errors():
        result = lab_status(name)
    emit(result, as_json, _render_status)


def _render_status(s: dict[str, Any]) -> None:
    rows = [[r["router"], "ok" if all(r["daemons"].values()) else "DOWN: " + ",".join(
        d for d, ok in r["daemons"].items() if not ok),
        f"{r['ospf_neighbors']}/{r['ospf_expected']}", f"{r['bfd_up']}/{r['bfd_expected']}",
        f"{r['loopbacks_reached']}/{r['loopbacks_expected']}",
        f"{sum(r['qos'].values())}/{len(r['qos'])}",
        "ok" if r["ssh"] else "FAIL", "ok" if r["snmp"] else "FAIL"] for r in s["routers"]]
    table(f"lab {s['lab']}: {'converged' if s['converged'] else 'NOT converged'}"
          + (f" (failures: {', '.join(s['failures'])})" if s["failures"] else ""),
          ["router", "daemons", "ospf full", "bfd up", "loopbacks", "qos", "ssh", "snmp"], rows)


@app.command()
def wait(timeout: float = typer.Option(60.0, "--timeout", help="Seconds to wait."),
         name: str = NameOption, as_json: bool = JsonOption) -> None:
    """Wait until every router's IGP has converged (exit 1 on timeout)."""
    from controller.lab.status import lab_wait
    with lab_errors():
        result = lab_wait(name, timeout)
    emit(result, as_json, lambda r: console.print(f"lab {r['lab']} converged ({r['seconds']} s)"))


@app.command()
def down(name: str = NameOption, as_json: bool = JsonOption) -> None:
    """Remove everything the lab created (idempotent; works after a crash)."""
    from controller.lab.down import lab_down
    with lab_errors():
        result = lab_down(name)
    emit(result, as_json, lambda r: console.print(
        f"lab {r['lab']} removed in {r['seconds']} s" if r["removed"]
        else f"lab {r['lab']} is not up: nothing to remove"))


@app.command()
def cut(element: str = typer.Argument(..., help="Span, SRLG or link id (kind:id if ambiguous)."),
        mode: str = typer.Option("light", "--mode", help="light: carrier lost; silent: "
                                 "carrier up, packets dropped."),
        name: str = NameOption, as_json: bool = JsonOption) -> None:
    """Cut a span (every IP link riding it), an SRLG or one link."""
    from controller.lab.faults import lab_cut
    with lab_errors():
        result = lab_cut(element, mode, name)
    emit(result, as_json, _render_fault)


@app.command("fail")
def fail_(element: str = typer.Argument(..., help="Router or site."),
          name: str = NameOption, as_json: bool = JsonOption) -> None:
    """Fail a router or site: routing daemons killed, all its links down."""
    from controller.lab.faults import lab_fail
    with lab_errors():
        result = lab_fail(element, name)
    emit(result, as_json, _render_fault)


def _render_fault(r: dict[str, Any]) -> None:
    console.print(f"{r['element']} failed ({r['mode']}): links down: {', '.join(r['links'])}"
                  + (f"; routers down: {', '.join(r['routers'])}" if r["routers"] else ""),
                  highlight=False)
    if not r["paths"]:
        console.print("no datacentre pair changes path", highlight=False)
        return
    rows = []
    for p in r["paths"]:
        old, new = p["before"], p["after"]
        rows.append([f"{p['src_router']}-{p['dst_router']}",
                     " ".join(new["routers"]) if new else f"none: {p['down']} is down"
                     if p["down"] else "CUT OFF: no surviving path",
                     " ".join(new["links"]) if new else "",
                     (f"{new['latency_ms']:.2f}" if new else "-") + f" ({old['latency_ms']:.2f})"])
    table("Datacentre router pairs on a new path (model, as `ngk reroute`)",
          ["pair", "new path (routers)", "via links", "ms (was)"], rows)


@app.command()
def restore(elements: list[str] = typer.Argument(None, help="Failures to undo (default: all)."),
            name: str = NameOption, as_json: bool = JsonOption) -> None:
    """Undo failures injected with cut/fail."""
    from controller.lab.faults import lab_restore
    with lab_errors():
        result = lab_restore(elements or [], name)
    emit(result, as_json, lambda r: console.print(
        f"restored: {', '.join(r['restored']) or 'nothing'}", highlight=False))


@export_app.command("containerlab")
def export_containerlab_cmd(
        out: Path = typer.Option(Path("lab/ngk.clab.yml"), "--out", help="Output file."),
        topology_file: Path = TopologyOption) -> None:
    """Write a containerlab topology (FRR nodes, links) for the model."""
    from controller.lab.containerlab import export_containerlab
    topo = topology(topology_file)
    with lab_errors():
        path = export_containerlab(topo, out)
    console.print(f"wrote {path}", highlight=False)
