"""Load on every IP link, per class, intact and under every failure (docs/capacity.md).

Routing as the network does it: router level, OSPF costs per direction, ECMP split equally over
the next hops at every hop (FRR). A CE router is a stub router (`max-metric router-lsa`): every
link it sends on costs 65535, so members carry transit only when no other path exists. A
destination site or service is reached at its nearest live router; a source site or service
sends from the routers nearest the destination (ties split equally).

Failures are `ngk failures`' elements and mean the same (`layers.outage`). The sweep is
incremental: a route (source endpoint -> destination endpoint) is re-routed only when a failed
link or router carries its flow, and then on distances repaired from the intact ones (only the
nodes that lost every shortest next hop are recomputed). Removing anything a route's flow does
not use leaves that flow unchanged, so for two failures whose affected routes are disjoint and
neither touching the other's new flows the loads add up exactly; those pairs are aggregated
with numpy, every other pair is evaluated on top of its first failure's state.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from heapq import heappop, heappush
from itertools import combinations
from typing import Any, Iterable

import numpy as np
from scipy import sparse

from controller.analysis.failures import DEFAULT_KINDS, elements
from controller.model.demands import CLASSES, Demands
from controller.model.layers import Element, outage
from controller.model.topology import STUB_COST, Topology

INF = float("inf")
EPS = 1e-9  # Gbps below this are rounding noise
OVER = 1 + 1e-9  # utilisation above this is over 100 % (or over the priority share)
PRIO = CLASSES.index("priority")


@dataclass(slots=True)
class Flow:
    """Where one route's traffic goes: arcs and the fraction of it on each."""

    arcs: np.ndarray
    fracs: np.ndarray
    touch: frozenset[int]  # arcs used and (as A + node) routers passed: what can change it
    routed: bool


@dataclass(slots=True)
class Down:
    """A scenario's failed arcs (both directions of each link down) and routers."""

    arcs: frozenset[int]
    dead: frozenset[int]
    keys: frozenset[int]  # arcs and A + router, matched against Flow.touch


@dataclass(slots=True)
class State:
    """A scenario: repaired distances per root and the routes whose flow changed."""

    down: Down
    dist: dict[int, dict[int, float]] = field(default_factory=dict)
    flows: dict[int, Flow] = field(default_factory=dict)


class Network:
    """Routers and directed arcs (link i: arc 2i a->b, arc 2i+1 b->a) with OSPF costs."""

    def __init__(self, topo: Topology):
        self.topo = topo
        self.routers = sorted(topo.routers)
        self.index = {r: i for i, r in enumerate(self.routers)}
        self.links = sorted(topo.links)
        self.A = 2 * len(self.links)
        self.out: list[list[tuple[int, int, int]]] = [[] for _ in self.routers]
        self.inn: list[list[tuple[int, int, int]]] = [[] for _ in self.routers]
        # out-arcs to non-stub routers: a stub w that is not an origin is `STUB_COST` or more
        # from any root (all it sends on costs that), so an arc into it is a next hop only from
        # a router at STUB_COST or more; below that, core arcs and arcs into origins suffice
        self.core_out: list[list[tuple[int, int, int]]] = [[] for _ in self.routers]
        self.is_stub = [topo.routers[r].stub for r in self.routers]
        cap: list[float] = []
        self.arc: list[tuple[int, int, int]] = []  # (tail, head, cost) per arc
        self.pos = {lid: i for i, lid in enumerate(self.links)}
        for i, lid in enumerate(self.links):
            link = topo.links[lid]
            a, b = self.index[link.a.router], self.index[link.b.router]
            for arc, (u, w) in ((2 * i, (a, b)), (2 * i + 1, (b, a))):
                cost = STUB_COST if self.is_stub[u] else link.metric
                self.arc.append((u, w, cost))
                self.out[u].append((arc, w, cost))
                self.inn[w].append((arc, u, cost))
                if not self.is_stub[w]:
                    self.core_out[u].append((arc, w, cost))
            cap += [link.capacity_gbps, link.capacity_gbps]
        self.cap = np.array(cap, dtype=float)

    def into(self, origins: frozenset[int]) -> dict[int, list[tuple[int, int, int]]]:
        """u -> its arcs into the stub routers among `origins` (the ones `core_out` lacks)."""
        out: dict[int, list[tuple[int, int, int]]] = {}
        for o in origins:
            if self.is_stub[o]:
                for arc, u, c in self.inn[o]:
                    out.setdefault(u, []).append((arc, o, c))
        return out

    def candidates(self, u: int, du: float, into: dict[int, list[tuple[int, int, int]]]
                   ) -> list[tuple[int, int, int]]:
        """The out-arcs of u that can be on a shortest path when u is `du` from the root."""
        if du >= STUB_COST:
            return self.out[u]
        extra = into.get(u)
        return self.core_out[u] + extra if extra else self.core_out[u]

    def down(self, els: Iterable[Element]) -> Down:
        out = outage(self.topo, list(els))
        arcs = frozenset(2 * self.pos[lid] + d for lid in out.links for d in (0, 1))
        dead = frozenset(self.index[r] for r in out.routers)
        return Down(arcs, dead, arcs | frozenset(self.A + n for n in dead))

    # --- shortest paths towards a root (the routers of a destination endpoint) ------------
    def distances(self, origins: frozenset[int]) -> list[float]:
        """IGP cost from every router to the nearest origin (reverse Dijkstra)."""
        dist = [INF] * len(self.routers)
        heap = [(0.0, o) for o in origins]
        for o in origins:
            dist[o] = 0.0
        while heap:
            d, u = heappop(heap)
            if d > dist[u]:
                continue
            for _, p, c in self.inn[u]:
                if d + c < dist[p]:
                    dist[p] = d + c
                    heappush(heap, (d + c, p))
        return dist

    def repair(self, base: list[float], prior: dict[int, float], origins: frozenset[int],
               down: Down, new_arcs: Iterable[int], new_dead: Iterable[int],
               into: dict[int, list[tuple[int, int, int]]]) -> dict[int, float]:
        """Distances after `new_arcs`/`new_dead` fail on top of `prior` (an overlay on `base`;
        `down` holds every failure): only routers that lost all shortest next hops change.
        `into`: `self.into(origins)`."""
        def dist(u: int) -> float:
            return prior[u] if u in prior else base[u]

        heap: list[tuple[float, int]] = []
        for arc in new_arcs:
            u, w, c = self.arc[arc]
            du = dist(u)
            if du < INF and du == c + dist(w):
                heappush(heap, (du, u))
        for x in new_dead:
            if dist(x) < INF:
                heappush(heap, (dist(x), x))
        lost: set[int] = set()
        while heap:
            du, u = heappop(heap)
            if u in lost or (u in origins and u not in down.dead):
                continue
            if u not in down.dead and any(arc not in down.arcs and w not in lost
                                          and du == c + dist(w)
                                          for arc, w, c in self.candidates(u, du, into)):
                continue
            lost.add(u)
            for arc, p, c in self.inn[u]:
                if arc not in down.arcs and dist(p) == c + du:
                    heappush(heap, (dist(p), p))
        out = dict(prior)
        tent: dict[int, float] = {}
        heap = []
        for u in lost:
            out[u] = INF
            if u in down.dead:
                continue
            best = min((c + dist(w) for arc, w, c in self.candidates(u, 0.0, into)
                        if arc not in down.arcs and w not in lost), default=INF)
            if best >= STUB_COST:  # no way below STUB_COST: through a stub router, if any
                best = min((c + dist(w) for arc, w, c in self.out[u]
                            if arc not in down.arcs and w not in lost), default=INF)
            if best < INF:
                tent[u] = best
                heappush(heap, (best, u))
        while heap:
            d, u = heappop(heap)
            if out[u] < INF or d > tent[u]:
                continue
            out[u] = d
            for arc, p, c in self.inn[u]:
                if (p in lost and out[p] == INF and arc not in down.arcs
                        and d + c < tent.get(p, INF)):
                    tent[p] = d + c
                    heappush(heap, (d + c, p))
        return out

    def flow(self, sources: tuple[int, ...], base: list[float], overlay: dict[int, float],
             down: Down, into: dict[int, list[tuple[int, int, int]]]) -> Flow:
        """ECMP flow of one unit from the sources (nearest ones share it) to the root (`into`:
        `self.into` of its origins)."""
        def dist(u: int) -> float:
            return overlay[u] if u in overlay else base[u]

        live = [(dist(s), s) for s in sources if s not in down.dead]
        best = min(live, default=(INF, -1))[0]
        if best == INF:
            return Flow(np.empty(0, np.int64), np.empty(0), frozenset(), False)
        starts = [s for d, s in live if d == best]
        frac = {s: 1.0 / len(starts) for s in starts}
        heap = [(-best, s) for s in starts]
        loads: dict[int, float] = {}
        while heap:
            neg, u = heappop(heap)
            du = -neg
            if du == 0.0:
                continue  # a live origin of the root: delivered
            nh = [(arc, w) for arc, w, c in self.candidates(u, du, into)
                  if arc not in down.arcs and c + dist(w) == du]
            share = frac[u] / len(nh)
            for arc, w in nh:
                loads[arc] = share
                if w in frac:
                    frac[w] += share
                else:
                    frac[w] = share
                    heappush(heap, (-dist(w), w))
        arcs = np.fromiter(loads, np.int64, len(loads))
        fracs = np.fromiter(loads.values(), float, len(loads))
        touch = frozenset(loads) | frozenset(self.A + n for n in frac)
        return Flow(arcs, fracs, touch, True)


class CapacityModel:
    """A topology and its demands compiled into routes, intact flows and loads."""

    def __init__(self, topo: Topology, demands: Demands):
        self.net = net = Network(topo)
        self.demands = demands
        self.share = demands.priority_share
        roots: dict[tuple[str, ...], int] = {}
        routes: dict[tuple[tuple[str, ...], int], int] = {}
        self.demand_route: list[int] = []
        for d in demands.demands:
            rid = roots.setdefault(d.dst.routers, len(roots))
            self.demand_route.append(routes.setdefault((d.src.routers, rid), len(routes)))
        self.origins = [frozenset(net.index[r] for r in key) for key in roots]
        self.base = [net.distances(o) for o in self.origins]
        self.into = [net.into(o) for o in self.origins]
        self.route_root = [rid for _, rid in routes]
        self.route_src = [tuple(net.index[r] for r in src) for src, _ in routes]
        self.gbps = np.zeros((len(routes), len(CLASSES)))
        for d, r in zip(demands.demands, self.demand_route):
            self.gbps[r, CLASSES.index(d.cls)] += d.gbps
        intact = Down(frozenset(), frozenset(), frozenset())
        self.flows = [net.flow(self.route_src[r], self.base[self.route_root[r]], {}, intact,
                               self.into[self.route_root[r]]) for r in range(len(routes))]
        self.L0 = self._loads(range(len(routes)), self.flows)
        self.by_key: dict[int, list[int]] = {}
        for r, f in enumerate(self.flows):
            for k in f.touch:
                self.by_key.setdefault(k, []).append(r)
        self.routed0 = np.array([f.routed for f in self.flows], dtype=bool)

    def _loads(self, routes: Iterable[int], flows: Iterable[Flow]) -> np.ndarray:
        """(classes, arcs) loads of the given routes with the given flows."""
        routes, flows = list(routes), list(flows)
        out = np.zeros((len(CLASSES), self.net.A))
        if not routes:
            return out
        arcs = np.concatenate([f.arcs for f in flows])
        fr = np.concatenate([f.fracs for f in flows])
        g = np.repeat(self.gbps[routes], [len(f.arcs) for f in flows], axis=0)
        for c in range(len(CLASSES)):
            out[c] = np.bincount(arcs, fr * g[:, c], minlength=self.net.A)
        return out

    def ends_live(self, r: int, dead: frozenset[int]) -> bool:
        """Whether route r's source and destination both keep a live router."""
        return (any(s not in dead for s in self.route_src[r])
                and any(o not in dead for o in self.origins[self.route_root[r]]))

    def affected(self, keys: Iterable[int]) -> set[int]:
        return {r for k in keys for r in self.by_key.get(k, ())}

    def apply(self, prior: State | None, down: Down, new: Down, routes: set[int]) -> State:
        """The state with `new` failed on top of `prior` (None: intact); `routes` re-routed."""
        state = State(down, dict(prior.dist) if prior else {}, dict(prior.flows) if prior else {})
        for root in sorted({self.route_root[r] for r in routes}):
            fresh = root not in state.dist  # distances still intact: apply every failure
            state.dist[root] = self.net.repair(
                self.base[root], state.dist.get(root, {}), self.origins[root], down,
                down.arcs if fresh else new.arcs, down.dead if fresh else new.dead,
                self.into[root])
        for r in routes:
            root = self.route_root[r]
            state.flows[r] = self.net.flow(self.route_src[r], self.base[root],
                                           state.dist[root], down, self.into[root])
        return state

    def single(self, els: tuple[Element, ...]) -> State:
        down = self.net.down(els)
        return self.apply(None, down, down, self.affected(down.keys))

    def delta(self, state: State, routes: Iterable[int], before: dict[int, Flow]) -> np.ndarray:
        """(classes, arcs) load change of `routes` from the `before` flows to the state's."""
        routes = sorted(routes)
        old = self._loads(routes, [before.get(r, self.flows[r]) for r in routes])
        d = self._loads(routes, [state.flows[r] for r in routes]) - old
        d[np.abs(d) < EPS] = 0.0
        return d


class _Tracker:
    """Worst cases seen so far over scenarios (labels: tuples of element indexes)."""

    def __init__(self, model: CapacityModel):
        self.model = m = model
        self.worst = m.L0.sum(0)  # total load per arc
        self.who: list[tuple[int, ...]] = [()] * m.net.A
        self.cls = m.L0.copy()
        self.route_who: dict[int, tuple[int, ...]] = {}
        self.route_cut: dict[int, tuple[int, ...]] = {}  # cut off with both ends live
        self.cut = 0.0  # the most traffic so cut off in one scenario
        self.over0 = set(np.flatnonzero(self.worst > m.net.cap * OVER).tolist())
        self.prio0 = set(np.flatnonzero(m.L0[PRIO] > m.net.cap * m.share * OVER).tolist())
        self.unrouted0 = self.unrouted = float(m.gbps[~m.routed0].sum())
        self.scenarios, self.congested, self.prio = 1, int(bool(self.over0)), int(bool(self.prio0))

    def record(self, label: tuple[int, ...], base: np.ndarray, delta: np.ndarray,
               over: set[int], prio: set[int], unrouted: float, lost: Iterable[int],
               cut: list[int]) -> None:
        """A scenario whose loads are `base` + `delta` (classes x arcs); `over`/`prio`: arcs
        over the limits in `base`; `lost`: routes it newly leaves unrouted; `cut`: every route
        routed intact that it leaves unrouted while both of the route's ends have a live
        router."""
        m = self.model
        t = np.flatnonzero(np.any(delta != 0.0, axis=0))
        new = base[:, t] + delta[:, t]
        tot = new.sum(0)
        up = tot > self.worst[t] + EPS
        for i in t[up].tolist():
            self.who[i] = label
        self.worst[t] = np.maximum(self.worst[t], tot)
        self.cls[:, t] = np.maximum(self.cls[:, t], new)
        ts = set(t.tolist())
        cap = m.net.cap[t]
        self.scenarios += 1
        self.congested += bool(over - ts) or bool(np.any(tot > cap * OVER))
        self.prio += bool(prio - ts) or bool(np.any(new[PRIO] > cap * m.share * OVER))
        self.unrouted = max(self.unrouted, unrouted)
        for r in lost:
            self.route_who.setdefault(r, label)
        for r in cut:
            self.route_cut.setdefault(r, label)
        self.cut = max(self.cut, float(m.gbps[cut].sum()))


def _state_figures(m: CapacityModel, state: State
                   ) -> tuple[np.ndarray, float, list[int], list[int]]:
    """A single failure's load change, unrouted Gbps, lost routes and cut-off routes."""
    delta = m.delta(state, state.flows, {})
    lost = [r for r, f in state.flows.items() if m.routed0[r] and not f.routed]
    unrouted = float(m.gbps[~m.routed0].sum() + m.gbps[lost].sum())
    return delta, unrouted, lost, [r for r in lost if m.ends_live(r, state.down.dead)]


def _limits(m: CapacityModel, loads: np.ndarray) -> tuple[set[int], set[int]]:
    over = set(np.flatnonzero(loads.sum(0) > m.net.cap * OVER).tolist())
    prio = set(np.flatnonzero(loads[PRIO] > m.net.cap * m.share * OVER).tolist())
    return over, prio


def analyse(topo: Topology, demands: Demands, depth: int = 1,
            kinds: Iterable[str] = DEFAULT_KINDS) -> dict[str, Any]:
    """The JSON dict of `ngk capacity` (docs/capacity.md)."""
    if depth not in (0, 1, 2):
        raise KeyError(f"depth must be 0, 1 or 2, got {depth}")
    kinds = tuple(dict.fromkeys(kinds))
    els = elements(topo, kinds) if depth else []
    m = CapacityModel(topo, demands)
    tr = _Tracker(m)
    singles: list[State] = []
    deltas: list[sparse.csr_matrix] = []
    unrouted: list[float] = []
    cut_off: list[float] = []
    for i, el in enumerate(els):
        state = m.single((el,))
        delta, un, lost, cut = _state_figures(m, state)
        tr.record((i,), m.L0, delta, tr.over0, tr.prio0, un, lost, cut)
        if depth == 2:
            singles.append(state)
            deltas.append(sparse.csr_matrix(delta))
            unrouted.append(un)
            cut_off.append(float(m.gbps[cut].sum()))
    if depth == 2:
        _pairs(m, tr, singles, deltas, unrouted, cut_off)
    return _report(m, tr, els, kinds, depth)


# --- pairs --------------------------------------------------------------------------------
def _dependent(singles: list[State]) -> set[tuple[int, int]]:
    """Pairs whose loads may not add up: they share an affected route, or one element hits a
    flow the other's failure created. Every other pair adds up exactly."""
    by_route: dict[int, list[int]] = {}
    by_key: dict[int, list[int]] = {}
    for i, s in enumerate(singles):
        for r in s.flows:
            by_route.setdefault(r, []).append(i)
        for k in s.down.keys:
            by_key.setdefault(k, []).append(i)
    out: set[tuple[int, int]] = set()
    for group in by_route.values():
        out.update(combinations(group, 2))
    for i, s in enumerate(singles):
        for k in {k for f in s.flows.values() for k in f.touch}:
            for j in by_key.get(k, ()):
                if j != i:
                    out.add((i, j) if i < j else (j, i))
    return out


def _pairs(m: CapacityModel, tr: _Tracker, singles: list[State],
           deltas: list[sparse.csr_matrix], unrouted: list[float], cut_off: list[float]) -> None:
    """Every pair: dependent ones evaluated on top of the first failure's state, the rest
    aggregated from the singles (loads and lost routes add up: a failure that kills a route's
    end is one that affects the route)."""
    n, C, A = len(singles), len(CLASSES), m.net.A
    dep = _dependent(singles)
    partners: dict[int, list[int]] = {}
    for i, j in sorted(dep):
        partners.setdefault(i, []).append(j)
    # the (element x arc) changes of the total and of each class
    by_cls = [sparse.vstack([d[c] for d in deltas]).tocsc() for c in range(C)] if n else []
    total = sum(by_cls[1:], by_cls[0]).tocsc() if n else None
    rooms = [(total, m.net.cap * OVER - m.L0.sum(0)),
             (by_cls[PRIO] if n else None, m.net.cap * m.share * OVER - m.L0[PRIO])]
    rows = [_at_risk(mat, room, n) for mat, room in rooms] if n >= 2 else []
    additive = [0, 0]
    for i, js in partners.items():
        si = singles[i]
        base = m.L0 + deltas[i].toarray()
        over, prio = _limits(m, base)
        owned: dict[int, list[int]] = {}
        for r, f in si.flows.items():
            for k in f.touch:
                owned.setdefault(k, []).append(r)
        was = {r for r, f in si.flows.items() if m.routed0[r] and not f.routed}
        for j in js:
            new = singles[j].down
            down = Down(si.down.arcs | new.arcs, si.down.dead | new.dead, si.down.keys | new.keys)
            routes = {r for k in new.keys for r in owned.get(k, ())} | \
                (set(singles[j].flows) - set(si.flows))
            state = m.apply(si, down, Down(new.arcs - si.down.arcs, new.dead - si.down.dead,
                                           frozenset()), routes)
            lost = [r for r in routes if m.routed0[r] and not state.flows[r].routed]
            un = unrouted[i] + float(m.gbps[[r for r in lost if r not in was]].sum())
            cut = [r for r in was.union(lost) if m.ends_live(r, down.dead)]
            tr.record((i, j), base, m.delta(state, routes, si.flows), over, prio, un, lost, cut)
            for k, (x, room) in enumerate(rows):
                additive[k] += bool(np.any(x[i] + x[j] > room))
    tr.scenarios += n * (n - 1) // 2 - len(dep)
    if rows:
        tr.congested += _count_pairs(*rows[0]) - additive[0]
        tr.prio += _count_pairs(*rows[1]) - additive[1]
    keys = {i * n + j for i, j in dep}
    for arc in range(A if n >= 2 else 0):
        best = _best_pair(total, arc, n, keys)
        if best and m.L0[:, arc].sum() + best[0] > tr.worst[arc] + EPS:
            tr.worst[arc] = m.L0[:, arc].sum() + best[0]
            tr.who[arc] = best[1:]
        for c in range(C):
            best = _best_pair(by_cls[c], arc, n, keys)
            if best:
                tr.cls[c, arc] = max(tr.cls[c, arc], m.L0[c, arc] + best[0])
    if n >= 2:
        extra = sparse.csc_matrix(np.array(unrouted)[:, None] - tr.unrouted0)
        best = _best_pair(extra, 0, n, keys)
        if best:
            tr.unrouted = max(tr.unrouted, tr.unrouted0 + best[0])
        best = _best_pair(sparse.csc_matrix(np.array(cut_off)[:, None]), 0, n, keys)
        if best:
            tr.cut = max(tr.cut, best[0])


def _at_risk(mat: sparse.csc_matrix, room: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the arcs some pair could push over `room` (the two largest changes, counting the
    zeros of elements that do not touch an arc, exceed it), and the room there."""
    top = np.zeros(mat.shape[1])
    for arc in range(mat.shape[1]):
        col = mat.data[mat.indptr[arc]:mat.indptr[arc + 1]]
        vals = np.concatenate([col, np.zeros(min(2, n - len(col)))])
        top[arc] = np.sort(vals)[-2:].sum()
    arcs = np.flatnonzero(top > room)
    return mat[:, arcs].toarray(), room[arcs]


def _count_pairs(rows: np.ndarray, room: np.ndarray) -> int:
    """Pairs i < j with rows[i] + rows[j] > room somewhere (identical rows grouped)."""
    if rows.shape[1] == 0:
        return 0
    uniq, counts = np.unique(rows, axis=0, return_counts=True)
    total = 0
    for g in range(len(uniq)):
        hit = np.any(uniq[g:] + uniq[g] > room, axis=1)
        if hit[0]:
            total += int(counts[g] * (counts[g] - 1) // 2)
        total += int(counts[g] * counts[g + 1:][hit[1:]].sum())
    return total


def _best_pair(mat: sparse.csc_matrix, col: int, n: int,
               dep: set[int]) -> tuple[float, int, int] | None:
    """The largest mat[i, col] + mat[j, col] over pairs i < j not in `dep` (keys i * n + j),
    both positive: a pair with a change <= 0 never loads more than its other single."""
    lo, hi = mat.indptr[col], mat.indptr[col + 1]
    vals, idx = mat.data[lo:hi], mat.indices[lo:hi]
    keep = vals > EPS
    vals, idx = vals[keep], idx[keep]
    order = np.argsort(-vals, kind="stable")
    v, rows = vals[order].tolist(), idx[order].tolist()
    best: tuple[float, int, int] | None = None
    for p in range(len(v) - 1):
        if best and v[p] + v[p + 1] <= best[0]:
            break
        for q in range(p + 1, len(v)):
            if best and v[p] + v[q] <= best[0]:
                break
            i, j = sorted((rows[p], rows[q]))
            if i * n + j not in dep:
                best = (v[p] + v[q], i, j)
                break
    return best


# --- report --------------------------------------------------------------------------------
def _report(m: CapacityModel, tr: _Tracker, els: list[Element], kinds: tuple[str, ...],
            depth: int) -> dict[str, Any]:
    net = m.net

    def failure(label: tuple[int, ...]) -> list[dict[str, str]]:
        return [els[i].as_dict() for i in label]

    links = []
    total0 = m.L0.sum(0)
    for i, lid in enumerate(net.links):
        a, b = 2 * i, 2 * i + 1
        cap = float(net.cap[a])
        w = a if tr.worst[a] >= tr.worst[b] else b
        links.append({
            "id": lid, "capacity_gbps": cap,
            "load_gbps": _r(max(total0[a], total0[b])),
            "utilisation": _r(max(total0[a], total0[b]) / cap),
            "worst_utilisation": _r(tr.worst[w] / cap),
            "worst_failure": failure(tr.who[w]),
            "by_class": {c: _r(max(tr.cls[k, a], tr.cls[k, b])) for k, c in enumerate(CLASSES)},
        })
    demands = []
    for d, r in zip(m.demands.demands, m.demand_route):
        lost = not m.routed0[r] or r in tr.route_who
        demands.append({"src": str(d.src), "dst": str(d.dst), "class": d.cls, "gbps": _r(d.gbps),
                        "routed_gbps": 0.0 if lost else _r(d.gbps),
                        "worst_failure": failure(tr.route_who.get(r, ())),
                        "cut_off_failure": failure(tr.route_cut.get(r, ()))})
    util = tr.worst / net.cap
    return {"depth": depth, "kinds": list(kinds), "priority_share": m.share,
            "links": links, "demands": demands,
            "summary": {"max_utilisation": _r(float(util.max()) if len(util) else 0.0),
                        "scenarios": tr.scenarios, "congested_scenarios": tr.congested,
                        "priority_at_risk_scenarios": tr.prio,
                        "unrouted_gbps": _r(tr.unrouted), "cut_off_gbps": _r(tr.cut)}}


def _r(x: float) -> float:
    return round(float(x), 9) + 0.0
