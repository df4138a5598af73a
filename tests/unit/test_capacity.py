"""Capacity under failure against an independent brute force (copy, remove, re-route every
demand with ECMP) and against pyNTM, on the reference topology, Topology Zoo and random graphs."""
from __future__ import annotations

import random
from itertools import combinations
from pathlib import Path

import networkx as nx
import pytest

from controller.analysis.capacity import CapacityModel, analyse
from controller.model.topology import STUB_COST as CE_COST
from controller.analysis.capacity_pyntm import PyntmModel  # pyNTM: scripts/bootstrap --test
from controller.analysis.failures import elements
from controller.model.demands import CLASSES, Demand, Demands, endpoint, gravity
from controller.model.importer import import_graphml, write_topology_yaml
from controller.model.layers import FAILURE_KINDS, Element, outage
from controller.model.load import load_topology
from controller.model.topology import Topology

DATA = Path(__file__).resolve().parents[1] / "data" / "zoo"
TOL = 1e-6


# --- the independent brute force ----------------------------------------------------------
def brute(topo: Topology, demands: Demands, els) -> tuple[dict, list[bool]]:
    """(link id, sending router) -> per-class Gbps, and whether each demand is routed."""
    down = outage(topo, list(els))
    g = nx.MultiDiGraph()
    g.add_nodes_from(r for r in topo.routers if r not in down.routers)
    for link in topo.links.values():
        if link.id in down.links:
            continue
        for u, v in ((link.a.router, link.b.router), (link.b.router, link.a.router)):
            cost = CE_COST if topo.routers[u].role == "ce" else link.metric
            g.add_edge(u, v, key=link.id, cost=cost)
    rev = g.reverse(copy=True)
    loads: dict[tuple[str, str], list[float]] = {}
    routed = []
    dists: dict[tuple[str, ...], dict[str, float]] = {}
    for d in demands.demands:
        dst = tuple(r for r in d.dst.routers if r in g)
        if dst not in dists:
            dists[dst] = nx.multi_source_dijkstra_path_length(rev, set(dst), weight="cost") \
                if dst else {}
        dist = dists[dst]
        srcs = [s for s in d.src.routers if s in dist]
        routed.append(bool(srcs))
        if not srcs:
            continue
        best = min(dist[s] for s in srcs)
        flow = {s: d.gbps / sum(dist[x] == best for x in srcs) for s in srcs if dist[s] == best}
        for u in sorted(dist, key=lambda x: -dist[x]):
            if u not in flow or dist[u] == 0:
                continue
            hops = [(v, k) for _, v, k, c in g.out_edges(u, keys=True, data="cost")
                    if v in dist and dist[v] + c == dist[u]]
            for v, k in hops:
                loads.setdefault((k, u), [0.0] * len(CLASSES))[CLASSES.index(d.cls)] += \
                    flow[u] / len(hops)
                flow[v] = flow.get(v, 0.0) + flow[u] / len(hops)
    return loads, routed


def engine(model: CapacityModel, els) -> tuple[dict, list[bool]]:
    """The same figures from the incremental engine (intact flows + the scenario's changes)."""
    state = model.single(tuple(els))
    loads = model.L0 + model.delta(state, state.flows, {})
    net, out = model.net, {}
    for arc, (u, _, _) in enumerate(net.arc):
        out[(net.links[arc // 2], net.routers[u])] = list(loads[:, arc])
    flows = [state.flows.get(r, model.flows[r]) for r in range(len(model.flows))]
    return out, [flows[r].routed for r in model.demand_route]


def same_loads(a: dict, b: dict) -> bool:
    keys = set(a) | set(b)
    zero = [0.0] * len(CLASSES)
    return all(abs(x - y) <= TOL for k in keys for x, y in zip(a.get(k, zero), b.get(k, zero)))


# --- topologies and demands ----------------------------------------------------------------
def reference() -> tuple[Topology, Demands]:
    topo = load_topology()
    extra = [Demand(endpoint(topo, a), endpoint(topo, b), g, c) for a, b, g, c in (
        ("hauk", "osl", 4.0, "clinical"), ("amk-ce1", "service:amk-video", 0.8, "priority"),
        ("krs-ce1", "trd-cr2", 3.0, "best-effort"), ("site:trd", "unn", 6.0, "clinical"),
        ("service:e-resept", "ahus", 2.0, "priority"))]
    return topo, Demands(gravity(topo, gbps_per_size=6.0).demands + tuple(extra), 0.2)


def zoo(tmp_path: Path, name: str, seed: int = 3) -> Topology:
    doc, _ = import_graphml(DATA / f"{name}.graphml")
    rng = random.Random(seed)
    for r in doc["routers"]:
        if rng.random() < 0.25:
            r["role"] = "ce"
    for link in doc["links"]:
        link["metric"] = rng.choice((10, 10, 20, 30))
        link["capacity_gbps"] = rng.choice((10, 40, 100))
    for i in range(3):
        for span in rng.sample(doc["spans"], 3):
            span["srlgs"] = [*span.get("srlgs", []), f"srlg{i}"]
    path = tmp_path / f"{name}.yaml"
    write_topology_yaml(doc, path)
    return load_topology(path)


def random_topology(tmp_path: Path, seed: int, n: int = 14) -> Topology:
    """A random connected graph with small metrics (many ECMP ties), parallel links, CEs."""
    rng = random.Random(seed)
    g = nx.connected_watts_strogatz_graph(n, 4, 0.3, seed=seed)
    edges = list(g.edges) + [rng.choice(list(g.edges)) for _ in range(3)]
    sites = [{"id": f"s{i}", "name": f"S{i}", "kind": "pop"} for i in range(n)]
    routers = [{"id": f"r{i}", "site": f"s{i}", "role": "ce" if i % 5 == 4 else "core"}
               for i in range(n)]
    ports = [0] * n
    links = []
    for k, (a, b) in enumerate(edges):
        ports[a] += 1
        ports[b] += 1
        links.append({"id": f"l{k}", "a": {"router": f"r{a}", "interface": f"eth{ports[a]}"},
                      "b": {"router": f"r{b}", "interface": f"eth{ports[b]}"},
                      "metric": rng.choice((1, 1, 2, 3)), "km": 10,
                      "capacity_gbps": rng.choice((10, 20))})
    doc = {"name": f"random{seed}", "sites": sites,
           "addressing": {"p2p": "10.0.0.0/16", "loopbacks": "10.255.0.0/24",
                          "mgmt": "172.31.0.0/24"},
           "optical_nodes": [{"id": f"s{i}", "site": f"s{i}"} for i in range(n)],
           "spans": [], "routers": routers, "links": links}
    path = tmp_path / f"random{seed}.yaml"
    write_topology_yaml(doc, path)
    return load_topology(path)


def router_demands(topo: Topology, count: int, seed: int, share: float = 0.3) -> Demands:
    rng = random.Random(seed)
    routers = sorted(topo.routers)
    sites = sorted(s for s in topo.sites if topo.routers_at(s))
    out = []
    for _ in range(count):
        a, b = rng.sample(routers, 2) if rng.random() < 0.7 else rng.sample(sites, 2)
        if set(endpoint(topo, a).routers) & set(endpoint(topo, b).routers):
            continue
        out.append(Demand(endpoint(topo, a), endpoint(topo, b), rng.uniform(0.5, 6.0),
                          rng.choice(CLASSES)))
    return Demands(tuple(out), share)


def cases(tmp_path: Path) -> list[tuple[Topology, Demands]]:
    out = [reference()]
    for name, seed in (("Nordu2010", 1), ("Sunet", 2)):
        topo = zoo(tmp_path, name, seed)
        out.append((topo, router_demands(topo, 60, seed)))
    for seed in (4, 5, 6):
        topo = random_topology(tmp_path, seed)
        out.append((topo, router_demands(topo, 50, seed)))
    return out


# --- exactness -----------------------------------------------------------------------------
def test_intact_and_every_single_failure_match_brute_force(tmp_path: Path) -> None:
    for topo, demands in cases(tmp_path):
        model = CapacityModel(topo, demands)
        scenarios = [()] + [(el,) for el in elements(topo, FAILURE_KINDS)]
        for els in scenarios:
            want, got = brute(topo, demands, els), engine(model, els)
            assert same_loads(want[0], got[0]), (topo.name, els)
            assert want[1] == got[1], (topo.name, els)


def test_pairs_on_top_of_a_failure_match_brute_force(tmp_path: Path) -> None:
    """The chained repair (second failure on the first one's state) is exact too."""
    topo = random_topology(tmp_path, 7)
    demands = router_demands(topo, 40, 7)
    model = CapacityModel(topo, demands)
    els = elements(topo, ("link", "router"))
    for a, b in combinations(els, 2):
        first = model.single((a,))
        down = model.net.down((a, b))
        new = model.net.down((b,))
        routes = model.affected(down.keys)
        state = model.apply(first, down, new, routes)
        loads = model.L0 + model.delta(state, state.flows, {})
        got = {(model.net.links[i // 2], model.net.routers[model.net.arc[i][0]]): list(loads[:, i])
               for i in range(model.net.A)}
        assert same_loads(brute(topo, demands, (a, b))[0], got), (a, b)


def brute_report(topo: Topology, demands: Demands, depth: int, kinds) -> dict:
    """The aggregate figures of `ngk capacity`, by re-routing everything per scenario."""
    els = elements(topo, kinds)
    scenarios = [()] + ([(e,) for e in els] if depth else []) + \
        (list(combinations(els, 2)) if depth == 2 else [])
    cap = {(lk.id, r): lk.capacity_gbps for lk in topo.links.values()
           for r in (lk.a.router, lk.b.router)}
    worst = {k: 0.0 for k in cap}
    cls = {k: [0.0] * len(CLASSES) for k in cap}
    routed = [True] * len(demands.demands)
    intact = brute(topo, demands, ())[1]
    cut = [False] * len(demands.demands)  # routed intact, lost in a scenario with both ends up
    congested = prio = 0
    unrouted = cut_off = 0.0
    for sc in scenarios:
        loads, ok = brute(topo, demands, sc)
        dead = outage(topo, list(sc)).routers
        now = [i0 and not o and any(r not in dead for r in d.src.routers)
               and any(r not in dead for r in d.dst.routers)
               for d, o, i0 in zip(demands.demands, ok, intact)]
        cut = [a or b for a, b in zip(cut, now)]
        cut_off = max(cut_off, sum(d.gbps for d, c in zip(demands.demands, now) if c))
        over = at_risk = False
        for k, v in loads.items():
            worst[k] = max(worst[k], sum(v))
            cls[k] = [max(x, y) for x, y in zip(cls[k], v)]
            over |= sum(v) > cap[k] * (1 + 1e-9)
            at_risk |= v[CLASSES.index("priority")] > cap[k] * demands.priority_share * (1 + 1e-9)
        congested += over
        prio += at_risk
        routed = [a and b for a, b in zip(routed, ok)]
        unrouted = max(unrouted, sum(d.gbps for d, o in zip(demands.demands, ok) if not o))
    return {"worst": worst, "cls": cls, "routed": routed, "congested": congested, "prio": prio,
            "unrouted": unrouted, "scenarios": len(scenarios), "cut": cut, "cut_off": cut_off}


def check_report(topo: Topology, demands: Demands, depth: int, kinds) -> None:
    got = analyse(topo, demands, depth, kinds)
    want = brute_report(topo, demands, depth, kinds)
    summary = got["summary"]
    assert summary["scenarios"] == want["scenarios"]
    assert summary["congested_scenarios"] == want["congested"]
    assert summary["priority_at_risk_scenarios"] == want["prio"]
    assert summary["unrouted_gbps"] == pytest.approx(want["unrouted"], abs=TOL)
    for link in got["links"]:
        ends = [k for k in want["worst"] if k[0] == link["id"]]
        assert link["worst_utilisation"] * link["capacity_gbps"] == \
            pytest.approx(max(want["worst"][k] for k in ends), abs=TOL), link["id"]
        for c, k in enumerate(CLASSES):
            assert link["by_class"][k] == pytest.approx(max(want["cls"][e][c] for e in ends),
                                                        abs=TOL)
        # the worst failure named really gives the worst load
        els = tuple(elements(topo, FAILURE_KINDS)[0].__class__(f["kind"], f["id"])
                    for f in link["worst_failure"])
        loads, _ = brute(topo, demands, els)
        assert max(sum(loads.get(e, [0.0])) for e in ends) == \
            pytest.approx(link["worst_utilisation"] * link["capacity_gbps"], abs=TOL)
    assert summary["cut_off_gbps"] == pytest.approx(want["cut_off"], abs=TOL)
    for i, (d, ok, cut) in enumerate(zip(got["demands"], want["routed"], want["cut"])):
        assert d["routed_gbps"] == pytest.approx(d["gbps"] if ok else 0.0)
        assert bool(d["cut_off_failure"]) == cut
        if cut:  # the scenario named cuts it off with both of its ends up
            els = [Element(f["kind"], f["id"]) for f in d["cut_off_failure"]]
            dead = outage(topo, els).routers
            assert not brute(topo, demands, els)[1][i]
            ends = demands.demands[i]
            assert set(ends.src.routers) - dead and set(ends.dst.routers) - dead
    assert summary["max_utilisation"] == pytest.approx(
        max(want["worst"][k] / cap for k, cap in
            {(lk.id, r): lk.capacity_gbps for lk in topo.links.values()
             for r in (lk.a.router, lk.b.router)}.items()), abs=TOL)


@pytest.mark.parametrize("depth", [0, 1, 2])
def test_report_matches_brute_force_on_the_reference(depth: int) -> None:
    topo, demands = reference()
    check_report(topo, demands, depth, ("span", "srlg", "site", "router"))


@pytest.mark.parametrize("seed", [11, 12])
def test_depth2_report_matches_brute_force_on_random_graphs(tmp_path: Path, seed: int) -> None:
    topo = random_topology(tmp_path, seed, n=10)
    demands = router_demands(topo, 30, seed, share=0.05)
    check_report(topo, demands, 2, ("link", "router", "site"))


def test_depth2_report_matches_brute_force_on_zoo(tmp_path: Path) -> None:
    topo = zoo(tmp_path, "Nordu2010", 5)
    check_report(topo, router_demands(topo, 40, 5, share=0.05), 2, ("span", "srlg", "router"))


# --- pyNTM as a second oracle --------------------------------------------------------------
@pytest.mark.parametrize("which", ["reference", "Sunet"])
def test_intact_and_single_failures_match_pyntm(tmp_path: Path, which: str) -> None:
    if which == "reference":
        topo = load_topology()
        demands = router_demands(topo, 40, 9)
    else:
        topo = zoo(tmp_path, "Sunet", 8)
        demands = router_demands(topo, 40, 8)
    demands = Demands(tuple(d for d in demands.demands if d.src.kind == d.dst.kind == "router"))
    model, peer = CapacityModel(topo, demands), PyntmModel(topo, demands)
    intact = peer.loads()
    for els in [()] + [(el,) for el in elements(topo, ("span", "link", "router"))]:
        got, _ = engine(model, els)
        for key, gbps in peer.loads(els).items():
            assert sum(got.get(key, [0.0])) == pytest.approx(gbps, abs=TOL), (els, key)
    assert peer.loads() == intact  # the pyNTM model is restored after each scenario


# --- routing policy ------------------------------------------------------------------------
def test_members_carry_no_transit_when_osl_brg_is_cut() -> None:
    """Haukeland -> Oslo after osl-brg is cut goes round the core, never through Kristiansand."""
    topo = load_topology()
    demands = Demands((Demand(endpoint(topo, "hauk"), endpoint(topo, "osl"), 1.0, "clinical"),))
    loads, ok = engine(CapacityModel(topo, demands),
                       (elements(topo, ("span",))[0].__class__("span", "osl-brg"),))
    assert ok == [True]
    used = {lid for (lid, _), v in loads.items() if sum(v) > 0}
    assert not used & {"krs-1", "krs-2", "ahus-1", "ahus-2"}
    assert "brg-aal" in used


def test_a_member_is_transit_only_when_nothing_else_is_left(tmp_path: Path) -> None:
    topo = random_topology(tmp_path, 4)
    ce = next(r for r in sorted(topo.routers) if topo.routers[r].role == "ce")
    for link in topo.router_links(ce):
        assert link.metric < CE_COST
    model = CapacityModel(topo, router_demands(topo, 30, 4))
    for arc, (u, _, cost) in enumerate(model.net.arc):
        assert (cost == CE_COST) == (model.net.routers[u] == ce or
                                     topo.routers[model.net.routers[u]].role == "ce")
