"""Diverse paths: optimality checked against networkx min-cost flow and brute force."""
from __future__ import annotations

import ipaddress
import json
import random
from itertools import combinations
from pathlib import Path

import networkx as nx
import pytest
from typer.testing import CliRunner

from controller.errors import InputError
from controller.analysis.paths import PathFinder, best_path, diverse_pair
from controller.cli.main import app
from controller.model.layers import site_graph
from controller.model.load import load_topology
from controller.model.synthetic import synthetic_topology
from controller.model.topology import (
    Endpoint, IpLink, OpticalNode, Router, Site, Span, Topology)

DATASETS = Path(__file__).resolve().parents[3] / "shared/datasets"
ZOO = sorted((DATASETS / "topologyzoo").glob("*.graphml"))
ATTR = {"igp": "metric", "km": "km", "hops": "hops", "latency": "latency_ms"}


@pytest.fixture(scope="module")
def ref() -> Topology:
    return load_topology()


# --- building small topologies --------------------------------------------------------------
def build(links: list[tuple[str, str, int]], srlgs: dict[int, tuple[str, ...]] | None = None,
          kinds: dict[str, str] | None = None) -> Topology:
    """Sites joined by links (a, b, weight); link i rides its own span `s<i>` (km = weight,
    SRLGs srlgs[i]); the IGP metric is the weight too."""
    names = sorted({x for a, b, _ in links for x in (a, b)} | set(kinds or {}))
    ip = iter(ipaddress.IPv4Network("10.0.0.0/8").hosts())
    sites = {s: Site(s, f"Site {s}", (kinds or {}).get(s, "pop")) for s in names}
    onodes = {s: OpticalNode(s, s) for s in names}
    routers = {f"r-{s}": Router(f"r-{s}", s, "core", "frr", ipaddress.IPv4Interface(next(ip)),
                                ipaddress.IPv4Interface(next(ip))) for s in names}
    spans, out = {}, {}
    for i, (a, b, w) in enumerate(links):
        spans[f"s{i}"] = Span(f"s{i}", a, b, float(w), tuple((srlgs or {}).get(i, ())))
        ends = [Endpoint(f"r-{x}", f"e{i}", ipaddress.IPv4Interface(next(ip))) for x in (a, b)]
        out[f"l{i}"] = IpLink(f"l{i}", *ends, w, 10.0, (f"s{i}",), w * 0.005 + 0.05, float(w))
    return Topology("test", "test", sites, onodes, spans, routers, out, {})


def zoo_topology(path: Path, seed: int) -> Topology:
    g = nx.read_graphml(path)
    rng = random.Random(seed)
    return build([(f"n{u}", f"n{v}", rng.randint(1, 100)) for u, v in g.edges() if u != v])


def random_topology(seed: int, n: int = 12, m: int = 18, zero: bool = True) -> Topology:
    rng = random.Random(seed)
    g = nx.gnm_random_graph(n, m, seed=seed)
    edges = [(f"v{u}", f"v{v}", rng.randint(0 if zero else 1, 9)) for u, v in g.edges()]
    edges += [rng.choice(edges) for _ in range(2)]  # parallel links
    kinds = {f"v{i}": rng.choice(["datacentre", "pop", "member"]) for i in range(n)}
    return build(edges, kinds=kinds)


# --- independent references --------------------------------------------------------------------
def min_cost_flow(topo: Topology, src: str, dst: str, metric: str, node: bool,
                  penalty: float | None = None) -> float | None:
    """Cost of the cheapest 2 units of flow (None if infeasible). Each link is a gadget
    u,v -> e1 -> e2 -> u,v carrying 1 unit (2 with a `penalty` on the second); node=True splits
    every site but src and dst into in -> out of capacity 1."""
    g = site_graph(topo)
    d = nx.DiGraph()
    def vin(x):
        return (x, "in") if node and x not in (src, dst) else x
    def vout(x):
        return (x, "out") if node and x not in (src, dst) else x
    if node:
        for x in g.nodes:
            if x not in (src, dst):
                d.add_edge(vin(x), vout(x), capacity=1, weight=0)
    units = 1 if penalty is None else 2
    for u, v, k, data in g.edges(keys=True, data=True):
        w = data[ATTR[metric]]
        e1, e2 = ("e1", k), ("e2", k)
        for x in (u, v):
            d.add_edge(vout(x), e1, capacity=units, weight=w)
            d.add_edge(e2, vin(x), capacity=units, weight=0)
        d.add_edge(e1, e2, capacity=1, weight=0)
        if penalty is not None:  # a second unit through the link pays the penalty
            d.add_edge(e1, ("e3", k), capacity=1, weight=penalty)
            d.add_edge(("e3", k), e2, capacity=1, weight=0)
    d.add_node(src, demand=-2)
    d.add_node(dst, demand=2)
    try:
        return nx.network_simplex(d)[0]
    except nx.NetworkXUnfeasible:
        return None


def check_path(topo: Topology, p: dict, src: str, dst: str, metric: str) -> None:
    """The path is a simple src-dst walk over the named links, with consistent sums."""
    assert p["sites"][0] == src and p["sites"][-1] == dst
    assert len(set(p["sites"])) == len(p["sites"]) == len(p["links"]) + 1
    assert p["hops"] == len(p["links"])
    spans = []
    for a, b, k in zip(p["sites"], p["sites"][1:], p["links"]):
        ends = topo.link_sites(topo.links[k])
        assert {a, b} == set(ends)
        route = topo.links[k].route
        spans += route if ends[0] == a else route[::-1]
    assert p["spans"] == list(spans)
    links = [topo.links[k] for k in p["links"]]
    value = {"igp": sum(x.metric for x in links), "km": sum(x.km for x in links),
             "hops": len(links), "latency": sum(x.latency_ms for x in links)}[metric]
    assert p["cost"] == pytest.approx(value)
    assert p["latency_ms"] == pytest.approx(sum(x.latency_ms for x in links))


def check_flow_pair(topo: Topology, src: str, dst: str, diversity: str, metric: str,
                    finder: PathFinder | None = None) -> dict:
    r = (finder or PathFinder(topo, metric)).pair(src, dst, diversity)
    expected = min_cost_flow(topo, src, dst, metric, diversity == "node")
    for p in r["paths"]:
        check_path(topo, p, src, dst, metric)
    assert r["diverse"] == (expected is not None), (src, dst)
    if expected is not None:
        p, q = r["paths"]
        assert not set(p["links"]) & set(q["links"])
        if diversity == "node":
            assert not set(p["sites"][1:-1]) & set(q["sites"][1:-1])
        assert r["total"] == pytest.approx(expected), (src, dst)
        assert r["guarantee"] == "optimal" and r["reason"] is None
    return r


# --- link and node diversity -------------------------------------------------------------------
@pytest.mark.parametrize("diversity", ["link", "node"])
@pytest.mark.parametrize("metric", ["igp", "km", "hops"])
def test_reference_all_pairs_match_min_cost_flow(ref, diversity, metric):
    finder = PathFinder(ref, metric)
    for src, dst in combinations(sorted(site_graph(ref).nodes), 2):
        check_flow_pair(ref, src, dst, diversity, metric, finder)


@pytest.mark.parametrize("path", ZOO, ids=[p.stem for p in ZOO])
@pytest.mark.parametrize("diversity", ["link", "node"])
def test_topology_zoo_matches_min_cost_flow(path, diversity):
    topo = zoo_topology(path, seed=len(path.stem))
    finder = PathFinder(topo, "igp")
    sites = sorted(site_graph(topo).nodes)
    rng = random.Random(7)
    for _ in range(25):
        src, dst = rng.sample(sites, 2)
        check_flow_pair(topo, src, dst, diversity, "igp", finder)


@pytest.mark.parametrize("seed", range(20))
def test_random_graphs_match_min_cost_flow(seed):
    topo = random_topology(seed)  # zero weights, parallel links, degree-2 relays
    for diversity in ("link", "node"):
        finder = PathFinder(topo, "igp")
        for src, dst in combinations(sorted(site_graph(topo).nodes), 2):
            if nx.has_path(site_graph(topo), src, dst):
                check_flow_pair(topo, src, dst, diversity, "igp", finder)


@pytest.mark.parametrize("diversity", ["link", "node"])
def test_synthetic_members_to_datacentres_match_min_cost_flow(diversity):
    topo = synthetic_topology(20, seed=3)  # dual-homed members: the relay shortcuts are used
    finder = PathFinder(topo, "igp")  # integer weights: network_simplex is exact only for those
    for member in topo.members():
        for dc in topo.datacentres():
            r = check_flow_pair(topo, member, dc, diversity, "igp", finder)
            assert r["diverse"] or diversity == "node"  # every member is dual-homed


@pytest.mark.parametrize("seed", range(12))
def test_link_sharing_minimised_when_unavoidable(seed):
    topo = random_topology(seed, n=10, m=11, zero=False)  # sparse: bridges and single paths
    g = site_graph(topo)
    big = 10_000
    for src, dst in combinations(sorted(g.nodes), 2):
        if not nx.has_path(g, src, dst):
            continue
        r = diverse_pair(topo, src, dst, "link", "igp")
        for p in r["paths"]:
            check_path(topo, p, src, dst, "igp")
        expected = min_cost_flow(topo, src, dst, "igp", False, penalty=big)
        if len(r["paths"]) == 1:  # only one path: every unit of the flow follows it
            assert expected == pytest.approx(2 * r["total"] + big * r["paths"][0]["hops"])
            assert sum(1 for _ in nx.all_simple_edge_paths(g, src, dst)) == 1
            continue
        common = set(r["paths"][0]["links"]) & set(r["paths"][1]["links"])
        assert r["total"] + big * len(common) == pytest.approx(expected)
        assert r["diverse"] == (not common)


# --- SRLG diversity ------------------------------------------------------------------------------
def brute_force_srlg(topo: Topology, src: str, dst: str) -> tuple[int, float] | None:
    """(fewest shared spans + SRLGs, then least total igp) over all pairs of simple paths."""
    g = site_graph(topo)
    paths = []
    for edges in nx.all_simple_edge_paths(g, src, dst):
        links = [k for _, _, k in edges]
        spans = {s for k in links for s in topo.links[k].route}
        els = {("span", s) for s in spans} | {("srlg", x) for s in spans
                                               for x in topo.spans[s].srlgs}
        paths.append((els, sum(topo.links[k].metric for k in links)))
    pairs = [(len(a & b), ca + cb) for (a, ca), (b, cb) in combinations(paths, 2)]
    return min(pairs) if pairs else None


@pytest.mark.parametrize("seed", range(25))
def test_srlg_matches_brute_force(seed):
    rng = random.Random(seed)
    g = nx.gnm_random_graph(7, 11, seed=seed)
    links = [(f"v{u}", f"v{v}", rng.randint(1, 9)) for u, v in g.edges()]
    srlgs = {i: (rng.choice("ABCDE"),) for i in range(len(links)) if rng.random() < 0.5}
    topo = build(links, srlgs)
    sg = site_graph(topo)
    for src, dst in combinations(sorted(sg.nodes), 2):
        if not nx.has_path(sg, src, dst):
            continue
        r = diverse_pair(topo, src, dst, "srlg", "igp")
        for p in r["paths"]:
            check_path(topo, p, src, dst, "igp")
        expected = brute_force_srlg(topo, src, dst)
        if expected is None:
            assert len(r["paths"]) == 1
            continue
        shared = len(r["shared"]["spans"]) + len(r["shared"]["srlgs"])
        assert r["guarantee"] == "optimal"
        assert (shared, r["total"]) == (expected[0], pytest.approx(expected[1])), (src, dst)
        assert r["diverse"] == (expected[0] == 0)


def test_srlg_on_reference_matches_brute_force(ref):
    for src, dst in [("osl", "trd"), ("ahus", "trd"), ("hauk", "tos"), ("krs", "bod")]:
        r = diverse_pair(ref, src, dst, "srlg", "igp")
        expected = brute_force_srlg(ref, src, dst)
        shared = len(r["shared"]["spans"]) + len(r["shared"]["srlgs"])
        assert (shared, r["total"]) == (expected[0], pytest.approx(expected[1])), (src, dst)


# --- the reference traps and edge cases ---------------------------------------------------------
def test_oslo_trondheim_link_diverse_shows_the_shared_duct(ref):
    r = diverse_pair(ref, "Oslo", "Trondheim", "link", "latency")
    assert (r["src"], r["dst"]) == ("osl", "trd")
    assert sorted(p["links"][0] for p in r["paths"]) == ["osl-trd-1", "osl-trd-2"]
    assert r["diverse"] and r["shared"] == {"spans": [], "sites": [],
                                            "srlgs": ["duct-e6-gardermoen"]}
    s = diverse_pair(ref, "Oslo", "Trondheim", "srlg", "latency")
    assert s["diverse"] and s["shared"] == {"spans": [], "sites": [], "srlgs": []}
    assert s["total"] > r["total"]


@pytest.mark.parametrize("diversity", ["link", "node", "srlg"])
def test_single_homed_member_is_never_a_silent_single_path(ref, diversity):
    r = diverse_pair(ref, "amk-bod", "osl", diversity, "latency")
    assert len(r["paths"]) == 2 and not r["diverse"]
    assert "amk-bod" in r["shared"]["spans"] and "bod" in r["shared"]["sites"]
    assert r["reason"] and r["guarantee"] == "optimal"
    assert all(p["links"][0] == "amk-1" for p in r["paths"])


def test_disconnected_same_site_and_single_path():
    topo = build([("a", "b", 1), ("b", "c", 2), ("x", "y", 1)])
    r = diverse_pair(topo, "a", "x")
    assert r["paths"] == [] and r["total"] is None and "no path" in r["reason"]
    assert diverse_pair(topo, "a", "a")["paths"] == []
    r = diverse_pair(topo, "a", "c", "node", "igp")
    assert [p["sites"] for p in r["paths"]] == [["a", "b", "c"]] and "only one path" in r["reason"]
    assert r["total"] == 3 and not r["diverse"]


def test_unknown_site_and_bad_options(ref):
    with pytest.raises(InputError, match="unknown site 'Atlantis'"):
        diverse_pair(ref, "Atlantis", "osl")
    with pytest.raises(InputError, match="unknown diversity"):
        diverse_pair(ref, "osl", "trd", "duct")
    with pytest.raises(InputError, match="unknown metric"):
        diverse_pair(ref, "osl", "trd", "link", "miles")


@pytest.mark.parametrize("metric", ["igp", "km", "hops", "latency"])
def test_best_path_matches_dijkstra(ref, metric):
    g = site_graph(ref)
    for src, dst in combinations(sorted(g.nodes), 2):
        p = best_path(ref, g, src, dst, metric)
        check_path(ref, p, src, dst, metric)
        assert p["cost"] == pytest.approx(nx.dijkstra_path_length(g, src, dst, ATTR[metric]))
    g.remove_node("bod")
    assert best_path(ref, g, "amk-bod", "osl", metric) is None


def test_cli_json_contract_and_text(ref):
    runner = CliRunner()
    out = runner.invoke(app, ["paths", "Oslo", "Trondheim", "--json"])
    assert out.exit_code == 0
    data = json.loads(out.stdout)
    assert list(data) == ["src", "dst", "diversity", "metric", "paths", "total", "diverse",
                          "shared", "method", "guarantee", "reason"]
    assert list(data["paths"][0]) == ["sites", "links", "spans", "hops", "km", "latency_ms", "cost"]
    assert data == diverse_pair(ref, "osl", "trd")
    text = runner.invoke(app, ["paths", "amk-bod", "osl", "--diverse", "node"],
                         env={"COLUMNS": "200"})
    assert text.exit_code == 0 and "NOT fully node-diverse: shares links amk-1" in text.stdout
    bad = runner.invoke(app, ["paths", "Atlantis", "osl"])
    assert bad.exit_code == 2 and "unknown site 'Atlantis'" in bad.output
