"""The class-of-service policy on the lab's links: the Linux (HTB) rendering of
controller/config/cos.py on router interfaces, its per-class counters, its removal, and which
interfaces carry it (docs/qos.md).

`lab up` gives every IP-link interface (both ends) the policy at the link's modelled rate
(`capacity_gbps`); lab veths have no rate of their own, so the HTB root is what makes them that
fast, and a test can re-apply it at a low rate to congest a link cheaply. The kernel here has HTB,
FIFO and the u32 classifier but no `prio` qdisc and no policer action (CONFIG_NET_SCH_PRIO,
CONFIG_NET_ACT_POLICE unset): strict priority is HTB's class priority, and a class over its share
is shaped (its queue overflows). The qdiscs go with the veths: teardown has nothing to undo.
"""
from __future__ import annotations

import re

from controller.config.cos import COS, ClassOfService, classid, tc_batch
from controller.lab import rtnl
from controller.lab.state import LabError, LabState
from controller.lab.system import parallel, run
from controller.model.topology import Topology

_CLASS = re.compile(r"^class htb (?P<id>\S+) .*\n Sent (?P<bytes>\d+) bytes (?P<packets>\d+) pkt "
                    r"\(dropped (?P<drops>\d+),.*\n backlog \S+ (?P<backlog>\d+)p", re.M)


def rate_kbit(gbps: float) -> int:
    """A modelled link rate (Gbit/s) as tc's kbit/s."""
    return max(1, round(gbps * 1_000_000))


def link_rates(topo: Topology) -> dict[str, dict[str, int]]:
    """Per router: each of its IP-link interfaces and the link's modelled rate in kbit/s."""
    out: dict[str, dict[str, int]] = {r: {} for r in topo.routers}
    for link in topo.links.values():
        for end in (link.a, link.b):
            out[end.router][end.interface] = rate_kbit(link.capacity_gbps)
    return out


def install(netns: str, rates: dict[str, int], cos: ClassOfService = COS) -> None:
    """Give each interface in `rates` (none with a root qdisc yet) the policy at its rate, in one
    `tc -batch`: the first line tc refuses stops it and raises LabError."""
    lines = [line for dev, kbit in rates.items() for line in tc_batch(dev, kbit, cos)]
    if any(ch in line for line in lines for ch in "\n\r\0"):
        raise LabError(f"refusing a tc command with a line break or NUL: {lines!r}"[:300], 2)
    if lines:
        run(["tc", "-n", netns, "-batch", "-"], input="\n".join(lines) + "\n")


def install_lab(topo: Topology, state: LabState) -> None:
    """Every IP-link interface of the lab gets the policy at its link's modelled rate."""
    rates = link_rates(topo)
    parallel(lambda router: install(state.routers[router].netns, rates[router]), rates)


def apply(netns: str, dev: str, rate_kbit: int, cos: ClassOfService = COS) -> None:
    """Give `dev` in `netns` the policy at `rate_kbit` (replacing any root qdisc it has)."""
    clear(netns, dev)
    install(netns, {dev: rate_kbit}, cos)


def clear(netns: str, dev: str) -> None:
    """Back to the veth's default (no qdisc); nothing to do if the policy is not there."""
    run(["tc", "-n", netns, "qdisc", "del", "dev", dev, "root"], check=False)


def present(netns: str, devs: list[str], cos: ClassOfService = COS) -> dict[str, bool]:
    """Per interface of `devs`: does it carry the policy (`tc_batch`'s HTB root with its default
    class, and the strict class's FIFO)? Read in-process (rtnl); all False if that fails."""
    try:
        found = rtnl.qdiscs(netns)
    except OSError:
        found = []
    best = classid(next(c.name for c in cos.classes if c.remainder), cos).split(":")[1]
    strict = {classid(c.name, cos) for c in cos.classes if c.strict}
    roots = {q.dev for q in found if q.parent == "root" and q.kind == "htb" and q.handle == "1:"
             and q.htb_default == best}
    return {d: d in roots and strict <= {q.parent for q in found if q.dev == d} for d in devs}


def class_counters(netns: str, dev: str, cos: ClassOfService = COS) -> dict[str, dict[str, int]]:
    """Per traffic class: packets and bytes sent, packets dropped, packets still queued."""
    text = run(["tc", "-n", netns, "-s", "class", "show", "dev", dev]).stdout
    by_id = {m["id"]: {k: int(m[k]) for k in ("bytes", "packets", "drops", "backlog")}
             for m in _CLASS.finditer(text)}  # tc 6.1 prints no JSON for htb classes
    return {tc.name: by_id[classid(tc.name, cos)] for tc in cos.classes}
