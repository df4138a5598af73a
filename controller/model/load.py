"""Read a topology YAML file, check everything in it at once, and build a `Topology`.

Every problem becomes a `Diagnostic` naming the file, the line and the path inside the
document; `load_topology` raises `InputError` with all of them when there is any error.
The file format is documented in docs/topology-format.md.
"""
from __future__ import annotations

import ipaddress
import itertools
import os
import re
from pathlib import Path
from collections.abc import Callable, Iterator
from typing import Any

from controller import data
from controller.model.source import Diagnostic, DocPath, Document, InputError, load_yaml
from controller.model.topology import (
    SITE_KINDS, Endpoint, IpLink, OpticalNode, Router, Service, Settings, Site, Span, Topology)

REFERENCE_TOPOLOGY = data.path("topology", "ngk.yaml")
IFNAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,14}")  # used with fullmatch
ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # used with fullmatch

SECTIONS = {"name", "settings", "addressing", "sites", "optical_nodes", "spans", "routers",
            "links", "services"}
FIELDS = {
    "sites": ({"id", "name", "kind"}, {"lat", "lon", "region"}),
    "optical_nodes": ({"id"}, {"site", "kind"}),
    "spans": ({"id", "a", "b"}, {"km", "srlgs"}),
    "routers": ({"id", "site"}, {"role", "platform", "loopback", "mgmt"}),
    "links": ({"id", "a", "b"}, {"metric", "capacity_gbps", "route", "km"}),
    "services": ({"id", "datacentres"}, {"name", "members", "latency_budget_ms"}),
}
ENDPOINT_FIELDS = ({"router", "interface"}, {"address"})
ADDRESSING_DEFAULTS = {"p2p": "10.0.0.0/16", "loopbacks": "10.255.0.0/24", "mgmt": "172.31.0.0/24"}


def topology_path(explicit: str | Path | None = None) -> Path:
    """The topology to use: the explicit file, else $NGK_TOPOLOGY, else the reference one."""
    return Path(explicit or os.environ.get("NGK_TOPOLOGY") or REFERENCE_TOPOLOGY)


def load_topology(path: str | Path | None = None) -> Topology:
    """Load and validate; raises InputError listing every error found."""
    topo, diags = check_topology(path)
    if topo is None:
        raise InputError([d for d in diags if d.severity == "error"])
    return topo


def check_topology(path: str | Path | None = None) -> tuple[Topology | None, list[Diagnostic]]:
    """Validate a file; returns the topology (None if any error) and all diagnostics."""
    try:
        doc = load_yaml(topology_path(path))
    except InputError as exc:
        return None, exc.diagnostics
    return _Builder(doc).build()


class _Builder:
    def __init__(self, doc: Document):
        self.doc = doc
        self.diags: list[Diagnostic] = []

    # --- helpers -----------------------------------------------------------------------
    def error(self, path: DocPath, message: str) -> None:
        self.diags.append(self.doc.diag(path, message))

    def warn(self, path: DocPath, message: str) -> None:
        self.diags.append(self.doc.diag(path, message, "warning"))

    def items(self, data: dict[str, Any], section: str) -> list[tuple[DocPath, dict[str, Any]]]:
        """The well-formed entries of a list section, with their paths; reports the rest."""
        raw = data.get(section) or []
        if not isinstance(raw, list):
            self.error((section,), "must be a list")
            return []
        required, optional = FIELDS[section]
        out: list[tuple[DocPath, dict[str, Any]]] = []
        seen: dict[str, DocPath] = {}
        for i, entry in enumerate(raw):
            path: DocPath = (section, i)
            if not self.fields_ok(path, entry, required, optional):
                continue
            ident = entry["id"]
            if not isinstance(ident, str) or not ID.fullmatch(ident):
                self.error(path + ("id",), f"id {ident!r} must be a non-empty string of "
                                           "letters, digits, '_', '.', '-'")
                continue
            if ident in seen:
                self.error(path + ("id",), f"duplicate id {ident!r} (first at line "
                                           f"{self.doc.line(seen[ident])})")
                continue
            seen[ident] = path
            out.append((path, entry))
        return out

    def fields_ok(self, path: DocPath, entry: Any, required: set[str], optional: set[str]) -> bool:
        if not isinstance(entry, dict):
            self.error(path, "must be a mapping")
            return False
        ok = True
        for key in sorted(required - entry.keys()):
            self.error(path, f"missing required field {key!r}")
            ok = False
        for key in sorted(entry.keys() - required - optional):
            self.error(path + (str(key),), f"unknown field {key!r}")
        return ok

    def number(self, path: DocPath, value: Any, *, positive: bool = True,
               lo: float | None = None, hi: float | None = None) -> float | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.error(path, f"must be a number, got {value!r}")
            return None
        if positive and value <= 0:
            self.error(path, f"must be > 0, got {value!r}")
            return None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            self.error(path, f"must be between {lo} and {hi}, got {value!r}")
            return None
        return float(value)

    def ref(self, path: DocPath, value: Any, known: dict[str, Any], what: str) -> str | None:
        if not isinstance(value, str) or value not in known:
            self.error(path, f"unknown {what} {value!r}")
            return None
        return value

    def take(self, pool: Iterator[Any], path: DocPath, what: str) -> Any:
        """The next address of a pool, or None with an error when it is exhausted."""
        value = next(pool, None)
        if value is None:
            self.error(path, f"{what} is exhausted: give a larger prefix under 'addressing'")
        return value

    def iface(self, path: DocPath, value: Any, cls: Callable[[str], Any]) -> Any:
        try:
            return cls(str(value))
        except ValueError:
            self.error(path, f"not a valid IPv4 address/prefix: {value!r}")
            return None

    # --- sections ----------------------------------------------------------------------
    def build(self) -> tuple[Topology | None, list[Diagnostic]]:
        data = self.doc.data
        if not isinstance(data, dict):
            self.error((), "a topology file must be a mapping with sites, spans, routers, links")
            return None, self.diags
        for key in sorted(data.keys() - SECTIONS, key=str):
            self.error((str(key),), f"unknown section {key!r}"
                       f" (known: {', '.join(sorted(SECTIONS))})")
        settings = self.settings(data.get("settings") or {})
        pools = self.pools(data.get("addressing") or {})
        sites = self.sites(data)
        onodes = self.optical_nodes(data, sites)
        spans = self.spans(data, onodes)
        routers = self.routers(data, sites, pools)
        links, spans = self.links(data, sites, onodes, spans, routers, pools, settings)
        services = self.services(data, sites)
        if any(d.severity == "error" for d in self.diags):
            return None, self.diags
        name = data.get("name") or Path(self.doc.file).stem
        topo = Topology(str(name), self.doc.file, sites, onodes, spans, routers, links, services,
                        settings, pools["mgmt"])
        self.connectivity(topo)
        return topo, self.diags

    def settings(self, raw: Any) -> Settings:
        if not isinstance(raw, dict):
            self.error(("settings",), "must be a mapping")
            return Settings()
        known = Settings.__dataclass_fields__
        values = {}
        for key, value in raw.items():
            if key not in known:
                self.error(("settings", str(key)), f"unknown setting {key!r}")
                continue
            rate = key.endswith("_per_year")  # a rate may be 0: that risk is switched off
            num = self.number(("settings", key), value, positive=not rate, lo=0 if rate else None)
            if num is not None:
                values[key] = num
        return Settings(**values)

    def pools(self, raw: Any) -> dict[str, Any]:
        out = {k: ipaddress.IPv4Network(v) for k, v in ADDRESSING_DEFAULTS.items()}
        if not isinstance(raw, dict):
            self.error(("addressing",), "must be a mapping")
            return out
        for key, value in raw.items():
            if key not in out:
                self.error(("addressing", str(key)), f"unknown pool {key!r}")
                continue
            net = self.iface(("addressing", key), value, ipaddress.IPv4Network)
            if net is not None:
                out[key] = net
        return out

    def sites(self, data: dict[str, Any]) -> dict[str, Site]:
        out = {}
        for path, e in self.items(data, "sites"):
            if e["kind"] not in SITE_KINDS:
                self.error(path + ("kind",), f"kind must be one of {', '.join(SITE_KINDS)}, "
                                             f"got {e['kind']!r}")
            lat = lon = None
            if e.get("lat") is not None:
                lat = self.number(path + ("lat",), e["lat"], positive=False, lo=-90, hi=90)
            if e.get("lon") is not None:
                lon = self.number(path + ("lon",), e["lon"], positive=False, lo=-180, hi=180)
            out[e["id"]] = Site(e["id"], str(e["name"]), e["kind"], lat, lon, e.get("region"))
        return out

    def optical_nodes(self, data: dict[str, Any], sites: dict[str, Site]) -> dict[str, OpticalNode]:
        out = {}
        for path, e in self.items(data, "optical_nodes"):
            site = e.get("site")
            if site is not None:
                self.ref(path + ("site",), site, sites, "site")
            out[e["id"]] = OpticalNode(e["id"], site, str(e.get("kind", "roadm")))
        return out

    def spans(self, data: dict[str, Any], onodes: dict[str, OpticalNode]) -> dict[str, Span]:
        out = {}
        for path, e in self.items(data, "spans"):
            a = self.ref(path + ("a",), e["a"], onodes, "optical node")
            b = self.ref(path + ("b",), e["b"], onodes, "optical node")
            if a is None or b is None:
                continue
            if a == b:
                self.error(path, f"self-loop: span {e['id']!r} starts and ends at {a!r}")
            km = None
            if e.get("km") is None:
                self.warn(path + ("km",), "length unknown: latency and cut rate use 0 km")
            else:
                km = self.number(path + ("km",), e["km"])
            srlgs = e.get("srlgs") or []
            if not isinstance(srlgs, list) or not all(isinstance(s, str) for s in srlgs):
                self.error(path + ("srlgs",), "must be a list of SRLG names")
                srlgs = []
            out[e["id"]] = Span(e["id"], e["a"], e["b"], km, tuple(srlgs))
        return out

    def routers(self, data: dict[str, Any], sites: dict[str, Site],
                pools: dict[str, Any]) -> dict[str, Router]:
        out = {}
        loop_pool = iter(pools["loopbacks"].hosts())
        mgmt_hosts = itertools.islice(pools["mgmt"].hosts(), 10, None)  # .1-.10: controller side
        taken: dict[Any, DocPath] = {}
        for path, e in self.items(data, "routers"):
            self.ref(path + ("site",), e["site"], sites, "site")
            if "loopback" in e:
                loop = self.iface(path + ("loopback",), e["loopback"], ipaddress.IPv4Interface)
            else:
                host = self.take(loop_pool, path, f"loopback pool {pools['loopbacks']}")
                loop = host and ipaddress.IPv4Interface(f"{host}/32")
            if "mgmt" in e:
                mgmt = self.iface(path + ("mgmt",), e["mgmt"], ipaddress.IPv4Interface)
                if mgmt is not None and mgmt.ip not in pools["mgmt"]:
                    self.error(path + ("mgmt",), f"{mgmt} is outside the management pool "
                                                 f"{pools['mgmt']}")
            else:
                host = self.take(mgmt_hosts, path, f"management pool {pools['mgmt']}")
                mgmt = host and ipaddress.IPv4Interface(f"{host}/{pools['mgmt'].prefixlen}")
            for key, addr in (("loopback", loop), ("mgmt", mgmt)):
                if addr is None:
                    continue
                if addr.ip in taken:
                    self.error(path + (key,), f"address {addr.ip} already used at line "
                                              f"{self.doc.line(taken[addr.ip])}")
                taken[addr.ip] = path + (key,)
            if loop is None or mgmt is None:
                continue
            out[e["id"]] = Router(e["id"], e["site"], str(e.get("role", "core")),
                                  str(e.get("platform", "frr")), loop, mgmt)
        return out

    def links(self, data: dict[str, Any], sites: dict[str, Site],
              onodes: dict[str, OpticalNode], spans: dict[str, Span],
              routers: dict[str, Router], pools: dict[str, Any],
              settings: Settings) -> tuple[dict[str, IpLink], dict[str, Span]]:
        out: dict[str, IpLink] = {}
        spans = dict(spans)
        p2p = pools["p2p"].subnets(new_prefix=31)
        used_ifaces: dict[tuple[str, str], DocPath] = {}
        site_nodes: dict[str, list[str]] = {}
        for node in onodes.values():
            if node.site:
                site_nodes.setdefault(node.site, []).append(node.id)
        for path, e in self.items(data, "links"):
            ends = []
            for side in ("a", "b"):
                ends.append(self.endpoint(path + (side,), e[side], routers, used_ifaces))
            if None in ends:
                continue
            (ra, ia, aa), (rb, ib, ab) = ends
            if ra == rb:
                self.error(path, f"self-loop: link {e['id']!r} has router {ra!r} at both ends")
                continue
            net = self.take(p2p, path, f"point-to-point pool {pools['p2p']}")
            if net is None:
                continue
            aa = aa or ipaddress.IPv4Interface(f"{net[0]}/31")
            ab = ab or ipaddress.IPv4Interface(f"{net[1]}/31")
            if aa.network != ab.network:
                self.error(path, f"ends {aa} and {ab} are not in the same subnet")
            sa, sb = routers[ra].site, routers[rb].site
            route = e.get("route") or []
            if not isinstance(route, list) or not all(isinstance(s, str) for s in route):
                self.error(path + ("route",), "must be a list of span ids")
                continue
            km_given = None
            if e.get("km") is not None:
                km_given = self.number(path + ("km",), e["km"])
                if route:
                    self.error(path + ("km",), "km is only for links without an optical route "
                                               "(the route's spans give the length)")
            if route:
                if not self.chain_ok(path + ("route",), route, spans, onodes, sa, sb):
                    continue
            elif sa != sb:
                span = self.implicit_span(path, e["id"], sa, sb, sites, onodes, site_nodes,
                                          km_given)
                spans[span.id] = span
                route = [span.id]
            kms = [spans[s].km for s in route]
            km = sum(k for k in kms if k is not None) if route else 0.0
            latency = km * settings.fibre_ms_per_km + settings.per_hop_ms
            metric = e.get("metric")
            if metric is None:
                metric = max(1, round(latency * 100))
            elif (isinstance(metric, bool) or not isinstance(metric, int)
                  or not 1 <= metric <= 65535):
                self.error(path + ("metric",),
                           f"metric must be an integer 1..65535, got {metric!r}")
                continue
            cap = e.get("capacity_gbps", 10)
            cap = self.number(path + ("capacity_gbps",), cap) if cap is not None else 10.0
            out[e["id"]] = IpLink(e["id"], Endpoint(ra, ia, aa), Endpoint(rb, ib, ab), metric,
                                  cap or 10.0, tuple(route), latency,
                                  None if None in kms else km)
        return out, spans

    def endpoint(self, path, raw, routers, used):
        required, optional = ENDPOINT_FIELDS
        if not self.fields_ok(path, raw, required, optional):
            return None
        router = self.ref(path + ("router",), raw["router"], routers, "router")
        name = raw["interface"]
        if not isinstance(name, str) or not IFNAME.fullmatch(name) or name in ("lo", "mgmt0"):
            self.error(path + ("interface",), f"interface {name!r} must be a Linux interface name "
                                              "(letter first, at most 15 characters, not lo/mgmt0)")
            return None
        if router is None:
            return None
        if (router, name) in used:
            self.error(path + ("interface",), f"interface {router}:{name} already used at line "
                                              f"{self.doc.line(used[(router, name)])}")
            return None
        used[(router, name)] = path
        addr = None
        if "address" in raw:
            addr = self.iface(path + ("address",), raw["address"], ipaddress.IPv4Interface)
        return router, name, addr

    def chain_ok(self, path, route, spans, onodes, sa, sb) -> bool:
        """The route must be a contiguous chain of spans from site sa to site sb."""
        for i, span_id in enumerate(route):
            if span_id not in spans:
                self.error(path + (i,), f"unknown span {span_id!r}")
                return False
        if len(set(route)) != len(route):
            self.error(path, "a span appears twice in the optical route")
            return False
        first = spans[route[0]]
        for start in (first.a, first.b):
            if onodes[start].site != sa:
                continue
            here, ok = start, True
            for span_id in route:
                span = spans[span_id]
                if here not in (span.a, span.b):
                    ok = False
                    break
                here = span.b if here == span.a else span.a
            if ok and onodes[here].site == sb:
                return True
        self.error(path, f"optical route {route} is not a contiguous chain of spans from site "
                         f"{sa!r} to site {sb!r}")
        return False

    def implicit_span(self, path, link_id, sa, sb, sites, onodes, site_nodes, km):
        """A link without an optical route rides a span of its own between its sites."""
        ends = []
        for site in (sa, sb):
            if site not in site_nodes:
                node = OpticalNode(f"{site}~otn", site, "implicit")
                onodes[node.id] = node
                site_nodes[site] = [node.id]
            ends.append(site_nodes[site][0])
        if km is None:
            km = great_circle_km(sites[sa], sites[sb])
            if km is None:
                self.warn(path, "no route, no km and no coordinates at both ends: length unknown")
        return Span(f"{link_id}~span", ends[0], ends[1], km, (), implicit=True)

    def services(self, data: dict[str, Any], sites: dict[str, Site]) -> dict[str, Service]:
        out = {}
        for path, e in self.items(data, "services"):
            dcs, members = e["datacentres"], e.get("members") or []
            for key, refs, kind in (("datacentres", dcs, "datacentre"), ("members", members, None)):
                if not isinstance(refs, list):
                    self.error(path + (key,), "must be a list of site ids")
                    continue
                for i, ref in enumerate(refs):
                    if self.ref(path + (key, i), ref, sites, "site") and kind and \
                            sites[ref].kind != kind:
                        self.error(path + (key, i), f"site {ref!r} is a {sites[ref].kind}, "
                                                    f"not a {kind}")
            budget = e.get("latency_budget_ms")
            if budget is not None:
                budget = self.number(path + ("latency_budget_ms",), budget)
            if isinstance(dcs, list) and isinstance(members, list):
                out[e["id"]] = Service(e["id"], str(e.get("name", e["id"])), tuple(dcs),
                                       tuple(members), budget)
        return out

    def connectivity(self, topo: Topology) -> None:
        root = {s: s for s in topo.sites if topo.routers_at(s)}  # union-find over sites

        def find(s: str) -> str:
            while root[s] != s:
                root[s] = root[root[s]]
                s = root[s]
            return s

        for link in topo.links.values():
            a, b = (find(s) for s in topo.link_sites(link))
            root[a] = b
        islands: dict[str, list[str]] = {}
        for s in root:
            islands.setdefault(find(s), []).append(s)
        if len(islands) > 1:
            parts = sorted(islands.values(), key=len, reverse=True)
            smallest = min(parts[1:], key=len)
            small = ", ".join(sorted(smallest))
            self.warn(("links",), f"the IP layer is disconnected: {len(parts)} islands "
                                  f"(smallest: {small})")
        for site in topo.sites:
            if not topo.routers_at(site):
                self.warn(("sites",), f"site {site!r} has no router: it takes no part in "
                                      "IP connectivity")


def great_circle_km(a: Site, b: Site) -> float | None:
    """Great-circle distance between two sites, None when either has no coordinates."""
    from math import asin, cos, radians, sin, sqrt
    if a.lat is None or a.lon is None or b.lat is None or b.lon is None:
        return None
    p1, p2 = radians(a.lat), radians(b.lat)
    dp, dl = p2 - p1, radians(b.lon - a.lon)
    h = sin(dp / 2) ** 2 + cos(p1) * cos(p2) * sin(dl / 2) ** 2
    return round(2 * 6371.0088 * asin(min(1.0, sqrt(h))), 3)
