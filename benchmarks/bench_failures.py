"""Depth-2 span sweep: ngk (lost pairs, DC pairs, members, DC latency) vs a naive networkx baseline
(copy the site graph, remove the pair's links, count components) that answers connectivity only.

Run: python benchmarks/bench_failures.py [--sample N]. Where the naive sweep is too long it is timed
on a random sample of N scenarios and extrapolated (printed as such).
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

import networkx as nx

from controller.analysis.failures import sweep
from controller.model.importer import import_graphml, write_topology_yaml
from controller.model.layers import site_graph
from controller.model.load import load_topology
from controller.model.synthetic import synthetic_topology
from controller.model.topology import Topology

ZOO = Path(__file__).resolve().parents[1] / "tests" / "data" / "zoo"
FULL_NAIVE_MAX = 20_000  # scenarios; beyond this the naive sweep is sampled


def zoo(name: str) -> Topology:
    doc, _ = import_graphml(ZOO / f"{name}.graphml")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.yaml"
        write_topology_yaml(doc, path)
        return load_topology(path)


def naive(topo: Topology, pairs: list[tuple[str, str]]) -> float:
    """Seconds for the naive baseline on the given span pairs."""
    graph = site_graph(topo)
    on_span = topo.links_on_span()
    keyed = {k: (u, v, k) for u, v, k in graph.edges(keys=True)}
    start = time.perf_counter()
    for a, b in pairs:
        g = graph.copy()
        g.remove_edges_from([keyed[k] for k in on_span[a] + on_span[b] if k in keyed])
        nx.number_connected_components(g)
    return time.perf_counter() - start


def bench(name: str, topo: Topology, sample: int) -> None:
    spans = sorted(topo.spans)
    total = len(spans) * (len(spans) - 1) // 2
    start = time.perf_counter()
    result = sweep(topo, 2, ("span",), impact_only=True)
    ours = time.perf_counter() - start
    if total <= FULL_NAIVE_MAX:
        base, how = naive(topo, list(combinations(spans, 2))), "measured"
    else:
        rng = random.Random(1)
        picks = [tuple(rng.sample(spans, 2)) for _ in range(sample)]
        base, how = naive(topo, picks) / sample * total, f"extrapolated from {sample} scenarios"
    summ = result["summary"]
    print(f"{name}: {len(topo.sites)} sites, {len(spans)} spans, {total:,} span pairs; "
          f"{summ['disconnecting']:,} disconnecting, {len(result['scenarios']):,} with impact")
    print(f"  ngk   {ours:10.2f} s  (lost pairs, DC pairs, members, DC latency)")
    print(f"  naive {base:10.2f} s  ({how}; component count only)")
    print(f"  ratio {base / ours:10.1f} x")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sample", type=int, default=300)
    args = parser.parse_args()
    bench("Uninett2011", zoo("Uninett2011"), args.sample)
    bench("Geant2012", zoo("Geant2012"), args.sample)
    for members in (100, 1000, 5300):
        bench(f"synthetic-{members}", synthetic_topology(members), args.sample)


if __name__ == "__main__":
    main()
