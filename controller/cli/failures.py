"""`ngk failures` (every single/double failure) and `ngk reroute` (one failure's reroutes).

The analysis modules load inside the commands. `ngk failures --json` is written compact and
streamed (`write_sweep_json`): a depth-2 sweep writes ~30,000 scenarios, and an indented dump of
their dicts took longer than the sweep itself (docs/failures.md).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from controller.cli.common import Col, JsonOption, TopologyOption, WideOption, console, emit, \
    table, topology

KINDS = "span,srlg,site"  # = controller.analysis.failures.DEFAULT_KINDS (a test keeps them equal)
COUNTING = ("lost site pairs: pairs of surviving sites cut apart. A failed site is not a "
            "survivor: its own pairs are counted apart (failed-site pairs). A failed router's "
            "site survives, maybe isolated: its pairs are lost site pairs. So a site and its only "
            "router give the same total (docs/failures.md).")


def _failed(s: dict[str, Any]) -> str:
    return " + ".join(f"{f['kind']}:{f['id']}" for f in s["failed"])


def impact_key(s: dict[str, Any]) -> tuple:
    """Worst first: datacentre pairs cut, members cut off, site pairs lost, DC latency added."""
    return (-len(s["datacentre_pairs_disconnected"]), -len(s["members_without_datacentre"]),
            -(s["disconnected_pairs"] + s["failed_site_pairs"]),
            -(s["worst_dc_latency_increase_ms"] or 0.0), _failed(s))


def render_sweep(data: dict[str, Any], top: int = 20, wide: bool = False) -> None:
    """The `top` worst scenarios, then counts, then the single points of failure."""
    scenarios = sorted(data["scenarios"], key=impact_key)
    shown = scenarios[:top]
    rows = [["\n".join(_failed(s).split(" + ")), len(s["links_down"]), s["disconnected_pairs"],
             s["failed_site_pairs"],
             len(s["datacentre_pairs_disconnected"]),
             ", ".join("-".join(p) for p in s["datacentre_pairs_disconnected"]),
             len(s["members_without_datacentre"]), s["worst_dc_latency_increase_ms"]]
            for s in shown]
    table(f"Failures, depth {data['depth']} ({','.join(data['kinds'])}): the "
          f"{len(shown)} worst of {len(scenarios)} listed",
          ["failed", Col("links down", right=True), Col("lost site pairs", right=True),
           Col("failed-site pairs", right=True), Col("DC pairs cut", right=True),
           Col("DC pairs cut (names)", wide=True), Col("members w/o DC", right=True),
           Col("worst DC +ms", right=True)], rows, wide)
    summ = data["summary"]
    listed = data["scenarios"]
    counts = [("total", summ["scenarios"]), ("disconnecting", summ["disconnecting"]),
              ("cut a datacentre pair", sum(1 for s in listed
                                            if s["datacentre_pairs_disconnected"])),
              ("leave members without a datacentre",
               sum(1 for s in listed if s["members_without_datacentre"])),
              ("stretch a datacentre path", sum(1 for s in listed
                                                if (s["worst_dc_latency_increase_ms"] or 0) > 0)),
              ("single points of failure", len(summ["single_points_of_failure"]))]
    table("Counts" + ("" if len(listed) == summ["scenarios"] else
                      " (cut/leave/stretch: among the listed scenarios)"),
          ["", Col("scenarios", right=True)], counts)
    console.print(COUNTING, markup=False)
    if summ["single_points_of_failure"]:
        table("Single points of failure", ["kind", "id", "sites"],
              [[s["kind"], s["id"], ", ".join(s["sites"])]
               for s in summ["single_points_of_failure"]])


def _render_reroute(data: dict[str, Any], wide: bool = False) -> None:
    def path(p: dict | None) -> str:
        return "unreachable" if p is None else " > ".join(p["routers"])

    if not data["pairs"]:
        console.print(f"Reroutes after {_failed(data)}: no datacentre router path uses a failed "
                      "link or router", markup=False)
    else:
        table(f"Reroutes after {_failed(data)} (router paths, {data['metric']})",
              ["from", "to", "before", "after", Col("+ms", right=True), "in budget",
               Col("sites after", wide=True), Col("links after", wide=True)],
              [[p["src_router"], p["dst_router"], path(p["before"]), path(p["after"]),
                p["latency_increase_ms"], p["within_budget"],
                " > ".join(p["after"]["sites"]) if p["after"] else None,
                ", ".join(p["after"]["links"]) if p["after"] else None] for p in data["pairs"]],
              wide)
    if data["igp_changes"]:
        table("Proposed IGP metric changes", ["router", "interface", "link",
                                              Col("old", right=True), Col("new", right=True)],
              [[c["router"], c["interface"], c["link"], c["old_metric"], c["new_metric"]]
               for c in data["igp_changes"]])
    summ = data["summary"]
    console.print(f"links down: {len(data['links_down'])}; lost site pairs: "
                  f"{data['disconnected_pairs']}, failed-site pairs: "
                  f"{data['failed_site_pairs']}; members without a datacentre: "
                  f"{', '.join(data['members_without_datacentre']) or 'none'}; "
                  f"IGP action: {summ['igp_action']}", markup=False)
    for note in summ["notes"]:
        console.print(f"- {note}", markup=False)


def register(app: typer.Typer) -> None:
    """Add `failures` and `reroute` to the top-level app."""

    @app.command("failures")
    def failures_cmd(
        depth: int = typer.Option(1, "--depth", help="1: single failures; 2: also every pair."),
        kinds: str = typer.Option(KINDS, "--kinds",
                                  help="Comma-separated: span, srlg, site, router, link."),
        impact_only: bool = typer.Option(False, "--impact-only",
                                         help="List only scenarios with an impact."),
        top: int = typer.Option(20, "--top", min=1, help="Table: the N worst scenarios."),
        wide: bool = WideOption,
        as_json: bool = JsonOption,
        topo_path: Path = TopologyOption,
    ) -> None:
        """Every single (and with --depth 2 every double) failure and what it cuts or stretches:
        the worst first, then counts."""
        from controller.analysis.failures import sweep, write_sweep_json
        topo, chosen = topology(topo_path), [k.strip() for k in kinds.split(",") if k.strip()]
        if as_json:
            write_sweep_json(sys.stdout, topo, depth, chosen, impact_only)
        else:
            render_sweep(sweep(topo, depth, chosen, impact_only), top, wide)

    @app.command("reroute")
    def reroute_cmd(
        failures: list[str] = typer.Argument(..., help="kind:id or a bare id, one or more."),
        metric: str = typer.Option("igp", "--metric", help="Path metric: igp, latency, km, hops."),
        wide: bool = WideOption,
        as_json: bool = JsonOption,
        topo_path: Path = TopologyOption,
    ) -> None:
        """Datacentre router paths before/after a failure and the IGP change the controller
        would push."""
        from controller.analysis.reroute import reroute
        data = reroute(topology(topo_path), failures, metric)
        emit(data, as_json, lambda d: _render_reroute(d, wide))
