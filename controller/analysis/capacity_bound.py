"""Can any routing at all meet the load limits? The lower bound behind `ngk capacity plan`'s
IGP metric search (docs/capacity.md).

Per scenario, a multicommodity-flow linear program: every demand may split over any paths, to
any live router of its destination (flows per destination and class; each link direction
carries at most threshold x capacity in all and share x capacity of priority), solved by HiGHS
through `scipy.optimize.linprog`. Infeasible: no routing meets the limits there, so no OSPF
metrics do either. A scenario no routing can serve is overloaded under every metrics, so only
the ones overloaded under the current metrics are tried.
"""
from __future__ import annotations

from typing import Iterable

import networkx as nx
import numpy as np
from scipy import sparse
from scipy.optimize import linprog

from controller.analysis.capacity import OVER, PRIO, CapacityModel, Down
from controller.analysis.failures import elements
from controller.model.demands import Demands
from controller.model.layers import Element
from controller.model.topology import Topology

EPS = 1e-9
LP_SCENARIOS = 20  # the most overloaded scenarios given to the linear program


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
