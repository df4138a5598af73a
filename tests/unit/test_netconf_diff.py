"""Intended vs running, leaf by leaf: hand-made cases and brute force over removed leaves."""
from __future__ import annotations

import itertools

import pytest
from lxml import etree

from controller.model.load import load_topology
from controller.southbound.netconf.diff import Change, diff, flatten, format_diff, subtree_filter
from controller.southbound.netconf.payload import INTERFACE_KEYS, render_interfaces

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
IF = "urn:ietf:params:xml:ns:yang:ietf-interfaces"
IP = "urn:ietf:params:xml:ns:yang:ietf-ip"
P = "/ietf-interfaces:interfaces/interface[name='eth1']"

INTENDED = f"""<config xmlns="{NC}" xmlns:nc="{NC}">
  <interfaces xmlns="{IF}" xmlns:ianaift="urn:ietf:params:xml:ns:yang:iana-if-type">
    <interface nc:operation="replace"><name>eth1</name><description>to b</description>
      <type>ianaift:ethernetCsmacd</type><enabled>true</enabled>
      <ipv4 xmlns="{IP}"><address><ip>10.0.0.0</ip><prefix-length>31</prefix-length></address>
      </ipv4></interface>
  </interfaces></config>"""


def running(interfaces: str, extra: str = "") -> str:
    """A get-config reply as netconfd sends it (other prefix for the identity, NACM beside)."""
    return (f'<rpc-reply xmlns="{NC}" message-id="1"><data>'
            f'<interfaces xmlns="{IF}">{interfaces}</interfaces>{extra}</data></rpc-reply>')


def eth1(desc: str = "to b", type_: str = "x:ethernetCsmacd", enabled: str = "true",
         addresses: str = "<address><ip>10.0.0.0</ip><prefix-length>31</prefix-length></address>"
         ) -> str:
    return (f'<interface><name>eth1</name><description>{desc}</description>'
            f'<type xmlns:x="urn:ietf:params:xml:ns:yang:iana-if-type">{type_}</type>'
            f'<enabled>{enabled}</enabled><ipv4 xmlns="{IP}">{addresses}</ipv4></interface>')


CASES = {
    "identical, other prefix, unmanaged config beside": (
        running(eth1() + "<interface><name>mgmt0</name><description>m</description></interface>",
                '<nacm xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-acm"><enable-nacm>'
                'true</enable-nacm></nacm>'), []),
    "description changed": (running(eth1(desc="old")),
                            [Change("~", f"{P}/description", "to b", "old")]),
    "identity from another module": (
        running(eth1(type_="x:softwareLoopback")),
        [Change("~", f"{P}/type", "iana-if-type:ethernetCsmacd", "iana-if-type:softwareLoopback")]),
    "stale address goes, new one comes": (
        running(eth1(addresses="<address><ip>10.9.9.9</ip><prefix-length>24</prefix-length>"
                               "</address>")),
        [Change("+", f"{P}/ietf-ip:ipv4/address[ip='10.0.0.0']", None, None),
         Change("+", f"{P}/ietf-ip:ipv4/address[ip='10.0.0.0']/prefix-length", "31", None),
         Change("-", f"{P}/ietf-ip:ipv4/address[ip='10.9.9.9']", None, None),
         Change("-", f"{P}/ietf-ip:ipv4/address[ip='10.9.9.9']/prefix-length", None, "24")]),
    "interface missing": (running(""), [
        Change("+", P, None, None),
        Change("+", f"{P}/description", "to b", None),
        Change("+", f"{P}/enabled", "true", None),
        Change("+", f"{P}/ietf-ip:ipv4/address[ip='10.0.0.0']", None, None),
        Change("+", f"{P}/ietf-ip:ipv4/address[ip='10.0.0.0']/prefix-length", "31", None),
        Change("+", f"{P}/type", "iana-if-type:ethernetCsmacd", None)]),
}


@pytest.mark.parametrize("case", CASES)
def test_cases(case):
    running_xml, want = CASES[case]
    assert diff(INTENDED, running_xml, INTERFACE_KEYS) == want


def test_format_is_one_readable_line_per_leaf():
    text = format_diff(diff(INTENDED, running(eth1(desc="old", enabled="false")), INTERFACE_KEYS))
    assert text.splitlines() == [f"~ {P}/description: 'old' -> 'to b'",
                                 f"~ {P}/enabled: 'false' -> 'true'"]
    assert format_diff([]) == ""
    gone = format_diff(diff(INTENDED, running(""), INTERFACE_KEYS)).splitlines()
    assert gone[0] == f"+ {P}" and gone[1] == f"+ {P}/description = 'to b'"


def _as_running(payload_xml: str) -> etree._Element:
    root = etree.fromstring(payload_xml.encode())
    for e in root.iter():
        e.attrib.pop(f"{{{NC}}}operation", None)
    reply = etree.Element(f"{{{NC}}}rpc-reply")
    data = etree.SubElement(reply, f"{{{NC}}}data")
    data.extend(list(root))
    return reply


def test_brute_force_removed_leaves_show_as_additions():
    """Every subset (up to size 3) of leaves missing on the device shows exactly those leaves."""
    payload = render_interfaces(load_topology(), "amk-ce1")
    assert diff(payload.xml, etree.tostring(_as_running(payload.xml)).decode(), payload.keys) == []
    leaves = [e for e in _as_running(payload.xml).iter()
              if len(e) == 0 and etree.QName(e).localname not in ("name", "ip")]
    for size in (1, 2, 3):
        for picked in itertools.combinations(range(len(leaves)), size):
            reply = _as_running(payload.xml)
            victims = [e for e in reply.iter()
                       if len(e) == 0 and etree.QName(e).localname not in ("name", "ip")]
            for i in picked:
                victims[i].getparent().remove(victims[i])
            changes = diff(payload.xml, etree.tostring(reply).decode(), payload.keys)
            assert {c.op for c in changes} == {"+"} and len(changes) == size


def test_flatten_keys_and_entries():
    leaves, entries = flatten(INTENDED, INTERFACE_KEYS)
    assert entries == {P}
    assert leaves == {
        P: None, f"{P}/description": "to b", f"{P}/type": "iana-if-type:ethernetCsmacd",
        f"{P}/enabled": "true", f"{P}/ietf-ip:ipv4/address[ip='10.0.0.0']": None,
        f"{P}/ietf-ip:ipv4/address[ip='10.0.0.0']/prefix-length": "31"}


def test_subtree_filter_selects_top_containers():
    root = etree.fromstring(subtree_filter(INTENDED).encode())
    assert root.get("type") == "subtree"
    assert [etree.QName(c).text for c in root] == [f"{{{IF}}}interfaces"]
