"""IGP metric changes instead of hardware: the second half of `ngk capacity plan`
(docs/capacity.md).

Setting OSPF metrics so that a network meets load limits is NP-hard (Fortz and Thorup, 2000), so
the metrics are searched, and each answer says what is proved:

- `found`: with the new metrics, re-analysed exactly like `ngk capacity` (intact and every single
  failure), every link carries at most the threshold and the priority class at most its share.
  The changes come from a greedy local search (one link at a time, the move that most reduces the
  total excess over the limits, ties kept by ECMP-creating values), after which every change that
  can be undone is: no change in the answer is spare, but fewer changes elsewhere may exist.
  Moves that put a datacentre pair over a latency budget it met are rejected.
- `impossible`: in some scenario no routing at all meets the limits (capacity_bound.py). OSPF
  routing is one such routing, so no metrics exist; only hardware helps.
- `not-found`: neither; the search stopped at a local minimum, `max_changes` or
  `max_evaluations`.
- `not-needed`: the current metrics already meet both limits.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Iterable

from controller.analysis.capacity import analyse
from controller.analysis.capacity_bound import unroutable_scenario
from controller.analysis.reroute import budget, dc_router_pairs
from controller.analysis.router_paths import RouterGraph
from controller.model.demands import Demands
from controller.model.layers import Element, Outage
from controller.model.topology import STUB_COST, Topology

EPS = 1e-9
MAX_METRIC = STUB_COST - 1  # a core link stays cheaper than any stub router's links
Progress = Callable[[str], None]
GUARANTEE = {
    "not-needed": "Exact: the current metrics meet both limits in every scenario analysed.",
    "found": "Exact check: with these metrics, re-analysed intact and under every single "
             "failure of the kinds analysed, every link stays within the threshold and the "
             "priority class within its share, and no datacentre pair's intact path breaks a "
             "latency budget it met before; no change in the list is spare. Found by a local "
             "search: fewer changes may exist.",
    "impossible": "Proof: in this scenario a linear program over every possible routing "
                  "(any split, any paths) is infeasible, so no IGP metrics meet the limits.",
    "not-found": "Not proven either way: the local search found no metrics that meet the "
                 "limits (any listed changes only come closest), and no scenario was shown to "
                 "be beyond every routing.",
}


def excess(data: dict[str, Any], threshold: float) -> float:
    """How far `ngk capacity`'s worst cases are over the limits, summed over links (0: met)."""
    share = data["priority_share"]
    return sum(max(0.0, lk["worst_utilisation"] - threshold)
               + max(0.0, lk["by_class"]["priority"] / lk["capacity_gbps"] - share)
               for lk in data["links"])


def with_metrics(topo: Topology, metrics: dict[str, int]) -> Topology:
    """`topo` with the given links' metrics replaced."""
    return replace(topo, links={**topo.links, **{
        lid: replace(topo.links[lid], metric=m) for lid, m in metrics.items()}})


def core_links(topo: Topology) -> list[str]:
    """The links whose metric the search may change: between two non-stub routers."""
    return sorted(lid for lid, lk in topo.links.items()
                  if not topo.routers[lk.a.router].stub and not topo.routers[lk.b.router].stub)


def candidate_metrics(topo: Topology, lid: str) -> list[int]:
    """Values worth trying for a link: just under, at (ECMP) and just over the cheapest other
    path between its ends, and half and double its metric; within 1..MAX_METRIC, not its own."""
    g = RouterGraph(topo, Outage(frozenset(), frozenset({lid}), frozenset(), frozenset()))
    link = topo.links[lid]
    values = {link.metric // 2, 2 * link.metric}
    for u, w in ((link.a.router, link.b.router), (link.b.router, link.a.router)):
        paths = g.paths(u, w)
        if paths:
            alt = int(g.cost(paths[0]))
            values |= {alt - 1, alt, alt + 1}
    return sorted(v for v in values if 1 <= v <= MAX_METRIC and v != link.metric)


def dc_latency(topo: Topology, metrics: dict[str, int]
               ) -> dict[tuple[str, str], tuple[float, float]]:
    """(latency, budget) in ms of every pair of datacentre routers that a service's latency
    budget covers, intact, with `metrics` overriding link metrics; the latency is the slowest
    of the pair's ECMP paths."""
    g = RouterGraph(topo, None, "igp", metrics)
    out = {}
    for a, b, ra, rb in dc_router_pairs(topo):
        limit = budget(topo, a, b)
        paths = g.paths(ra, rb) if limit is not None else []
        if paths and limit is not None:
            out[(ra, rb)] = (max(g.path_dict(p)["latency_ms"] for p in paths), limit)
    return out


def latency_breaks(topo: Topology, metrics: dict[str, int]) -> set[tuple[str, str]]:
    """The datacentre router pairs whose intact path is over their budget."""
    return {pair for pair, (ms, limit) in dc_latency(topo, metrics).items() if ms > limit + EPS}


def metric_plan(topo: Topology, demands: Demands, threshold: float, kinds: Iterable[str],
                max_changes: int = 3, max_evaluations: int = 400,
                progress: Progress = lambda _m: None) -> dict[str, Any]:
    """The `metrics` part of the plan's JSON (docs/capacity.md). Each evaluation is one
    `ngk capacity` analysis (intact and every single failure) with candidate metrics."""
    kinds = tuple(kinds)
    evaluations = rejected = 0
    breaks = latency_breaks(topo, {})

    def evaluate(changes: dict[str, int]) -> tuple[float, dict[str, Any]]:
        nonlocal evaluations
        evaluations += 1
        data = analyse(with_metrics(topo, changes), demands, 1, kinds)
        return excess(data, threshold), data

    def result(status: str, changes: dict[str, int], data: dict[str, Any] | None,
               witness: list[Element] | None = None, stopped: str | None = None
               ) -> dict[str, Any]:
        before, after = dc_latency(topo, {}), dc_latency(topo, changes)
        return {"status": status, "guarantee": GUARANTEE[status],
                "changes": [{"id": lid, "metric": topo.links[lid].metric, "new_metric": v}
                            for lid, v in sorted(changes.items())
                            if v != topo.links[lid].metric],
                "max_utilisation_after": data["summary"]["max_utilisation"] if data else None,
                "evaluations": evaluations, "rejected_for_latency": rejected,
                "stopped": stopped,
                "latency": [{"src_router": ra, "dst_router": rb, "before_ms": ms,
                             "after_ms": after[ra, rb][0] if (ra, rb) in after else None,
                             "budget_ms": limit}
                            for (ra, rb), (ms, limit) in sorted(before.items())
                            if after.get((ra, rb)) != (ms, limit)],
                "impossible_failure": ([el.as_dict() for el in witness]
                                       if witness is not None else None)}

    best, data = evaluate({})
    if best <= EPS:
        return result("not-needed", {}, data)
    progress("linear program: can any routing meet the limits?")
    witness = unroutable_scenario(topo, demands, threshold, kinds)
    if witness is not None:
        return result("impossible", {}, None, witness)
    changes: dict[str, int] = {}
    links = core_links(topo)
    stopped = "local-minimum"
    while best > EPS:
        current = with_metrics(topo, changes)
        step: tuple[tuple[float, float, int], str, int, dict[str, Any]] | None = None
        moves = [(lid, v) for lid in links if lid in changes or len(changes) < max_changes
                 for v in candidate_metrics(current, lid)]
        for lid, value in moves[:max_evaluations - evaluations]:
            if latency_breaks(topo, {**changes, lid: value}) - breaks:
                rejected += 1
                continue
            score, d = evaluate({**changes, lid: value})
            key = (score, d["summary"]["max_utilisation"], abs(value - topo.links[lid].metric))
            if step is None or key < step[0]:
                step = (key, lid, value, d)
        if step is not None and step[0][0] < best - EPS:
            (best, _, _), lid, value, data = step
            changes[lid] = value
            progress(f"metric {lid} -> {value}: excess over the limits {best:.3g} "
                     f"({evaluations} evaluations)")
        elif evaluations < max_evaluations:  # no move improves
            stopped = "max-changes" if len(changes) >= max_changes else "local-minimum"
            break
        if best > EPS and evaluations >= max_evaluations:
            stopped = "max-evaluations"
            break
    if best > EPS:
        return result("not-found", changes, data, stopped=stopped)
    for lid in sorted(changes):  # undo every change the answer does not need
        rest = {k: v for k, v in changes.items() if k != lid}
        if latency_breaks(topo, rest) - breaks:
            continue
        score, d = evaluate(rest)
        if score <= EPS:
            changes, data = rest, d
    return result("found", changes, data)
