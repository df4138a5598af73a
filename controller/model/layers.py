"""The two layers as networkx graphs, and what a failure takes down across them.

- optical layer: optical nodes joined by spans (MultiGraph, edge key = span id);
- IP layer: routers joined by IP links (MultiGraph, edge key = link id);
- site layer: the IP layer with each site's routers merged (routers in one site are assumed to
  reach each other inside it), the graph the path and failure analysis work on.

Cutting a span downs every IP link riding it; an SRLG cuts all its spans; a site failure removes
its routers and its optical nodes (and so every span ending there and every wavelength passing
through); a router failure removes its links.
"""
from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from controller.errors import InputError, UnknownName
from controller.model.topology import IpLink, Topology

if TYPE_CHECKING:  # networkx loads where a graph is built: `ngk failures` runs without it
    import networkx as nx

FAILURE_KINDS = ("span", "srlg", "site", "router", "link")


@dataclass(frozen=True, slots=True)
class Element:
    """One thing that can fail: kind in FAILURE_KINDS and its id."""

    kind: str
    id: str

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "id": self.id}

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


@dataclass(frozen=True, slots=True)
class Outage:
    """Everything down because of a set of failed elements."""

    spans: frozenset[str]
    links: frozenset[str]
    routers: frozenset[str]
    sites: frozenset[str]


def optical_graph(topo: Topology) -> nx.MultiGraph:
    import networkx as nx
    g = nx.MultiGraph()
    for node in topo.optical_nodes.values():
        g.add_node(node.id, site=node.site, kind=node.kind)
    for span in topo.spans.values():
        g.add_edge(span.a, span.b, key=span.id, km=span.km, srlgs=span.srlgs)
    return g


def ip_graph(topo: Topology) -> nx.MultiGraph:
    import networkx as nx
    g = nx.MultiGraph()
    for r in topo.routers.values():
        g.add_node(r.id, site=r.site, role=r.role)
    for link in topo.links.values():
        g.add_edge(link.a.router, link.b.router, key=link.id, metric=link.metric,
                   latency_ms=link.latency_ms, km=link.km or 0.0, spans=link.route)
    return g


def site_links(topo: Topology, outage: Outage | None = None
               ) -> tuple[set[str], Iterator[tuple[str, str, IpLink]]]:
    """The site layer without networkx: the sites with a router up, and (site a, site b, link)
    for every inter-site IP link still up."""
    down_links = outage.links if outage else frozenset()
    down_sites = outage.sites if outage else frozenset()
    down_routers = outage.routers if outage else frozenset()
    nodes = {r.site for r in topo.routers.values()
             if r.site not in down_sites and r.id not in down_routers}

    def edges() -> Iterator[tuple[str, str, IpLink]]:
        for link in topo.links.values():
            if link.id in down_links:
                continue
            sa, sb = topo.link_sites(link)
            if sa == sb or link.a.router in down_routers or link.b.router in down_routers:
                continue
            if sa in down_sites or sb in down_sites:
                continue
            yield sa, sb, link

    return nodes, edges()


def site_graph(topo: Topology, outage: Outage | None = None) -> nx.MultiGraph:
    """Sites that have routers, joined by the inter-site IP links still up (key = link id)."""
    import networkx as nx
    nodes, edges = site_links(topo, outage)
    g = nx.MultiGraph()
    g.add_nodes_from(r.site for r in topo.routers.values() if r.site in nodes)
    for sa, sb, link in edges:
        g.add_edge(sa, sb, key=link.id, metric=link.metric, latency_ms=link.latency_ms,
                   km=link.km or 0.0, hops=1, spans=link.route)
    return g


def resolve_element(topo: Topology, ref: str) -> Element:
    """Parse 'kind:id' or a bare id (span, srlg, site, router, link); UnknownName if unknown."""
    kinds: dict[str, Collection[str]] = {"span": topo.spans, "srlg": topo.srlgs(),
                                         "site": topo.sites, "router": topo.routers,
                                         "link": topo.links}
    if ":" in ref:
        kind, ident = ref.split(":", 1)
        if kind not in kinds:
            raise UnknownName(f"unknown failure kind {kind!r}"
                              f" (use one of {', '.join(FAILURE_KINDS)})")
        if kind == "site":
            ident = topo.resolve_site(ident)
        if ident not in kinds[kind]:
            raise UnknownName(f"unknown {kind} {ident!r}")
        return Element(kind, ident)
    found = [k for k, table in kinds.items() if ref in table]
    if not found:
        try:
            return Element("site", topo.resolve_site(ref))
        except UnknownName:
            raise UnknownName(f"{ref!r} is no span, SRLG, site, router or link") from None
    if len(found) > 1:
        raise InputError(f"{ref!r} is ambiguous ({', '.join(found)}): write e.g. {found[0]}:{ref}")
    return Element(found[0], ref)


def outage(topo: Topology, elements: list[Element] | tuple[Element, ...]) -> Outage:
    """What is down when all of `elements` fail together."""
    spans: set[str] = set()
    links: set[str] = set()
    routers: set[str] = set()
    sites: set[str] = set()
    for el in elements:
        if el.kind == "span":
            spans.add(el.id)
        elif el.kind == "srlg":
            spans.update(topo.srlgs()[el.id])
        elif el.kind == "site":
            sites.add(el.id)
            routers.update(r.id for r in topo.routers_at(el.id))
            spans.update(topo.site_spans(el.id))
        elif el.kind == "router":
            routers.add(el.id)
        elif el.kind == "link":
            links.add(el.id)
        else:
            raise UnknownName(f"unknown failure kind {el.kind!r}")
    on_span = topo.links_on_span()
    for span in spans:
        links.update(on_span[span])
    for router in routers:
        links.update(link.id for link in topo.router_links(router))
    return Outage(frozenset(spans), frozenset(links), frozenset(routers), frozenset(sites))
