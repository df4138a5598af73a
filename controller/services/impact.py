"""Map what the monitor sees down (routers, router interfaces) onto the topology and ask the
analysis code what that does: which IP links, spans and SRLGs are involved, which datacentre pairs
and member sites are cut off, and which path each datacentre pair should now take.

All calls into controller.analysis are in `assess`, the one place to follow their API.
"""
from __future__ import annotations

from typing import Any

from controller.analysis.failures import FailureAnalysis
from controller.analysis.reroute import dc_router_pairs
from controller.analysis.router_paths import RouterGraph
from controller.model.layers import Element, outage
from controller.model.topology import Topology


class ImpactMapper:
    """A topology prepared for repeated impact questions (the analysis is compiled once)."""

    def __init__(self, topo: Topology):
        self.topo = topo
        self.analysis = FailureAnalysis(topo)
        self.by_endpoint = {(end.router, end.interface): link.id for link in topo.links.values()
                            for end in (link.a, link.b)}
        self.by_neighbor = {(end.router, str(far.address.ip)): (end.interface, link.id)
                            for link in topo.links.values()
                            for end, far in ((link.a, link.b), (link.b, link.a))}
        self.neighbors: dict[str, list[tuple[str, str]]] = {}  # router -> (interface, far address)
        for (router, address), (interface, _) in sorted(self.by_neighbor.items()):
            self.neighbors.setdefault(router, []).append((interface, address))
        self.by_address = {(end.router, str(end.address.ip)): end.interface
                           for link in topo.links.values() for end in (link.a, link.b)}
        self.pairs = dc_router_pairs(topo)
        self.intact = RouterGraph(topo)
        self.before = {p: self.intact.paths(p[2], p[3]) for p in self.pairs}

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

    def elements(self, routers_down: set[str], interfaces_down: set[tuple[str, str]]) -> list[Element]:
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

