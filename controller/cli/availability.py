"""`ngk availability`: expected downtime per datacentre pair and member site."""
from __future__ import annotations

from pathlib import Path

import typer

from controller.cli.common import Col, JsonOption, TopologyOption, WideOption, console, emit, \
    table, topology


def _risks(row: dict) -> str:
    return ", ".join(f"{r['kind']}:{r['id']} {r['share']:.0%}" for r in row["dominant_risks"])


def _show(report: dict, wide: bool = False) -> None:
    m = report["model"]
    console.print(f"Model: {m['cuts_per_1000km_year']} cuts/1000 km/yr, span MTTR "
                  f"{m['span_mttr_h']} h; routers {m['router_failures_per_year']}/yr x "
                  f"{m['router_mttr_h']} h; sites {m['site_failures_per_year']}/yr x "
                  f"{m['site_mttr_h']} h; {m['risks']} risks, single and double failures "
                  f"(3rd order neglected, <= {m['truncation_bound_min_per_year']:.3f} min/yr)",
                  markup=False)
    table("Datacentre pairs", ["from", "to", Col("availability (%)", right=True),
                               Col("downtime (min/yr)", right=True), "dominant risks"],
          [[r["src"], r["dst"], f"{100 * r['availability']:.5f}",
            f"{r['downtime_min_per_year']:.1f}", _risks(r)] for r in report["datacentre_pairs"]],
          wide)
    table("Members to their nearest datacentre",
          ["member", "nearest DC", Col("availability (%)", right=True),
           Col("downtime (min/yr)", right=True), Col("to any DC (min/yr)", right=True),
           Col("dominant risks", wide=True)],
          [[r["src"], r["dst"], f"{100 * r['availability']:.5f}",
            f"{r['downtime_min_per_year']:.1f}",
            f"{r['any_datacentre']['downtime_min_per_year']:.1f}", _risks(r)]
           for r in report["members"]], wide)
    best = report["best_investment"]
    if best:
        console.print(f"Best single investment: a new span {best['a']}-{best['b']} "
                      f"({best['km']} km) saves {best['gain_min_per_year']:.1f} min/yr "
                      f"({best['total_before_min_per_year']:.1f} -> "
                      f"{best['total_after_min_per_year']:.1f}; {best['candidates_evaluated']} "
                      "candidates)", markup=False)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""

    @app.command()
    def availability(
        cut_rate: float = typer.Option(None, "--cut-rate", min=0.0,
                                       help="Fibre cuts per 1000 km per year (default: settings)."),
        mttr: float = typer.Option(None, "--mttr", min=0.0,
                                   help="Span repair time in hours (default: settings)."),
        wide: bool = WideOption,
        as_json: bool = JsonOption,
        topology_file: Path = TopologyOption,
    ) -> None:
        """Expected annual downtime per datacentre pair and per member site
        (docs/availability.md)."""
        from controller.analysis.availability import availability_report
        emit(availability_report(topology(topology_file), cut_rate, mttr), as_json,
             lambda r: _show(r, wide))
