"""Capacity under every single failure: pyNTM's failure simulation against ngk's engine on the same
model and the same demands, in one run, and the ratio (target: ngk >= 100x pyNTM).

Model: the synthetic generator (controller.model.synthetic) at --members (105: 125 routers, 246
links; 180: 200 routers, 396 links), all-pairs router demands (n(n-1), 10 Mbit/s each, classes
in turn). Scenarios: the intact network and every single failure of every kind (span, srlg, site,
router, link), as `ngk capacity --depth 1 --kinds span,srlg,site,router,link` runs them.

- ngk: `analyse` from scratch (routing model built, intact flows, every scenario, the report).
- pyNTM: the model built once (timed), then per scenario fail the elements, `update_simulation`,
  read the loads, restore (controller/analysis/capacity_pyntm.py, the tests' oracle). pyNTM takes
  ~6 s a scenario here, so by default --sample N scenarios are timed and the total extrapolated
  (said so in the output); --all times every one. The loads of the timed scenarios are checked
  against ngk's to 1e-6 (untimed).

Times are CPU seconds of this process (the machine is shared: wall clock would measure the
neighbours). --large adds ngk alone: depth 2 (every pair) on the 5,300-member synthetic model
with the gravity model's demands, kinds span (pyNTM would need ~56 million simulations).

Run: python benchmarks/bench_capacity.py [--members 105 180] [--sample 8 | --all] [--large]
"""
from __future__ import annotations

import argparse
import random
import resource
import time
from typing import Any

from controller.analysis.capacity import CapacityModel, analyse
from controller.analysis.capacity_pyntm import PyntmModel
from controller.analysis.failures import elements
from controller.model.demands import CLASSES, Demand, Demands, endpoint, gravity
from controller.model.layers import FAILURE_KINDS, Element
from controller.model.synthetic import synthetic_topology
from controller.model.topology import Topology

TOL = 1e-6
LARGE_MEMBERS = 5300


def all_pairs(topo: Topology) -> Demands:
    ends = {r: endpoint(topo, r) for r in sorted(topo.routers)}
    pairs = [(a, b) for a in ends for b in ends if a != b]
    return Demands(tuple(Demand(ends[a], ends[b], 0.01, CLASSES[i % len(CLASSES)])
                         for i, (a, b) in enumerate(pairs)))


def check(model: CapacityModel, got: dict[tuple[str, str], float],
          els: tuple[Element, ...]) -> None:
    """pyNTM's loads for a scenario equal the engine's (every interface pyNTM reports)."""
    state = model.single(els)
    loads = (model.L0 + model.delta(state, state.flows, {})).sum(0)
    net = model.net
    mine = {(net.links[arc // 2], net.routers[net.arc[arc][0]]): float(loads[arc])
            for arc in range(net.A)}
    bad = [k for k, v in got.items() if abs(mine.get(k, 0.0) - v) > TOL]
    if bad:
        raise SystemExit(f"pyNTM and ngk disagree on {els}: {bad[:3]}")


def compare(members: int, sample: int | None) -> dict[str, Any]:
    topo = synthetic_topology(members)
    demands = all_pairs(topo)
    els = elements(topo, FAILURE_KINDS)
    t0 = time.process_time()
    data = analyse(topo, demands, 1, FAILURE_KINDS)
    ngk = time.process_time() - t0
    scenarios: list[tuple[Element, ...]] = [()] + [(e,) for e in els]
    assert data["summary"]["scenarios"] == len(scenarios)
    t0 = time.process_time()
    peer = PyntmModel(topo, demands)
    build = time.process_time() - t0
    timed = scenarios if sample is None else \
        [()] + random.Random(1).sample(scenarios[1:], min(sample, len(els)))
    model = CapacityModel(topo, demands)
    spent = 0.0
    for sc in timed:
        t0 = time.process_time()
        got = peer.loads(sc)
        spent += time.process_time() - t0
        check(model, got, sc)
    per = spent / len(timed)
    pyntm = build + per * len(scenarios)
    return {"members": members, "routers": len(topo.routers), "links": len(topo.links),
            "demands": len(demands.demands), "scenarios": len(scenarios), "ngk_s": ngk,
            "pyntm_build_s": build, "pyntm_per_scenario_s": per, "pyntm_timed": len(timed),
            "pyntm_s": pyntm, "ratio": pyntm / ngk}


def large() -> None:
    topo = synthetic_topology(LARGE_MEMBERS)
    demands = gravity(topo)
    n = len(elements(topo, ("span",)))
    print(f"\nngk alone, depth 2 (every pair of spans) on the {LARGE_MEMBERS}-member synthetic "
          f"model: {len(topo.routers)} routers, {len(topo.links)} links, {n} spans, "
          f"{len(demands.demands)} gravity demands", flush=True)
    for depth in (1, 2):
        t0 = time.process_time()
        data = analyse(topo, demands, depth, ("span",))
        took = time.process_time() - t0
        print(f"  depth {depth}: {data['summary']['scenarios']:,} scenarios in {took:.1f} s CPU",
              flush=True)
    print(f"  peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--members", type=int, nargs="+", default=[105, 180])
    ap.add_argument("--sample", type=int, default=8, help="pyNTM scenarios to time")
    ap.add_argument("--all", action="store_true", help="time pyNTM on every scenario")
    ap.add_argument("--large", action="store_true", help="also depth 2 on 5,300 members")
    args = ap.parse_args()
    print("every single failure (all kinds), all-pairs router demands; pyNTM checked equal "
          "to ngk on each timed scenario")
    for members in args.members:
        r = compare(members, None if args.all else args.sample)
        how = "measured" if args.all else \
            f"{r['pyntm_timed']} scenarios timed, total extrapolated"
        print(f"\n{r['routers']} routers, {r['links']} links, {r['demands']:,} demands, "
              f"{r['scenarios']} scenarios (synthetic, {members} members)\n"
              f"  ngk   {r['ngk_s']:9.1f} s CPU  ({1000 * r['ngk_s'] / r['scenarios']:.1f} ms a "
              f"scenario, everything included)\n"
              f"  pyNTM {r['pyntm_s']:9.1f} s CPU  (build {r['pyntm_build_s']:.1f} s + "
              f"{r['pyntm_per_scenario_s']:.2f} s a scenario; {how})\n"
              f"  ratio {r['ratio']:9.0f}x  (target >= 100x)", flush=True)
    if args.large:
        large()


if __name__ == "__main__":
    main()
