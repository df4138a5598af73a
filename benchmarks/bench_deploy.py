"""Deploy figures against a live netns lab of the reference topology, per phase.

1. From bare (when the script brings up its own lab): `lab up --bare`, then one deploy --commit
   to the intended state on every router (the IGP comes up from nothing inside `verify`).
2. Full deploy that changes every router: every link metric +1 in a copied topology, then back
   (diff + commit + verify + confirm on every router). Target <= 10 s.
3. No-op deploy --commit (nothing to change anywhere). Target <= 3 s.
Steps 2 and 3 run twice: in-process (the service alone) and whole CLI as a user runs it
(`ngk deploy --commit`, process start to exit); the targets are for the whole CLI.

The script brings up its own lab (`bdep`, management subnet 172.31.243.0/24) unless --lab names
one that is up (it is left converged to its own topology); it takes its own lab down after.

Run as root: python benchmarks/bench_deploy.py [--lab NAME] [--runs N]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from controller.lab.down import lab_down
from controller.lab.state import LabState
from controller.lab.status import lab_wait
from controller.lab.relocate import with_mgmt_subnet
from controller.lab.up import lab_up
from controller.model.load import load_topology
from controller.model.topology import Topology
from controller.services.deploy import DeployReport, RouterResult, deploy, intended
from controller.southbound.nornir_setup import build_nornir

LAB, SUBNET = "bdep", "172.31.243"
NGK = [sys.executable, "-c", "from controller.cli.main import app; app()"]
FULL_TARGET_S, NOOP_TARGET_S = 10.0, 3.0
PHASES = ("prepare", "discard", "commit", "verify", "confirm", "rollback")


def bumped(state: LabState, out: Path) -> Topology:
    """The lab's topology with every link metric raised by one."""
    topo = load_topology(state.topology)
    doc = yaml.safe_load(Path(state.topology).read_text())
    for link in doc["links"]:
        link["metric"] = topo.links[link["id"]].metric + 1
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    return load_topology(out)


def timed(topo: Topology, inventory: Path, workers: int) -> tuple[float, DeployReport]:
    nr = build_nornir(inventory, workers=workers)
    configs = intended(topo, sorted(topo.routers))
    t0 = time.monotonic()
    report = deploy(topo, nr, configs, commit=True, confirm_timeout=120, verify_timeout=60)
    elapsed = time.monotonic() - t0
    if not report.ok:
        raise SystemExit(f"deploy failed: {[(r.router, r.status, r.error) for r in report.routers]}"
                         f" {report.problems}")
    return elapsed, report


def line(label: str, elapsed: float, report: DeployReport, target: float | None) -> str:
    phases = ", ".join(f"{p} {report.phases[p]:.2f}" for p in PHASES if p in report.phases)
    changed = sum(r.changed for r in report.routers)
    verdict = (f"; target {target:g} s: {'met' if elapsed <= target else 'MISSED'} "
               f"({elapsed / target:.2f} of target)") if target else ""
    return (f"{label}: {elapsed:.2f} s, {changed}/{len(report.routers)} routers changed "
            f"[{phases}]{verdict}")


def summary(label: str, samples: list[tuple[float, DeployReport]], target: float) -> None:
    for i, (elapsed, report) in enumerate(samples, 1):
        print(line(f"  {label} run {i}", elapsed, report, None))
    times = [s[0] for s in samples]
    median = statistics.median(times)
    phase_medians = {p: statistics.median(r.phases.get(p, 0.0) for _, r in samples)
                     for p in PHASES if any(p in r.phases for _, r in samples)}
    print(f"{label}: median {median:.2f} s (min {min(times):.2f}, max {max(times):.2f}; "
          f"per phase median " + ", ".join(f"{p} {v:.2f}" for p, v in phase_medians.items())
          + f"); target {target:g} s: {'met' if median <= target else 'MISSED'} "
          f"({median / target:.2f} of target)")


def whole_cli(topology: Path, inventory: Path, audit: Path) -> tuple[float, DeployReport]:
    """`ngk deploy --commit` as a user runs it; the report rebuilt from its --json."""
    t0 = time.monotonic()
    proc = subprocess.run(NGK + ["deploy", "--commit", "--topology", str(topology), "--inventory",
                                 str(inventory), "--audit-log", str(audit), "--json"],
                          capture_output=True, text=True)
    elapsed = time.monotonic() - t0
    if proc.returncode != 0:
        raise SystemExit(f"ngk deploy failed: {proc.stderr[-2000:]}")
    raw = json.loads(proc.stdout)
    report = DeployReport(raw["committed"], raw["policy"], raw["ok"],
                          [RouterResult(**r) for r in raw["routers"]], [], raw["phases"])
    return elapsed, report


def run(name: str, bare: bool, runs: int) -> None:
    if not bare:
        lab_wait(name, timeout=120)
    state = LabState.load(name)
    topo = load_topology(state.topology)
    inventory, workers = Path(state.dir) / "inventory", len(topo.routers)
    print(f"lab {name}: {len(topo.routers)} routers, {len(topo.links)} links; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if bare:
        print(line("from bare to intended (one run)", *timed(topo, inventory, workers), None))
    full, noop, cli_full, cli_noop = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        changed = bumped(state, Path(tmp) / "bumped.yaml")
        for _ in range(runs):
            full.append(timed(changed, inventory, workers))
            full.append(timed(topo, inventory, workers))
            noop.append(timed(topo, inventory, workers))
        audit = Path(tmp) / "audit.log"
        for _ in range(runs):
            cli_full.append(whole_cli(Path(tmp) / "bumped.yaml", inventory, audit))
            cli_full.append(whole_cli(Path(state.topology), inventory, audit))
            cli_noop.append(whole_cli(Path(state.topology), inventory, audit))
    assert all(sum(r.changed for r in rep.routers) == workers for _, rep in full + cli_full)
    assert all(not any(r.changed for r in rep.routers) for _, rep in noop + cli_noop)
    summary("in-process full deploy, every router changed (metric +1 / back)", full,
            FULL_TARGET_S)
    summary("in-process no-op deploy --commit", noop, NOOP_TARGET_S)
    summary("whole CLI full deploy --commit (metric +1 / back)", cli_full, FULL_TARGET_S)
    summary("whole CLI no-op deploy --commit", cli_noop, NOOP_TARGET_S)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", help="use this lab (already up) instead of bringing one up")
    parser.add_argument("--runs", type=int, default=2, help="metric +1/back pairs (default 2)")
    args = parser.parse_args()
    if args.lab:
        run(args.lab, False, args.runs)
        return
    lab_down(LAB)
    try:
        with tempfile.TemporaryDirectory() as tmp:  # the lab keeps its own copy
            lab_up(with_mgmt_subnet(f"{SUBNET}.0/24", Path(tmp) / "ref.yaml"), LAB, bare=True)
        run(LAB, True, args.runs)
    finally:
        lab_down(LAB)


if __name__ == "__main__":
    main()
