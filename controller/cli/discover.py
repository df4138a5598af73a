"""`ngk discover`: the network as the routers report it, diffed against the model."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from controller.cli.common import (
    InventoryOption, JsonOption, TopologyOption, console, emit, fail, table, topology)
from controller.cli.common import inventory as inventory_dir
from controller.cli.deploy import InsecureOption

WorkersOption = typer.Option(20, "--workers", "-w", min=1, help="Routers read in parallel.")


def discover(
    topology_path: Optional[Path] = TopologyOption, inventory: Optional[Path] = InventoryOption,
    workers: int = WorkersOption, insecure: bool = InsecureOption, as_json: bool = JsonOption,
) -> None:
    """Read LLDP neighbours, addresses, OSPF costs/neighbours and BFD from every router and
    diff them against the model.

    Exit 0 as modelled, 1 differences, 2 bad input, 3 no difference except unreachable
    routers (docs/discover.md)."""
    from controller.services.discover import discover as run
    from controller.southbound.nornir_setup import build_nornir

    topo = topology(topology_path)
    nr = build_nornir(inventory_dir(inventory), workers=workers, insecure=insecure)
    report = run(topo, nr)
    emit(report.as_dict(), as_json, _show)
    if report.exit_code:
        raise typer.Exit(report.exit_code)


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
    """Add `discover` to the top-level app."""
    root.command("discover")(discover)


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
