"""UDP probes between router loopbacks, and what they saw (docs/drills.md).

One prober process holds a UDP socket inside each router's network namespace (created there
with setns(2), bound to the router's loopback): every socket echoes the probes it receives and
sends its own probes to its targets every `interval` seconds, on one fixed schedule that does
not slow down when replies stop (one process instead of one per router: a fraction of the CPU
and of the wake-ups, on a machine the lab's BFD timers share). A probe carries a sequence number
and the CLOCK_MONOTONIC send time; the echo adds its own receive time. Network namespaces share the
monotonic clock, so every time stamp is comparable with the drill's. On SIGTERM the process
writes what it sent and received as JSON and exits.

`flow_stats` turns one flow's record into the figures of a time window: the largest gap between
replies (the data-plane interruption), lost probes, and how regularly the sender itself ran.
`stalls` finds when the prober itself stopped (a loaded machine): it sent nothing for a while (its
clock check), or every control flow — flows the failure cannot affect — went without replies at
once. A gap seen on every flow at once is a prober stall, not a network interruption; `flow_stats`
reports each flow's gap with the stalls taken out (`net_gap_ms`) beside the raw one.
"""
from __future__ import annotations

import argparse
import errno
import json
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from controller.lab.system import thread_in_netns

MAGIC = b"NGKP"
PACKET = struct.Struct("!4sBIQQ")  # magic, kind (0 probe, 1 echo), seq, sent ns, echoed ns
PROBE, ECHO = 0, 1
DEFAULT_PORT = 49_517
DEFAULT_INTERVAL = 0.005
SETTLE_S = 0.2  # probes sent this close to a window's end may still be in flight: not lost
HOST_CONGESTED = (errno.EAGAIN, errno.ENOBUFS)  # a send refused by this host, not the network
PROBER_NICE = -10  # the prober's scheduling priority when it may raise it
STALL_INTERVALS = 4  # prober idle (or every control flow silent) this many intervals: a stall
Window = tuple[int, int]  # monotonic ns


@dataclass
class FlowRecord:
    """What one sender saw for one target: send times by sequence number, and the replies."""

    src: str
    dst: str
    sent: list[int] = field(default_factory=list)  # monotonic ns, index = seq
    replies: list[tuple[int, int, int]] = field(default_factory=list)  # (seq, echoed ns, recv ns)
    unsent: list[int] = field(default_factory=list)  # seqs this host could not send (buffers full)

    def as_json(self) -> dict[str, Any]:
        return {"src": self.src, "dst": self.dst, "sent": self.sent,
                "replies": [list(r) for r in self.replies], "unsent": self.unsent}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FlowRecord:
        return cls(data["src"], data["dst"], list(data["sent"]),
                   [tuple(r) for r in data["replies"]], list(data.get("unsent", [])))


# --- the prober ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Member:
    """One prober socket: in network namespace `netns` (None: the current one), bound to
    `bind`, probing `targets` (it echoes whatever probes it receives)."""

    netns: str | None
    bind: str
    targets: tuple[str, ...] = ()

    def arg(self) -> str:
        return f"{self.netns or '-'}:{self.bind}:{','.join(self.targets)}"

    @classmethod
    def parse(cls, text: str) -> Member:
        netns, bind, targets = text.split(":", 2)
        return cls(None if netns == "-" else netns, bind, tuple(t for t in targets.split(",") if t))


def _socket_in(netns: str | None, bind: str, port: int) -> socket.socket:
    """A UDP socket created (and bound) inside `netns`; the thread returns to its own netns."""
    if netns is None:
        return _bound(bind, port)
    with thread_in_netns(netns):
        return _bound(bind, port)


def _bound(bind: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.bind((bind, port))
    sock.setblocking(False)
    return sock


def serve(members: list[Member], port: int, interval: float, out: Path,
          duration: float | None = None) -> None:
    """Echo probes and probe every member's targets until SIGTERM/SIGINT (or `duration`), all
    members in one loop on one schedule; then write the records to `out` (JSON)."""
    try:  # a measurement tool: ahead of the load it shares the machine with (as root)
        os.setpriority(os.PRIO_PROCESS, 0, PROBER_NICE)
    except PermissionError:
        pass
    socks = [(_socket_in(m.netns, m.bind, port), m) for m in members]
    flows = {(m.bind, dst): FlowRecord(m.bind, dst) for m in members for dst in m.targets}
    stop = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.append(True))
    sel = selectors.DefaultSelector()
    for sock, m in socks:
        sel.register(sock, selectors.EVENT_READ, m.bind)
    step = int(interval * 1e9)
    start = time.monotonic_ns()
    end = start + int(duration * 1e9) if duration else None
    due = start
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while not stop:
        now = time.monotonic_ns()
        if end is not None and now >= end:
            break
        if now >= due:
            for sock, m in socks:
                for dst in m.targets:
                    flow = flows[(m.bind, dst)]
                    seq, sent = len(flow.sent), time.monotonic_ns()
                    flow.sent.append(sent)
                    try:
                        sock.sendto(PACKET.pack(MAGIC, PROBE, seq, sent, 0), (dst, port))
                    except OSError as exc:  # no route while the network reconverges: lost
                        if exc.errno in HOST_CONGESTED:  # this host's buffers: not the network
                            flow.unsent.append(seq)
            due += step
            if due < now:  # starved for more than an interval: keep the schedule, skip slots
                due = now + step - (now - due) % step
            continue
        for key, _ in sel.select(max(0.0, (due - now) / 1e9)):
            _drain(cast(socket.socket, key.fileobj), key.data, flows, port)  # only sockets
    sel.close()
    for sock, _ in socks:
        sock.close()
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps({"interval": interval,
                               "flows": [f.as_json() for f in flows.values()]}))
    tmp.replace(out)


def _drain(sock: socket.socket, bind: str, flows: dict[tuple[str, str], FlowRecord],
           port: int) -> None:
    while True:
        try:
            data, addr = sock.recvfrom(64)
        except (BlockingIOError, InterruptedError):
            return
        now = time.monotonic_ns()
        if len(data) != PACKET.size:
            continue
        magic, kind, seq, sent, echoed = PACKET.unpack(data)
        if magic != MAGIC:
            continue
        if kind == PROBE:
            try:
                sock.sendto(PACKET.pack(MAGIC, ECHO, seq, sent, now), addr)
            except OSError:
                pass
        elif kind == ECHO and (bind, addr[0]) in flows and addr[1] == port:
            flows[(bind, addr[0])].replies.append((seq, echoed, now))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m controller.services.probes",
                                description="UDP probers/echoes in network namespaces (drills).")
    p.add_argument("--member", action="append", required=True, type=Member.parse,
                   help="NETNS:BIND:TARGET,TARGET... ('-' as NETNS: the current one).")
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument("--interval", type=float, default=DEFAULT_INTERVAL, help="Seconds.")
    p.add_argument("--duration", type=float, default=None, help="Stop after this many seconds.")
    p.add_argument("--out", type=Path, required=True, help="JSON written on exit.")
    a = p.parse_args(argv)
    if not 0.0005 <= a.interval <= 1:
        p.error("--interval must be between 0.0005 and 1 s")
    serve(a.member, a.port, a.interval, a.out, a.duration)


# --- running the prober from the controller ---------------------------------------------
class ProbeSet:
    """The prober as a child process; `stop()` collects every flow's record."""

    def __init__(self, workdir: Path, interval: float = DEFAULT_INTERVAL, port: int = DEFAULT_PORT):
        self.workdir, self.interval, self.port = workdir, interval, port
        self.proc: subprocess.Popen | None = None
        self.out = workdir / "probes.json"

    def start(self, members: list[Member], timeout: float = 10.0) -> None:
        """Returns once every socket is bound; RuntimeError with the prober's error if not."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "controller.services.probes", "--port", str(self.port),
               "--interval", str(self.interval), "--out", str(self.out)]
        for m in members:
            cmd.append(f"--member={m.arg()}")
        self.proc = proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                            text=True)
        assert proc.stdout is not None and proc.stderr is not None  # both are PIPEs
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        ready = sel.select(timeout)
        sel.close()
        if not ready or proc.stdout.readline().strip() != "ready":
            proc.kill()
            err = proc.stderr.read().strip().splitlines()
            proc.wait()
            self.proc = None
            raise RuntimeError("prober did not start" + (f": {err[-1]}" if err else ""))

    def stop(self, timeout: float = 10.0) -> list[FlowRecord]:
        """SIGTERM the prober, wait, read its records ([] if it never ran or wrote none)."""
        if self.proc is None:
            return []
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        if not self.out.exists():
            return []
        return [FlowRecord.from_json(f) for f in json.loads(self.out.read_text())["flows"]]


# --- figures from a record -----------------------------------------------------------------
def _outage(flow: FlowRecord, replied: set[int], t0: int, last: int, t1: int
            ) -> tuple[int, int | None]:
    """Longest run of unanswered probes sent in [t0, last], measured between the send times of
    the answered probes around it (t1 if none answered after): (length ns, end ns or None)."""
    worst, end, run_from = 0, None, None
    for seq, t in enumerate(flow.sent):
        if t > last:
            break
        if seq in replied:
            if run_from is not None and t - run_from > worst:
                worst, end = t - run_from, t
            run_from = None
        elif t >= t0 and run_from is None:
            run_from = flow.sent[seq - 1] if seq else t
    if run_from is not None and t1 - run_from > worst:
        worst, end = t1 - run_from, t1
    return worst, end


def _reply_gaps(flow: FlowRecord, t0: int, t1: int) -> list[Window]:
    """Consecutive reply times in [t0, t1], from the last reply before t0 (or t0) to t1."""
    recv = sorted(r[2] for r in flow.replies)
    before = [t for t in recv if t < t0]
    marks = [before[-1] if before else t0] + [t for t in recv if t0 <= t <= t1] + [t1]
    return list(zip(marks, marks[1:]))


def _intersect(a: list[Window], b: list[Window]) -> list[Window]:
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo < hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _union(windows: Sequence[Window]) -> list[Window]:
    """Overlapping windows merged (the clock check and the control flows often see one stall)."""
    out: list[Window] = []
    for a, b in sorted(windows):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _overlap(window: Window, stalls: Sequence[Window]) -> int:
    """Time of `window` inside the (merged) stall windows."""
    return sum(max(0, min(window[1], b) - max(window[0], a)) for a, b in stalls)


def stalls(records: list[FlowRecord], control: list[FlowRecord], t0: int, t1: int,
           interval_s: float) -> list[dict[str, Any]]:
    """Windows in [t0, t1] when the prober, not the network, stopped: no probe sent by any flow
    for STALL_INTERVALS intervals ("prober clock"), or no reply on every control flow for that
    long at once ("control flows"). Sorted, as {"start", "end"} (ns) and "source"."""
    limit = int(STALL_INTERVALS * interval_s * 1e9)
    out = []
    sends = sorted({t for r in records for t in r.sent if t0 <= t <= t1})
    for a, b in zip(sends, sends[1:]):
        if b - a >= limit:
            out.append({"start": a, "end": b, "source": "prober clock"})
    common: list[Window] | None = None
    for r in control:
        long = [(a, b) for a, b in _reply_gaps(r, t0, t1) if b - a >= limit]
        common = long if common is None else _intersect(common, long)
    for a, b in common or []:
        if b - a >= limit:
            out.append({"start": a, "end": b, "source": "control flows"})
    return sorted(out, key=lambda w: (w["start"], w["end"]))


def flow_stats(flow: FlowRecord, t0: int, t1: int, settle_ns: int = int(SETTLE_S * 1e9),
               stall_windows: Sequence[Window] = ()) -> dict[str, Any]:
    """Figures of one flow over the window [t0, t1] (monotonic ns).

    - max_gap_ms: the largest gap between consecutive replies, counted from the last reply before
      t0 (or t0) to t1, so replies that stop and never resume count up to t1;
    - gap_at_ms: where that gap starts, relative to t0;
    - net_gap_ms: the largest gap once the time of `stall_windows` (prober stalls) inside each
      gap is taken out: the network's share of the interruption;
    - ongoing: no reply in the last `settle_ns` of the window (the flow is still cut);
    - lost: probes sent in [t0, t1 - settle_ns] that never got a reply, except the prober's own:
    - prober_lost: unanswered probes this host could not send (its buffers full) or sent inside a
      stall window (the prober or the host stopped, not the network): measurement artefacts;
    - outage_ms: the longest run of lost probes, from the send time of the answered probe before
      it to that of the answered probe after it (t1 if none): the interruption seen from the send
      side, which a prober that is late to read its replies does not stretch (0: nothing lost);
    - outage_end_ms: when that run ended (replies resumed), relative to t0 (None: nothing lost);
    - sender_max_gap_ms: the largest gap between the sender's own sends (its scheduling noise).
    """
    replied = {r[0] for r in flow.replies}
    sent = [(seq, t) for seq, t in enumerate(flow.sent) if t0 <= t <= t1]
    windows = _reply_gaps(flow, t0, t1)
    worst = max(windows, key=lambda w: w[1] - w[0])
    merged = _union(stall_windows)
    net = max(b - a - _overlap((a, b), merged) for a, b in windows)
    unanswered = [(seq, t) for seq, t in sent if t <= t1 - settle_ns and seq not in replied]
    unsent = set(flow.unsent)
    artefact = sum(1 for seq, t in unanswered
                   if seq in unsent or any(a <= t <= b for a, b in merged))
    send_gaps = [b - a for (_, a), (_, b) in zip(sent, sent[1:])]
    outage, outage_end = _outage(flow, replied, t0, t1 - settle_ns, t1)
    return {"max_gap_ms": round((worst[1] - worst[0]) / 1e6, 3),
            "net_gap_ms": round(net / 1e6, 3),
            "outage_ms": round(outage / 1e6, 3),
            "outage_end_ms": None if outage_end is None else round((outage_end - t0) / 1e6, 3),
            "gap_at_ms": round((worst[0] - t0) / 1e6, 3),
            "ongoing": t1 - windows[-1][0] > settle_ns,
            "lost": len(unanswered) - artefact, "prober_lost": artefact,
            "sent": len(sent), "received": len(windows) - 1,
            "sender_max_gap_ms": round(max(send_gaps, default=0) / 1e6, 3)}


if __name__ == "__main__":
    main()
