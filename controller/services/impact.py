"""Map what the monitor sees down (routers, router interfaces) onto the topology and ask the
analysis code what that does: which IP links, spans and SRLGs are involved, which datacentre pairs
and member sites are cut off, and which path each datacentre pair should now take.

All calls into controller.analysis are in `assess` and `resilience`, the places to follow their
API.
"""
from __future__ import annotations

from itertools import combinations
from typing import Any

from controller.analysis.failures import FailureAnalysis
from controller.analysis.paths import PathFinder
from controller.analysis.reroute import dc_router_pairs
from controller.analysis.router_paths import RouterGraph
from controller.model.layers import Element, outage, site_graph
from controller.model.topology import Topology

SPOF_KINDS = ("span", "srlg", "router")  # what `resilience` checks as a single point of failure


class ImpactMapper:
    """A topology prepared for repeated impact questions (the analysis is compiled once)."""

    def __init__(self, topo: Topology):
        self.topo = topo
        self.analysis = FailureAnalysis(topo)
        self.by_endpoint = {k: link.id for k, (link, _) in topo.link_ends.items()}
        self.by_neighbor = {(router, str(far.address.ip)): (interface, link.id)
                            for (router, interface), (link, far) in topo.link_ends.items()}
        self.neighbors: dict[str, list[tuple[str, str]]] = {}  # router -> (interface, far address)
        for (router, address), (interface, _) in sorted(self.by_neighbor.items()):
            self.neighbors.setdefault(router, []).append((interface, address))
        self.by_address = {(far.router, str(far.address.ip)): far.interface
                           for link, far in topo.link_ends.values()}
        self.pairs = dc_router_pairs(topo)
        self.intact = RouterGraph(topo)
        self.before = {p: self.intact.paths(p[2], p[3]) for p in self.pairs}
        self.site_pairs = list(combinations(sorted(topo.datacentres()), 2))
        self.candidates = self.analysis.elements(SPOF_KINDS)
        self.designed_spofs = self._spofs(())
        self._resilience: tuple[frozenset[Element], dict[str, Any]] | None = None

    def maps(self, router: str, interface: str = "") -> bool:
        """Whether a router (interface "") or router interface is part of the topology."""
        return (router, interface) in self.by_endpoint if interface else router in self.topo.routers

    def neighbor(self, router: str, address: str) -> tuple[str, str] | None:
        """(router's interface, IP link) of the link on which `address` is the far end's address
        (an OSPF neighbour seen by `router`), or None when no IP link of the router has it."""
        return self.by_neighbor.get((router, address))

    def interface(self, router: str, address: str) -> str | None:
        """The router's interface with this IP link address."""
        return self.by_address.get((router, address))

    def elements(self, routers_down: set[str],
                 interfaces_down: set[tuple[str, str]]) -> list[Element]:
        """Topology elements for down routers and down (router, interface) pairs; the rest of
        what the monitor sees (management ports, unknown routers) maps to nothing."""
        out = [Element("router", r) for r in sorted(routers_down) if r in self.topo.routers]
        links = {self.by_endpoint[k] for k in interfaces_down if k in self.by_endpoint}
        out += [Element("link", link) for link in sorted(links)]
        return out

    def assess(self, elements: list[Element]) -> dict[str, Any]:
        """The impact of `elements` being down together (JSON-ready, docs/monitor.md)."""
        if not elements:
            return {"elements": [], "links_down": [], "spans": [], "srlgs": [],
                    "suspected_spans": [], "datacentre_pairs_disconnected": [],
                    "members_without_datacentre": [], "services_affected": [], "reroutes": []}
        result = self.analysis.evaluate(elements)
        out = outage(self.topo, elements)
        spans = sorted({s for lid in out.links for s in self.topo.links[lid].route})
        # a span is a suspect when every link riding it was seen down by itself (not via a router)
        seen = {e.id for e in elements if e.kind == "link"}
        on_span = self.topo.links_on_span()
        suspected = [s for s in spans if on_span[s] and set(on_span[s]) <= seen]
        graph = RouterGraph(self.topo, out)  # router level, as OSPF and drills see it
        reroutes = []
        for pair in self.pairs:
            a, b, ra, rb = pair
            before = self.before[pair]
            if not before or not any(self.intact.crosses(p, out) for p in before):
                continue
            after = graph.paths(ra, rb)
            path = graph.path_dict(after[0]) if after else None
            reroutes.append({"pair": [a, b], "routers": [ra, rb],
                             "before": self.intact.path_dict(before[0])["sites"],
                             "after": path["sites"] if path else None,
                             "after_routers": path["routers"] if path else None,
                             "via_links": path["links"] if path else None})
        orphans = set(result["members_without_datacentre"])
        services = sorted(svc.id for svc in self.topo.services.values()
                          if orphans & set(svc.members))
        return {
            "elements": [str(e) for e in elements],
            "links_down": result["links_down"],
            "spans": spans,
            "srlgs": sorted({g for s in spans for g in self.topo.spans[s].srlgs}),
            "suspected_spans": suspected,
            "datacentre_pairs_disconnected": result["datacentre_pairs_disconnected"],
            "members_without_datacentre": result["members_without_datacentre"],
            "services_affected": services,
            "reroutes": reroutes,
        }

    def resilience(self, elements: list[Element]) -> dict[str, Any]:
        """The protection left while `elements` are down (cached for the last set asked):
        `links_down`, `pair_paths`: per datacentre pair 2 (an SRLG-diverse pair of paths: no
        common span or SRLG), 1 (connected, but every pair of paths shares a span or SRLG: one path
        only) or 0 (disconnected); `spofs`: the spans, SRLGs and routers (kind, id) whose failure
        on top would disconnect sites, and `designed_spofs`, those that already do so with nothing
        down."""
        key = frozenset(elements)
        if self._resilience is None or self._resilience[0] != key:
            down = outage(self.topo, elements)
            graph = site_graph(self.topo, down)
            finder = PathFinder(self.topo, "igp", graph)
            paths = {}
            for a, b in self.site_pairs:
                found = finder.pair(a, b, "srlg")
                paths[(a, b)] = 2 if found["diverse"] else 1 if found["paths"] else 0
            self._resilience = (key, {"links_down": sorted(down.links), "pair_paths": paths,
                                      "spofs": self._spofs(tuple(key)),
                                      "designed_spofs": self.designed_spofs})
        return self._resilience[1]

    def _spofs(self, down: tuple[Element, ...]) -> list[tuple[str, str]]:
        """(kind, id) of the SPOF_KINDS elements whose failure, on top of `down`, disconnects a
        pair of sites or cuts a member off every datacentre (they remove links, never sites, so
        "more than `down` alone" is exact)."""
        now = self.analysis.evaluate(down)
        orphans = set(now["members_without_datacentre"])
        out = []
        for el in self.candidates:
            more = self.analysis.evaluate((*down, el))
            if more["disconnected_pairs"] > now["disconnected_pairs"] \
                    or set(more["members_without_datacentre"]) > orphans:
                out.append((el.kind, el.id))
        return out
