"""Reroutes against networkx shortest paths, and IGP metric proposals verified independently."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import networkx as nx
import pytest
import yaml

from controller.errors import InputError
from controller.analysis.paths import best_path
from controller.analysis.reroute import dc_router_pairs, reroute
from controller.model.layers import outage, resolve_element, site_graph
from controller.model.load import load_topology
from controller.model.topology import Topology


def detours(tmp_path: Path) -> Topology:
    """dc1-dc2 direct; via `slow`: cheap metrics, 15 ms; via `fast`: dear metrics, 2 ms."""
    legs = {"direct": (None, 100, 10), "slow": ("slow", 1500, 20), "fast": ("fast", 200, 100)}
    sites = ["dc1", "dc2", "slow", "fast"]
    doc = {"name": "detours",
           "sites": [{"id": s, "name": s, "kind": "datacentre" if s.startswith("dc") else "pop"}
                     for s in sites],
           "optical_nodes": [{"id": s, "site": s} for s in sites],
           "routers": [{"id": f"{s}-r", "site": s} for s in sites], "spans": [], "links": [],
           "services": [{"id": "sync", "datacentres": ["dc1", "dc2"], "latency_budget_ms": 10}]}
    hops = [("dc1", "dc2", "direct", 100, 10)]
    for name, (mid, km, metric) in legs.items():
        if mid:
            hops += [("dc1", mid, f"{name}-1", km, metric), (mid, "dc2", f"{name}-2", km, metric)]
    for a, b, lid, km, metric in hops:
        doc["spans"].append({"id": lid, "a": a, "b": b, "km": km})
        doc["links"].append({"id": lid, "route": [lid], "metric": metric,
                             "a": {"router": f"{a}-r", "interface": f"e-{lid}"},
                             "b": {"router": f"{b}-r", "interface": f"e-{lid}"}})
    path = tmp_path / "detours.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return load_topology(path)


def brute_router_paths(topo: Topology, refs: list[str], metric: str = "metric") -> dict:
    """networkx on the IP layer (parallel links: the cheapest): every DC router pair's ECMP
    shortest paths before and after the failure."""
    down = outage(topo, [resolve_element(topo, r) for r in refs])

    def cost(lk, u: str) -> int:
        return 65535 if topo.routers[u].role == "ce" else lk.metric

    def graph(failed: bool) -> nx.DiGraph:
        g = nx.DiGraph()  # a CE's max-metric LSA (RFC 6987): 65535 on every link leaving it
        for lk in topo.links.values():
            a, b = lk.a.router, lk.b.router
            if failed and (lk.id in down.links or {a, b} & down.routers):
                continue
            for u, v in ((a, b), (b, a)):
                if not g.has_edge(u, v) or g[u][v]["metric"] > cost(lk, u):
                    g.add_edge(u, v, metric=cost(lk, u))
        return g

    g0, g1 = graph(False), graph(True)
    out = {}
    for _, _, ra, rb in dc_router_pairs(topo):
        if {ra, rb} & down.routers:
            continue
        before = sorted(nx.all_shortest_paths(g0, ra, rb, weight=metric))
        crossed = any(set(p) & down.routers or any(
            down.links & {lk.id for lk in topo.links.values() if {lk.a.router, lk.b.router}
                          == {a, b} and cost(lk, a) == g0[a][b]["metric"]}
            for a, b in zip(p, p[1:])) for p in before)
        if crossed:
            out[(ra, rb)] = sorted(nx.all_shortest_paths(g1, ra, rb, weight=metric)) \
                if ra in g1 and rb in g1 and nx.has_path(g1, ra, rb) else []
    return out


@pytest.mark.parametrize("refs", [["duct-e6-gardermoen"], ["span:trd-bod-e6", "bod-tos-sea"],
                                  ["site:trd"], ["span:osl-brg"], ["osl-cr1"],
                                  ["span:osl-ham-rail"], ["link:trd-dc"]])
def test_reference_router_pairs_match_networkx(refs: list[str]) -> None:
    topo = load_topology()
    out = reroute(topo, refs)
    want = brute_router_paths(topo, refs)
    got = {(p["src_router"], p["dst_router"]): p for p in out["pairs"]}
    assert set(got) == set(want)
    for key, paths in want.items():
        after = got[key]["after"]
        assert (after["routers"] if after else None) == (paths[0] if paths else None), key
        assert got[key]["ecmp_after"] == len(paths)
    down = outage(topo, [resolve_element(topo, r) for r in refs])
    assert out["links_down"] == sorted(down.links)
    for p in out["pairs"]:
        assert down.links.isdisjoint(p["after"]["links"] if p["after"] else ())
        if p["after"]:
            assert p["latency_increase_ms"] == pytest.approx(
                p["after"]["latency_ms"] - p["before"]["latency_ms"])


def test_intra_site_cost_changes_the_reroute(tmp_path: Path) -> None:
    """A dear link between Oslo's two core routers: after span osl-ham-rail is cut, osl-cr1 no
    longer crosses to osl-cr2 for the other Oslo-Trondheim link but leaves Oslo through Hamar,
    which the site layer (one node per site, intra-site links invisible) cannot see."""
    doc = yaml.safe_load((Path(__file__).resolve().parents[2] / "topology" / "ngk.yaml")
                         .read_text())
    for link in doc["links"]:
        if link["id"] == "osl-dc":
            link["metric"] = 2000
    path = tmp_path / "dear-osl-dc.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    topo = load_topology(path)
    out = reroute(topo, ["span:osl-ham-rail"])
    pairs = {(p["src_router"], p["dst_router"]): p for p in out["pairs"]}
    after = pairs[("osl-cr2", "trd-cr2")]["after"]
    assert after["routers"] == brute_router_paths(topo, ["span:osl-ham-rail"])[
        ("osl-cr2", "trd-cr2")][0]
    assert "osl-dc" not in after["links"] and after["sites"][:2] != ["osl", "trd"]
    down = outage(topo, [resolve_element(topo, "span:osl-ham-rail")])
    site_level = best_path(topo, site_graph(topo, down), "osl", "trd", "igp")
    assert site_level["sites"] == ["osl", "trd"]  # what the site layer said (and still says)
    assert after["sites"] != site_level["sites"]
    reference = {(p["src_router"], p["dst_router"]): p
                 for p in reroute(load_topology(), ["span:osl-ham-rail"])["pairs"]}
    assert reference[("osl-cr2", "trd-cr2")]["after"]["links"][0] == "osl-dc"


def test_no_change_when_within_budget() -> None:
    out = reroute(load_topology(), ["duct-e6-gardermoen"])
    assert out["igp_changes"] == [] and out["summary"]["igp_action"] == "none"
    assert all(p["within_budget"] for p in out["pairs"])


def test_unreachable_is_said() -> None:
    out = reroute(load_topology(), ["site:trd"])
    assert out["summary"]["igp_action"] == "unreachable"
    assert ["osl", "tos"] in out["summary"]["datacentre_pairs_disconnected"]


def test_metric_change_steers_onto_the_path_within_budget(tmp_path: Path) -> None:
    topo = detours(tmp_path)
    out = reroute(topo, ["link:direct"])
    (pair,) = out["pairs"]
    assert pair["after"]["sites"] == ["dc1", "slow", "dc2"] and pair["within_budget"] is False
    assert out["summary"]["igp_action"] == "metric-change" and out["igp_changes"]
    metrics = {c["link"]: c["new_metric"] for c in out["igp_changes"]}
    links = {k: dataclasses.replace(v, metric=metrics.get(k, v.metric))
             for k, v in topo.links.items()}
    changed = dataclasses.replace(topo, links=links)
    g = site_graph(changed, outage(changed, [resolve_element(changed, "link:direct")]))
    assert nx.dijkstra_path(g, "dc1", "dc2", weight="metric") == ["dc1", "fast", "dc2"]
    assert len(list(nx.all_shortest_paths(g, "dc1", "dc2", weight="metric"))) == 1
    for c in out["igp_changes"]:
        assert c["old_metric"] == topo.links[c["link"]].metric
        assert c["router"] in (topo.links[c["link"]].a.router, topo.links[c["link"]].b.router)


def test_bad_reference() -> None:
    with pytest.raises(InputError):
        reroute(load_topology(), ["no-such-thing"])


@pytest.mark.parametrize("refs", [["span:osl-brg"], ["duct-e6-gardermoen"], ["site:trd"]])
def test_members_never_carry_transit_while_another_path_exists(refs: list[str]) -> None:
    """CE routers are stub routers (max-metric, rendered so): a datacentre pair's new path
    crosses no member's CE router while the core still connects the pair."""
    topo = load_topology()
    out = reroute(topo, refs)
    for p in out["pairs"]:
        inner = (p["after"] or {"routers": []})["routers"][1:-1]
        assert not [r for r in inner if topo.routers[r].role == "ce"], p["after"]
