"""`ngk failures` (every single/double failure) and `ngk reroute` (one failure's reroutes)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from controller.analysis.failures import DEFAULT_KINDS, sweep
from controller.analysis.reroute import reroute
from controller.cli.common import JsonOption, TopologyOption, console, emit, table, topology, \
    user_errors


def _failed(s: dict[str, Any]) -> str:
    return " + ".join(f"{f['kind']}:{f['id']}" for f in s["failed"])


def _render_sweep(data: dict[str, Any]) -> None:
    rows = [[_failed(s), len(s["links_down"]), s["disconnected_pairs"],
             ", ".join("-".join(p) for p in s["datacentre_pairs_disconnected"]),
             len(s["members_without_datacentre"]), s["worst_dc_latency_increase_ms"]]
            for s in data["scenarios"]]
    table(f"Failures (depth {data['depth']}, kinds {','.join(data['kinds'])})",
          ["failed", "links down", "lost site pairs", "DC pairs cut", "members w/o DC",
           "worst DC +ms"], rows)
    summ = data["summary"]
    table("Single points of failure", ["kind", "id", "sites"],
          [[s["kind"], s["id"], ", ".join(s["sites"])] for s in summ["single_points_of_failure"]])
    console.print(f"{summ['scenarios']} scenarios, {summ['disconnecting']} disconnecting")


def _render_reroute(data: dict[str, Any]) -> None:
    def path(p: dict | None) -> str:
        return "unreachable" if p is None else f"{' > '.join(p['sites'])} ({p['latency_ms']} ms)"

    table(f"Reroutes after {_failed(data)}", ["pair", "before", "after", "+ms", "in budget"],
          [[f"{p['src']}-{p['dst']}", path(p["before"]), path(p["after"]),
            p["latency_increase_ms"], p["within_budget"]] for p in data["pairs"]])
    if data["igp_changes"]:
        table("Proposed IGP metric changes", ["router", "interface", "link", "old", "new"],
              [[c["router"], c["interface"], c["link"], c["old_metric"], c["new_metric"]]
               for c in data["igp_changes"]])
    summ = data["summary"]
    console.print(f"links down: {len(data['links_down'])}, lost site pairs: "
                  f"{data['disconnected_pairs']}, members without a datacentre: "
                  f"{', '.join(data['members_without_datacentre']) or 'none'}, "
                  f"IGP action: {summ['igp_action']}")
    for note in summ["notes"]:
        console.print(f"- {note}")


def register(app: typer.Typer) -> None:
    """Add `failures` and `reroute` to the top-level app."""

    @app.command("failures")
    def failures_cmd(
        depth: int = typer.Option(1, "--depth", help="1: single failures; 2: also every pair."),
        kinds: str = typer.Option(",".join(DEFAULT_KINDS), "--kinds",
                                  help="Comma-separated: span, srlg, site, router, link."),
        impact_only: bool = typer.Option(False, "--impact-only",
                                         help="List only scenarios with an impact."),
        as_json: bool = JsonOption,
        topo_path: Path = TopologyOption,
    ) -> None:
        """Every single (and with --depth 2 every double) failure and what it cuts or stretches."""
        topo = topology(topo_path)
        with user_errors():
            data = sweep(topo, depth, [k.strip() for k in kinds.split(",") if k.strip()],
                         impact_only)
        emit(data, as_json, _render_sweep)

    @app.command("reroute")
    def reroute_cmd(
        failures: list[str] = typer.Argument(..., help="kind:id or a bare id, one or more."),
        metric: str = typer.Option("igp", "--metric", help="Path metric: igp, latency, km, hops."),
        as_json: bool = JsonOption,
        topo_path: Path = TopologyOption,
    ) -> None:
        """Datacentre paths before/after a failure and the IGP change the controller would push."""
        topo = topology(topo_path)
        with user_errors():
            data = reroute(topo, failures, metric)
        emit(data, as_json, _render_reroute)
