"""Detection latency of a lab link cut: time from the cut to the monitor's event by trap (a
monitor that only receives the lab's v2c traps: net-snmp's linkDown, and FRR ospfd's
ospfNbrStateChange as `ospf_neighbor_down`) and by poll (a monitor that only polls, every
--interval seconds, and walks every router's ospfNbrTable each cycle, so it sees
`ospf_neighbor_down` too). Targets: <= 1 s with traps, <= one interval without. `--mode silent`
drops packets with the carrier up: only the OSPF events can show it.

The script brings up its own lab (`bdet`, management subnet 172.31.233.0/24) unless --lab names
one that is up; it takes its own lab down after.

Run as root: python benchmarks/bench_detection.py [--lab NAME] [--cuts N] [--interval S]
             [--mode light|silent]
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path


from controller.lab.daemons import TRAP_PORT
from controller.lab.down import lab_down
from controller.lab.faults import lab_cut, lab_restore
from controller.lab.state import LabState
from controller.lab.status import lab_wait
from controller.lab.relocate import with_mgmt_subnet
from controller.lab.up import lab_up
from controller.model.layers import outage, resolve_element
from controller.model.load import load_topology
from controller.services.impact import ImpactMapper
from controller.services.monitor.app import Monitor
from controller.southbound.snmp.inventory import load_inventory
from controller.southbound.snmp.traps import TrapReceiver
from controller.store import Store

LAB, SUBNET, SPAN, TRAP_TARGET_S = "bdet", "172.31.233", "osl-ham-rail", 1.0
# (what, source) -> ((down kind, source), (up kind, source))
KINDS = {("link", "trap"): (("linkDown", "trap"), ("linkUp", "trap")),
         ("link", "poll"): (("link_down", "poll"), ("link_up", "poll")),
         ("ospf", "trap"): (("ospf_neighbor_down", "trap"), ("ospf_neighbor_up", "trap")),
         ("ospf", "poll"): (("ospf_neighbor_down", "poll"), ("ospf_neighbor_up", "poll"))}


async def measure(name: str, cuts: int, interval: float, db_dir: Path, mode: str) -> list[dict]:
    """Per cut: seconds from the cut to the first event of each kind and source on an end of a
    cut link (link down by trap and by poll, OSPF neighbour down by trap and by the poller's
    ospfNbrTable walk), and the same for the restore."""
    state = LabState.load(name)
    topo = load_topology(state.topology)
    targets, problems = load_inventory(Path(state.dir) / "inventory")
    if problems or not targets:
        raise SystemExit(f"unusable inventory: {[str(p) for p in problems]}")
    ends = {(e.router, e.interface) for lid in outage(topo, [resolve_element(topo, SPAN)]).links
            for e in (topo.links[lid].a, topo.links[lid].b)}
    impact = ImpactMapper(topo)
    poller = Monitor(targets, Store(db_dir / "poll.db"), impact, adjacency_every=1)
    trapped = Monitor(targets, Store(db_dir / "trap.db"), impact)
    events: list[dict] = []
    receiver = TrapReceiver(targets, lambda t: events.extend(trapped.on_trap(t)),
                            str(next(topo.mgmt_subnet.hosts())), TRAP_PORT)
    await trapped.cycle()
    receiver.start()
    stop = asyncio.Event()

    async def polling() -> None:
        while not stop.is_set():
            began = time.monotonic()
            events.extend((await poller.cycle())["events"])
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - began)))

    def first(kind: str, source: str, after: float) -> float | None:
        times = [e["ts"] for e in events if e["kind"] == kind and e["source"] == source
                 and e["ts"] >= after and (e["router"], e["interface"]) in ends]
        return min(times) - after if times else None

    async def settle(kinds: list[tuple[str, str]], after: float, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not all(
                ends <= {(e["router"], e["interface"]) for e in events
                         if e["kind"] == k and e["source"] == src and e["ts"] >= after}
                for k, src in kinds):
            await asyncio.sleep(0.05)

    watched = [key for key in KINDS if mode == "light" or key[0] == "ospf"]

    task = asyncio.create_task(polling())
    out = []
    try:
        await asyncio.sleep(2 * interval)
        for _ in range(cuts):
            cut = time.time()
            await asyncio.to_thread(lab_cut, SPAN, mode, name)
            await settle([KINDS[k][0] for k in watched], cut)
            restore = time.time()
            await asyncio.to_thread(lab_restore, [], name)
            await settle([KINDS[k][1] for k in watched], restore)
            run = {}
            for key in watched:
                (down, src), (up, _) = KINDS[key]
                run[("down", *key)], run[("up", *key)] = first(down, src, cut), first(up, src,
                                                                                       restore)
            out.append(run)
            await asyncio.sleep(interval)
    finally:
        await asyncio.to_thread(lab_restore, [], name)
        stop.set()
        await task
        receiver.close()
        poller.close()
        trapped.close()
    return out


def summary(label: str, values: list[float | None], target: float) -> str:
    got = [v for v in values if v is not None]
    if not got:
        return f"{label}: never seen (target {target:.1f} s)"
    met = sum(v <= target for v in got)
    return (f"{label}: median {statistics.median(got):.2f} s, min {min(got):.2f}, max "
            f"{max(got):.2f}, missed {len(values) - len(got)}; <= {target:.1f} s in {met}/"
            f"{len(values)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lab", help="use this running lab instead of bringing up `bdet`")
    ap.add_argument("--cuts", type=int, default=5)
    ap.add_argument("--interval", type=float, default=1.0, help="poll interval, seconds")
    ap.add_argument("--mode", choices=("light", "silent"), default="light",
                    help="loss of light (carrier down) or silent (packets dropped, carrier up)")
    args = ap.parse_args()
    name = args.lab or LAB
    if args.lab is None:
        lab_down(name)
        with tempfile.TemporaryDirectory() as tmp:  # the lab keeps its own copy
            lab_up(with_mgmt_subnet(f"{SUBNET}.0/24", Path(tmp) / "ref.yaml"), name)
    try:
        lab_wait(name, timeout=120)
        with tempfile.TemporaryDirectory() as tmp:
            runs = asyncio.run(measure(name, args.cuts, args.interval, Path(tmp), args.mode))
    finally:
        if args.lab is None:
            lab_down(name)
    print(f"lab {name}: {args.cuts} {args.mode} cuts of {SPAN}, poll interval {args.interval} s "
          "(the poller walks ospfNbrTable every cycle)")
    names = {"link": {"down": "link down (linkDown / link_down)", "up": "link up"},
             "ospf": {"down": "OSPF neighbour down", "up": "OSPF neighbour up (hello 1 s)"}}
    for edge in ("down", "up"):
        for key in runs[0] if runs else []:
            if key[0] != edge:
                continue
            _, what, source = key
            target = args.interval if source == "poll" else TRAP_TARGET_S
            label = f"{'cut' if edge == 'down' else 'restore'} -> {names[what][edge]} by {source}"
            print("  " + summary(label, [r[key] for r in runs], target))


if __name__ == "__main__":
    main()
