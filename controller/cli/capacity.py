"""`ngk capacity`: every link's load, intact and under its worst failure (docs/capacity.md).

The engine (numpy, scipy) and the picture (matplotlib) load inside the command.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from controller.cli.common import Col, JsonOption, TopologyOption, WideOption, cell, console, \
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
    cut = [d for d in data["demands"] if d["cut_off_failure"]]
    counts = [
        ("scenarios (intact included)", summ["scenarios"]),
        ("congested scenarios (a link over 100 %)", summ["congested_scenarios"]),
        (f"scenarios with priority over its share ({_pct(data['priority_share'])} %)",
         summ["priority_at_risk_scenarios"]),
        (f"links over {_pct(threshold)} % in their worst case",
         len(over_threshold(data, threshold))),
        ("demands unrouted in some scenario (their own site failing included)",
         f"{len(lost)} of {len(data['demands'])}"),
        ("worst unrouted traffic (Gbps)", summ["unrouted_gbps"]),
        ("demands cut off while both their ends are up", f"{len(cut)} of {len(data['demands'])}"),
        ("worst cut-off traffic (Gbps)", summ["cut_off_gbps"]),
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


DemandsOption = typer.Option(None, "--demands", "-d", help="Demands YAML (docs/capacity.md); "
                             "default: the gravity model.")
KindsOption = typer.Option(KINDS, "--kinds",
                           help="Comma-separated: span, srlg, site, router, link.")
GUARANTEE = ("Guarantee: after these upgrades, in the intact network and under every single "
             "failure of the kinds analysed, every link carries at most the threshold of its "
             "capacity and the priority class at most its share; no cheaper set of the given "
             "steps does (routing does not depend on capacity, so each link is sized on its own: "
             "docs/capacity.md).")


def _inputs(topo_path: Path | None, demands_file: Path | None, kinds: str) -> tuple[Any, ...]:
    from controller.model.demands import gravity, load_demands
    topo = topology(topo_path)
    demands = load_demands(demands_file, topo) if demands_file else gravity(topo)
    return topo, demands, [k.strip() for k in kinds.split(",") if k.strip()]


def render_plan(data: dict[str, Any], wide: bool = False) -> None:
    summ = data["summary"]
    if not data["upgrades"]:
        console.print(f"No upgrade needed: no single failure ({','.join(data['kinds'])}) loads "
                      f"a link over {_pct(data['threshold'])} %.", markup=False)
    else:
        _plan_table(data, wide)
    console.print(f"{summ['links_upgraded']} links upgraded, {cell(summ['added_gbps'])} Gbps "
                  f"added, total cost {cell(summ['total_cost'])}; worst utilisation "
                  f"{_pct(summ['max_utilisation_before'])} % -> "
                  f"{_pct(summ['max_utilisation_after'])} % over {summ['scenarios']} "
                  f"scenarios.\n{GUARANTEE}", markup=False)
    if data.get("metrics"):
        _metrics_section(data["metrics"])


STOPPED = {"local-minimum": "a local minimum", "max-changes": "--max-changes",
           "max-evaluations": "--max-evaluations"}


def _metrics_section(m: dict[str, Any]) -> None:
    changes = ", ".join(f"{c['id']} {c['metric']} -> {c['new_metric']}" for c in m["changes"])
    after = (f"; worst utilisation then {_pct(m['max_utilisation_after'])} %"
             if m["max_utilisation_after"] is not None else "")
    if m["status"] == "not-needed":
        line = "IGP metrics: the current metrics already meet the limits."
    elif m["status"] == "found":
        line = f"IGP metrics instead of hardware: {changes}{after}."
        line += "".join(f"\n  datacentre path {p['src_router']}-{p['dst_router']}: "
                        f"{p['before_ms']} -> {p['after_ms']} ms (budget {p['budget_ms']} ms)"
                        for p in m["latency"])
    elif m["status"] == "impossible":
        scenario = _failure(m["impossible_failure"]).replace("\n", " + ")
        line = (f"IGP metrics cannot replace hardware: in the scenario {scenario} no routing "
                "at all keeps every link within the limits.")
    else:
        closest = f" (closest: {changes}{after})" if changes else ""
        line = (f"IGP metrics: no change found that meets the limits in {m['evaluations']} "
                f"evaluations, stopped at {STOPPED[m['stopped']]}{closest}.")
    console.print(f"{line}\n{m['guarantee']}", markup=False)


def _plan_table(data: dict[str, Any], wide: bool) -> None:
    table(f"Capacity plan: upgrades so no single failure ({','.join(data['kinds'])}) loads a "
          f"link over {_pct(data['threshold'])} %",
          ["link", Col("cap (Gbps)", right=True), Col("new cap (Gbps)", right=True),
           Col("steps", right=True), Col("cost", right=True), Col("worst (%)", right=True),
           Col("after (%)", right=True), Col("worst failure", wide=True)],
          [[u["id"], u["capacity_gbps"], u["new_capacity_gbps"], u["steps"], u["cost"],
            _pct(u["worst_utilisation"]), _pct(u["new_worst_utilisation"]),
            _failure(u["worst_failure"])] for u in data["upgrades"]], wide)


def register(app: typer.Typer) -> None:
    """Add `capacity` (and `capacity plan`) to the top-level app."""
    group = typer.Typer()  # its help: capacity_cmd's docstring
    app.add_typer(group, name="capacity")

    @group.callback(invoke_without_command=True)
    def capacity_cmd(
        ctx: typer.Context,
        demands_file: Optional[Path] = DemandsOption,
        depth: int = typer.Option(1, "--depth", min=0, max=2,
                                  help="0: intact only; 1: every single failure; 2: every pair."),
        kinds: str = KindsOption,
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
        over its share, 2 bad input. `ngk capacity plan`: the cheapest upgrades."""
        if ctx.invoked_subcommand:
            return
        from controller.analysis.capacity import analyse
        if draw is not None:
            from controller.analysis.capacity_draw import check_picture
            check_picture(draw)
        topo, demands, chosen = _inputs(topo_path, demands_file, kinds)
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

    @group.command("plan")
    def plan_cmd(
        demands_file: Optional[Path] = DemandsOption,
        kinds: str = KindsOption,
        threshold: float = typer.Option(0.8, "--threshold", min=0.01, max=1.0,
                                        help="Highest utilisation allowed under any single "
                                             "failure."),
        steps_file: Optional[Path] = typer.Option(
            None, "--steps", help="Upgrade steps and costs per link (docs/capacity.md); "
                                  "default: one more circuit of the link's capacity, cost 1."),
        metrics: bool = typer.Option(
            True, "--metrics/--no-metrics",
            help="Also search IGP metric changes that meet the same limits without hardware."),
        max_changes: int = typer.Option(3, "--max-changes", min=1,
                                        help="Metric search: at most this many links changed."),
        max_evaluations: int = typer.Option(
            400, "--max-evaluations", min=1,
            help="Metric search: at most this many analyses of candidate metrics."),
        wide: bool = WideOption,
        as_json: bool = JsonOption,
        topo_path: Path = TopologyOption,
    ) -> None:
        """The cheapest capacity upgrades so that no single failure loads a link over
        --threshold and the priority class stays within its share (exact), and IGP metric
        changes that do the same without hardware where the search finds them (exit 0, 2 bad
        input)."""
        from controller.analysis.capacity_plan import Step, load_steps, plan
        topo, demands, chosen = _inputs(topo_path, demands_file, kinds)
        default, steps = load_steps(steps_file, topo) if steps_file else (Step(), {})
        data = plan(topo, demands, threshold, chosen, default, steps)
        data["demands_source"] = demands.source
        data["guarantee"] = GUARANTEE
        if metrics:
            from controller.analysis.capacity_metrics import metric_plan
            with err_console.status("searching IGP metric changes") as status:
                data["metrics"] = metric_plan(
                    topo, demands, threshold, chosen, max_changes, max_evaluations,
                    lambda msg: status.update(f"searching IGP metric changes: {msg}"))
        emit(data, as_json, lambda d: render_plan(d, wide))
