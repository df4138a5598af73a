"""Expected annual downtime between datacentres and from member sites to them.

Risks (independent failure events, unavailability p = rate x MTTR / 8760 h):
- a span without SRLG: cut rate = km / 1000 x cuts_per_1000km_year, repaired in span_mttr_h;
- an SRLG: every cut of a span in it happens inside the shared duct and takes down all its spans,
  so its rate is the sum of its spans' cut rates (a span in n SRLGs gives each 1/n of its rate);
- every router (router_failures_per_year, router_mttr_h) and every site (site_failures_per_year,
  site_mttr_h; a site failure takes its routers and optical nodes with it).
A demand's unavailability is the sum over its minimal cuts of order 1 (p_i) and 2 (p_i p_j,
neither risk a cut alone), found by enumerating every single and double failure state. Cuts of
order 3 and more are neglected: they are bounded by P(3+ risks down at once) <= e3(p), reported.
Details and the import rules: docs/availability.md.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from copy import copy
from dataclasses import dataclass, replace
from itertools import combinations

import networkx as nx

from controller.model.layers import Element, outage, site_graph
from controller.model.load import great_circle_km
from controller.model.topology import Topology

HOURS_PER_YEAR = 8760.0
MIN_PER_YEAR = HOURS_PER_YEAR * 60
ROUTE_FACTOR = 1.3  # fibre route km per great-circle km for a candidate span
CANDIDATES_PER_SITE = 4
TOP_RISKS = 3


@dataclass(frozen=True, slots=True)
class Risk:
    """One independent failure event."""

    element: Element
    rate: float  # events per year
    mttr_h: float

    @property
    def p(self) -> float:
        return min(1.0, self.rate * self.mttr_h / HOURS_PER_YEAR)


@dataclass(frozen=True, slots=True)
class Demand:
    """`src` must reach any site in `targets`."""

    src: str
    targets: frozenset[str]


def risks(topo: Topology) -> list[Risk]:
    """The failure events of a topology (zero-rate ones left out)."""
    s = topo.settings
    out: list[Risk] = []
    srlg_rate: defaultdict[str, float] = defaultdict(float)
    for span in topo.spans.values():
        rate = (span.km or 0.0) / 1000 * s.cuts_per_1000km_year
        for srlg in span.srlgs:
            srlg_rate[srlg] += rate / len(span.srlgs)
        if not span.srlgs:
            out.append(Risk(Element("span", span.id), rate, s.span_mttr_h))
    out += [Risk(Element("srlg", g), rate, s.span_mttr_h) for g, rate in sorted(srlg_rate.items())]
    out += [Risk(Element("router", r), s.router_failures_per_year, s.router_mttr_h)
            for r in topo.routers]
    out += [Risk(Element("site", site), s.site_failures_per_year, s.site_mttr_h)
            for site in topo.sites]
    return [r for r in out if r.p > 0]


def truncation_bound(ps: list[float]) -> float:
    """e3(p): the probability bound of three or more risks down at once."""
    e1 = e2 = e3 = 0.0
    for p in ps:
        e3 += e2 * p
        e2 += e1 * p
        e1 += p
    return e3


class _Net:
    """The intact site graph in index form, and what each risk takes down in it."""

    def __init__(self, topo: Topology, risk_list: list[Risk]):
        graph = site_graph(topo)
        self.risks = list(risk_list)
        self.index = {site: i for i, site in enumerate(graph.nodes)}
        self.edges = [(self.index[u], self.index[v]) for u, v in graph.edges()]
        edge_of = {key: k for k, (_, _, key) in enumerate(graph.edges(keys=True))}
        self.site_routers = {s: frozenset(r.id for r in topo.routers_at(s)) for s in self.index}
        self.router_site = {r.id: r.site for r in topo.routers.values()}
        self.down: list[tuple[frozenset[int], frozenset[str], frozenset[str]]] = []
        for risk in risk_list:
            out = outage(topo, [risk.element])
            self.down.append((frozenset(edge_of[x] for x in out.links if x in edge_of),
                              out.routers, out.sites))

    def state(self, risks: tuple[int, ...]) -> tuple[list[int], set[int], frozenset[str]]:
        """Component label per site index, site indexes down and routers down, `risks` failed."""
        parts = [self.down[i] for i in risks]
        dead = frozenset().union(*(p[0] for p in parts))
        routers = frozenset().union(*(p[1] for p in parts))
        sites = {site for p in parts for site in p[2]}
        sites |= {s for s in (self.router_site[r] for r in routers)
                  if self.site_routers[s] <= routers}
        parent = list(range(len(self.index)))

        def find(x: int) -> int:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for k, (u, v) in enumerate(self.edges):
            if k not in dead:
                parent[find(u)] = find(v)
        down = {self.index[s] for s in sites if s in self.index}
        return [find(x) for x in range(len(parent))], down, routers


class _Cuts:
    """Failure states (risk-index tuples) that disconnect demands, and minimal-cut sums."""

    def __init__(self, net: _Net, demands: list[Demand]):
        self.net, self.risks = net, net.risks
        self.demands = [(net.index.get(d.src), [net.index[t] for t in d.targets if t in net.index])
                        for d in demands]
        self.intact: frozenset[int] = frozenset()
        self.intact = self._lost(*net.state(())[:2])  # cut with nothing failed: left out
        n = len(net.risks) if demands else 0
        states = [(i,) for i in range(n)] + list(combinations(range(n), 2))
        self.evaluated = len(states)
        self.cut: dict[tuple[int, ...], frozenset[int]] = {}
        self.info: dict[tuple[int, ...], tuple[list[int], set[int], frozenset[str]]] = {}
        for state in states:
            comp, down, routers = net.state(state)
            lost = self._lost(comp, down)
            if lost:
                self.cut[state], self.info[state] = lost, (comp, down, routers)

    def _lost(self, comp: list[int], down: set[int], among: Iterable[int] | None = None
              ) -> frozenset[int]:
        return frozenset(d for d in (range(len(self.demands)) if among is None else among)
                         if d not in self.intact and self._cut(d, comp, down))

    def _cut(self, d: int, comp: list[int], down: set[int]) -> bool:
        src, targets = self.demands[d]
        return src is None or src in down or all(t in down or comp[t] != comp[src]
                                                 for t in targets)

    def with_link(self, a: str, b: str, ra: str, rb: str, risk: Risk) -> _Cuts:
        """The cuts once a new link joins routers ra (site a) and rb (site b), cut by `risk`.

        A new link only heals: a cut state stays cut unless it separates a from b with both
        up, then the two components merge; with the new risk added, every single cut i becomes
        the double (i, new).
        """
        out = copy(self)
        out.risks = self.risks + [risk]
        ua, ub, new = self.net.index[a], self.net.index[b], len(self.risks)
        out.cut = {}
        for state, lost in self.cut.items():
            comp, down, routers = self.info[state]
            if ua in down or ub in down or ra in routers or rb in routers or comp[ua] == comp[ub]:
                out.cut[state] = lost
                continue
            merged = [comp[ua] if c == comp[ub] else c for c in comp]
            healed = self._lost(merged, down, lost)
            if healed:
                out.cut[state] = healed
        out.cut.update({(st[0], new): lost for st, lost in self.cut.items() if len(st) == 1})
        return out

    def shares(self, demands: Iterable[int]) -> dict[int, dict[int, float]]:
        """Demand -> risk index -> its part of the demand's unavailability.

        Order-1 cuts count p_i; order-2 cuts (i, j), neither a cut alone, count p_i p_j, split
        evenly between i and j.
        """
        want, none = frozenset(demands), frozenset[int]()
        out: dict[int, dict[int, float]] = {d: defaultdict(float) for d in want}
        for state, lost in self.cut.items():
            hit = lost & want
            if len(state) == 2 and hit:
                hit = hit - self.cut.get(state[:1], none) - self.cut.get(state[1:], none)
            if not hit:
                continue
            share = math.prod(self.risks[i].p for i in state) / len(state)
            for d in hit:
                for i in state:
                    out[d][i] += share
        return out

    def total(self, demands: Iterable[int]) -> float:
        return sum(sum(part.values()) for part in self.shares(demands).values())


@dataclass(frozen=True, slots=True)
class _Row:
    """One reported line: src, the DC it must reach, its demand index and its 'any DC' index."""

    src: str
    dst: str | None
    demand: int
    any_dc: int | None = None


def _demands(topo: Topology) -> tuple[list[Demand], list[_Row], list[_Row]]:
    """Demands, and the rows reporting them: DC pairs, then members (nearest DC and any DC)."""
    dcs = topo.datacentres()
    demands = [Demand(a, frozenset([b])) for a, b in combinations(dcs, 2)]
    pairs = [_Row(a, b, i) for i, (a, b) in enumerate(combinations(dcs, 2))]
    graph, members = site_graph(topo), []
    for m in topo.members() if dcs else ():
        dist = nx.single_source_dijkstra_path_length(graph, m, weight="latency_ms") \
            if m in graph else {}
        reach = sorted((dist[d], d) for d in dcs if d in dist)
        nearest = reach[0][1] if reach else None
        members.append(_Row(m, nearest, len(demands), len(demands) + 1))
        demands += [Demand(m, frozenset([nearest] if nearest else dcs)), Demand(m, frozenset(dcs))]
    return demands, pairs, members


def unavailability(topo: Topology, src: str, dst: str) -> float:
    """Order-2 unavailability of the src-dst connection (1.0 if cut in the intact network)."""
    cuts = _Cuts(_Net(topo, risks(topo)), [Demand(src, frozenset([dst]))])
    return 1.0 if cuts.intact else cuts.total([0])


def availability_report(topo: Topology, cut_rate: float | None = None,
                        mttr_h: float | None = None, k: int = CANDIDATES_PER_SITE) -> dict:
    """Availability per DC pair and member, the model used, and the best single new span."""
    overrides = {"cuts_per_1000km_year": cut_rate, "span_mttr_h": mttr_h}
    topo = replace(topo, settings=replace(topo.settings, **{
        key: v for key, v in overrides.items() if v is not None}))
    risk_list = risks(topo)
    demands, pairs, members = _demands(topo)
    cuts = _Cuts(_Net(topo, risk_list), demands)

    shares = cuts.shares(range(len(demands)))

    def result(d: int) -> dict:
        if d in cuts.intact:
            return {"availability": 0.0, "downtime_min_per_year": MIN_PER_YEAR,
                    "dominant_risks": []}
        contrib = shares[d]
        u = sum(contrib.values())
        top = sorted(contrib.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_RISKS]
        return {"availability": round(1 - u, 10),
                "downtime_min_per_year": round(u * MIN_PER_YEAR, 3),
                "dominant_risks": [{**risk_list[i].element.as_dict(), "share": round(c / u, 3)}
                                   for i, c in top]}

    s = topo.settings
    model = {
        "cuts_per_1000km_year": s.cuts_per_1000km_year, "span_mttr_h": s.span_mttr_h,
        "router_failures_per_year": s.router_failures_per_year, "router_mttr_h": s.router_mttr_h,
        "site_failures_per_year": s.site_failures_per_year, "site_mttr_h": s.site_mttr_h,
        "srlg_model": "a span's cuts happen in its SRLG ducts: each SRLG is one risk taking down "
                      "all its spans, rate = sum of its spans' cut rates",
        "order": 2, "risks": len(risk_list), "states_evaluated": cuts.evaluated,
        "truncation_bound_min_per_year": round(
            truncation_bound([r.p for r in risk_list]) * MIN_PER_YEAR, 6),
        "spans_of_unknown_length": sorted(sp.id for sp in topo.spans.values() if sp.km is None),
        "route_factor": ROUTE_FACTOR, "candidates_per_site": k,
    }
    objective = [row.demand for row in pairs + members if row.demand not in cuts.intact]
    return {"model": model,
            "datacentre_pairs": [{"src": r.src, "dst": r.dst, **result(r.demand)} for r in pairs],
            "members": [{"src": r.src, "dst": r.dst, **result(r.demand),
                         "any_datacentre": result(r.any_dc)}
                        for r in members if r.any_dc is not None],  # set on every member row
            "best_investment": best_investment(topo, cuts, objective, k) if objective else None}


def best_investment(topo: Topology, cuts: _Cuts, objective: list[int], k: int) -> dict | None:
    """The candidate span (k nearest non-adjacent sites each) that cuts total downtime most.

    A candidate is a new span (no SRLG) with a new IP link between the first routers of its
    sites (see `_Cuts.with_link`).
    """
    before = cuts.total(objective) * MIN_PER_YEAR
    s = topo.settings
    ranked = []
    for a, b, km in candidate_spans(topo, k):
        ra, rb = (min(r.id for r in topo.routers_at(site)) for site in (a, b))
        risk = Risk(Element("span", f"{a}-{b}~new"), km / 1000 * s.cuts_per_1000km_year,
                    s.span_mttr_h)
        after = cuts.with_link(a, b, ra, rb, risk).total(objective)
        ranked.append((before - after * MIN_PER_YEAR, a, b, km))
    if not ranked:
        return None
    ranked.sort(key=lambda c: (-round(c[0], 6), c[3]))
    options = [{"a": a, "b": b, "km": round(km, 1), "gain_min_per_year": round(gain, 3)}
               for gain, a, b, km in ranked[:3]]
    return {**options[0], "total_before_min_per_year": round(before, 3),
            "total_after_min_per_year": round(before - ranked[0][0], 3),
            "candidates_evaluated": len(ranked), "runners_up": options[1:]}


def candidate_spans(topo: Topology, k: int) -> list[tuple[str, str, float]]:
    """(a, b, route km) for the k nearest sites of each site not already joined by an IP link."""
    placed = [s for s in topo.sites.values()
              if s.lat is not None and s.lon is not None and topo.routers_at(s.id)]
    adjacent = {frozenset(topo.link_sites(link)) for link in topo.links.values()}
    found: dict[frozenset[str], float] = {}
    for site in placed:
        near = sorted((km, other.id) for other in placed
                      if other.id != site.id and frozenset((site.id, other.id)) not in adjacent
                      and (km := great_circle_km(site, other)) is not None)
        for km, other in near[:k]:
            found[frozenset((site.id, other))] = km * ROUTE_FACTOR
    return sorted((min(pair), max(pair), km) for pair, km in found.items())
