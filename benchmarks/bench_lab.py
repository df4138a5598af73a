"""Lab figures: up -> converged and down for the reference topology and an 18-router Topology Zoo
network (Nordu2010), and the failover gap of a loss-of-light and a silent cut between two
datacentres (ping every 5 ms between DC loopbacks, largest gap between replies).

Targets: reference up + converged <= 15 s, down <= 5 s; gap <= 50 ms light, <= 200 ms silent.
Run as root: python benchmarks/bench_lab.py
"""
from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

import networkx as nx

from controller.lab.down import lab_down
from controller.lab.faults import lab_cut, lab_restore
from controller.lab.state import LabState
from controller.lab.status import lab_wait
from controller.lab.up import lab_up
from controller.model.importer import import_graphml, write_topology_yaml
from controller.model.layers import ip_graph
from controller.lab.relocate import with_mgmt_subnet
from controller.model.load import load_topology
from controller.model.topology import Topology

LAB = "bench"
ZOO = Path(__file__).resolve().parents[1] / "tests" / "data" / "zoo"
TARGETS = {"up_converged": 15.0, "down": 5.0, "light": 0.050, "silent": 0.200}


def lifecycle(path: Path, label: str, keep: bool = False) -> dict[str, float]:
    lab_down(LAB)
    t0 = time.monotonic()
    up = lab_up(path, LAB)
    t1 = time.monotonic()
    lab_wait(LAB, timeout=120, interval=0.2)
    t2 = time.monotonic()
    figures = {"up": t1 - t0, "converged": t2 - t1, "up_converged": t2 - t0}
    if not keep:
        t3 = time.monotonic()
        lab_down(LAB)
        figures["down"] = time.monotonic() - t3
    print(f"{label}: {up['routers']} routers, {up['links']} links: up {figures['up']:.2f} s, "
          f"converged after {figures['converged']:.2f} s more, "
          f"total {figures['up_converged']:.2f} s"
          f" (target {TARGETS['up_converged']} s)"
          + (f", down {figures['down']:.2f} s (target {TARGETS['down']} s)" if "down" in figures
             else ""))
    return figures


def dc_path_link(topo: Topology) -> tuple[str, str, str]:
    """Source router, destination router (two datacentres) and the inter-DC link on the path."""
    g = nx.Graph()
    for u, v, key, d in ip_graph(topo).edges(keys=True, data=True):
        if not g.has_edge(u, v) or d["metric"] < g[u][v]["metric"]:
            g.add_edge(u, v, metric=d["metric"], link=key)
    dcs = topo.datacentres()
    src = next(r.id for r in topo.routers.values() if r.site == dcs[0])
    dst = next(r.id for r in topo.routers.values() if r.site == dcs[1])
    path = nx.shortest_path(g, src, dst, weight="metric")
    for u, v in zip(path, path[1:]):
        if {topo.routers[u].site, topo.routers[v].site} == {dcs[0], dcs[1]}:
            return src, dst, g[u][v]["link"]
    raise SystemExit("no direct inter-datacentre link on the path")


def failover_gap(topo: Topology, state: LabState, mode: str) -> tuple[float, int]:
    """Largest gap between ping replies (s) across a cut, and the replies lost."""
    src, dst, link = dc_path_link(topo)
    ping = subprocess.Popen(
        ["ip", "netns", "exec", state.routers[src].netns, "ping", "-D", "-n", "-i", "0.005",
         "-W", "1", "-I", str(topo.routers[src].loopback.ip), str(topo.routers[dst].loopback.ip)],
        stdout=subprocess.PIPE, text=True)
    time.sleep(1.0)
    lab_cut(f"link:{link}", mode, LAB)
    time.sleep(2.5)
    ping.terminate()
    out = ping.communicate()[0]
    stamps = [(float(t), int(s)) for t, s in re.findall(r"\[([\d.]+)\].*icmp_seq=(\d+)", out)]
    gap = max(b[0] - a[0] for a, b in zip(stamps, stamps[1:]))
    lost = stamps[-1][1] - stamps[0][1] + 1 - len(stamps)
    lab_restore([], LAB)
    lab_wait(LAB, timeout=60)
    print(f"{mode} cut of {link} ({src} -> {dst} loopbacks): largest gap {gap * 1000:.0f} ms "
          f"(target {TARGETS[mode] * 1000:.0f} ms), {lost} replies lost of {len(stamps) + lost}")
    return gap, lost


def main() -> None:
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        ref = with_mgmt_subnet("172.31.210.0/24", Path(tmp) / "ref.yaml")
        lifecycle(ref, "reference", keep=True)
        state = LabState.load(LAB)
        topo = load_topology(state.topology)
        try:
            for mode in ("light", "silent"):
                failover_gap(topo, state, mode)
        finally:
            t0 = time.monotonic()
            lab_down(LAB)
            print(f"reference: down {time.monotonic() - t0:.2f} s (target {TARGETS['down']} s)")
        doc, _ = import_graphml(ZOO / "Sunet.graphml")  # 26 routers, 49 links
        zoo = Path(tmp) / "zoo-src.yaml"
        write_topology_yaml(doc, zoo)
        lifecycle(with_mgmt_subnet("172.31.211.0/24", Path(tmp) / "sunet.yaml", zoo), "Sunet")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
