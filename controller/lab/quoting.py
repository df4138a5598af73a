"""Values in the files and command batches the lab writes, quoted per each target's syntax.

Everything from a topology that reaches snmpd.conf, sshd_config, frr.conf, an nft script or
`ip -batch` input passes through here, so it stays data even when model validation was bypassed:
- free text (a site name) is refused when it holds a control character (C0/C1 controls, NUL,
  DEL, format characters, Unicode line and paragraph separators) and otherwise written so the
  daemon reads back exactly that text;
- identifiers (router, link, interface ids) must be plain words: FRR's config and `ip -batch`
  have no quoting, so a word is the only safe form.
"""
from __future__ import annotations

import re
import unicodedata

from controller.errors import LabError
from controller.model.topology import Router, Topology

WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
IFNAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,14}")  # Linux: at most 15 bytes, no '/' or space
BAD_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Zl", "Zp"}
SNMP_STRING_MAX = 255  # net-snmp keeps sysLocation/sysContact below 256 bytes


def text(what: str, value: str) -> str:
    """Free text without control characters; LabError (exit 2) naming the field otherwise."""
    for ch in value:
        if unicodedata.category(ch) in BAD_CATEGORIES:
            raise LabError(f"{what}: control character U+{ord(ch):04X} in {value!r}; "
                           "refusing to write it into a daemon's config", 2)
    return value


def word(what: str, value: str, pattern: re.Pattern[str] = WORD) -> str:
    """An identifier that every target reads as one plain token."""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise LabError(f"{what}: {value!r} is not a plain identifier "
                       f"({pattern.pattern}); refusing to write it into a daemon's config", 2)
    return value


def check_topology(topo: Topology) -> None:
    """Every identifier and text the lab writes for any router (see `check_router`)."""
    for router in topo.routers.values():
        check_router(topo, router)


def check_router(topo: Topology, router: Router) -> None:
    """The router id, its links' ids and interface names, its site's name."""
    word("router id", router.id)
    for link in topo.router_links(router.id):
        word("link id", link.id)
        for end in (link.a, link.b):
            word(f"router id in link {link.id}", end.router)
            word(f"interface name in link {link.id}", end.interface, IFNAME)
    text(f"site {router.site} name", topo.sites[router.site].name)


# --- net-snmp (snmpd.conf): one directive per line, no continuation lines -------------------
def snmpd_rest(what: str, value: str) -> str:
    """A value snmpd takes as the rest of the line, verbatim (sysLocation, sysContact)."""
    value = text(what, value).strip()
    if len(value.encode()) > SNMP_STRING_MAX:
        value = value.encode()[:SNMP_STRING_MAX].decode(errors="ignore").strip()
    return value or "-"


def snmpd_quoted(what: str, value: str) -> str:
    """A double-quoted snmpd token (a passphrase): backslash and double quote escaped."""
    escaped = text(what, value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def snmpd_word(what: str, value: str) -> str:
    """A community or user name: one plain word (not starting with '-': snmpd reads an option).
    The error never shows the value, which may be a secret."""
    if not WORD.fullmatch(value):
        raise LabError(f"{what} is not a plain word ({WORD.pattern}); refusing to write it", 2)
    return value


# --- OpenSSH (sshd_config): arguments split like a shell word, with '"' quoting ---------------
def sshd_quoted(what: str, value: str, *, tokens: bool = False) -> str:
    """A double-quoted sshd_config argument; `tokens`: the directive expands %x, so '%' → '%%'."""
    escaped = text(what, value).replace("\\", "\\\\").replace('"', '\\"')
    if tokens:
        escaped = escaped.replace("%", "%%")
    return f'"{escaped}"'
