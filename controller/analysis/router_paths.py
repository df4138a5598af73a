"""Shortest paths between routers on the IP layer: what OSPF computes, intra-site links included.

The site layer (`site_graph`) merges a site's routers and so cannot see the cost of the links
inside a site, nor which router of a site a flow starts from; drills, `ngk reroute` and the
monitor's impact predict here instead. Parallel links between two routers: the cheapest carries
traffic (several when they tie: per hop, `links` names the cheapest, lowest id first). With the
IGP metric, every link leaving a stub (CE) router costs STUB_COST, as its max-metric LSA says.
"""
from __future__ import annotations

from heapq import heappop, heappush
from typing import Any

from controller.errors import UnknownName
from controller.model.layers import Outage
from controller.model.topology import STUB_COST, Topology

WEIGHTS = ("igp", "latency", "km", "hops")


def _weight(topo: Topology, metric: str, metrics: dict[str, int] | None):
    if metric not in WEIGHTS:
        raise UnknownName(f"unknown metric {metric!r} (use one of {', '.join(WEIGHTS)})")
    links = topo.links
    if metric == "igp":
        return lambda k: float(metrics[k] if metrics and k in metrics else links[k].metric)
    if metric == "latency":
        return lambda k: links[k].latency_ms
    if metric == "km":
        return lambda k: float(links[k].km or 0.0)
    return lambda k: 1.0


class RouterGraph:
    """The IP layer with an outage applied, weighted by `metric` (`metrics` overrides IGP
    metrics per link, e.g. proposed changes)."""

    def __init__(self, topo: Topology, down: Outage | None = None, metric: str = "igp",
                 metrics: dict[str, int] | None = None):
        self.topo, self.metric = topo, metric
        weight = _weight(topo, metric, metrics)
        down_links = down.links if down else frozenset()
        self.down_routers = down.routers if down else frozenset()
        self.hop: dict[tuple[str, str], tuple[float, list[str]]] = {}  # cheapest, its links
        for link in topo.links.values():
            a, b = link.a.router, link.b.router
            if link.id in down_links or a in self.down_routers or b in self.down_routers:
                continue
            w = weight(link.id)
            for key in ((a, b), (b, a)):
                if metric == "igp" and topo.routers[key[0]].stub:
                    w_key = float(STUB_COST)  # what OSPF sees leaving a stub (CE) router
                else:
                    w_key = w
                best = self.hop.get(key)
                if best is None or w_key < best[0]:
                    self.hop[key] = (w_key, [link.id])
                elif w_key == best[0]:
                    best[1].append(link.id)
        self.adj: dict[str, list[tuple[str, float]]] = {}
        for (a, b), (w, _) in sorted(self.hop.items()):
            self.adj.setdefault(a, []).append((b, w))

    def paths(self, src: str, dst: str) -> list[list[str]]:
        """Every shortest router path src -> dst (ECMP), sorted; [] when either router is down
        or they are not connected."""
        if src in self.down_routers or dst in self.down_routers:
            return []
        if src == dst:
            return [[src]]
        dist: dict[str, float] = {src: 0.0}
        preds: dict[str, list[str]] = {src: []}
        heap = [(0.0, src)]
        eps = 1e-9
        while heap:
            d, u = heappop(heap)
            if d > dist[u] + eps:
                continue
            for w, c in self.adj.get(u, ()):
                nd = d + c
                if w not in dist or nd < dist[w] - eps:
                    dist[w], preds[w] = nd, [u]
                    heappush(heap, (nd, w))
                elif abs(nd - dist[w]) <= eps and u not in preds[w]:
                    preds[w].append(u)
        if dst not in dist:
            return []
        out: list[list[str]] = []
        stack = [[dst]]
        while stack:
            tail = stack.pop()
            if tail[-1] == src:
                out.append(tail[::-1])
                continue
            stack.extend(tail + [p] for p in preds[tail[-1]])
        return sorted(out)

    def crosses(self, routers: list[str], down: Outage) -> bool:
        """Whether a router path of this graph crosses a failed router, or a failed link among
        the cheapest links of one of its hops (the ones that carry its traffic)."""
        return bool(down.routers & set(routers)) or any(
            down.links.intersection(self.hop[(a, b)][1]) for a, b in zip(routers, routers[1:]))

    def cost(self, routers: list[str]) -> float:
        return sum(self.hop[(a, b)][0] for a, b in zip(routers, routers[1:]))

    def path_dict(self, routers: list[str]) -> dict[str, Any]:
        """A router path as JSON: routers, sites crossed, the link of each hop, spans in travel
        order, hops, km, latency_ms and cost in this graph's metric."""
        topo = self.topo
        sites: list[str] = []
        for r in routers:
            if not sites or sites[-1] != topo.routers[r].site:
                sites.append(topo.routers[r].site)
        links: list[str] = []
        spans: list[str] = []
        km = latency = 0.0
        for a, b in zip(routers, routers[1:]):
            link = topo.links[min(self.hop[(a, b)][1])]
            links.append(link.id)
            spans.extend(link.route if link.a.router == a else reversed(link.route))
            km, latency = km + (link.km or 0.0), latency + link.latency_ms
        return {"routers": list(routers), "sites": sites, "links": links, "spans": spans,
                "hops": len(links), "km": round(km, 3), "latency_ms": round(latency, 6),
                "cost": round(self.cost(routers), 6)}


def router_paths(topo: Topology, down: Outage | None, src: str, dst: str,
                 metric: str = "igp") -> list[list[str]]:
    """Every IGP shortest path (ECMP) from router src to router dst with `down` applied."""
    return RouterGraph(topo, down, metric).paths(src, dst)
