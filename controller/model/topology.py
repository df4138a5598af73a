"""The typed topology model: sites, optical nodes, fibre spans, routers, IP links, services.

A `Topology` is immutable once built and always valid: build it with
`controller.model.load.load_topology`, which validates first.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from functools import cached_property

from controller.errors import InputError, UnknownName

SITE_KINDS = ("datacentre", "pop", "member")


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    name: str
    kind: str  # one of SITE_KINDS
    lat: float | None = None
    lon: float | None = None
    region: str | None = None


@dataclass(frozen=True, slots=True)
class OpticalNode:
    """A ROADM/OADM/amplifier location; `site` is None for huts outside any site."""

    id: str
    site: str | None
    kind: str = "roadm"


@dataclass(frozen=True, slots=True)
class Span:
    """A fibre span between two optical nodes. `km` is None when unknown."""

    id: str
    a: str
    b: str
    km: float | None
    srlgs: tuple[str, ...] = ()
    implicit: bool = False  # created for an IP link that names no optical route


STUB_COST = 65535  # OSPF cost of every transit link of a stub router (RFC 6987 max-metric)


@dataclass(frozen=True, slots=True)
class Router:
    id: str
    site: str
    role: str
    platform: str
    loopback: ipaddress.IPv4Interface
    mgmt: ipaddress.IPv4Interface

    @property
    def stub(self) -> bool:
        """A member's CE router is an OSPF stub router (max-metric router-lsa, RFC 6987): its
        links cost STUB_COST leaving it, so members carry transit only when nothing else is
        left. One policy: the configs render it, every router-level path computation applies
        it (docs/topology-format.md)."""
        return self.role == "ce"


@dataclass(frozen=True, slots=True)
class Endpoint:
    router: str
    interface: str
    address: ipaddress.IPv4Interface


@dataclass(frozen=True, slots=True)
class IpLink:
    """An IP link; `route` lists the spans its wavelength rides, in order from a to b."""

    id: str
    a: Endpoint
    b: Endpoint
    metric: int
    capacity_gbps: float
    route: tuple[str, ...]
    latency_ms: float
    km: float | None


@dataclass(frozen=True, slots=True)
class Service:
    """Which datacentres serve it, which member sites must reach it, and its latency budget."""

    id: str
    name: str
    datacentres: tuple[str, ...]
    members: tuple[str, ...]
    latency_budget_ms: float | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    """Physical and reliability constants used by the analysis."""

    fibre_ms_per_km: float = 0.005  # ~5 us per km of fibre
    per_hop_ms: float = 0.05  # router/transponder figure per IP hop
    cuts_per_1000km_year: float = 2.7
    span_mttr_h: float = 12.0
    router_failures_per_year: float = 0.2
    router_mttr_h: float = 4.0
    site_failures_per_year: float = 0.05
    site_mttr_h: float = 24.0


@dataclass(frozen=True)
class Topology:
    name: str
    source: str
    sites: dict[str, Site]
    optical_nodes: dict[str, OpticalNode]
    spans: dict[str, Span]
    routers: dict[str, Router]
    links: dict[str, IpLink]
    services: dict[str, Service]
    settings: Settings = field(default_factory=Settings)
    mgmt_subnet: ipaddress.IPv4Network = ipaddress.IPv4Network("172.31.0.0/24")

    # --- lookups used across the code base ---------------------------------------------
    def srlgs(self) -> dict[str, tuple[str, ...]]:
        """SRLG id -> ids of the spans that share it."""
        return self._srlgs

    def links_on_span(self) -> dict[str, tuple[str, ...]]:
        """Span id -> ids of the IP links riding it."""
        return self._links_on_span

    def router_links(self, router: str) -> tuple[IpLink, ...]:
        """The IP links with an end on `router`."""
        return self._router_links.get(router, ())

    @cached_property
    def link_ends(self) -> dict[tuple[str, str], tuple[IpLink, Endpoint]]:
        """The one link-endpoint map: (router, interface) -> (the IP link ending there, its far
        end)."""
        return {(near.router, near.interface): (link, far) for link in self.links.values()
                for near, far in ((link.a, link.b), (link.b, link.a))}

    # indexes, built once per (immutable) topology
    @cached_property
    def _router_links(self) -> dict[str, tuple[IpLink, ...]]:
        out: dict[str, list[IpLink]] = {}
        for link in self.links.values():
            out.setdefault(link.a.router, []).append(link)
            out.setdefault(link.b.router, []).append(link)
        return {k: tuple(v) for k, v in out.items()}

    @cached_property
    def _srlgs(self) -> dict[str, tuple[str, ...]]:
        out: dict[str, list[str]] = {}
        for span in self.spans.values():
            for srlg in span.srlgs:
                out.setdefault(srlg, []).append(span.id)
        return {k: tuple(v) for k, v in sorted(out.items())}

    @cached_property
    def _links_on_span(self) -> dict[str, tuple[str, ...]]:
        out: dict[str, list[str]] = {s: [] for s in self.spans}
        for link in self.links.values():
            for span in link.route:
                out[span].append(link.id)
        return {k: tuple(v) for k, v in out.items()}

    def link_sites(self, link: IpLink) -> tuple[str, str]:
        return self.routers[link.a.router].site, self.routers[link.b.router].site

    def span_sites(self, span: Span) -> tuple[str, ...]:
        """Sites the span ends at (optical nodes outside any site are skipped)."""
        ends = (self.optical_nodes[span.a].site, self.optical_nodes[span.b].site)
        return tuple(s for s in ends if s is not None)

    def routers_at(self, site: str) -> list[Router]:
        return list(self._site_routers.get(site, ()))

    def site_spans(self, site: str) -> tuple[str, ...]:
        """Spans ending at one of the site's optical nodes (a site failure cuts them)."""
        return self._site_spans.get(site, ())

    @cached_property
    def _site_routers(self) -> dict[str, tuple[Router, ...]]:
        out: dict[str, list[Router]] = {}
        for r in self.routers.values():
            out.setdefault(r.site, []).append(r)
        return {k: tuple(v) for k, v in out.items()}

    @cached_property
    def _site_spans(self) -> dict[str, tuple[str, ...]]:
        out: dict[str, list[str]] = {}
        for span in self.spans.values():
            for site in {self.optical_nodes[span.a].site, self.optical_nodes[span.b].site}:
                if site is not None:
                    out.setdefault(site, []).append(span.id)
        return {k: tuple(v) for k, v in out.items()}

    def datacentres(self) -> list[str]:
        return [s.id for s in self.sites.values() if s.kind == "datacentre"]

    def members(self) -> list[str]:
        return [s.id for s in self.sites.values() if s.kind == "member"]

    def resolve_site(self, ref: str) -> str:
        """Site id for a site id or a unique site name (case-insensitive); UnknownName otherwise."""
        if ref in self.sites:
            return ref
        matches = [s.id for s in self.sites.values() if s.name.lower() == ref.lower()]
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise InputError(f"site name {ref!r} is ambiguous: {', '.join(sorted(matches))}")
        raise UnknownName(f"unknown site {ref!r}")
