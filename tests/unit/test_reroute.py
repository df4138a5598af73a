"""Reroutes against networkx shortest paths, and IGP metric proposals verified independently."""
from __future__ import annotations

import dataclasses
from itertools import combinations
from pathlib import Path

import networkx as nx
import pytest
import yaml

from controller.errors import InputError
from controller.analysis.reroute import reroute
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


@pytest.mark.parametrize("refs", [["duct-e6-gardermoen"], ["span:trd-bod-e6", "bod-tos-sea"],
                                  ["site:trd"], ["span:osl-brg"], ["osl-cr1"]])
def test_reference_pairs_match_networkx(refs: list[str]) -> None:
    topo = load_topology()
    out = reroute(topo, refs)
    down = outage(topo, [resolve_element(topo, r) for r in refs])
    g0, g1 = site_graph(topo), site_graph(topo, down)
    want = {}
    for a, b in combinations(sorted(topo.datacentres()), 2):
        if a in down.sites or b in down.sites:
            continue
        path = nx.dijkstra_path(g0, a, b, weight="metric")
        used = {min(g0[u][v], key=lambda k: g0[u][v][k]["metric"]) for u, v in zip(path, path[1:])}
        if used & down.links:
            want[(a, b)] = nx.dijkstra_path_length(g1, a, b, weight="metric") \
                if nx.has_path(g1, a, b) else None
    got = {(p["src"], p["dst"]): p["after"] and p["after"]["cost"] for p in out["pairs"]}
    assert got == pytest.approx(want)
    assert out["links_down"] == sorted(down.links)
    for p in out["pairs"]:
        assert down.links.isdisjoint(p["after"]["links"] if p["after"] else ())
        if p["after"]:
            assert p["latency_increase_ms"] == pytest.approx(
                p["after"]["latency_ms"] - p["before"]["latency_ms"])


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
