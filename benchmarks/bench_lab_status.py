"""`ngk lab status` on the reference lab, whole CLI as a user runs it (process start to exit).

Side by side, in the same run: the earlier method (one vtysh process per router for the routing
queries, 4 at a time, then the SNMP poll, then one `ssh` binary login per router, 6 at a time),
timed in-process, i.e. without CLI startup.
Target: whole CLI <= 1 s.

The script brings up its own lab (`bstat`, management subnet 172.31.236.0/24) unless --lab
names one that is up; it takes its own lab down after.
Run as root: python benchmarks/bench_lab_status.py [--lab NAME] [--runs N]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from controller.lab import creds as credentials
from controller.lab.down import lab_down
from controller.lab.relocate import with_mgmt_subnet
from controller.lab.state import require
from controller.lab.status import SHOW, lab_wait, vtysh_json
from controller.lab.system import parallel
from controller.lab.up import lab_up
from controller.model.load import load_topology
from controller.southbound.snmp.inventory import load_inventory
from controller.southbound.snmp.poller import poll_once

LAB, SUBNET = "bstat", "172.31.236.0/24"
TARGET_S = 1.0
NGK = [sys.executable, "-c", "from controller.cli.main import app; app()"]


def whole_cli(name: str) -> float:
    t0 = time.perf_counter()
    out = subprocess.run(NGK + ["lab", "status", "--name", name, "--json"], capture_output=True,
                         text=True, check=True).stdout
    elapsed = time.perf_counter() - t0
    rows = json.loads(out)["routers"]
    assert all(r["ssh"] and r["snmp"] for r in rows), "a router failed its SSH or SNMP check"
    return elapsed


def earlier_method(name: str) -> float:
    """The sequential status of before, with the `ssh` binary (no CLI startup)."""
    t0 = time.perf_counter()
    state = require(name)
    topo = load_topology(state.topology)
    parallel(lambda rs: vtysh_json(rs.netns, *(c for _, c in SHOW)), state.routers.values(),
             workers=4)
    creds = credentials.load(state.dir)
    poll_once(load_inventory(Path(state.dir) / "inventory")[0], columns=())

    def login(router: str) -> bool:
        return subprocess.run(
            ["ssh", "-F", "/dev/null", "-i", creds.ssh_key, "-o", "BatchMode=yes",
             "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={creds.known_hosts}",
             "-o", "GlobalKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes",
             f"{creds.ssh_user}@{topo.routers[router].mgmt.ip}", "vtysh -c 'show version'"],
            capture_output=True).returncode == 0

    assert all(parallel(login, topo.routers, workers=6))
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lab", help="use this running lab instead of building one")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    name = args.lab or LAB
    if not args.lab:
        lab_down(LAB)
        with tempfile.TemporaryDirectory() as tmp:
            lab_up(with_mgmt_subnet(SUBNET, Path(tmp) / "ngk.yaml"), LAB)
    try:
        lab_wait(name, timeout=120)
        whole_cli(name)  # warm the page cache
        new = [whole_cli(name) for _ in range(args.runs)]
        old = [earlier_method(name) for _ in range(args.runs)]
        routers = len(require(name).routers)
        med_new, med_old = statistics.median(new), statistics.median(old)
        print(f"lab status, {routers} routers, median of {args.runs} "
              f"(load average {Path('/proc/loadavg').read_text().split()[0]}):")
        print(f"  whole CLI now:            {med_new:.2f} s (min {min(new):.2f}; "
              f"target <= {TARGET_S} s: {'met' if med_new <= TARGET_S else 'NOT met'})")
        print(f"  earlier method, no CLI:   {med_old:.2f} s (min {min(old):.2f}); "
              f"now {med_old / med_new:.1f}x faster including CLI startup")
    finally:
        if not args.lab:
            lab_down(LAB)


if __name__ == "__main__":
    main()
