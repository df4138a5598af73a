"""Known, bounded UDP flows between router loopbacks in the lab (docs/traffic.md).

One process holds every socket (created inside the routers' network namespaces with the probes'
setns helper): per flow a sender bound to the source router's loopback, per destination a sink
bound to its loopback that never reads (packets past its buffer are dropped there, silently: no
ICMP comes back). Each flow is paced to its rate from the start time, so a late wake-up sends the
packets it owes; a send this host refuses (full buffers) is retried, never counted. Every
CHECKPOINT_S it records (wall time, packets sent per flow); on exit, after `duration` seconds or
SIGTERM, it writes them as JSON. `offered_gbps` turns the record into each flow's rate over a
window, in wire bytes (what ifHCOutOctets counts on a veth: Ethernet + IP + UDP + payload).
"""
from __future__ import annotations

import argparse
import bisect
import json
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.services.probes import _socket_in

PORT = 49_529
PAYLOAD = 1000  # bytes of UDP payload per packet
WIRE = PAYLOAD + 8 + 20 + 14  # bytes per packet on a link: UDP, IPv4, Ethernet headers
CHECKPOINT_S = 0.25
TICK_S = 0.001
SNDBUF = 1 << 20  # a late wake-up's burst fits


@dataclass(frozen=True)
class Flow:
    """One flow: source netns and loopback address, destination netns and address, Mbit/s,
    and the DSCP its packets carry (0: best-effort; controller/config/cos.py)."""

    src_netns: str
    src: str
    dst_netns: str
    dst: str
    mbps: float
    dscp: int = 0

    def arg(self) -> str:
        return f"{self.src_netns},{self.src},{self.dst_netns},{self.dst},{self.mbps},{self.dscp}"

    @classmethod
    def parse(cls, text: str) -> Flow:
        a, b, c, d, mbps, *dscp = text.split(",")
        return cls(a, b, c, d, float(mbps), int(dscp[0]) if dscp else 0)


def send(flows: list[Flow], duration: float, out: Path) -> None:
    """Send every flow at its rate for `duration` seconds (or until SIGTERM), then write `out`."""
    sinks = {(ns, dst): _socket_in(ns, dst, PORT) for ns, dst in {(f.dst_netns, f.dst)
                                                                  for f in flows}}
    socks = [_socket_in(f.src_netns, f.src, 0) for f in flows]
    for f, sock in zip(flows, socks):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SNDBUF)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, f.dscp << 2)
    stop: list[bool] = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    payload = bytes(PAYLOAD)
    pps = [f.mbps * 1e6 / 8 / WIRE for f in flows]
    sent = [0] * len(flows)
    refused = [0] * len(flows)
    checkpoints: list[tuple[float, list[int]]] = []
    start = time.monotonic()
    wall0 = time.time()
    next_mark = start
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while not stop:
        now = time.monotonic()
        if now >= next_mark:
            checkpoints.append((wall0 + now - start, list(sent)))
            next_mark += CHECKPOINT_S
        if now - start >= duration:
            break
        for i, (f, sock) in enumerate(zip(flows, socks)):
            due = int(pps[i] * (now - start))
            while sent[i] < due:
                try:
                    sock.sendto(payload, (f.dst, PORT))
                except OSError:  # this host's buffers (or no route yet): owed, sent later
                    refused[i] += 1
                    break
                sent[i] += 1
        time.sleep(TICK_S)
    checkpoints.append((time.time(), list(sent)))
    for s in [*socks, *sinks.values()]:
        s.close()
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps({"wire_bytes": WIRE, "flows": [f.arg() for f in flows],
                               "refused": refused, "checkpoints": checkpoints}))
    tmp.replace(out)


def offered_gbps(record: dict[str, Any], since: float, until: float) -> list[float]:
    """Each flow's wire rate over [since, until] (packets interpolated between checkpoints)."""
    times = [t for t, _ in record["checkpoints"]]

    def packets(t: float, i: int) -> float:
        k = min(max(bisect.bisect_right(times, t), 1), len(times) - 1)
        (t0, p0), (t1, p1) = record["checkpoints"][k - 1], record["checkpoints"][k]
        return p0[i] + (p1[i] - p0[i]) * (t - t0) / (t1 - t0) if t1 > t0 else p1[i]

    return [(packets(until, i) - packets(since, i)) * record["wire_bytes"] * 8 / 1e9
            / (until - since) for i in range(len(record["flows"]))]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m controller.lab.flows",
                                description="Paced UDP flows between lab router loopbacks.")
    p.add_argument("--flow", action="append", required=True, type=Flow.parse,
                   help="SRC_NETNS,SRC_ADDR,DST_NETNS,DST_ADDR,MBPS[,DSCP]")
    p.add_argument("--duration", type=float, required=True, help="Seconds (the bound).")
    p.add_argument("--out", type=Path, required=True, help="JSON written on exit.")
    args = p.parse_args(argv)
    send(args.flow, args.duration, args.out)


if __name__ == "__main__":
    main()
