"""The class-of-service policy on a lab link: the Linux (HTB) rendering of controller/config/cos.py
applied to one router's interface, its per-class counters, and its removal (docs/qos.md).

Lab veths have no rate of their own; the HTB root shapes the interface to the rate given, so a
test can congest a link cheaply. The kernel here has HTB, FIFO and the u32 classifier but no
`prio` qdisc and no policer action (CONFIG_NET_SCH_PRIO, CONFIG_NET_ACT_POLICE unset): strict
priority is HTB's class priority, and a class over its share is shaped (its queue overflows).
"""
from __future__ import annotations

import re

from controller.config.cos import COS, ClassOfService, classid, tc_batch
from controller.lab.state import LabError
from controller.lab.system import run


_CLASS = re.compile(r"^class htb (?P<id>\S+) .*\n Sent (?P<bytes>\d+) bytes (?P<packets>\d+) pkt "
                    r"\(dropped (?P<drops>\d+),.*\n backlog \S+ (?P<backlog>\d+)p", re.M)


def apply(netns: str, dev: str, rate_kbit: int, cos: ClassOfService = COS) -> None:
    """Give `dev` in `netns` the policy at `rate_kbit` (replacing any root qdisc it has)."""
    clear(netns, dev)
    lines = tc_batch(dev, rate_kbit, cos)
    if any(ch in line for line in lines for ch in "\n\r\0"):
        raise LabError(f"refusing a tc command with a line break or NUL: {lines!r}"[:300], 2)
    run(["tc", "-n", netns, "-batch", "-"], input="\n".join(lines) + "\n")


def clear(netns: str, dev: str) -> None:
    """Back to the veth's default (no qdisc); nothing to do if the policy is not there."""
    run(["tc", "-n", netns, "qdisc", "del", "dev", dev, "root"], check=False)


def class_counters(netns: str, dev: str, cos: ClassOfService = COS) -> dict[str, dict[str, int]]:
    """Per traffic class: packets and bytes sent, packets dropped, packets still queued."""
    text = run(["tc", "-n", netns, "-s", "class", "show", "dev", dev]).stdout
    by_id = {m["id"]: {k: int(m[k]) for k in ("bytes", "packets", "drops", "backlog")}
             for m in _CLASS.finditer(text)}  # tc 6.1 prints no JSON for htb classes
    return {tc.name: by_id[classid(tc.name, cos)] for tc in cos.classes}
