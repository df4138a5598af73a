"""IGP metric changes instead of hardware: the second half of `ngk capacity plan`
(docs/capacity.md).

Setting OSPF metrics so that a network meets load limits is NP-hard (Fortz and Thorup, 2000), so
the metrics are searched, and each answer says what is proved:

- `found`: with the new metrics, re-analysed exactly like `ngk capacity` (intact and every single
  failure), every link carries at most the threshold and the priority class at most its share.
  The changes come from a greedy local search (one link at a time, the move that most reduces the
  total excess over the limits, ties kept by ECMP-creating values), after which every change that
  can be undone is: no change in the answer is spare, but fewer changes elsewhere may exist.
- `impossible`: in some scenario no routing at all meets the limits: a multicommodity-flow
  linear program (every demand may split over any paths, to any of its destination's live
  routers; solved by HiGHS through `scipy.optimize.linprog`) is infeasible. OSPF routing is one
  such routing, so no metrics exist; only hardware helps.
- `not-found`: neither; the search stopped at a local minimum or at `max_changes`.
- `not-needed`: the current metrics already meet both limits.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Iterable

import networkx as nx
import numpy as np
from scipy import sparse
from scipy.optimize import linprog

from controller.analysis.capacity import OVER, PRIO, CapacityModel, Down, analyse
from controller.analysis.failures import elements
from controller.analysis.reroute import budget, dc_router_pairs
from controller.analysis.router_paths import RouterGraph
from controller.model.demands import Demands
from controller.model.layers import Element
from controller.model.topology import STUB_COST, Topology

EPS = 1e-9
MAX_METRIC = STUB_COST - 1  # a core link stays cheaper than any stub router's links
LP_SCENARIOS = 20  # the most overloaded scenarios given to the linear program
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
    g = nx.DiGraph()
    for other in topo.links.values():
        if other.id == lid:
            continue
        for u, w in ((other.a.router, other.b.router), (other.b.router, other.a.router)):
            g.add_edge(u, w, cost=STUB_COST if topo.routers[u].stub else other.metric)
    link = topo.links[lid]
    values = {link.metric // 2, 2 * link.metric}
    for u, w in ((link.a.router, link.b.router), (link.b.router, link.a.router)):
        try:
            alt = nx.shortest_path_length(g, u, w, weight="cost")
        except (nx.NetworkXNoPath, nx.NodeNotFound):
            continue
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


# --- the lower bound: can any routing meet the limits? --------------------------------------
def _overloaded(m: CapacityModel, loads: np.ndarray, threshold: float) -> float:
    """How much a scenario's loads exceed the limits (0: within them)."""
    cap = m.net.cap
    return float(np.maximum(loads.sum(0) / cap - threshold * OVER, 0).sum()
                 + np.maximum(loads[PRIO] / cap - m.share * OVER, 0).sum())


def routable(m: CapacityModel, down: Down, threshold: float) -> bool:
    """Whether some routing (any split over any paths, to any live router of each destination)
    carries every demand that still has a path within the limits in scenario `down`."""
    net = m.net
    live = [a for a in range(net.A) if a not in down.arcs
            and net.arc[a][0] not in down.dead and net.arc[a][1] not in down.dead]
    g = nx.DiGraph((net.arc[a][0], net.arc[a][1]) for a in live)
    n = len(net.routers)
    reach: dict[int, set[int]] = {}  # root -> the routers with a path to one of its live routers
    # commodities: (destination root, priority or not) -> {source router set: Gbps}
    commodities: dict[tuple[int, bool], dict[tuple[int, ...], float]] = {}
    for r, src in enumerate(m.route_src):
        dst = [o for o in m.origins[m.route_root[r]] if o not in down.dead]
        srcs = tuple(s for s in src if s not in down.dead)
        root = m.route_root[r]
        if root not in reach:
            reach[root] = set(dst).union(*(nx.ancestors(g, o) for o in dst if o in g))
        if not any(s in reach[root] for s in srcs):
            continue  # unrouted whatever the routing
        for prio, gbps in ((True, m.gbps[r, PRIO]), (False, m.gbps[r].sum() - m.gbps[r, PRIO])):
            if gbps > EPS:
                sources = commodities.setdefault((root, prio), {})
                sources[srcs] = sources.get(srcs, 0.0) + float(gbps)
    if not commodities:
        return True
    eq_rows: list[int] = []
    eq_cols: list[int] = []
    eq_vals: list[float] = []
    rhs: list[float] = []
    ub_rows: list[int] = []
    ub_cols: list[int] = []
    col = 0
    rows = n  # per commodity: n conservation rows, then one supply row per source set
    base_row = 0
    for (root, prio), sources in commodities.items():
        for a in live:  # real arcs: out of tail (-1), into head (+1), on the arc's limits
            u, w, _ = net.arc[a]
            eq_rows += [base_row + u, base_row + w]
            eq_cols += [col, col]
            eq_vals += [-1.0, 1.0]
            ub_rows.append(a)
            ub_cols.append(col)
            if prio:
                ub_rows.append(net.A + a)
                ub_cols.append(col)
            col += 1
        for o in m.origins[root]:  # sink arcs out of each live destination router
            if o not in down.dead:
                eq_rows.append(base_row + o)
                eq_cols.append(col)
                eq_vals.append(-1.0)
                col += 1
        rhs += [0.0] * n
        for j, (srcs, gbps) in enumerate(sources.items()):
            for s in srcs:  # virtual arcs from the source set into each of its routers
                eq_rows += [base_row + s, base_row + n + j]
                eq_cols += [col, col]
                eq_vals += [1.0, 1.0]
                col += 1
            rhs.append(gbps)
        base_row += rows + len(sources)
    a_eq = sparse.csr_matrix((eq_vals, (eq_rows, eq_cols)), shape=(base_row, col))
    a_ub = sparse.csr_matrix((np.ones(len(ub_rows)), (ub_rows, ub_cols)), shape=(2 * net.A, col))
    b_ub = np.concatenate([net.cap * threshold, net.cap * m.share])
    res = linprog(np.zeros(col), A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=np.array(rhs),
                  bounds=(0, None), method="highs")
    return bool(res.status == 0)


def unroutable_scenario(topo: Topology, demands: Demands, threshold: float,
                        kinds: Iterable[str]) -> list[Element] | None:
    """A scenario (its failed elements; [] intact) in which no routing meets the limits, among
    the LP_SCENARIOS most overloaded ones under the current metrics; None if none is found.
    A scenario no routing can serve is overloaded under every metrics, so only overloaded
    ones are tried."""
    m = CapacityModel(topo, demands)
    intact = m.net.down([])
    tried: list[tuple[float, int, list[Element], Down]] = []
    over0 = _overloaded(m, m.L0, threshold)
    if over0 > 0:
        tried.append((over0, 0, [], intact))
    for i, el in enumerate(elements(topo, kinds), 1):
        state = m.single((el,))
        over = _overloaded(m, m.L0 + m.delta(state, state.flows, {}), threshold)
        if over > 0:
            tried.append((over, i, [el], state.down))
    tried.sort(key=lambda t: (-t[0], t[1]))
    for _, _, els, down in tried[:LP_SCENARIOS]:
        if not routable(m, down, threshold):
            return els
    return None


# --- the search -------------------------------------------------------------------------------
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
