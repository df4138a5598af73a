"""Compliance figures.

1. Live: every router of the reference topology in a netns lab, end to end (SSH + NAPALM
   get_config, diff, rules). Target <= 5 s. The script brings up its own lab (`bcomp`, management
   subnet 172.31.232.0/24) unless --lab names one that is up; it takes it down after.
2. Scale, no devices: recorded configs of synthetic topologies (controller/model/synthetic.py)
   up to 500 routers, one router in ten mutated; the time per router should stay flat.

Run as root: python benchmarks/bench_compliance.py [--lab NAME] [--skip-live]
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
from pathlib import Path


from controller.config.render import render_config
from controller.config.rules import load_rules
from controller.lab.down import lab_down
from controller.lab.state import LabState
from controller.lab.status import lab_wait
from controller.lab.relocate import with_mgmt_subnet
from controller.lab.up import lab_up
from controller.model.load import load_topology
from controller.model.synthetic import synthetic_topology
from controller.services import compliance as service
from controller.southbound.nornir_setup import build_nornir
from controller.store import Store

LAB, SUBNET, TARGET_S = "bcomp", "172.31.232", 5.0
MUTATIONS = (  # each one a drift, most of them a rule violation too
    lambda t: t.replace(" ip ospf bfd\n", "", 1),
    lambda t: t.replace("service integrated-vtysh-config\n",
                        "service integrated-vtysh-config\nip route 0.0.0.0/0 10.9.9.9\n", 1),
    lambda t: re.sub(r" ip ospf cost \d+", " ip ospf cost 999", t, count=1),
    lambda t: t.replace("log syslog informational\n",
                        "log syslog informational\nsnmp-server community public RO\n", 1),
)


def live(lab: str | None, runs: int = 3) -> None:
    name = lab or LAB
    if lab is None:
        lab_down(name)
        with tempfile.TemporaryDirectory() as tmp:  # the lab keeps its own copy
            lab_up(with_mgmt_subnet(f"{SUBNET}.0/24", Path(tmp) / "ref.yaml"), name)
    try:
        lab_wait(name, timeout=120)
        state = LabState.load(name)
        topo, rules = load_topology(state.topology), load_rules()
        names, inventory = sorted(topo.routers), Path(state.dir) / "inventory"
        times, read, report = [], [], None
        for _ in range(runs):
            nr = build_nornir(inventory, workers=len(names))
            t0 = time.monotonic()
            report = service.compliance(topo, names, rules, nr=nr)
            times.append(time.monotonic() - t0)
            t1 = time.monotonic()
            service.collect(build_nornir(inventory, workers=len(names)), names)
            read.append(time.monotonic() - t1)
        t2 = time.monotonic()
        service.collect(build_nornir(inventory, workers=1), names[:1])
        one = time.monotonic() - t2
        assert report is not None
        median = statistics.median(times)
        print(f"live lab {name}: {len(names)} routers, compliance end to end median "
              f"{median:.2f} s (min {min(times):.2f}, max {max(times):.2f}; target {TARGET_S} s: "
              f"{'met' if median <= TARGET_S else 'MISSED'}); of which reading the configs over "
              f"SSH {statistics.median(read):.2f} s (one router alone {one:.2f} s); "
              f"{report.count('compliant')} compliant, {report.count('unknown')} unknown, "
              f"score {report.score}; load average {os.getloadavg()[0]:.1f} on "
              f"{os.cpu_count()} CPUs")
    finally:
        if lab is None:
            lab_down(name)


def scale(sizes: tuple[int, ...] = (0, 30, 80, 180, 480)) -> None:
    rules = load_rules()
    base = None
    print("routers  render s  assess s (best of 3, incl. render)  ms/router  ms/router excl. "
          "render  total s (read+assess+history)  found/mutated")
    for members in sizes:
        topo = synthetic_topology(members, seed=1)
        names = sorted(topo.routers)
        render_s = float("inf")
        for _ in range(3):
            t0 = time.monotonic()
            configs = {r: render_config(topo, r) for r in names}
            render_s = min(render_s, time.monotonic() - t0)
        mutated = set(names[::10])
        for i, r in enumerate(sorted(mutated)):
            configs[r] = MUTATIONS[i % len(MUTATIONS)](configs[r])
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "configs"
            folder.mkdir()
            for r, text in configs.items():
                (folder / f"{r}.conf").write_text(text)
            assess_s = float("inf")
            for _ in range(3):  # best of three: the machine is shared
                t1 = time.monotonic()
                report = service.assess(topo, configs, {}, rules)
                assess_s = min(assess_s, time.monotonic() - t1)
            t2 = time.monotonic()
            full = service.compliance(topo, names, rules, recorded_dir=folder,
                                      store=Store(Path(tmp) / "h.db"))
            total_s = time.monotonic() - t2
        found = {r.router for r in full.routers if r.compliant is False}
        assert found == {r.router for r in report.routers if r.compliant is False}
        per = 1000 * assess_s / len(names)
        base = base or per
        bare = 1000 * max(0.0, assess_s - render_s) / len(names)
        print(f"{len(names):7d}  {render_s:8.3f}  {assess_s:34.3f}  {per:9.2f}  {bare:22.2f}  "
              f"{total_s:30.3f}  "
              f"{len(found & mutated)}/{len(mutated)}  (x{per / base:.2f} per router vs smallest)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", help="use this lab (already up) instead of bringing one up")
    parser.add_argument("--skip-live", action="store_true", help="only the device-free part")
    args = parser.parse_args()
    scale()
    if not args.skip_live:
        live(args.lab)


if __name__ == "__main__":
    main()
