"""Split a router config into features and diff intended vs running per feature.

Features: interfaces, igp, bfd, qos, management, security, other. A line's feature comes from the
block it sits in (`interface X`, `router ospf`, `bfd`, …) and its own keyword, so a diff line can
be reported as "router r1, feature bfd, interface eth2, line 14".
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass

FEATURES = ("interfaces", "igp", "bfd", "qos", "management", "security", "other")

_BLOCK_FEATURE = {"router ospf": "igp", "router isis": "igp", "router bgp": "igp", "bfd": "bfd",
                  "line vty": "security", "agentx": "management", "class-of-service": "qos"}
_TOP_FEATURE = {"hostname": "management", "log": "management", "banner": "management",
                "service": "management", "ntp": "management", "snmp": "security",
                "snmp-server": "security", "ip ssh": "security", "username": "security",
                "password": "security", "enable": "security", "access-list": "security",
                "ip prefix-list": "igp", "route-map": "igp", "ip route": "igp", "frr": "other",
                "end": "other", "qos": "qos"}
# class of service inside an interface block (eos: trust, tx-queue sub-mode and its lines)
_INTERFACE_QOS = ("qos ", "tx-queue ", "shape rate ", "bandwidth percent ", "priority ",
                  "no priority")


@dataclass(frozen=True, slots=True)
class ConfigLine:
    number: int  # 1-based line number in the config text
    text: str
    block: str | None  # e.g. "interface eth1", "router ospf", or None at top level
    feature: str
    interface: str | None = None  # the interface whose block the line sits in


def _feature(block: str | None, text: str) -> str:
    stripped = text.strip()
    if block is None:
        if stripped.startswith("interface "):
            return "interfaces"
        for prefix, feature in _BLOCK_FEATURE.items():
            if stripped == prefix or stripped.startswith(prefix + " "):
                return feature
    elif block.startswith("interface "):
        if "bfd" in stripped:
            return "bfd"
        if stripped.startswith(("ip ospf", "ipv6 ospf", "isis", "ip router")):
            return "igp"
        if stripped.startswith(_INTERFACE_QOS):
            return "qos"
        return "interfaces"
    else:
        for prefix, feature in _BLOCK_FEATURE.items():
            if block == prefix or block.startswith(prefix + " "):
                return feature
    for prefix, feature in _TOP_FEATURE.items():
        if stripped == prefix or stripped.startswith(prefix + " "):
            return feature
    return "other"


def parse(text: str) -> list[ConfigLine]:
    """Meaningful lines of an FRR/IOS-style config with their block and feature."""
    out: list[ConfigLine] = []
    block: str | None = None
    interface: str | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped or stripped.startswith("!") or stripped == "Building configuration...":
            continue
        if stripped == "Current configuration:":
            continue
        indented = line[:1].isspace()
        if not indented:
            block = interface = None
            if stripped in ("exit", "end"):
                continue
            out.append(ConfigLine(number, stripped, None, _feature(None, stripped)))
            if stripped.startswith("interface "):
                block, interface = stripped, stripped.split(None, 1)[1]
            elif any(stripped == p or stripped.startswith(p + " ") for p in _BLOCK_FEATURE):
                block = stripped
            continue
        if stripped == "exit" or stripped.startswith("exit-"):
            continue
        out.append(ConfigLine(number, stripped, block, _feature(block, stripped), interface))
    return out


@dataclass(frozen=True, slots=True)
class DiffLine:
    op: str  # "+" only in intended (missing on the device), "-" only on the device (drift)
    text: str
    block: str | None
    feature: str
    line: int  # line number in the running config ("-") or in the intended config ("+")

    def as_dict(self) -> dict[str, object]:
        return {"op": self.op, "text": self.text, "block": self.block, "feature": self.feature,
                "line": self.line}


def _keyed(lines: list[ConfigLine]) -> list[str]:
    return [f"{ln.block or ''}\x00{ln.text}" for ln in lines]


def feature_diff(intended: str | list[ConfigLine], running: str | list[ConfigLine]
                 ) -> list[DiffLine]:
    """Lines missing on the device ("+") and lines only on the device ("-"), with context.

    Each side is config text or its lines as `parse` gives them."""
    want = parse(intended) if isinstance(intended, str) else intended
    have = parse(running) if isinstance(running, str) else running
    matcher = difflib.SequenceMatcher(a=_keyed(have), b=_keyed(want), autojunk=False)
    out: list[DiffLine] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        out += [DiffLine("-", ln.text, ln.block, ln.feature, ln.number) for ln in have[i1:i2]]
        out += [DiffLine("+", ln.text, ln.block, ln.feature, ln.number) for ln in want[j1:j2]]
    return out


def unified_diff(intended: str, running: str, name: str) -> str:
    """A readable unified diff, running (what is) → intended (what should be)."""
    return "".join(difflib.unified_diff(
        running.splitlines(keepends=True), intended.splitlines(keepends=True),
        fromfile=f"{name} (running)", tofile=f"{name} (intended)"))
