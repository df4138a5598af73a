"""Soak: the monitor (poll, state, store) against hundreds of agents for many cycles; prints RSS
at start and end, cycle times, store size. Runs in a private network namespace like bench_snmp.
Usage: python benchmarks/soak_monitor.py [--agents 100] [--ports 3] [--cycles 60] [--interval 1]
                                        [--v3]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_snmp import BASE_PORT, COMMUNITY, V3, in_private_netns, start_agents

from controller.services.monitor.app import Monitor
from controller.credentials import SnmpCredentials
from controller.southbound.snmp.inventory import Target
from controller.store import Store


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def soak(monitor: Monitor, cycles: int, interval: float) -> list[float]:
    times = []
    for i in range(cycles):
        began = time.monotonic()
        report = await monitor.cycle()
        times.append(report["duration_s"])
        if i == 0:
            print(f"after first cycle: RSS {rss_mb():.1f} MB")
        await asyncio.sleep(max(0.0, interval - (time.monotonic() - began)))
    monitor.close()
    return times


def main() -> int:
    if "NGK_BENCH_NETNS" not in os.environ:
        return in_private_netns()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=100)
    ap.add_argument("--ports", type=int, default=3)
    ap.add_argument("--cycles", type=int, default=60)
    ap.add_argument("--interval", type=float, default=1.0)
    ap.add_argument("--v3", action="store_true", help="poll with SNMPv3 authPriv (SHA, AES)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ngk-soak-"))
    procs = start_agents(tmp, args.agents, args.ports)
    n = args.agents * args.ports
    creds = V3 if args.v3 else SnmpCredentials("2c", community=COMMUNITY)
    targets = [Target(f"d{p}", "127.0.0.1", p, creds, 2.0, 1)
               for p in range(BASE_PORT, BASE_PORT + n)]
    print(f"{n} devices ({args.agents} snmpd, SNMP{'v3 authPriv' if args.v3 else 'v2c'}), "
          f"{args.cycles} cycles every {args.interval} s; "
          f"RSS at start {rss_mb():.1f} MB")
    try:
        store = Store(tmp / "soak.db")
        times = asyncio.run(soak(Monitor(targets, store), args.cycles, args.interval))
        rows = store.query("SELECT COUNT(*) FROM if_samples")[0][0]
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(5)
    size = sum(f.stat().st_size for f in tmp.glob("soak.db*")) / 1e6
    print(f"RSS at end {rss_mb():.1f} MB; cycle median {statistics.median(times):.3f} s, "
          f"max {max(times):.3f} s; {rows:,} interface samples, store {size:.1f} MB; "
          f"store errors {store.error_count}")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
