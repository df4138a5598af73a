"""Payloads rendered from the model: checked against the topology and the YANG files on disk."""
from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest
from lxml import etree

from controller.errors import InputError
from controller.model.importer import import_graphml, write_topology_yaml
from controller.model.load import load_topology
from controller.model.synthetic import synthetic_topology
from controller.southbound.netconf import render_interfaces
from controller.southbound.netconf.diff import flatten

DATA = Path(__file__).parent / "data"
ZOO = Path(__file__).resolve().parents[1] / "data" / "zoo"
IF = "urn:ietf:params:xml:ns:yang:ietf-interfaces"
IP = "urn:ietf:params:xml:ns:yang:ietf-ip"
IANA = Path("/usr/share/yuma/modules/ietf/iana-if-type@2014-05-08.yang")


@pytest.fixture(scope="module", params=["reference", "small", "synthetic", "zoo"])
def topo(request, tmp_path_factory):
    if request.param == "zoo":
        doc, _ = import_graphml(ZOO / "Uninett2011.graphml")
        path = tmp_path_factory.mktemp("zoo") / "uninett.yaml"
        write_topology_yaml(doc, path)
        return load_topology(path)
    if request.param == "synthetic":
        return synthetic_topology(20, seed=3)
    return load_topology(DATA / "topology" / "small.yaml" if request.param == "small" else None)


def parsed(xml: str) -> dict[str, tuple[str, str, str, list[tuple[str, int]]]]:
    root = etree.fromstring(xml.encode())
    out = {}
    for i in root.iter(f"{{{IF}}}interface"):
        type_text = i.findtext(f"{{{IF}}}type")
        prefix, ident = type_text.split(":")
        assert i.find(f"{{{IF}}}type").nsmap[prefix] == "urn:ietf:params:xml:ns:yang:iana-if-type"
        out[i.findtext(f"{{{IF}}}name")] = (
            i.findtext(f"{{{IF}}}description"), ident, i.findtext(f"{{{IF}}}enabled"),
            [(a.findtext(f"{{{IP}}}ip"), int(a.findtext(f"{{{IP}}}prefix-length")))
             for a in i.iter(f"{{{IP}}}address")])
    return out


def test_every_router_payload_matches_the_model(topo):
    for rid, router in topo.routers.items():
        got = parsed(render_interfaces(topo, rid).xml)
        want = {"lo": (f"ngk loopback of {rid}", "softwareLoopback", "true",
                       [(str(router.loopback.ip), router.loopback.network.prefixlen)])}
        for link in topo.links.values():
            for mine, peer in ((link.a, link.b), (link.b, link.a)):
                if mine.router == rid:
                    want[mine.interface] = (
                        f"ngk link {link.id} to {peer.router} {peer.interface}", "ethernetCsmacd",
                        "true", [(str(mine.address.ip), mine.address.network.prefixlen)])
        assert got == want
        ends = sum((link.a.router == rid) + (link.b.router == rid) for link in topo.links.values())
        assert len(got) == ends + 1


def test_values_are_valid_for_the_yang_types(topo):
    identities = set(re.findall(r"identity (\w+)", IANA.read_text())) if IANA.exists() else None
    for rid in topo.routers:
        for _desc, ident, enabled, addresses in parsed(render_interfaces(topo, rid).xml).values():
            assert identities is None or ident in identities
            assert enabled in ("true", "false")
            for ip, plen in addresses:
                assert 0 <= plen <= 32 and ipaddress.IPv4Address(ip)


def test_every_entry_is_replaced_whole(topo):
    rid = next(iter(topo.routers))
    root = etree.fromstring(render_interfaces(topo, rid).xml.encode())
    ops = [e.get("{urn:ietf:params:xml:ns:netconf:base:1.0}operation")
           for e in root.iter(f"{{{IF}}}interface")]
    assert ops and set(ops) == {"replace"}


def test_unknown_router_is_a_key_error():
    with pytest.raises(InputError, match="unknown router"):
        render_interfaces(load_topology(), "nope")


def test_flattened_leaf_count(topo):
    rid = max(topo.routers, key=lambda r: sum(lk.a.router == r or lk.b.router == r
                                              for lk in topo.links.values()))
    payload = render_interfaces(topo, rid)
    leaves, entries = flatten(payload.xml, payload.keys)
    n = len(parsed(payload.xml))
    # per interface: its entry, description, type, enabled, one address entry, its prefix-length
    assert len(entries) == n and len(leaves) == 6 * n
