"""`ngk paths SRC DST`: the optimal pair of diverse paths between two sites."""
from __future__ import annotations

from pathlib import Path

import typer

from controller.analysis.paths import DIVERSITIES, METRICS, diverse_pair
from controller.cli.common import (
    JsonOption,
    TopologyOption,
    console,
    emit,
    fail,
    table,
    topology,
    user_errors,
)
from controller.errors import InputError

UNITS = {"km": "km", "hops": "hops", "latency": "ms", "igp": "igp"}


def render(result: dict) -> None:
    """A table of the paths, then what they share and the diversity verdict."""
    rows = [[n, " → ".join(p["sites"]), ", ".join(p["links"]), p["hops"], f"{p['km']:g}",
             f"{p['latency_ms']:.3f}", f"{p['cost']:g}"] for n, p in enumerate(result["paths"], 1)]
    table(f"{result['src']} → {result['dst']}: {result['diversity']}-diverse, metric "
          f"{result['metric']}", ["#", "sites", "links", "hops", "km", "latency ms", "cost"], rows)
    if result["paths"]:
        console.print(f"total cost {result['total']:g} {UNITS[result['metric']]} "
                      f"({result['method']}; {result['guarantee']})", highlight=False)
    if len(result["paths"]) == 2:
        links = sorted(set(result["paths"][0]["links"]) & set(result["paths"][1]["links"]))
        parts = ([f"links {', '.join(links)}"] if links else []) + \
            [f"{kind} {', '.join(ids)}" for kind, ids in result["shared"].items() if ids]
        if not result["diverse"]:
            console.print(f"[red]NOT fully {result['diversity']}-diverse[/red]: shares "
                          f"{'; '.join(parts)}", highlight=False)
        else:
            console.print(f"[green]fully {result['diversity']}-diverse[/green]; shared: "
                          f"{'; '.join(parts) if parts else 'nothing'}", highlight=False)
    if result["reason"]:
        console.print(result["reason"], highlight=False)


def register(app: typer.Typer) -> None:
    """Add `ngk paths` to the top-level app."""

    @app.command()
    def paths(
        src: str = typer.Argument(..., help="Source site id or unique name."),
        dst: str = typer.Argument(..., help="Destination site id or unique name."),
        diverse: str = typer.Option("link", "--diverse", help=f"{' | '.join(DIVERSITIES)}"),
        metric: str = typer.Option("latency", "--metric", help=f"{' | '.join(METRICS)}"),
        as_json: bool = JsonOption,
        topology_file: Path = TopologyOption,
    ) -> None:
        """The optimal pair of link-, node- or SRLG-diverse paths between two sites."""
        if diverse not in DIVERSITIES:
            fail(f"--diverse must be one of {', '.join(DIVERSITIES)}, got {diverse!r}")
        if metric not in METRICS:
            fail(f"--metric must be one of {', '.join(METRICS)}, got {metric!r}")
        topo = topology(topology_file)
        if topo.resolve_site(src) == topo.resolve_site(dst):
            raise InputError(f"{src!r} and {dst!r} are the same site: give two different sites")
        with user_errors():
            result = diverse_pair(topo, src, dst, diverse, metric)
        emit(result, as_json, render)
