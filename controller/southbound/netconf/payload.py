"""NETCONF payloads rendered from the topology model.

Models (netconfd loads them by file path from /usr/share/yuma/modules/ietf/): ietf-interfaces
@2014-05-08, ietf-ip@2014-06-16, iana-if-type@2014-05-08. A router's payload has its loopback
(`lo`, softwareLoopback) and one ethernetCsmacd interface per IP link end, each with its address.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import jinja2

from controller.config.render import config_value
from controller.errors import UnknownName
from controller.model.topology import Topology

TEMPLATES = Path(__file__).resolve().parents[2] / "config" / "templates" / "netconf"
# YANG list keys of the shipped payloads, by element local name: what `diff` needs to match
# list entries between intended and running config.
INTERFACE_KEYS: dict[str, tuple[str, ...]] = {"interface": ("name",), "address": ("ip",),
                                              "neighbor": ("ip",)}


@dataclass(frozen=True, slots=True)
class Address:
    ip: str
    prefix_length: int


@dataclass(frozen=True, slots=True)
class InterfaceIntent:
    name: str
    description: str
    type: str  # an iana-if-type identity
    enabled: bool
    addresses: tuple[Address, ...]


@dataclass(frozen=True, slots=True)
class Payload:
    """An edit-config <config> document plus the list keys needed to diff it."""

    router: str
    xml: str
    keys: dict[str, tuple[str, ...]]


@functools.cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                              finalize=config_value)


def interfaces_for(topo: Topology, router_id: str) -> list[InterfaceIntent]:
    """The intended interfaces of one router, loopback first, then by interface name."""
    if router_id not in topo.routers:
        raise UnknownName(f"unknown router {router_id!r}")
    router = topo.routers[router_id]
    out = [InterfaceIntent("lo", f"ngk loopback of {router_id}", "softwareLoopback", True,
                           (Address(str(router.loopback.ip), router.loopback.network.prefixlen),))]
    ends = []
    for link in topo.links.values():
        for mine, peer in ((link.a, link.b), (link.b, link.a)):
            if mine.router == router_id:
                ends.append(InterfaceIntent(
                    mine.interface, f"ngk link {link.id} to {peer.router} {peer.interface}",
                    "ethernetCsmacd", True,
                    (Address(str(mine.address.ip), mine.address.network.prefixlen),)))
    return out + sorted(ends, key=lambda i: i.name)


def render_interfaces(topo: Topology, router_id: str) -> Payload:
    """The ietf-interfaces/ietf-ip payload of `router_id`."""
    xml = _env().get_template("ietf-interfaces.xml.j2").render(
        interfaces=interfaces_for(topo, router_id))
    return Payload(router_id, xml, INTERFACE_KEYS)
