"""`ngk paths SRC DST`: the optimal pair of diverse paths between two sites."""
from __future__ import annotations

from pathlib import Path

import typer

from controller.cli.common import (
    Col, JsonOption, TopologyOption, WideOption, console, emit, fail, table, topology)
from controller.errors import InputError

DIVERSITIES = ("link", "node", "srlg")  # = controller.analysis.paths.DIVERSITIES (tested)
METRICS = ("km", "hops", "latency", "igp")  # = controller.analysis.paths.METRICS (tested)

UNITS = {"km": "km", "hops": "hops", "latency": "ms", "igp": "igp"}


def render(result: dict, wide: bool = False) -> None:
    """A table of the paths, then what they share and the diversity verdict."""
    rows = [[n, " > ".join(p["sites"]), ", ".join(p["links"]), p["hops"], f"{p['km']:g}",
             f"{p['latency_ms']:.3f}", f"{p['cost']:g}"] for n, p in enumerate(result["paths"], 1)]
    table(f"{result['src']} > {result['dst']}: {result['diversity']}-diverse, metric "
          f"{result['metric']}", [Col("#", right=True), "sites", Col("links", wide=True),
                                  Col("hops", right=True), Col("km", right=True),
                                  Col("latency (ms)", right=True),
                                  Col(f"cost ({UNITS[result['metric']]})", right=True)],
          rows, wide)
    if result["paths"]:
        console.print(f"total cost {result['total']:g} {UNITS[result['metric']]} "
                      f"({result['method']}; {result['guarantee']})", markup=False)
    if len(result["paths"]) == 2:
        links = sorted(set(result["paths"][0]["links"]) & set(result["paths"][1]["links"]))
        parts = ([f"links {', '.join(links)}"] if links else []) + \
            [f"{kind} {', '.join(ids)}" for kind, ids in result["shared"].items() if ids]
        if not result["diverse"]:
            console.print(f"NOT fully {result['diversity']}-diverse: shares "
                          f"{'; '.join(parts)}", markup=False)
        else:
            console.print(f"fully {result['diversity']}-diverse; shared: "
                          f"{'; '.join(parts) if parts else 'nothing'}", markup=False)
    if result["reason"]:
        console.print(result["reason"], markup=False)


def register(app: typer.Typer) -> None:
    """Add `ngk paths` to the top-level app."""

    @app.command()
    def paths(
        src: str = typer.Argument(..., help="Source site id or unique name."),
        dst: str = typer.Argument(..., help="Destination site id or unique name."),
        diverse: str = typer.Option("link", "--diverse", help=f"{' | '.join(DIVERSITIES)}"),
        metric: str = typer.Option("latency", "--metric", help=f"{' | '.join(METRICS)}"),
        wide: bool = WideOption,
        as_json: bool = JsonOption,
        topology_file: Path = TopologyOption,
    ) -> None:
        """The optimal pair of link-, node- or SRLG-diverse paths between two sites."""
        from controller.analysis.paths import diverse_pair
        if diverse not in DIVERSITIES:
            fail(f"--diverse must be one of {', '.join(DIVERSITIES)}, got {diverse!r}")
        if metric not in METRICS:
            fail(f"--metric must be one of {', '.join(METRICS)}, got {metric!r}")
        topo = topology(topology_file)
        if topo.resolve_site(src) == topo.resolve_site(dst):
            raise InputError(f"{src!r} and {dst!r} are the same site: give two different sites")
        emit(diverse_pair(topo, src, dst, diverse, metric), as_json, lambda r: render(r, wide))
