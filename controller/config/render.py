"""Render a router's intended configuration from the topology model.

A platform is a template directory (templates/<platform>/) plus a small dict of facts about it
(`PLATFORMS`). The network-wide routing intent (OSPF timers, BFD profile) is a `Policy`. The
FRR templates print exactly what FRR 8.4.4's `show running-config` prints, so a router running
the rendered config diffs empty against it; `canonical` strips the few lines that differ only in
form (header, `!` separators, blank lines) and is used on both sides of every comparison.
"""
from __future__ import annotations

import functools
import re
from dataclasses import asdict, dataclass
from typing import Any

import jinja2

from controller.config import management
from controller.config.cos import COS
from controller.data import resource
from controller.errors import Diagnostic, InputError, UnknownName
from controller.model.topology import IpLink, Topology

TEMPLATES = resource(__package__, "templates")


@dataclass(frozen=True, slots=True)
class Policy:
    """Routing intent shared by every router: OSPF area and timers, one BFD profile."""

    ospf_area: int = 0
    hello_s: int = 1
    dead_s: int = 4
    retransmit_s: int = 1
    spf_throttle_ms: tuple[int, int, int] = (0, 10, 1000)  # delay, initial hold, max hold
    lsa_min_arrival_ms: int = 0  # accept every newer LSA instance (FRR does not pace origination)
    rib_hold_ms: int = 0  # zebra work-queue: no batching delay before installing routes
    bfd_profile: str = "core"
    bfd_tx_ms: int = 50
    bfd_rx_ms: int = 50
    bfd_multiplier: int = 3
    bgp_asn: int = 65000  # iBGP full mesh of the core routers, loopback to loopback
    bgp_group: str = "core"
    bgp_connect_s: int = 5


POLICY = Policy()

# Per platform: facts the templates need. `defaults` are the values the platform leaves out of
# its running config (printing them would make the intended config diff against the device).
PLATFORMS: dict[str, dict[str, Any]] = {
    "frr": {
        "template": "frr.conf.j2",
        "version": "8.4.4",
        "profile": "traditional",
        "log": "syslog informational",
        "loopback": "lo",
        "daemons": ("zebra", "ospfd", "bgpd", "bfdd", "staticd"),
        "defaults": Policy(hello_s=10, dead_s=40, retransmit_s=5, spf_throttle_ms=(0, 50, 5000),
                           lsa_min_arrival_ms=1000, rib_hold_ms=10, bfd_tx_ms=300, bfd_rx_ms=300,
                           bfd_multiplier=3, bgp_connect_s=120),
    },
    # production platforms (docs/platforms.md); `context` adds device port names and management
    "junos": {"template": "junos.conf.j2", "loopback": "lo0", "management_interface": "fxp0",
              "context": management.context},
    "eos": {"template": "eos.conf.j2", "loopback": "Loopback0",
            "management_interface": "Management1", "context": management.context},
}

_TEXT = re.compile(r"[^0-9]*")
_DIGITS = re.compile(r"[0-9]+")


def _cmp(x: object, y: object) -> int:
    return (x > y) - (x < y)  # type: ignore[operator]


def if_order(p1: str, p2: str) -> int:
    """FRR's interface-name order (lib/if.c if_cmp_name_func): text by strcmp, digits by value."""
    while p1 and p2:
        t1, t2 = _TEXT.match(p1).group(), _TEXT.match(p2).group()  # type: ignore[union-attr]
        if len(t1) != len(t2):
            return _cmp(p1, p2)
        if t1 != t2:
            return _cmp(t1, t2)
        p1, p2 = p1[len(t1):], p2[len(t2):]
        if not p1 or not p2:
            return _cmp(bool(p1), bool(p2))
        n1, n2 = _DIGITS.match(p1).group(), _DIGITS.match(p2).group()  # type: ignore[union-attr]
        if int(n1) != int(n2):
            return _cmp(int(n1), int(n2))
        p1, p2 = p1[len(n1):], p2[len(n2):]
    return _cmp(bool(p1), bool(p2))


_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_JUNOS_WORD_UNSAFE = re.compile(r'[\s;{}"#\\]')  # outside quotes a Junos value is one word


class Quoted(str):
    """Text already escaped for the inside of a double-quoted string."""


def config_value(value: Any, word: re.Pattern[str] | None = None) -> Any:
    """Every `{{ value }}` in a config template: one line of text or refused (InputError), so
    no value can start a statement of its own, whatever validation let through; with `word`,
    unquoted values must also be single tokens of the platform's syntax."""
    if isinstance(value, str) and _UNSAFE.search(value):
        raise InputError(f"refusing to render {value!r} into a config: control character")
    if word and isinstance(value, str) and not isinstance(value, Quoted) and word.search(value):
        raise InputError(f"refusing to render {value!r} into a config: not a single word")
    return value


def junos_quote(value: Any) -> Quoted:
    """Text inside a Junos double-quoted string: backslash and quote escaped."""
    return Quoted(str(value).replace("\\", "\\\\").replace('"', '\\"'))


@functools.cache
def _environment(platform: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES / platform), undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, autoescape=False,
        finalize=functools.partial(config_value,
                                   word=_JUNOS_WORD_UNSAFE if platform == "junos" else None))
    env.filters["if_sorted"] = lambda names: sorted(names, key=functools.cmp_to_key(if_order))
    env.filters["q"] = junos_quote
    return env


def _platform(name: str) -> dict[str, Any]:
    if name not in PLATFORMS:
        raise UnknownName(f"no configuration templates for platform {name!r} "
                       f"(known: {', '.join(sorted(PLATFORMS))})")
    return {k: asdict(v) if isinstance(v, Policy) else v for k, v in PLATFORMS[name].items()}


def _interfaces(topo: Topology, router_id: str) -> dict[str, dict[str, Any]]:
    """Interface name -> what the templates need about it, for the router's IP links."""
    out: dict[str, dict[str, Any]] = {}
    for link in topo.router_links(router_id):
        for near, far in ((link.a, link.b), (link.b, link.a)):
            if near.router == router_id:
                out[near.interface] = {"address": str(near.address),
                                       "metric": _metric(topo, link),
                                       "link": link.id, "peer": far.router,
                                       "peer_interface": far.interface}
    return out


def _metric(topo: Topology, link: IpLink) -> int:
    if not 1 <= link.metric <= 65535:
        raise InputError([Diagnostic(topo.source, None, f"links.{link.id}.metric",
                                     f"{link.metric} is outside the OSPF cost range 1-65535")])
    return link.metric


def bgp_peers(topo: Topology, router_id: str) -> list[str]:
    """The iBGP peers (loopbacks, in FRR's order) of a core router; [] for other roles."""
    if topo.routers[router_id].role != "core":
        return []
    return [str(r.loopback.ip) for r in sorted(topo.routers.values(), key=lambda r: r.loopback)
            if r.role == "core" and r.id != router_id]


def context(topo: Topology, router_id: str, *, routing: bool = True, drained: bool = False,
            policy: Policy = POLICY) -> dict[str, Any]:
    """Everything a platform template sees for one router."""
    if router_id not in topo.routers:
        raise UnknownName(f"unknown router {router_id!r}")
    router = topo.routers[router_id]
    ctx = {
        "router": router,
        "hostname": router.id,
        "router_id": str(router.loopback.ip),
        "loopback": str(router.loopback),
        "interfaces": _interfaces(topo, router_id),
        "bgp_peers": bgp_peers(topo, router_id),
        "routing": routing,
        "drained": drained,
        "stub": router.stub,  # max-metric router-lsa always: members never carry transit
        "policy": asdict(policy),
        "cos": COS,  # class of service (controller/config/cos.py)
        "platform": _platform(router.platform),
    }
    extra = PLATFORMS[router.platform].get("context")
    return ctx | extra(topo, router_id) if extra else ctx


def render_template(name: str, ctx: dict[str, Any]) -> str:
    """Render templates/<platform>/<name> with a dict made by `context`."""
    return _environment(ctx["router"].platform).get_template(name).render(ctx)


def render_config(topo: Topology, router_id: str, *, routing: bool = True, drained: bool = False,
                  policy: Policy = POLICY) -> str:
    """The router's full intended config; routing=False gives the bare day-0 (addresses only);
    drained=True advertises max-metric (RFC 6987) so traffic avoids the router if it can."""
    ctx = context(topo, router_id, routing=routing, drained=drained, policy=policy)
    return render_template(ctx["platform"]["template"], ctx)


def canonical(text: str) -> str:
    """Config text reduced to the lines that carry meaning, for diffing intended vs running.

    Drops the `Building configuration...` / `Current configuration:` header that `show
    running-config` prints, `!` separator lines (at any indent), blank lines and trailing spaces.
    """
    header = {"Building configuration...", "Current configuration:"}
    lines = (line.rstrip() for line in text.splitlines())
    return "".join(f"{line}\n" for line in lines
                   if line and line not in header and line.strip() != "!")
