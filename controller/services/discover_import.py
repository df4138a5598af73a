"""A topology document of the network as discovered (`ngk topology import --from-devices`).

The IP layer comes from the devices: which interfaces each link is cabled to (LLDP), the link
addresses and OSPF costs. The optical layer (sites, optical nodes, spans, SRLGs, each link's
route and capacity) cannot be discovered: it is kept from the model document, as are the
routers, services and settings. Pure: the model document and what was seen in, a new document
and notes out.
"""
from __future__ import annotations

import copy
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from controller.model.topology import Topology
from controller.services.discover import Port, Seen, lldp_links, match

KEPT = ("sites", "optical_nodes", "spans", "routers", "services", "settings", "addressing")


@dataclass
class ImportResult:
    doc: dict[str, Any]
    links: dict[str, list[str]] = field(default_factory=dict)  # as-modelled, recabled, ... -> ids
    unknown: list[str] = field(default_factory=list)  # LLDP systems the model lacks (left out)

    def as_dict(self) -> dict[str, Any]:
        return {"links": self.links, "unknown_routers_left_out": self.unknown,
                "kept_from_model": list(KEPT) + ["links: route, capacity_gbps, km"]}


def _end(entry: dict[str, Any], port: Port, topo: Topology, s: Seen | None) -> dict[str, Any]:
    """An endpoint: the old one's keys, the interface as cabled, the address the device has
    (none when it has several), else, for a router not read, the model's for that port."""
    router, interface = port
    out = {**entry, "router": router, "interface": interface}
    out.pop("address", None)
    if s is not None:
        found = s.addresses.get(interface, ())
        address = found[0] if len(found) == 1 else None
    else:
        address = _model_address(topo, port)
    if address is not None:
        out["address"] = address
    return out


def _model_address(topo: Topology, port: Port) -> str | None:
    if port not in topo.link_ends:
        return None
    link, _ = topo.link_ends[port]
    near = link.a if (link.a.router, link.a.interface) == port else link.b
    return str(near.address)


def _metric(ends: list[dict[str, Any]], seen: Mapping[str, Seen]) -> int | None:
    for e in ends:
        s = seen.get(e["router"])
        if s is not None and e["interface"] in s.costs:
            return s.costs[e["interface"]]
    return None


def _link(entry: dict[str, Any], a: Port, b: Port, topo: Topology,
          seen: Mapping[str, Seen]) -> dict[str, Any]:
    """The entry with its ends as cabled, their addresses when they share a subnet (else both
    left to the pool) and the OSPF cost of the first end that reports one."""
    ends = [_end(old, port, topo, seen.get(port[0]))
            for old, port in ((entry.get("a") or {}, a), (entry.get("b") or {}, b))]
    nets = {ipaddress.ip_interface(e["address"]).network for e in ends if "address" in e}
    if len(nets) > 1:
        for e in ends:
            e.pop("address", None)
    out = {**entry, "a": ends[0], "b": ends[1]}
    metric = _metric(ends, seen)
    if metric is not None:
        out["metric"] = metric
    return out


def as_discovered(model: dict[str, Any], topo: Topology, seen: Mapping[str, Seen]
                  ) -> ImportResult:
    """`model` (the raw document `topo` was loaded from) with its links as the devices show
    them: as modelled or recabled (the entry kept, ends/addresses/metric from the devices),
    extra cables added, links an end was read for but no cable was seen dropped, links with
    no end read kept as they were."""
    cabled, unknown = lldp_links(topo, seen)
    c = match(topo, seen, cabled)
    entries = {e["id"]: e for e in model.get("links") or []}
    links = []
    recabled = {lk.id: ports for lk, ports in c.recabled}
    for link in c.as_modelled + [lk for lk, _ in c.recabled]:
        by_router = {r: (r, i) for r, i in recabled.get(link.id, frozenset())}
        a = by_router.get(link.a.router, (link.a.router, link.a.interface))
        b = by_router.get(link.b.router, (link.b.router, link.b.interface))
        links.append(_link(entries[link.id], a, b, topo, seen))
    links += [_link(entries[lk.id], (lk.a.router, lk.a.interface), (lk.b.router, lk.b.interface),
                    topo, seen) for lk in c.unread]
    taken = set(entries)
    for ends in c.extra:
        a, b = sorted(ends)
        base = f"{a[0]}-{b[0]}-found"
        n = 1
        while f"{base}-{n}" in taken:
            n += 1
        taken.add(f"{base}-{n}")
        links.append(_link({"id": f"{base}-{n}"}, a, b, topo, seen))
    doc = {k: copy.deepcopy(v) for k, v in model.items() if k != "links"}
    order = {k: n for n, k in enumerate(entries)}  # the model's order, new links last
    doc["links"] = sorted(links, key=lambda e: (order.get(e["id"], len(order)), e["id"]))
    return ImportResult(doc, {
        "as_modelled": [lk.id for lk in c.as_modelled],
        "recabled": [lk.id for lk, _ in c.recabled],
        "added": [e["id"] for e in links if e["id"] not in entries],
        "dropped": [lk.id for lk in c.missing],
        "not_read": [lk.id for lk in c.unread]}, sorted(unknown))


NOTE = ("the optical layer (sites, optical nodes, spans, SRLGs, link routes and capacities) "
        "cannot be discovered: kept from {model}")


def write(doc: dict[str, Any], out: Path, model: Path) -> None:
    header = (f"# The network as discovered by `ngk topology import --from-devices` "
              f"(docs/discover.md).\n# IP links from the devices; {NOTE.format(model=model)}.\n")
    out.write_text(header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True,
                                           width=100))


def import_from_devices(model: Path, nr: Any, out: Path) -> dict[str, Any]:
    """Read the routers of the model at `model`, write the as-discovered topology to `out` and
    check it; the report (docs/discover.md)."""
    from controller.model.load import check_topology, load_topology
    from controller.services.discover import collect

    topo = load_topology(model)
    seen, errors = collect(nr, sorted(topo.routers))
    result = as_discovered(yaml.safe_load(model.read_text()), topo, seen)
    write(result.doc, out, model)
    _, diags = check_topology(out)
    return {"out": str(out), "model": str(model), "note": NOTE.format(model=model),
            "read": sorted(seen), "unreachable": errors, **result.as_dict(),
            "valid": not any(d.severity == "error" for d in diags),
            "diagnostics": [d.as_dict() for d in diags]}
