"""Failure sweeps against brute force (remove, components, Dijkstra) on real and random graphs."""
from __future__ import annotations

import random
from itertools import combinations
from pathlib import Path

import networkx as nx
import pytest

from controller.errors import InputError
from controller.analysis.failures import FailureAnalysis, sweep
from controller.model.importer import import_graphml, write_topology_yaml
from controller.model.layers import Element, outage, site_graph
from controller.model.load import load_topology
from controller.model.synthetic import synthetic_topology
from controller.model.topology import Topology

ZOO = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "topologyzoo"


# --- topologies ----------------------------------------------------------------------------
def zoo(tmp_path: Path, name: str, dcs: int = 3, srlgs: int = 4, seed: int = 7) -> Topology:
    """A Zoo graph via the importer, with a few datacentres and random SRLGs added."""
    doc, _ = import_graphml(ZOO / f"{name}.graphml")
    rng = random.Random(seed)
    for site in rng.sample(doc["sites"], dcs):
        site["kind"] = "datacentre"
    for i in range(srlgs):
        for span in rng.sample(doc["spans"], 3):
            span["srlgs"] = [*span.get("srlgs", []), f"srlg{i}"]
    path = tmp_path / f"{name}.yaml"
    write_topology_yaml(doc, path)
    return load_topology(path)


def planted(tmp_path: Path, seed: int) -> Topology:
    """Random blobs tied by bridges, 2-edge cuts and parallel links; some links ride two spans."""
    rng = random.Random(seed)
    nodes = [f"n{i}" for i in range(24)]
    blobs = [nodes[i:i + 6] for i in range(0, 24, 6)]
    edges = []
    for blob in blobs:
        for a, b in zip(blob, blob[1:]):
            edges.append((a, b))
        edges.extend(tuple(rng.sample(blob, 2)) for _ in range(3))
    edges.append((rng.choice(blobs[0]), rng.choice(blobs[1])))  # bridge
    edges += [(rng.choice(blobs[1]), rng.choice(blobs[2])) for _ in range(2)]  # 2-edge cut
    edges += [(rng.choice(blobs[2]), rng.choice(blobs[3]))] * 2  # parallel pair
    edges.append((nodes[-1], "leaf"))  # pendant member
    kinds = {n: "pop" for n in nodes} | {"leaf": "member", nodes[0]: "datacentre",
                                         nodes[9]: "datacentre", nodes[20]: "datacentre"}
    for n in rng.sample(nodes[1:], 6):
        if kinds[n] == "pop":
            kinds[n] = "member"
    doc = {"name": f"planted{seed}", "addressing": {"p2p": "10.0.0.0/16",
           "loopbacks": "10.255.0.0/16", "mgmt": "172.16.0.0/16"},
           "sites": [{"id": n, "name": n.upper(), "kind": k} for n, k in kinds.items()],
           "optical_nodes": [{"id": n, "site": n} for n in kinds] + [{"id": "hut", "kind": "ila"}],
           "spans": [], "routers": [{"id": f"{n}-r", "site": n} for n in kinds], "links": []}
    ports = {n: 0 for n in kinds}

    def link(i: int, a: str, b: str, route: list[str]) -> None:
        ends = []
        for n in (a, b):
            ports[n] += 1
            ends.append({"router": f"{n}-r", "interface": f"eth{ports[n]}"})
        doc["links"].append({"id": f"l{i}", "a": ends[0], "b": ends[1], "route": route})

    for i, (a, b) in enumerate(edges):
        doc["spans"].append({"id": f"s{i}", "a": a, "b": b, "km": rng.randint(5, 300),
                             "srlgs": [f"g{rng.randint(0, 5)}"] if rng.random() < 0.3 else []})
        link(i, a, b, [f"s{i}"])
    a, b = rng.sample(nodes, 2)  # a wavelength through an amplifier hut
    doc["spans"] += [{"id": "h1", "a": a, "b": "hut", "km": 50}, {"id": "h2", "a": "hut", "b": b,
                                                                   "km": 60}]
    link(len(edges), a, b, ["h1", "h2"])
    path = tmp_path / f"planted{seed}.yaml"
    write_topology_yaml(doc, path)
    return load_topology(path)


def ring_of_equals(tmp_path: Path) -> Topology:
    """Two datacentres joined by two equal-latency paths and a slower third one."""
    via = {"a": 100, "b": 100, "c": 150}
    sites = ["dc1", "dc2", *via]
    doc = {"name": "equals", "addressing": {"p2p": "10.0.0.0/16", "loopbacks": "10.255.0.0/16",
                                            "mgmt": "172.16.0.0/16"},
           "sites": [{"id": s, "name": s, "kind": "datacentre" if s.startswith("dc") else "pop"}
                     for s in sites],
           "optical_nodes": [{"id": s, "site": s} for s in sites],
           "routers": [{"id": f"{s}-r", "site": s} for s in sites], "spans": [], "links": []}
    for mid, km in via.items():
        for dc in ("dc1", "dc2"):
            doc["spans"].append({"id": f"{dc}-{mid}", "a": dc, "b": mid, "km": km})
            doc["links"].append({"id": f"{dc}-{mid}", "route": [f"{dc}-{mid}"],
                                 "a": {"router": f"{dc}-r", "interface": f"e{mid}"},
                                 "b": {"router": f"{mid}-r", "interface": f"e{dc}"}})
    write_topology_yaml(doc, tmp_path / "equals.yaml")
    return load_topology(tmp_path / "equals.yaml")


# --- brute force -----------------------------------------------------------------------------
def brute(topo: Topology, base: nx.MultiGraph, elements: tuple[Element, ...]) -> dict:
    out = outage(topo, elements)
    g = nx.Graph()  # parallel links collapse to the fastest surviving one
    g.add_nodes_from(v for v in base.nodes if v not in out.sites)
    for u, v, k, ms in base.graph["edges"]:
        if k not in out.links and u not in out.sites and v not in out.sites:
            if not g.has_edge(u, v) or g[u][v]["latency_ms"] > ms:
                g.add_edge(u, v, latency_ms=ms)
    comp = {v: i for i, c in enumerate(nx.connected_components(base)) for v in c}
    after = {v: i for i, c in enumerate(nx.connected_components(g)) for v in c}
    alive: dict[int, int] = {}
    for v in g.nodes:
        alive[comp[v]] = alive.get(comp[v], 0) + 1
    parts = [len(c) for c in nx.connected_components(g)]
    lost = sum(n * (n - 1) // 2 for n in alive.values()) - sum(n * (n - 1) // 2 for n in parts)
    kind = {s: topo.sites[s].kind for s in g.nodes}
    dcs = sorted(s for s in g.nodes if kind[s] == "datacentre")
    reach = {after[d] for d in dcs}
    members = sorted(s for s in g.nodes if kind[s] == "member" and after[s] not in reach)
    cut, worst, survives = [], 0.0, False
    for a in dcs:
        d1 = nx.single_source_dijkstra_path_length(g, a, weight="latency_ms")
        for b in dcs:
            if a >= b or comp[a] != comp[b]:
                continue
            if after[a] != after[b]:
                cut.append([a, b])
                continue
            survives = True
            worst = max(worst, d1[b] - base.graph["d0"][a][b])
    return {"failed": [e.as_dict() for e in elements], "links_down": sorted(out.links),
            "disconnected_pairs": lost, "datacentre_pairs_disconnected": sorted(cut),
            "members_without_datacentre": members,
            "worst_dc_latency_increase_ms": round(worst, 6) if survives else None}


def base_graph(topo: Topology) -> nx.MultiGraph:
    base = site_graph(topo)
    base.graph["d0"] = dict(nx.all_pairs_dijkstra_path_length(base, weight="latency_ms"))
    base.graph["edges"] = [(u, v, k, d["latency_ms"])
                           for u, v, k, d in base.edges(keys=True, data=True)]
    return base


def brute_sweep(topo: Topology, depth: int, kinds: tuple[str, ...]) -> list[dict]:
    tables = {"span": topo.spans, "srlg": topo.srlgs(), "site": topo.sites,
              "router": topo.routers, "link": topo.links}
    elements = [Element(k, i) for k in kinds for i in sorted(tables[k])]
    base = base_graph(topo)
    scenarios = [(e,) for e in elements]
    if depth == 2:
        scenarios += list(combinations(elements, 2))
    return [brute(topo, base, s) for s in scenarios]


def same(ours: dict, ref: dict) -> bool:
    keys = [k for k in ref if k != "worst_dc_latency_increase_ms"]
    a, b = ours["worst_dc_latency_increase_ms"], ref["worst_dc_latency_increase_ms"]
    close = (a is None) == (b is None) and (a is None or abs(a - b) < 2e-6)
    return close and all(ours[k] == ref[k] for k in keys)


def check(topo: Topology, depth: int, kinds: tuple[str, ...]) -> None:
    ref = brute_sweep(topo, depth, kinds)
    full = sweep(topo, depth, kinds)
    assert len(full["scenarios"]) == len(ref) == full["summary"]["scenarios"]
    bad = [(o, r) for o, r in zip(full["scenarios"], ref) if not same(o, r)]
    assert not bad, bad[:3]
    intact = set(brute(topo, base_graph(topo), ())["members_without_datacentre"])
    impact = [r for r in ref if r["disconnected_pairs"]
              or set(r["members_without_datacentre"]) - intact
              or (r["worst_dc_latency_increase_ms"] or 0) > 1e-6]
    only = sweep(topo, depth, kinds, impact_only=True)
    assert [s["failed"] for s in only["scenarios"]] == [r["failed"] for r in impact]
    assert only["summary"] == full["summary"]
    disconnecting = [r for r in ref if r["disconnected_pairs"]
                     or set(r["members_without_datacentre"]) - intact]
    assert full["summary"]["disconnecting"] == len(disconnecting)


# --- tests -----------------------------------------------------------------------------------
@pytest.mark.parametrize("depth", [1, 2])
def test_reference_all_kinds(depth: int) -> None:
    check(load_topology(), depth, ("span", "srlg", "site", "router", "link"))


@pytest.mark.parametrize("name,kinds", [
    ("Uninett2011", ("span", "srlg")),
    ("Uninett2011", ("site",)),
    ("Sunet", ("span", "srlg", "site", "router")),
    ("Geant2012", ("span", "srlg", "site")),
])
def test_zoo_depth2(tmp_path: Path, name: str, kinds: tuple[str, ...]) -> None:
    check(zoo(tmp_path, name), 2, kinds)


def test_equal_cost_detours(tmp_path: Path) -> None:
    topo = ring_of_equals(tmp_path)
    check(topo, 2, ("span", "site"))
    out = sweep(topo, 2, ("span",), impact_only=True)
    stretched = {tuple(f["id"] for f in s["failed"]) for s in out["scenarios"]}
    assert ("dc1-a", "dc1-b") in stretched and ("dc1-a",) not in stretched


@pytest.mark.parametrize("seed", range(4))
def test_planted_cuts(tmp_path: Path, seed: int) -> None:
    check(planted(tmp_path, seed), 2, ("span", "srlg", "site", "link"))


@pytest.mark.parametrize("name", ["Uninett2011", "Geant2012", "Nordu2010"])
def test_spofs_are_bridges_and_articulation_points(tmp_path: Path, name: str) -> None:
    doc, _ = import_graphml(ZOO / f"{name}.graphml")
    for site in doc["sites"]:
        site["kind"] = "pop"
    write_topology_yaml(doc, tmp_path / "t.yaml")
    topo = load_topology(tmp_path / "t.yaml")
    simple = nx.Graph(site_graph(topo))
    bridges = {frozenset(e) for e in nx.bridges(simple)}
    single = {frozenset(topo.span_sites(s)) for s in topo.spans.values()}
    multi = [frozenset(topo.span_sites(s)) for s in topo.spans.values()]
    want_spans = sorted(s.id for s in topo.spans.values()
                        if frozenset(topo.span_sites(s)) in bridges
                        and multi.count(frozenset(topo.span_sites(s))) == 1)
    assert single  # the graph has spans at all
    spofs = sweep(topo, 1, ("span", "site"))["summary"]["single_points_of_failure"]
    assert sorted(s["id"] for s in spofs if s["kind"] == "span") == want_spans
    assert sorted(s["id"] for s in spofs if s["kind"] == "site") == \
        sorted(nx.articulation_points(simple))


def test_effect_matches_outage() -> None:
    topo = load_topology()
    fa = FailureAnalysis(topo)
    for el in fa.elements(("span", "srlg", "site", "router", "link")):
        assert fa.effect(el).links == outage(topo, [el]).links, el


def test_synthetic_members_cut_by_their_two_spans() -> None:
    topo = synthetic_topology(60, seed=3)
    out = sweep(topo, 2, ("span",), impact_only=True)
    cut = {frozenset(f["id"] for f in s["failed"]) for s in out["scenarios"]
           if s["members_without_datacentre"]}
    for m in topo.members():
        spans = frozenset(s.id for s in topo.spans.values() if m in topo.span_sites(s))
        assert len(spans) == 2 and spans in cut
    assert out["summary"]["single_points_of_failure"] == []


def test_bad_input() -> None:
    topo = load_topology()
    with pytest.raises(InputError):
        sweep(topo, 3)
    with pytest.raises(InputError):
        sweep(topo, 1, ("span", "duct"))
