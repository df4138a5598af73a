"""IGP metric changes instead of hardware (`ngk capacity plan`'s `metrics`): plans worked out by
hand, found plans re-checked by the brute force of test_capacity, and the linear program's
verdict ("no routing at all fits") against networkx's maximum flow."""
from __future__ import annotations

import random
from pathlib import Path

import networkx as nx
import pytest
import yaml
from test_capacity import brute_report, random_topology

from controller.analysis.capacity import CapacityModel
from controller.analysis.capacity_bound import routable
from controller.analysis.capacity_metrics import metric_plan, with_metrics
from controller.analysis.capacity_plan import plan
from controller.analysis.failures import elements
from controller.model.demands import CLASSES, Demand, Demands, endpoint, load_demands
from controller.model.importer import write_topology_yaml
from controller.model.load import load_topology
from controller.model.topology import Topology

DATA = Path(__file__).parent / "data" / "capacity"


def load(name: str) -> tuple[Topology, Demands]:
    topo = load_topology(DATA / f"{name}.yaml")
    return topo, load_demands(DATA / f"{name}-demands.yaml", topo)


def test_square_three_equal_paths_instead_of_four_circuits() -> None:
    """9 Gbps a -> d over a-b-d and a-c-d: a link failure puts all 9 on the other path (90 %).
    a-d at metric 20 (= the two-hop paths) splits it three ways: 3 Gbps each intact, 4.5 under
    any single link failure (45 %); the hardware plan instead adds a circuit on four links."""
    topo, demands = load("square")
    got = metric_plan(topo, demands, 0.8, ["link"])
    assert got["status"] == "found"
    assert got["changes"] == [{"id": "ad", "metric": 30, "new_metric": 20}]
    assert got["max_utilisation_after"] == pytest.approx(0.45)
    assert got["impossible_failure"] is None
    hardware = plan(topo, demands, 0.8, ["link"])
    assert sorted(u["id"] for u in hardware["upgrades"]) == ["ab", "ac", "bd", "cd"]


def test_triangle_no_routing_fits_when_ab_fails() -> None:
    """With ab down, a -> b's 2 Gbps of priority traffic can only go a-c-b, and a-c's priority
    share is 0.3 x 5 = 1.5 Gbps: no metrics (no routing at all) keep it within its share."""
    topo, demands = load("triangle")
    got = metric_plan(topo, demands, 0.8, ["link"])
    assert got["status"] == "impossible"
    assert got["impossible_failure"] == [{"kind": "link", "id": "ab"}]
    assert got["changes"] == []


def two_paths(tmp_path: Path) -> Topology:
    """a-b-d (10 Gbps) and a-c-d (5 Gbps), metric 10 each."""
    links = [("ab", "a", "b", 10), ("bd", "b", "d", 10), ("ac", "a", "c", 5), ("cd", "c", "d", 5)]
    ports: dict[str, int] = {}

    def end(r: str) -> dict[str, str]:
        ports[r] = ports.get(r, 0) + 1
        return {"router": r, "interface": f"eth{ports[r]}"}

    doc = {"name": "two-paths", "sites": [{"id": f"s{r}", "name": r, "kind": "pop"}
                                          for r in "abcd"],
           "addressing": {"p2p": "10.0.0.0/16", "loopbacks": "10.255.0.0/24",
                          "mgmt": "172.31.0.0/24"},
           "optical_nodes": [{"id": f"s{r}", "site": f"s{r}"} for r in "abcd"], "spans": [],
           "routers": [{"id": r, "site": f"s{r}", "role": "core"} for r in "abcd"],
           "links": [{"id": i, "a": end(a), "b": end(b), "metric": 10, "km": 10,
                      "capacity_gbps": c} for i, a, b, c in links]}
    write_topology_yaml(doc, tmp_path / "two-paths.yaml")
    return load_topology(tmp_path / "two-paths.yaml")


def test_an_unequal_split_is_not_found_and_not_called_impossible(tmp_path: Path) -> None:
    """11 Gbps a -> d fit at 80 % only split 8:3 or so between the 10 and 5 Gbps paths (the
    linear program finds that routing), but OSPF sends all of it one way (11 > 8 or > 4) or
    half each way (5.5 > 4): the search finds nothing, and says so without claiming a proof."""
    topo = two_paths(tmp_path)
    demands = Demands((Demand(endpoint(topo, "a"), endpoint(topo, "d"), 11.0, "best-effort"),))
    got = metric_plan(topo, demands, 0.8, ["srlg"])  # no SRLGs: the intact network only
    assert got["status"] == "not-found" and got["stopped"] == "local-minimum"
    assert got["impossible_failure"] is None
    assert got["evaluations"] > 1
    capped = metric_plan(topo, demands, 0.8, ["srlg"], max_evaluations=3)
    assert capped["stopped"] == "max-evaluations" and capped["evaluations"] == 3
    assert metric_plan(topo, demands, 0.7, ["srlg"])["status"] == "impossible"  # 11 > 7 + 3.5


def test_every_found_plan_meets_the_limits_by_brute_force(tmp_path: Path) -> None:
    """On random graphs with more traffic than they carry at 60 %: each plan the search calls
    found is re-routed from scratch (brute force) with its metrics, intact and under every single
    link failure, and stays within the threshold and the priority share."""
    statuses = []
    for seed in range(4, 12):
        topo = random_topology(tmp_path, seed, n=10)
        rng = random.Random(seed)
        core = sorted(r for r, x in topo.routers.items() if not x.stub)
        demands = Demands(tuple(
            Demand(endpoint(topo, a), endpoint(topo, b), rng.uniform(0.5, 3.0),
                   rng.choice(CLASSES)) for a, b in (rng.sample(core, 2) for _ in range(12))),
            0.5)
        got = metric_plan(topo, demands, 0.6, ["link"], max_changes=4)
        statuses.append(got["status"])
        if got["status"] != "found":
            continue
        new = with_metrics(topo, {c["id"]: c["new_metric"] for c in got["changes"]})
        want = brute_report(new, demands, 1, ["link"])
        cap = {(lk.id, r): lk.capacity_gbps for lk in new.links.values()
               for r in (lk.a.router, lk.b.router)}
        assert max(w / cap[k] for k, w in want["worst"].items()) <= 0.6 + 1e-9, seed
        assert max(c[0] / cap[k] for k, c in want["cls"].items()) <= 0.5 + 1e-9, seed
        assert max(w / cap[k] for k, w in want["worst"].items()) == \
            pytest.approx(got["max_utilisation_after"], abs=1e-6)
    assert "found" in statuses and len(set(statuses)) > 1, statuses


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("cls", ["best-effort", "priority"])
def test_linear_program_agrees_with_max_flow(tmp_path: Path, seed: int, cls: str) -> None:
    """One destination and one class: some routing fits iff the maximum flow from the sources'
    demands to it, on capacities x threshold (x the share for priority), carries all of it."""
    topo = random_topology(tmp_path, seed, n=12)
    rng = random.Random(seed)
    routers = sorted(topo.routers)
    dst = routers[0]
    sources = rng.sample(routers[1:], 5)
    scale = rng.uniform(2, 12)
    demands = Demands(tuple(Demand(endpoint(topo, s), endpoint(topo, dst),
                                   rng.uniform(0.2, 1.0) * scale, cls) for s in sources), 0.4)
    m = CapacityModel(topo, demands)
    limit = 0.7 * (0.4 / 0.7 if cls == "priority" else 1.0)
    verdicts = []
    for els in [[]] + [[el] for el in elements(topo, ["link", "router"])]:
        down = m.net.down(els)
        g = nx.DiGraph()
        for a in range(m.net.A):
            u, w, _ = m.net.arc[a]
            if a in down.arcs or u in down.dead or w in down.dead:
                continue
            g.add_edge(u, w)
            g[u][w]["capacity"] = g[u][w].get("capacity", 0.0) + m.net.cap[a] * limit
        need = 0.0
        for d in demands.demands:
            s, t = m.net.index[d.src.id], m.net.index[dst]
            if s in g and t in g and nx.has_path(g, s, t):
                g.add_edge("src", s, capacity=g.get_edge_data("src", s, {}).get(
                    "capacity", 0.0) + d.gbps)
                need += d.gbps
        flow = nx.maximum_flow_value(g, "src", m.net.index[dst]) if need else 0.0
        fits = flow >= need - 1e-6
        if abs(flow - need) > 1e-3 or fits:  # skip knife-edge cases
            assert routable(m, down, 0.7) == fits, els
            verdicts.append(fits)
    assert len(verdicts) > 5


@pytest.mark.parametrize("budget_ms, status", [(50.0, "found"), (5.0, "not-found")])
def test_metrics_never_break_a_latency_budget(tmp_path: Path, budget_ms: float,
                                              status: str) -> None:
    """The square with a and d as datacentres and the direct a-d link 2,000 km long (10.05 ms;
    the two-hop paths 1.1 ms): a-d at metric 20 puts the a-d pair on it too. Under a 50 ms
    budget the plan is found and reports the pair's slower path; under 5 ms that move, and
    any other that breaks the budget, is rejected and nothing is found."""
    doc = yaml.safe_load((DATA / "square.yaml").read_text())
    for site in doc["sites"]:
        if site["id"] in ("sa", "sd"):
            site["kind"] = "datacentre"
    for link in doc["links"]:
        if link["id"] == "ad":
            link["km"] = 2000
    doc["services"] = [{"id": "records", "datacentres": ["sa", "sd"],
                        "latency_budget_ms": budget_ms}]
    path = tmp_path / "square-dc.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    topo = load_topology(path)
    demands = load_demands(DATA / "square-demands.yaml", topo)
    got = metric_plan(topo, demands, 0.8, ["link"])
    assert got["status"] == status
    if status == "found":
        assert got["changes"] == [{"id": "ad", "metric": 30, "new_metric": 20}]
        assert got["latency"] == [{"src_router": "a", "dst_router": "d", "before_ms": 1.1,
                                   "after_ms": 10.05, "budget_ms": 50.0}]
    else:
        assert got["rejected_for_latency"] > 0
        assert all(p["after_ms"] <= 5.0 for p in got["latency"])  # the closest changes too
