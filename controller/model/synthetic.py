"""An NGK-like topology of any size, built in memory for benchmarks and scale tests.

The reference core (datacentres, PoPs, their spans and links from topology/ngk.yaml, without its
member sites) is extended with ten regional PoPs, each tied by two spans to its two nearest core
sites, and `members` member sites scattered around the towns of Norway. Every member is dual-homed:
two IP links, each on its own span, to its two nearest PoPs by great-circle distance. The same
`(members, seed)` always gives the same topology.
"""
from __future__ import annotations

import dataclasses
import ipaddress
import math
import random

from controller.model.load import great_circle_km, load_topology
from controller.model.topology import (
    Endpoint, IpLink, OpticalNode, Router, Service, Site, Span, Topology)

# Extra PoPs (id, name, lat, lon, region): regional towns not in the reference core.
EXTRA_POPS = (
    ("stv", "Stavanger", 58.9700, 5.7331, "west"),
    ("kri", "Kristiansand", 58.1467, 7.9956, "south-east"),
    ("skn", "Skien", 59.2096, 9.6089, "south-east"),
    ("drm", "Drammen", 59.7439, 10.2045, "south-east"),
    ("lhm", "Lillehammer", 61.1153, 10.4662, "south-east"),
    ("frd", "Førde", 61.4522, 5.8572, "west"),
    ("moi", "Mo i Rana", 66.3128, 14.1428, "north"),
    ("nvk", "Narvik", 68.4385, 17.4273, "north"),
    ("alt", "Alta", 69.9689, 23.2716, "north"),
    ("kkn", "Kirkenes", 69.7271, 30.0450, "north"),
)
MEMBER_RADIUS_KM = 60.0  # members lie within this distance of a PoP or datacentre town
NORWAY_LAT, NORWAY_LON = (57.98, 71.18), (4.6, 31.1)  # mainland extremes
LOOPBACKS = ipaddress.IPv4Network("10.128.0.0/14")
P2P = ipaddress.IPv4Network("10.64.0.0/11")
MGMT = ipaddress.IPv4Network("172.31.0.0/16")


class _Addresses:
    """Hands out loopbacks, /31 link subnets and management addresses."""

    def __init__(self) -> None:
        self.loopbacks = LOOPBACKS.hosts()
        self.p2p = P2P.subnets(new_prefix=31)
        self.mgmt = MGMT.hosts()
        for _ in range(10):  # .1-.10 reserved for the controller side, as in the loader
            next(self.mgmt)

    def router(self, rid: str, site: str, role: str) -> Router:
        return Router(rid, site, role, "frr", ipaddress.IPv4Interface(f"{next(self.loopbacks)}/32"),
                      ipaddress.IPv4Interface(f"{next(self.mgmt)}/{MGMT.prefixlen}"))

    def pair(self) -> tuple[ipaddress.IPv4Interface, ipaddress.IPv4Interface]:
        net = next(self.p2p)
        return ipaddress.IPv4Interface(f"{net[0]}/31"), ipaddress.IPv4Interface(f"{net[1]}/31")


class _Builder:
    def __init__(self, core: Topology):
        self.core = core
        self.settings = core.settings
        self.addr = _Addresses()
        keep = {s.id for s in core.sites.values() if s.kind != "member"}
        self.sites = {k: v for k, v in core.sites.items() if k in keep}
        self.onodes = {k: v for k, v in core.optical_nodes.items()
                       if v.site is None or v.site in keep}
        self.spans = {k: v for k, v in core.spans.items()
                      if k not in self._member_spans(keep)}
        self.routers = {}
        for r in core.routers.values():
            if r.site in keep:
                self.routers[r.id] = self.addr.router(r.id, r.site, r.role)
        self.links = {}
        self.ifaces: dict[str, int] = {}
        self.site_onode = {n.site: n.id for n in sorted(self.onodes.values(), key=lambda n: n.id)
                           if n.site is not None}
        self.site_router = {r.site: r.id for r in sorted(self.routers.values(),
                                                         key=lambda r: r.id, reverse=True)}
        for link in core.links.values():
            if link.a.router in self.routers and link.b.router in self.routers:
                self.links[link.id] = self._link(link.id, link.a.router, link.b.router,
                                                 link.route, link.metric, link.capacity_gbps)

    def _member_spans(self, keep: set[str]) -> set[str]:
        return {s.id for s in self.core.spans.values()
                if any(site not in keep for site in self.core.span_sites(s))}

    def _iface(self, router: str) -> str:
        self.ifaces[router] = self.ifaces.get(router, 0) + 1
        return f"eth{self.ifaces[router]}"

    def _link(self, lid: str, ra: str, rb: str, route: tuple[str, ...], metric: int | None,
              capacity: float) -> IpLink:
        km = sum(self.spans[s].km or 0.0 for s in route)
        latency = km * self.settings.fibre_ms_per_km + self.settings.per_hop_ms
        metric = metric or max(1, round(latency * 100))
        aa, ab = self.addr.pair()
        return IpLink(lid, Endpoint(ra, self._iface(ra), aa), Endpoint(rb, self._iface(rb), ab),
                      metric, capacity, route, latency, km)

    def add_site(self, site: Site, role: str) -> str:
        """Add a site with its optical node and one router; returns the router id."""
        self.sites[site.id] = site
        self.onodes[site.id] = OpticalNode(site.id, site.id)
        rid = f"{site.id}-{'pe' if role == 'pe' else 'ce'}1"
        self.routers[rid] = self.addr.router(rid, site.id, role)
        self.site_onode[site.id], self.site_router[site.id] = site.id, rid
        return rid

    def connect(self, site: str, other: str, capacity: float) -> None:
        """One span and one IP link riding it between two single-router sites."""
        sid = f"{site}-{other}"
        km = great_circle_km(self.sites[site], self.sites[other]) or 1.0
        self.spans[sid] = Span(sid, site, self.site_onode[other], max(km, 1.0))
        self.links[sid] = self._link(sid, self.site_router[site], self.site_router[other], (sid,),
                                     None, capacity)

    def hubs(self, kinds: tuple[str, ...]) -> list[Site]:
        return sorted((s for s in self.sites.values() if s.kind in kinds), key=lambda s: s.id)

    def topology(self, name: str) -> Topology:
        members = tuple(s.id for s in self.sites.values() if s.kind == "member")
        services = {k: Service(v.id, v.name, v.datacentres, members if v.members else (),
                               v.latency_budget_ms) for k, v in self.core.services.items()}
        return Topology(name, "synthetic", self.sites, self.onodes, self.spans, self.routers,
                        self.links, services, self.settings, MGMT)


def _nearest(site: Site, cands: list[Site], count: int) -> list[str]:
    ranked = sorted((s for s in cands if s.id != site.id),
                    key=lambda s: (great_circle_km(site, s), s.id))
    return [s.id for s in ranked[:count]]


def _member_location(rng: random.Random, anchors: list[Site]) -> tuple[float, float]:
    """A point within MEMBER_RADIUS_KM of a random anchor town, inside Norway's extremes."""
    while True:
        town = rng.choice(anchors)
        assert town.lat is not None and town.lon is not None, "the reference core has coordinates"
        dist = MEMBER_RADIUS_KM * math.sqrt(rng.random())
        bearing = rng.uniform(0, 2 * math.pi)
        lat = town.lat + dist * math.cos(bearing) / 111.2
        lon = town.lon + dist * math.sin(bearing) / (111.2 * math.cos(math.radians(town.lat)))
        if NORWAY_LAT[0] <= lat <= NORWAY_LAT[1] and NORWAY_LON[0] <= lon <= NORWAY_LON[1]:
            return round(lat, 5), round(lon, 5)


def synthetic_topology(members: int, seed: int = 1) -> Topology:
    """The reference core, ten more PoPs and `members` dual-homed member sites."""
    b = _Builder(load_topology())
    for sid, name, lat, lon, region in EXTRA_POPS:
        site = Site(sid, name, "pop", lat, lon, region)
        near = _nearest(site, b.hubs(("datacentre", "pop")), 2)
        b.add_site(site, "pe")
        for other in near:
            b.connect(sid, other, 100.0)
    rng = random.Random(seed)
    anchors, pops = b.hubs(("datacentre", "pop")), b.hubs(("pop",))
    width = len(str(members))
    for i in range(1, members + 1):
        lat, lon = _member_location(rng, anchors)
        probe = Site(f"m{i:0{width}d}", f"Member site {i}", "member", lat, lon)
        near = _nearest(probe, pops, 2)
        site = dataclasses.replace(probe, region=b.sites[near[0]].region)
        b.add_site(site, "ce")
        for pop in near:
            b.connect(site.id, pop, 10.0)
    return b.topology(f"ngk-synthetic-{members}")
