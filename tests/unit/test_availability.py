"""Availability: hand-computed tiny cases, brute force over every failure state, monotonicity."""
from __future__ import annotations

import itertools
import json
from dataclasses import replace
from pathlib import Path

import networkx as nx
import pytest
import yaml

from controller.analysis.availability import (
    CANDIDATES_PER_SITE, HOURS_PER_YEAR, MIN_PER_YEAR, availability_report, candidate_spans, risks,
    truncation_bound, unavailability)
from controller.model.layers import outage, site_graph
from controller.model.load import REFERENCE_TOPOLOGY, load_topology
from controller.model.topology import Topology

CUTS, MTTR = 2.7, 12.0


def p_span(km: float) -> float:
    return km / 1000 * CUTS * MTTR / HOURS_PER_YEAR


def build(tmp_path: Path, spans: list[dict], kinds=("datacentre",) * 2) -> Topology:
    """Sites s0..sN on a line of longitudes, one router each, one IP link riding each span."""
    n = len(kinds)
    doc = {"sites": [{"id": f"s{i}", "name": f"S{i}", "kind": k, "lat": 60.0, "lon": 5.0 + i}
                     for i, k in enumerate(kinds)],
           "optical_nodes": [{"id": f"s{i}", "site": f"s{i}"} for i in range(n)],
           "spans": spans,
           "routers": [{"id": f"r{i}", "site": f"s{i}"} for i in range(n)],
           "links": []}
    used: dict[str, int] = {}
    for span in spans:
        ends = []
        for site in (span["a"], span["b"]):
            used[site] = used.get(site, 0) + 1
            ends.append({"router": f"r{site[1:]}", "interface": f"eth{used[site]}"})
        doc["links"].append({"id": f"l-{span['id']}", "a": ends[0], "b": ends[1],
                             "route": [span["id"]]})
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return load_topology(path)


def only_spans(topo: Topology) -> Topology:
    """No router or site failures (the file format only takes positive rates)."""
    return replace(topo, settings=replace(topo.settings, router_failures_per_year=0.0,
                                          site_failures_per_year=0.0))


def test_one_span(tmp_path: Path) -> None:
    topo = build(tmp_path, [{"id": "x", "a": "s0", "b": "s1", "km": 100}])
    assert unavailability(only_spans(topo), "s0", "s1") == pytest.approx(p_span(100), rel=1e-12)
    s = topo.settings
    p_router = s.router_failures_per_year * s.router_mttr_h / HOURS_PER_YEAR
    p_site = s.site_failures_per_year * s.site_mttr_h / HOURS_PER_YEAR
    want = p_span(100) + 2 * p_router + 2 * p_site
    assert unavailability(topo, "s0", "s1") == pytest.approx(want, rel=1e-12)
    pair = availability_report(topo)["datacentre_pairs"][0]
    assert pair["downtime_min_per_year"] == pytest.approx(want * MIN_PER_YEAR, abs=1e-3)
    assert pair["availability"] == pytest.approx(1 - want, abs=1e-9)


def test_parallel_spans(tmp_path: Path) -> None:
    spans = [{"id": "x", "a": "s0", "b": "s1", "km": 100},
             {"id": "y", "a": "s0", "b": "s1", "km": 150}]
    topo = only_spans(build(tmp_path, spans))
    assert unavailability(topo, "s0", "s1") == pytest.approx(p_span(100) * p_span(150), rel=1e-12)


def test_shared_srlg_dominates(tmp_path: Path) -> None:
    spans = [{"id": "x", "a": "s0", "b": "s1", "km": 100, "srlgs": ["duct"]},
             {"id": "y", "a": "s0", "b": "s1", "km": 150, "srlgs": ["duct"]}]
    topo = only_spans(build(tmp_path, spans))
    assert unavailability(topo, "s0", "s1") == pytest.approx(p_span(250), rel=1e-12)
    pair = availability_report(topo)["datacentre_pairs"][0]
    assert pair["dominant_risks"] == [{"kind": "srlg", "id": "duct", "share": 1.0}]


def test_member_nearest_and_any(tmp_path: Path) -> None:
    """Member s1 between DCs s0 (near) and s2 (far): nearest DC s0, any-DC needs both spans cut."""
    spans = [{"id": "x", "a": "s0", "b": "s1", "km": 50},
             {"id": "y", "a": "s1", "b": "s2", "km": 300}]
    topo = only_spans(build(tmp_path, spans,
                            kinds=("datacentre", "member", "datacentre")))
    member = availability_report(topo)["members"][0]
    assert (member["src"], member["dst"]) == ("s1", "s0")
    assert member["downtime_min_per_year"] == pytest.approx(p_span(50) * MIN_PER_YEAR, abs=1e-3)
    want_any = p_span(50) * p_span(300) * MIN_PER_YEAR
    assert member["any_datacentre"]["downtime_min_per_year"] == pytest.approx(want_any, abs=1e-3)


def exact_unavailability(topo: Topology, src: str, dst: str) -> float:
    """Brute force: every failure state, exact probabilities, networkx connectivity."""
    rs = risks(topo)
    total = 0.0
    for mask in itertools.product((False, True), repeat=len(rs)):
        prob = 1.0
        for on, r in zip(mask, rs):
            prob *= r.p if on else 1 - r.p
        g = site_graph(topo, outage(topo, [r.element for on, r in zip(mask, rs) if on]))
        if src not in g or dst not in g or not nx.has_path(g, src, dst):
            total += prob
    return total


def test_against_brute_force(tmp_path: Path) -> None:
    """A ring of four sites, one SRLG across two spans, routers failing (sites fail rarely)."""
    spans = [{"id": "a", "a": "s0", "b": "s1", "km": 400, "srlgs": ["g"]},
             {"id": "b", "a": "s1", "b": "s2", "km": 300},
             {"id": "c", "a": "s2", "b": "s3", "km": 500, "srlgs": ["g"]},
             {"id": "d", "a": "s3", "b": "s0", "km": 200}]
    topo = build(tmp_path, spans,
                 kinds=("datacentre", "pop", "datacentre", "pop"))
    topo = replace(topo, settings=replace(topo.settings, site_failures_per_year=0.0,
                                          router_failures_per_year=2.0, cuts_per_1000km_year=20))
    ps = [r.p for r in risks(topo)]
    assert len(ps) == 7  # b, d, g, four routers
    e2 = sum(x * y for x, y in itertools.combinations(ps, 2))
    got, exact = unavailability(topo, "s0", "s2"), exact_unavailability(topo, "s0", "s2")
    assert exact <= got + truncation_bound(ps)
    assert exact >= got - e2
    assert got == pytest.approx(exact, rel=0.05)


def test_truncation_bound_is_e3() -> None:
    ps = [0.1, 0.2, 0.3, 0.4]
    assert truncation_bound(ps) == pytest.approx(
        sum(a * b * c for a, b, c in itertools.combinations(ps, 3)))


def _add_span(doc: dict, a: str, b: str, km: float) -> None:
    """A new span a-b and an IP link on it between the sites' first routers."""
    routers = {s: min(r["id"] for r in doc["routers"] if r["site"] == s) for s in (a, b)}
    doc["spans"].append({"id": f"{a}-{b}-new", "a": a, "b": b, "km": km})
    doc["links"].append({"id": f"{a}-{b}-new",
                         "a": {"router": routers[a], "interface": "ethnew"},
                         "b": {"router": routers[b], "interface": "ethnew"},
                         "route": [f"{a}-{b}-new"]})


def test_best_investment_matches_full_recomputation(tmp_path: Path) -> None:
    """Monotonicity (a new span never makes any demand worse) and the shortcut's total."""
    base = availability_report(load_topology())
    best = base["best_investment"]
    assert best["candidates_evaluated"] > 5 and best["gain_min_per_year"] > 0
    doc = yaml.safe_load(REFERENCE_TOPOLOGY.read_text())
    _add_span(doc, best["a"], best["b"], best["km"])
    path = tmp_path / "plus.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    after = availability_report(load_topology(path), k=0)
    rows = lambda r: r["datacentre_pairs"] + r["members"]  # noqa: E731
    for old, new in zip(rows(base), rows(after)):
        assert (old["src"], old["dst"]) == (new["src"], new["dst"])
        assert new["downtime_min_per_year"] <= old["downtime_min_per_year"] + 1e-9
    total = sum(r["downtime_min_per_year"] for r in rows(after))
    assert total == pytest.approx(best["total_after_min_per_year"], abs=0.01)
    assert sum(r["downtime_min_per_year"] for r in rows(base)) == pytest.approx(
        best["total_before_min_per_year"], abs=0.01)


def test_cli_json(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from controller.cli.main import app
    res = CliRunner().invoke(app, ["availability", "--json", "--cut-rate", "5", "--mttr", "6"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert set(data) == {"model", "datacentre_pairs", "members", "best_investment"}
    assert data["model"]["cuts_per_1000km_year"] == 5 and data["model"]["span_mttr_h"] == 6
    assert {"src", "dst", "availability", "downtime_min_per_year", "dominant_risks"} <= \
        set(data["datacentre_pairs"][0])
    bad = CliRunner().invoke(app, ["availability", "--topology", str(tmp_path / "none.yaml")])
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_candidates_skip_a_site_without_longitude() -> None:
    topo = load_topology()
    site = next(s for s in topo.sites.values() if s.kind == "pop" and topo.routers_at(s.id))
    cut = replace(topo, sites={**topo.sites, site.id: replace(site, lon=None)})
    found = candidate_spans(cut, CANDIDATES_PER_SITE)
    assert found and all(site.id not in (a, b) for a, b, _ in found)
    assert any(site.id in (a, b) for a, b, _ in candidate_spans(topo, CANDIDATES_PER_SITE))
