"""`ngk capacity`: every link's load, intact and under its worst failure (docs/capacity.md).

The engine (numpy, scipy) and the picture (matplotlib) load inside the command.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from controller.cli.common import Col, JsonOption, TopologyOption, WideOption, console, \
    emit, err_console, table, topology
from controller.cli.failures import KINDS

EXIT_CONGESTED = 1  # a link over --threshold in some scenario, or priority over its share


def _failure(fs: list[dict[str, str]]) -> str:
    """A scenario's failed elements, one a line (as `ngk failures` lists them)."""
    return "\n".join(f"{f['kind']}:{f['id']}" for f in fs) or "none (intact)"


def _pct(x: float) -> float:
    return round(100 * x, 1)


def over_threshold(data: dict[str, Any], threshold: float) -> list[dict[str, Any]]:
    """The links whose worst-case utilisation exceeds `threshold`, worst first."""
    return sorted((lk for lk in data["links"] if lk["worst_utilisation"] > threshold),
                  key=lambda lk: (-lk["worst_utilisation"], lk["id"]))


def render(data: dict[str, Any], threshold: float, top: int = 20, wide: bool = False) -> None:
    """The `top` links with the highest worst-case utilisation, then counts."""
    links = sorted(data["links"], key=lambda lk: (-lk["worst_utilisation"], lk["id"]))
    shown = links[:top]
    table(f"Capacity, depth {data['depth']} ({','.join(data['kinds'])}): the {len(shown)} "
          f"most loaded of {len(links)} links under their worst failure",
          ["link", Col("cap (Gbps)", right=True), Col("intact (%)", right=True),
           Col("worst (%)", right=True), "worst failure", Col("prio worst (Gbps)", right=True),
           Col("intact (Gbps)", wide=True, right=True),
           Col("clinical worst (Gbps)", wide=True, right=True),
           Col("best-effort worst (Gbps)", wide=True, right=True)],
          [[lk["id"], lk["capacity_gbps"], _pct(lk["utilisation"]),
            _pct(lk["worst_utilisation"]), _failure(lk["worst_failure"]),
            lk["by_class"]["priority"], lk["load_gbps"], lk["by_class"]["clinical"],
            lk["by_class"]["best-effort"]] for lk in shown], wide)
    summ = data["summary"]
    lost = [d for d in data["demands"] if d["routed_gbps"] < d["gbps"]]
    counts = [
        ("scenarios (intact included)", summ["scenarios"]),
        ("congested: a link over 100 %", summ["congested_scenarios"]),
        (f"priority over its share ({_pct(data['priority_share'])} % of a link)",
         summ["priority_at_risk_scenarios"]),
        (f"links over {_pct(threshold)} % in their worst case",
         len(over_threshold(data, threshold))),
        ("demands unrouted in some scenario (their own site failing included)",
         f"{len(lost)} of {len(data['demands'])}"),
        ("worst unrouted traffic (Gbps)", summ["unrouted_gbps"]),
        ("worst utilisation (%)", _pct(summ["max_utilisation"])),
    ]
    table("Counts", ["", Col("value", right=True)], counts)
    console.print(_demands_note(data), markup=False)


def _demands_note(data: dict[str, Any]) -> str:
    from controller.model.demands import GRAVITY_GBPS_PER_SIZE
    if data["demands_source"] == "gravity":
        return (f"Demands: {len(data['demands'])} from the gravity model (each member sends "
                f"{GRAVITY_GBPS_PER_SIZE:g} Gbps, shared among its services, to their nearest "
                "live replica); give --demands FILE for planned or measured traffic.")
    return f"Demands: {len(data['demands'])} from {data['demands_source']}."


def register(app: typer.Typer) -> None:
    """Add `capacity` to the top-level app."""

    @app.command("capacity")
    def capacity_cmd(
        demands_file: Optional[Path] = typer.Option(
            None, "--demands", "-d",
            help="Demands YAML (docs/capacity.md); default: the gravity model."),
        depth: int = typer.Option(1, "--depth", min=0, max=2,
                                  help="0: intact only; 1: every single failure; 2: every pair."),
        kinds: str = typer.Option(KINDS, "--kinds",
                                  help="Comma-separated: span, srlg, site, router, link."),
        threshold: float = typer.Option(
            1.0, "--threshold", min=0.0,
            help="Exit 1 when a link's worst-case utilisation exceeds this (1.0 = 100 %)."),
        draw: Optional[Path] = typer.Option(
            None, "--draw", help="Also write a picture (.png or .svg): the map coloured by "
                                 "worst-case utilisation and a per-link chart."),
        top: int = typer.Option(20, "--top", min=1, help="Table: the N most loaded links."),
        wide: bool = WideOption,
        as_json: bool = JsonOption,
        topo_path: Path = TopologyOption,
    ) -> None:
        """Every IP link's load per class, intact and under its worst failure (ECMP as OSPF
        routes it). Exit 0 ok, 1 a link over --threshold in some scenario or the priority class
        over its share, 2 bad input."""
        from controller.analysis.capacity import analyse
        from controller.model.demands import gravity, load_demands
        if draw is not None:
            from controller.analysis.capacity_draw import check_picture
            check_picture(draw)
        topo = topology(topo_path)
        demands = load_demands(demands_file, topo) if demands_file else gravity(topo)
        chosen = [k.strip() for k in kinds.split(",") if k.strip()]
        with err_console.status(f"routing {len(demands.demands)} demands under every "
                                f"{'pair of ' if depth == 2 else ''}failure"):
            data = analyse(topo, demands, depth, chosen)
        data["demands_source"] = demands.source
        if draw is not None:
            from controller.analysis.capacity_draw import draw_capacity
            data["picture"] = str(draw_capacity(topo, data, draw, threshold))
        emit(data, as_json, lambda d: render(d, threshold, top, wide))
        if not as_json and draw is not None:
            console.print(f"wrote {data['picture']}", markup=False)
        if over_threshold(data, threshold) or data["summary"]["priority_at_risk_scenarios"]:
            raise typer.Exit(EXIT_CONGESTED)
