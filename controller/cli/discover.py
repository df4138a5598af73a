"""`ngk discover`: the network as the routers report it, diffed against the model."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from controller.cli.common import (
    InventoryOption, JsonOption, TopologyOption, console, emit, table, topology)
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
