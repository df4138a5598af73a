"""The network as it is versus the model: read every router (LLDP neighbours, interfaces and
addresses, OSPF interface costs and neighbours, BFD sessions) through Nornir + NAPALM and diff.

`observe` turns one router's getter outputs into a `Seen`; `diff` is pure (model + what was seen
in, `Difference`s out), so it is tested on hand-made data; `discover` reads the routers.
Kinds, `where` and the JSON contract: docs/discover.md.
"""
from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from controller.model.topology import Endpoint, IpLink, Topology

KINDS = ("unreachable-router", "unknown-router", "missing-link", "extra-link", "wrong-ports",
         "address", "cost", "adjacency")
EXIT_DIFFERENT, EXIT_UNREACHABLE = 1, 3  # 0: as modelled; 2: bad input (docs/discover.md)
COMMANDS = ("show interface json", "show ip ospf interface json", "show ip ospf neighbor json")
BFD = "show bfd peers json"

Port = tuple[str, str]  # (router or LLDP system name, interface)


@dataclass(frozen=True)
class Seen:
    """One router as it reports itself, reduced to what discovery compares."""

    interfaces: frozenset[str]  # every interface name
    addresses: Mapping[str, tuple[str, ...]]  # interface -> IPv4 "address/len", sorted
    lldp: Mapping[str, tuple[Port, ...]]  # interface -> (system name, port) of each neighbour
    costs: Mapping[str, int]  # interface -> OSPF cost (interfaces running OSPF)
    ospf: Mapping[str, tuple[Port, ...]]  # interface -> (neighbour router id, state) each
    bfd: Mapping[str, tuple[Port, ...]] | None = None  # interface -> (peer, status); None: no BFD


@dataclass(frozen=True)
class Difference:
    kind: str  # one of KINDS
    where: str  # a router, "router interface", a link id or an LLDP system name
    model: str | int | None  # what the model says (None: the model has nothing there)
    device: str | int | None  # what the devices say (None: nothing there)
    detail: str = ""


@dataclass
class DiscoverReport:
    differences: list[Difference]
    read: list[str]  # routers read
    links_seen: int  # distinct links LLDP shows between known routers
    seconds: float = 0.0
    routers: int = 0  # routers in the model
    errors: dict[str, str] = field(default_factory=dict)  # router -> why it was not read

    @property
    def exit_code(self) -> int:
        kinds = {d.kind for d in self.differences}
        if kinds - {"unreachable-router"}:
            return EXIT_DIFFERENT
        return EXIT_UNREACHABLE if kinds else 0

    def as_dict(self) -> dict[str, Any]:
        by_kind = {k: n for k in KINDS
                   if (n := sum(d.kind == k for d in self.differences))}
        return {"ok": not self.differences, "summary": {
            "differences": len(self.differences), "by_kind": by_kind, "routers": self.routers,
            "read": len(self.read), "unreachable": len(self.errors),
            "links_seen": self.links_seen, "seconds": self.seconds},
            "differences": [asdict(d) for d in self.differences]}


# --- one router's getter outputs -> Seen ---------------------------------------------------
def observe(show_interface: Mapping[str, Any], lldp: Mapping[str, list[Mapping[str, str]]],
            ospf_if: Mapping[str, Any], ospf_nbr: Mapping[str, Any],
            bfd: list[Mapping[str, Any]] | None) -> Seen:
    """The JSON of `show interface`, NAPALM get_lldp_neighbors, and the JSON of `show ip ospf
    interface`, `show ip ospf neighbor`, `show bfd peers` (None: no bfdd)."""
    addresses = {name: tuple(sorted(
        a["address"] for a in data.get("ipAddresses", [])
        if ipaddress.ip_interface(a["address"]).version == 4))
        for name, data in show_interface.items()}
    nbrs: dict[str, list[Port]] = {}
    for rid, entries in ospf_nbr.get("neighbors", {}).items():
        for e in entries:
            state = (e.get("nbrState") or e.get("state", "")).split("/")[0]
            nbrs.setdefault(e.get("ifaceName", "").split(":")[0], []).append((rid, state))
    peers: dict[str, list[Port]] | None = None
    if bfd is not None:
        peers = {}
        for p in bfd:
            peers.setdefault(p.get("interface", ""), []).append((p["peer"], p.get("status", "")))
    return Seen(
        interfaces=frozenset(show_interface),
        addresses={k: v for k, v in addresses.items() if v},
        lldp={i: tuple((n["hostname"], n["port"]) for n in ns) for i, ns in lldp.items()},
        costs={i: int(d["cost"]) for i, d in ospf_if.get("interfaces", {}).items()
               if d.get("ospfEnabled", True) and "cost" in d},
        ospf={i: tuple(v) for i, v in nbrs.items()},
        bfd=None if peers is None else {i: tuple(v) for i, v in peers.items()})


# --- the pure diff ---------------------------------------------------------------------------
def _name(topo: Topology, system: str) -> str:
    """A model router id for an LLDP system name (an FQDN's first label counts), else as is."""
    return system if system in topo.routers else system.split(".")[0] \
        if system.split(".")[0] in topo.routers else system


def _text(ends: Iterable[Port]) -> str:
    return " - ".join(f"{r} {i}" for r, i in sorted(ends))


def _key(link: IpLink) -> frozenset[Port]:
    return frozenset({(link.a.router, link.a.interface), (link.b.router, link.b.interface)})


def _routers(ends: frozenset[Port]) -> tuple[str, ...]:
    return tuple(sorted(r for r, _ in ends))


def lldp_links(topo: Topology, seen: Mapping[str, Seen]
               ) -> tuple[set[frozenset[Port]], dict[str, set[str]]]:
    """Links LLDP shows between model routers (from either end), and each system the model does
    not know -> where it was seen."""
    links: set[frozenset[Port]] = set()
    unknown: dict[str, set[str]] = {}
    for router, s in seen.items():
        for iface, nbrs in s.lldp.items():
            for system, port in nbrs:
                name = _name(topo, system)
                if name in topo.routers:
                    links.add(frozenset({(router, iface), (name, port)}))
                else:
                    unknown.setdefault(name, set()).add(f"{router} {iface} (its port {port})")
    return links, unknown


@dataclass
class Cabling:
    """Model links against the links LLDP shows: one matching for the diff and the import."""

    as_modelled: list[IpLink] = field(default_factory=list)
    recabled: list[tuple[IpLink, frozenset[Port]]] = field(default_factory=list)  # wrong ports
    missing: list[IpLink] = field(default_factory=list)  # an end was read, no cable seen
    unread: list[IpLink] = field(default_factory=list)  # neither end was read
    extra: list[frozenset[Port]] = field(default_factory=list)  # cables the model lacks


def match(topo: Topology, seen: Mapping[str, Seen], cabled: set[frozenset[Port]]) -> Cabling:
    """Each model link as modelled, on other ports between the same routers (the most ports
    in common first), missing or unread; the cables left over are extra."""
    out = Cabling()
    spare = sorted(cabled - {_key(link) for link in topo.links.values()}, key=sorted)
    for link in sorted(topo.links.values(), key=lambda lk: lk.id):
        key = _key(link)
        if key in cabled:
            out.as_modelled.append(link)
            continue
        if not (link.a.router in seen or link.b.router in seen):
            out.unread.append(link)
            continue
        same = [e for e in spare if _routers(e) == _routers(key)]
        if same:
            best = max(same, key=lambda e: len(e & key))
            spare.remove(best)
            out.recabled.append((link, best))
        else:
            out.missing.append(link)
    out.extra = spare
    return out


def _links(c: Cabling) -> list[Difference]:
    """missing-link, wrong-ports and extra-link."""
    out = [Difference("wrong-ports", link.id, _text(_key(link)), _text(ends),
                      "cabling: the link is on other interfaces") for link, ends in c.recabled]
    out += [Difference("missing-link", link.id, _text(_key(link)), None,
                       "no LLDP neighbour on either end") for link in c.missing]
    return out + [Difference("extra-link", _text(e), None, _text(e), "not in the model")
                  for e in c.extra]


def _end(link: IpLink, near: Endpoint, s: Seen) -> list[Difference]:
    """address and cost at one end of a link (when the interface exists)."""
    where, out = f"{near.router} {near.interface}", []
    if near.interface not in s.interfaces:
        return []
    found = s.addresses.get(near.interface, ())
    if found != (str(near.address),):
        out.append(Difference("address", where, str(near.address), ", ".join(found) or None,
                              f"link {link.id}"))
    cost = s.costs.get(near.interface)
    if cost is not None and cost != link.metric:
        out.append(Difference("cost", where, link.metric, cost, f"OSPF cost, link {link.id}"))
    return out


def _adjacency(topo: Topology, link: IpLink, near: Endpoint, far: Endpoint,
               s: Seen) -> list[Difference]:
    """OSPF Full with the far router, and BFD up with the far address (when BFD runs)."""
    rid, peer = str(topo.routers[far.router].loopback.ip), str(far.address.ip)
    ospf = dict(s.ospf.get(near.interface, ())).get(rid)
    bfd = None if s.bfd is None else dict(s.bfd.get(near.interface, ())).get(peer)
    if ospf == "Full" and (s.bfd is None or bfd == "up"):
        return []
    want = f"OSPF Full with {far.router}" + ("" if s.bfd is None else ", BFD up")
    got = f"OSPF {ospf or 'none'}" + ("" if s.bfd is None else f", BFD {bfd or 'none'}")
    return [Difference("adjacency", f"{near.router} {near.interface}", want, got,
                       f"link {link.id}")]


def diff(topo: Topology, seen: Mapping[str, Seen], errors: Mapping[str, str],
         inventory: Iterable[str] = ()) -> list[Difference]:
    """Every difference between the model and what the routers in `seen` report; `errors`:
    model routers not read (-> unreachable-router), `inventory`: hosts the inventory has."""
    out = [Difference("unreachable-router", r, str(topo.routers[r].mgmt.ip), None, errors[r])
           for r in sorted(errors)]
    cabled, unknown = lldp_links(topo, seen)
    for host in sorted(set(inventory) - set(topo.routers)):
        unknown.setdefault(host, set()).add("in the inventory")
    out += [Difference("unknown-router", name, None, "; ".join(sorted(where)),
                       "a router the model does not know")
            for name, where in sorted(unknown.items())]
    cabling = match(topo, seen, cabled)
    out += _links(cabling)
    modelled = {link.id for link in cabling.as_modelled}
    for link in topo.links.values():
        for near, far in ((link.a, link.b), (link.b, link.a)):
            if near.router in seen:
                out += _end(link, near, seen[near.router])
                if link.id in modelled:
                    out += _adjacency(topo, link, near, far, seen[near.router])
    for router, s in sorted(seen.items()):
        loopback = str(topo.routers[router].loopback)
        if not any(loopback in a for a in s.addresses.values()):
            out.append(Difference("address", f"{router} loopback", loopback, None,
                                  "the loopback address is on no interface"))
    return sorted(out, key=lambda d: (KINDS.index(d.kind), d.where))


# --- reading the routers ---------------------------------------------------------------------
def _read(task: Any) -> Seen:
    """Two SSH execs per router: the vtysh JSON (one batch; again without BFD if bfdd does not
    answer) and lldpd's neighbours."""
    from napalm.base.exceptions import CommandErrorException

    dev = task.host.get_connection("napalm", task.nornir.config)
    try:
        out = dev.cli([*COMMANDS, BFD], "json")
    except CommandErrorException:  # no bfdd on this router
        out = dev.cli(list(COMMANDS), "json") | {BFD: None}
    return observe(out[COMMANDS[0]], dev.get_lldp_neighbors(), out[COMMANDS[1]],
                   out[COMMANDS[2]], out[BFD])


def collect(nr: Any, routers: Iterable[str]) -> tuple[dict[str, Seen], dict[str, str]]:
    """Seen per router read through Nornir/NAPALM, and why each other router was not read."""
    from controller.southbound.nornir_run import read_each

    return read_each(nr, routers, _read)


def discover(topo: Topology, nr: Any) -> DiscoverReport:
    """Read every model router in the inventory and diff against the model."""
    start = time.monotonic()
    seen, errors = collect(nr, sorted(topo.routers))
    cabled, _ = lldp_links(topo, seen)
    return DiscoverReport(diff(topo, seen, errors, nr.inventory.hosts), sorted(seen),
                          len(cabled), round(time.monotonic() - start, 2), len(topo.routers),
                          errors)
