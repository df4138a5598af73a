"""Intended vs running NETCONF config, compared leaf by leaf.

Both sides are flattened to `{path: value}` with YANG-style paths
(`/ietf-interfaces:interfaces/interface[name='eth1']/ietf-ip:ipv4/address[ip='10.0.0.1']/...`).
Only the list entries the intended payload names are compared (it replaces them whole); other
running config (other interfaces, NACM...) is out of scope and never shown.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
_IDENTITY = re.compile(r"([A-Za-z_][\w.-]*):([A-Za-z_][\w.-]*)")


@dataclass(frozen=True, slots=True)
class Change:
    """One element that differs: op '+' (missing on the device), '-' (extra), '~' (different).

    Values are None for list entries (they exist or not)."""

    op: str
    path: str
    intended: str | None
    running: str | None

    def __str__(self) -> str:
        if self.op == "~":
            return f"~ {self.path}: {self.running!r} -> {self.intended!r}"
        value = self.intended if self.op == "+" else self.running
        return f"{self.op} {self.path}" + ("" if value is None else f" = {value!r}")


def _module(ns: str | None) -> str:
    return re.split(r"[:/]", ns.rstrip("/"))[-1] if ns else ""


def _value(elem: etree._Element) -> str:
    """Leaf text with identityref prefixes replaced by the module name (prefixes are local)."""
    text = (elem.text or "").strip()
    match = _IDENTITY.fullmatch(text)
    if match and match.group(1) in (elem.nsmap or {}):
        return f"{_module(elem.nsmap[match.group(1)])}:{match.group(2)}"
    return text


def _root(xml: str | bytes) -> etree._Element:
    data = xml.encode() if isinstance(xml, str) else xml
    root = etree.fromstring(data, etree.XMLParser(remove_blank_text=True, remove_comments=True))
    if etree.QName(root).localname == "rpc-reply":
        root = root.find(f"{{{NC}}}data")
    return root


def flatten(xml: str | bytes, keys: dict[str, tuple[str, ...]]
            ) -> tuple[dict[str, str | None], set[str]]:
    """(path -> value, paths of the outermost list entries) of a <config>/<data> document.

    Paths are those of leaves and empty containers (their text) and of list entries (None)."""
    leaves: dict[str, str | None] = {}
    entries: set[str] = set()

    def walk(elem: etree._Element, path: str, parent_ns: str | None, in_entry: bool) -> None:
        qname = etree.QName(elem)
        step = qname.localname if qname.namespace == parent_ns else \
            f"{_module(qname.namespace)}:{qname.localname}"
        children = [c for c in elem if isinstance(c.tag, str)]
        key_names = keys.get(qname.localname, ())
        if key_names:
            found = {etree.QName(c).localname: _value(c) for c in children}
            step += "".join(f"[{k}='{found.get(k, '')}']" for k in key_names)
            children = [c for c in children if etree.QName(c).localname not in key_names]
        path = f"{path}/{step}"
        if key_names:
            leaves[path] = None
            if not in_entry:
                entries.add(path)
        if children:
            for child in children:
                walk(child, path, qname.namespace, in_entry or bool(key_names))
        elif not key_names:
            leaves[path] = _value(elem)

    for top in _root(xml):
        if isinstance(top.tag, str):
            walk(top, "", None, False)
    return leaves, entries


def diff(intended: str, running: str, keys: dict[str, tuple[str, ...]]) -> list[Change]:
    """Changes that applying `intended` would make to `running`, sorted by path."""
    want, entries = flatten(intended, keys)
    have, _ = flatten(running, keys)
    in_scope = {p: v for p, v in have.items()
                if any(p == e or p.startswith(e + "/") for e in entries)}
    changes = [Change("+", p, v, None) for p, v in want.items() if p not in in_scope]
    changes += [Change("-", p, None, v) for p, v in in_scope.items() if p not in want]
    changes += [Change("~", p, want[p], v) for p, v in in_scope.items()
                if p in want and want[p] != v]
    return sorted(changes, key=lambda c: (c.path, c.op))


def format_diff(changes: list[Change]) -> str:
    """One line per changed leaf; empty when nothing differs."""
    return "\n".join(map(str, changes))


def subtree_filter(intended: str) -> str:
    """A <filter> selecting the top-level containers the intended payload touches."""
    tops = {(etree.QName(e).namespace, etree.QName(e).localname)
            for e in _root(intended) if isinstance(e.tag, str)}
    inner = "".join(f'<{name} xmlns="{ns}"/>' for ns, name in sorted(tops))
    return f'<filter xmlns="{NC}" type="subtree">{inner}</filter>'
