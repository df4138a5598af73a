"""Depth-2 span sweep, as a user runs it: `ngk failures --depth 2 --kinds span --json -t FILE` in a
subprocess (startup, topology loading, the sweep and the full JSON on stdout), against a naive
networkx sweep timed in the same run (copy the site graph, remove the pair's links, count
components) that answers connectivity only.

Run: python benchmarks/bench_failures.py [--runs 5] [--large [--sample N]]. Topologies: the
Topology Zoo graphs in tests/data/zoo (imported as `ngk topology import` does) and the synthetic
generator at ~245 spans; `--large` adds the engine alone (in process, `--impact-only`) on
synthetic models of 1,000 and 5,300 members, the naive time extrapolated from N sampled pairs.
"""
from __future__ import annotations

import argparse
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path
from typing import Any

import networkx as nx
import yaml

from controller.analysis.failures import sweep
from controller.model.importer import import_graphml, write_topology_yaml
from controller.model.layers import site_graph
from controller.model.load import load_topology
from controller.model.synthetic import synthetic_topology
from controller.model.topology import Topology

ZOO = Path(__file__).resolve().parents[1] / "tests" / "data" / "zoo"
NGK = Path(sys.executable).with_name("ngk")  # the installed entry point, as users run it
SYNTHETIC_MEMBERS = 105  # 122 sites, 245 spans: the size the target is set for


def topology_doc(topo: Topology) -> dict[str, Any]:
    """A topology as a YAML document (explicit addresses, so loading it gives the same model)."""
    def site(s: Any) -> dict[str, Any]:
        return {k: v for k, v in (("id", s.id), ("name", s.name), ("kind", s.kind),
                                  ("lat", s.lat), ("lon", s.lon), ("region", s.region))
                if v is not None}

    def end(e: Any) -> dict[str, str]:
        return {"router": e.router, "interface": e.interface, "address": str(e.address)}

    def link(lk: Any) -> dict[str, Any]:
        out = {"id": lk.id, "a": end(lk.a), "b": end(lk.b), "metric": lk.metric,
               "capacity_gbps": lk.capacity_gbps}
        if any(not topo.spans[s].implicit for s in lk.route):
            out["route"] = list(lk.route)
        elif lk.km:
            out["km"] = lk.km
        return out

    return {
        "name": topo.name,
        "settings": {k: getattr(topo.settings, k) for k in topo.settings.__dataclass_fields__},
        "addressing": {"p2p": "10.64.0.0/11", "loopbacks": "10.128.0.0/14",
                       "mgmt": str(topo.mgmt_subnet)},
        "sites": [site(s) for s in topo.sites.values()],
        "optical_nodes": [{"id": o.id, **({"site": o.site} if o.site else {}), "kind": o.kind}
                          for o in topo.optical_nodes.values()],
        "spans": [{"id": s.id, "a": s.a, "b": s.b, "km": s.km, "srlgs": list(s.srlgs)}
                  for s in topo.spans.values() if not s.implicit],
        "routers": [{"id": r.id, "site": r.site, "role": r.role, "platform": r.platform,
                     "loopback": str(r.loopback), "mgmt": str(r.mgmt)}
                    for r in topo.routers.values()],
        "links": [link(lk) for lk in topo.links.values()],
        "services": [{"id": v.id, "name": v.name, "datacentres": list(v.datacentres),
                      "members": list(v.members),
                      **({"latency_budget_ms": v.latency_budget_ms}
                         if v.latency_budget_ms is not None else {})}
                     for v in topo.services.values()],
    }


def zoo_file(name: str, tmp: Path) -> Path:
    doc, _ = import_graphml(ZOO / f"{name}.graphml")
    path = tmp / f"{name}.yaml"
    write_topology_yaml(doc, path)
    return path


def synthetic_file(members: int, tmp: Path) -> Path:
    path = tmp / f"synthetic-{members}.yaml"
    path.write_text(yaml.safe_dump(topology_doc(synthetic_topology(members)), sort_keys=False))
    return path


def naive(topo: Topology, pairs: list[tuple[str, str]]) -> tuple[float, float]:
    """Wall and CPU seconds for the naive baseline on the given span pairs."""
    graph = site_graph(topo)
    on_span = topo.links_on_span()
    keyed = {k: (u, v, k) for u, v, k in graph.edges(keys=True)}
    start, cpu = time.perf_counter(), time.process_time()
    for a, b in pairs:
        g = graph.copy()
        g.remove_edges_from([keyed[k] for k in on_span[a] + on_span[b] if k in keyed])
        nx.number_connected_components(g)
    return time.perf_counter() - start, time.process_time() - cpu


def cli_run(path: Path) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system) and stdout bytes of the whole command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([str(NGK), "failures", "--depth", "2", "--kinds", "span", "--json",
                           "-t", str(path)], stdout=subprocess.PIPE, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, len(done.stdout)


def bench_cli(name: str, path: Path, runs: int) -> None:
    """The CLI `runs` times, the naive sweep once, in the same run. On a shared machine other
    jobs stretch wall times: the best wall time and the CPU times are printed beside the median."""
    topo = load_topology(path)
    spans = sorted(topo.spans)
    pairs = list(combinations(spans, 2))
    walls, cpus, size = [], [], 0
    for _ in range(runs):
        wall, cpu, size = cli_run(path)
        walls.append(wall)
        cpus.append(cpu)
    base, base_cpu = naive(topo, pairs)
    best, median, cpu = min(walls), statistics.median(walls), statistics.median(cpus)
    print(f"{name}: {len(topo.sites)} sites, {len(spans)} spans, {len(pairs):,} span pairs; "
          f"{size / 1e6:.1f} MB of JSON (every scenario)")
    print(f"  ngk CLI  wall best {best:.2f} s, median {median:.2f} s "
          f"({', '.join(f'{t:.2f}' for t in walls)}); CPU median {cpu:.2f} s")
    print(f"  naive    wall {base:.2f} s, CPU {base_cpu:.2f} s (all pairs; component count only)")
    print(f"  ratio    wall best {base / best:.1f} x, median {base / median:.1f} x; "
          f"CPU {base_cpu / cpu:.1f} x")
    sys.stdout.flush()


def bench_engine(name: str, topo: Topology, sample: int) -> None:
    spans = sorted(topo.spans)
    total = len(spans) * (len(spans) - 1) // 2
    start = time.perf_counter()
    result = sweep(topo, 2, ("span",), impact_only=True)
    ours = time.perf_counter() - start
    rng = random.Random(1)
    picks = [tuple(rng.sample(spans, 2)) for _ in range(sample)]
    base = naive(topo, picks)[0] / sample * total  # type: ignore[arg-type]
    print(f"{name} (engine in process, --impact-only): {len(spans):,} spans, {total:,} pairs, "
          f"{result['summary']['disconnecting']:,} disconnecting")
    print(f"  ngk   {ours:10.2f} s")
    print(f"  naive {base:10.2f} s  (extrapolated from {sample} pairs)")
    print(f"  ratio {base / ours:10.1f} x")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="CLI runs per topology.")
    parser.add_argument("--large", action="store_true", help="Also 1,000 and 5,300 members.")
    parser.add_argument("--sample", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("Uninett2011", "Geant2012", "Sunet", "Nordu2010"):
            bench_cli(name, zoo_file(name, Path(tmp)), args.runs)
        bench_cli(f"synthetic-{SYNTHETIC_MEMBERS}",
                  synthetic_file(SYNTHETIC_MEMBERS, Path(tmp)), args.runs)
    if args.large:
        for members in (1000, 5300):
            bench_engine(f"synthetic-{members}", synthetic_topology(members), args.sample)


if __name__ == "__main__":
    main()
