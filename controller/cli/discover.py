"""`ngk discover`: the network as the routers report it, diffed against the model."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from controller.cli.common import (
    InventoryOption, JsonOption, StoreOption, TopologyOption, console, emit, err_console, fail,
    table, topology)
from controller.cli.common import inventory as inventory_dir
from controller.cli.deploy import InsecureOption
from controller.fileio import check_writable

WorkersOption = typer.Option(20, "--workers", "-w", min=1, help="Routers read in parallel.")
app = typer.Typer(invoke_without_command=True, no_args_is_help=False,
                  help="The network as the routers report it versus the model; `history`.")


@app.callback()
def discover(
    ctx: typer.Context,
    topology_path: Optional[Path] = TopologyOption, inventory: Optional[Path] = InventoryOption,
    workers: int = WorkersOption, insecure: bool = InsecureOption,
    db: Optional[str] = StoreOption,
    no_history: bool = typer.Option(False, "--no-history", help="Do not record this run."),
    junit: Optional[Path] = typer.Option(None, "--junit", help="Write a JUnit XML report."),
    html: Optional[Path] = typer.Option(None, "--html", help="Write a single-file HTML report."),
    as_json: bool = JsonOption,
) -> None:
    """Read LLDP neighbours, addresses, OSPF costs/neighbours and BFD from every router and
    diff them against the model.

    Exit 0 as modelled, 1 differences, 2 bad input, 3 no difference except unreachable
    routers (docs/discover.md)."""
    from controller.services.discover import discover as run
    from controller.services.discover_history import record
    from controller.services.discover_reports import html_report, junit_xml
    from controller.services.reports import write
    from controller.southbound.nornir_setup import build_nornir
    from controller.store import Store

    if ctx.invoked_subcommand is not None:
        return
    topo = topology(topology_path)
    for out in (junit, html):
        if out is not None:
            check_writable(out)
    nr = build_nornir(inventory_dir(inventory), workers=workers, insecure=insecure)
    report = run(topo, nr)
    store = None if no_history else Store(db)
    run_id = record(store, report) if store is not None else None
    if store is not None and run_id is None:
        err_console.print(f"warning: history not saved: {store.errors[-1][1]}",
                          highlight=False, soft_wrap=True)
    if junit:
        write(junit, junit_xml(report, sorted(topo.routers)))
    if html:
        write(html, html_report(report))
    emit({"run": run_id, **report.as_dict()}, as_json, _show)
    if report.exit_code:
        raise typer.Exit(report.exit_code)


@app.command("history")
def history(
    runs: int = typer.Option(20, "--runs", min=1, help="Runs shown in the trend."),
    db: Optional[str] = StoreOption, as_json: bool = JsonOption,
) -> None:
    """The last runs and each open difference, with when it began."""
    from controller.services.discover_history import history as read
    from controller.store import Store

    store = Store(db)
    if not store.exists():
        fail(f"no discover history at {store.name}")
    data = read(store, runs)

    def show(_: object) -> None:
        table("Discover runs", ["time", "routers", "read", "differences", "exit"],
              [[_when(r["time"]), r["routers"], r["read"], r["differences"], r["exit_code"]]
               for r in data["trend"]])
        table("Open differences", ["kind", "where", "model", "device", "since", "runs"],
              [[d["kind"], d["where"], d["model"], d["device"], _when(d["since"]), d["runs"]]
               for d in data["open"]])

    emit(data, as_json, show)


def _when(ts: float) -> str:
    from datetime import datetime
    return datetime.fromtimestamp(ts).isoformat(sep=" ", timespec="seconds")


def _show(data: dict) -> None:
    rows = [[d["kind"], d["where"], d["model"], d["device"], d["detail"]]
            for d in data["differences"]]
    if rows:
        table("Differences (model vs devices)", ["kind", "where", "model", "device", "detail"],
              rows)
    s = data["summary"]
    kinds = ", ".join(f"{n} {k}" for k, n in s["by_kind"].items())
    console.print(f"{s['read']} of {s['routers']} routers read, {s['links_seen']} links seen by "
                  f"LLDP, {s['seconds']:g} s: "
                  + (f"{s['differences']} differences ({kinds})" if rows else "as modelled"),
                  highlight=False, soft_wrap=True)


def register(root: typer.Typer) -> None:
    """Add `discover` (and `discover history`) to the top-level app."""
    root.add_typer(app, name="discover")


def import_devices(file: Optional[Path], out: Path, topology_path: Optional[Path],
                   inventory: Optional[Path], as_json: bool) -> None:
    """`ngk topology import --from-devices`: the model with its IP links as discovered."""
    from controller.model.load import topology_path as model_path
    from controller.services.discover_import import import_from_devices
    from controller.southbound.nornir_setup import build_nornir

    if file is not None:
        fail("give either a GraphML file or --from-devices, not both")
    topology(topology_path)  # a bad model is an input error before any device is read
    nr = build_nornir(inventory_dir(inventory))
    result = import_from_devices(model_path(topology_path), nr, out)
    emit(result, as_json, _show_import)
    if not result["valid"]:
        raise typer.Exit(1)


def _show_import(r: dict) -> None:
    links = ", ".join(f"{len(ids)} {k.replace('_', ' ')}" for k, ids in r["links"].items())
    console.print(f"wrote {r['out']}: links {links}", highlight=False, soft_wrap=True)
    for key in ("recabled", "added", "dropped", "not_read"):
        if r["links"][key]:
            console.print(f"  {key.replace('_', ' ')}: {', '.join(r['links'][key])}",
                          highlight=False, soft_wrap=True)
    for name, why in sorted(r["unreachable"].items()):
        console.print(f"  not read: {name}: {why}", highlight=False, soft_wrap=True)
    if r["unknown_routers_left_out"]:
        console.print("  unknown routers left out (no site): "
                      + ", ".join(r["unknown_routers_left_out"]), highlight=False, soft_wrap=True)
    console.print(f"note: {r['note']}", highlight=False, soft_wrap=True)
    for d in r["diagnostics"]:
        console.print(f"{d['file']}: {d['severity']}: {d['path']}: {d['message']}",
                      highlight=False, soft_wrap=True)
