"""The class-of-service policy: one per network, rendered for junos, eos and the Linux lab.

Each traffic class of the demands model (`controller.model.demands.CLASSES`) gets a DSCP code
point, an output queue and a share of every link: `priority` is strict priority but shaped to
`PRIORITY_SHARE` (so it cannot starve the others), `clinical` is guaranteed its share, `best-effort`
gets the remainder (and any capacity the others leave unused). Routing protocol traffic (OSPF,
BFD: CS6/CS7) has a queue of its own so a congested link keeps its adjacencies (docs/qos.md).
Junos and EOS render it from their templates; `tc_batch` renders the Linux (HTB) equivalent
that the lab applies.
"""
from __future__ import annotations

from dataclasses import dataclass

from controller.model.demands import PRIORITY_SHARE


@dataclass(frozen=True, slots=True)
class TrafficClass:
    name: str  # a demands class, or "network-control"
    dscp: tuple[int, ...]  # code points classified into it
    dscp_names: tuple[str, ...]  # their RFC 2474/2597/3246 names (Junos aliases)
    queue: int  # output queue (Junos queue-num, EOS traffic-class = tx-queue)
    percent: int  # share of the link: the shaped rate if strict, else the guaranteed rate
    strict: bool = False  # strict priority, shaped to `percent`
    remainder: bool = False  # guaranteed whatever the others leave (Junos `remainder`)


@dataclass(frozen=True, slots=True)
class ClassOfService:
    """The classes in service order: the first is served first (strict), the last gets the
    remainder."""

    classes: tuple[TrafficClass, ...]
    classifier: str = "ngk-dscp"
    scheduler_map: str = "ngk-core"

    def __post_init__(self) -> None:
        if sum(c.percent for c in self.classes) != 100:
            raise ValueError("class shares must add up to 100 %")
        if len({c.queue for c in self.classes}) != len(self.classes):
            raise ValueError("each class needs its own queue")

    def by_name(self, name: str) -> TrafficClass:
        return next(c for c in self.classes if c.name == name)

    def queue_of(self) -> dict[int, int]:
        """Every DSCP code point (0-63) -> its queue: a class's own code points to its queue,
        all others (unclassified) to the remainder class's."""
        best = next(c for c in self.classes if c.remainder)
        own = {d: c.queue for c in self.classes if not c.remainder for d in c.dscp}
        return {d: own.get(d, best.queue) for d in range(64)}

    def eos_dscp_maps(self) -> list[tuple[int, tuple[int, ...]]]:
        """(traffic class, code points) for each `qos map dscp D.. to traffic-class T` line EOS
        needs (traffic class = queue), as its running config prints them: the entries that differ
        from `eos_default_tc`, one line per traffic class, code points ascending."""
        lines: dict[int, list[int]] = {}
        for dscp, queue in self.queue_of().items():
            if queue != eos_default_tc(dscp):
                lines.setdefault(queue, []).append(dscp)
        return sorted((tc, tuple(dscps)) for tc, dscps in lines.items())


def eos_default_tc(dscp: int) -> int:
    """EOS's default DSCP -> traffic class: by blocks of eight (the class selector), with 0-7
    (best effort) above 8-15 (CS1, background), as in 802.1Q's default CoS order (docs/qos.md)."""
    block = dscp // 8
    return {0: 1, 1: 0}.get(block, block)


_PRIORITY = round(100 * PRIORITY_SHARE)
COS = ClassOfService((
    TrafficClass("priority", (46,), ("ef",), 5, _PRIORITY, strict=True),
    TrafficClass("network-control", (48, 56), ("cs6", "cs7"), 3, 5),
    TrafficClass("clinical", (34,), ("af41",), 4, 50),
    TrafficClass("best-effort", (0,), ("be",), 0, 100 - _PRIORITY - 5 - 50, remainder=True),
))

HTB_QUANTUM = 1514  # bytes a class sends per round: one full Ethernet frame
HTB_BURST_MS = 1  # token bucket depth, in time at the class's rate (tc's default: ~1 frame)
PRIORITY_QUEUE_PACKETS = 64  # a short queue: the shaped class waits little or is dropped


def _classid(tc: TrafficClass) -> str:
    return f"1:{0x10 + tc.queue:x}"


def tc_batch(dev: str, rate_kbit: int, cos: ClassOfService = COS) -> list[str]:
    """`tc -batch` lines giving `dev` the policy at `rate_kbit`: an HTB root shaped to the link
    rate, a class per traffic class (HTB prio in the policy's order, strict first; rate = its share,
    ceil = the share if strict else the link) and a u32 DSCP match per code point; anything
    unmatched (other code points, ARP) is best-effort. Every bucket holds HTB_BURST_MS at its
    rate: tc's default (rate / 10^9 + one MTU with high-resolution timers) is about one frame,
    which holds a 10 Gbit/s link to ~7 Gbit/s and rounds to 0 at 400 Gbit/s (docs/qos.md)."""
    best = next(c for c in cos.classes if c.remainder)
    out = [f"qdisc add dev {dev} root handle 1: htb default {0x10 + best.queue:x}",
           f"class add dev {dev} parent 1: classid 1:1 htb rate {rate_kbit}kbit "
           f"ceil {rate_kbit}kbit {_bursts(rate_kbit, rate_kbit)} quantum {HTB_QUANTUM}"]
    for prio, tc in enumerate(cos.classes):
        rate = max(1, rate_kbit * tc.percent // 100)  # tc refuses a rate of 0
        ceil = rate if tc.strict else rate_kbit
        out.append(f"class add dev {dev} parent 1:1 classid {_classid(tc)} htb rate {rate}kbit "
                   f"ceil {ceil}kbit prio {prio} {_bursts(rate, ceil)} quantum {HTB_QUANTUM}")
        if tc.strict:
            out.append(f"qdisc add dev {dev} parent {_classid(tc)} "
                       f"pfifo limit {PRIORITY_QUEUE_PACKETS}")
        for dscp in tc.dscp if not tc.remainder else ():
            out.append(f"filter add dev {dev} parent 1: protocol ip prio 1 u32 "
                       f"match ip dsfield 0x{dscp << 2:02x} 0xfc flowid {_classid(tc)}")
    return out


def _bursts(rate_kbit: int, ceil_kbit: int) -> str:
    """HTB `burst` and `cburst`: HTB_BURST_MS at the rate and at the ceil, at least one frame
    and at most what tc takes (a 32-bit byte count)."""
    def size(kbit: int) -> int:
        return min(max(kbit * HTB_BURST_MS // 8, HTB_QUANTUM), 0xFFFF_FFFF)
    return f"burst {size(rate_kbit)}b cburst {size(ceil_kbit)}b"


def classid(name: str, cos: ClassOfService = COS) -> str:
    """The HTB class id `tc_batch` gives a traffic class (as `tc -s class show` prints it)."""
    return _classid(cos.by_name(name))
