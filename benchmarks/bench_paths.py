"""Diverse pairs from every member site to its two nearest datacentres, synthetic NGK models.

For each size: the time of ngk's PathFinder for all pairs (link- and node-diverse), and two
baselines timed on a random sample of pairs and extrapolated to all pairs (stated as such):
- no tree cache: the same Suurballe with a fresh shortest-path tree per pair;
- networkx min-cost flow (network_simplex, demand 2) on a link-gadget digraph built once.
The sample's totals are checked against the min-cost flow. Metric: igp (integer, as network_simplex
needs). Run: python benchmarks/bench_paths.py [sizes...]
"""
from __future__ import annotations

import random
import sys
import time

import networkx as nx

from controller.analysis.paths import PathFinder
from controller.model.layers import site_graph
from controller.model.synthetic import synthetic_topology
from controller.model.topology import Topology

SIZES = (500, 2000, 5300)
SAMPLE = 100  # pairs timed for the no-cache baseline
FLOW_SAMPLE = 20  # pairs timed for the min-cost-flow baseline (seconds each at 5,300 members)


def member_pairs(finder: PathFinder, topo: Topology) -> list[tuple[str, str]]:
    """(member, datacentre) for the two nearest datacentres of each member, by the metric."""
    dist = {dc: finder.distances(dc) for dc in topo.datacentres()}
    pairs = []
    for m in topo.members():
        near = sorted(dist, key=lambda dc: (dist[dc].get(m, float("inf")), dc))[:2]
        pairs += [(m, dc) for dc in near]
    return pairs


def flow_digraph(topo: Topology) -> nx.DiGraph:
    """Each IP link u-v as a capacity-1 gadget usable in either direction."""
    d = nx.DiGraph()
    for u, v, k, data in site_graph(topo).edges(keys=True, data=True):
        for x in (u, v):
            d.add_edge(x, ("e1", k), capacity=1, weight=data["metric"])
            d.add_edge(("e2", k), x, capacity=1, weight=0)
        d.add_edge(("e1", k), ("e2", k), capacity=1, weight=0)
    return d


def flow_total(d: nx.DiGraph, src: str, dst: str) -> int:
    d.nodes[src]["demand"], d.nodes[dst]["demand"] = -2, 2
    try:
        return nx.network_simplex(d)[0]
    finally:
        d.nodes[src]["demand"] = d.nodes[dst]["demand"] = 0


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def bench(members: int) -> None:
    t_build, topo = timed(lambda: synthetic_topology(members))
    g = site_graph(topo)
    print(f"\n{members} members: {g.number_of_nodes()} sites, {g.number_of_edges()} IP links "
          f"(model built in {t_build:.2f} s)")
    sample_pairs = None
    for diversity in ("link", "node"):
        finder = PathFinder(topo, "igp")
        t_all, (pairs, results) = timed(lambda: (lambda p: (p, [finder.pair(a, b, diversity)
                                                                 for a, b in p]))(
            member_pairs(finder, topo)))
        per = t_all / len(pairs) * 1e6
        n_div = sum(r["diverse"] for r in results)
        print(f"  {diversity}-diverse, ngk: {len(pairs)} pairs in {t_all:.2f} s "
              f"({per:.0f} us/pair, incl. trees and nearest-DC search); {n_div} fully diverse")
        sample_pairs = sample_pairs or random.Random(1).sample(pairs, min(SAMPLE, len(pairs)))
        nocache = PathFinder(topo, "igp")

        def fresh(a: str, b: str) -> dict:
            for graph in nocache._graphs.values():  # benchmark only: drop the cached trees
                graph._trees.clear()
            return nocache.pair(a, b, diversity)
        t_nc, _ = timed(lambda: [fresh(a, b) for a, b in sample_pairs])
        est = t_nc / len(sample_pairs) * len(pairs)
        print(f"    no tree cache: {t_nc / len(sample_pairs) * 1e3:.1f} ms/pair on "
              f"{len(sample_pairs)} sampled pairs -> {est:.1f} s extrapolated, "
              f"{est / t_all:.0f}x slower")
        if diversity == "link":
            d = flow_digraph(topo)
            few = sample_pairs[:FLOW_SAMPLE]
            t_fl, totals = timed(lambda: [flow_total(d, a, b) for a, b in few])
            est = t_fl / len(few) * len(pairs)
            ours = {(r["src"], r["dst"]): r["total"] for r in results}
            agree = all(ours[p] == t for p, t in zip(few, totals))
            print(f"    networkx min-cost flow: {t_fl / len(few) * 1e3:.1f} ms/pair on "
                  f"{len(few)} sampled pairs -> {est:.0f} s extrapolated, "
                  f"{est / t_all:.0f}x slower; totals agree on the sample: {agree}")


if __name__ == "__main__":
    for size in [int(a) for a in sys.argv[1:]] or SIZES:
        bench(size)
