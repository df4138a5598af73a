"""`lab cut` / `lab fail` report the new path of every datacentre pair the failure moves,
computed like `ngk reroute` and on top of the failures already active in the lab."""
from __future__ import annotations

import pytest

from controller.analysis.reroute import reroute
from controller.cli import lab as lab_cli
from controller.lab.faults import dc_paths
from controller.model.layers import Outage, outage, resolve_element
from controller.model.load import load_topology

NONE = Outage(frozenset(), frozenset(), frozenset(), frozenset())


@pytest.fixture(scope="module")
def topo():
    return load_topology()


def down(topo, *refs):
    return outage(topo, [resolve_element(topo, r) for r in refs])


def test_a_span_cut_moves_the_pairs_reroute_predicts(topo):
    moved = dc_paths(topo, NONE, down(topo, "span:osl-ham-rail"))
    expected = {(p["src"], p["dst"]): p["after"] for p in reroute(topo, ["span:osl-ham-rail"],
                                                                  "igp")["pairs"]}
    assert {(p["src"], p["dst"]): p["after"] for p in moved} == expected != {}
    for p in moved:
        assert set(p["before"]["links"]) & down(topo, "span:osl-ham-rail").links
        assert not set(p["after"]["links"]) & down(topo, "span:osl-ham-rail").links


def test_paths_are_relative_to_failures_already_active(topo):
    first = down(topo, "span:osl-ham-rail")
    both = down(topo, "span:osl-ham-rail", "span:osl-ham-e6")
    for p in dc_paths(topo, first, both):
        assert not set(p["before"]["links"]) & first.links  # "before" already avoids the 1st cut
    assert dc_paths(topo, first, first) == []


def test_a_failed_datacentre_cuts_its_pairs_off(topo):
    site = topo.datacentres()[0]
    moved = dc_paths(topo, NONE, down(topo, f"site:{site}"))
    mine = [p for p in moved if site in (p["src"], p["dst"])]
    assert mine and all(p["after"] is None and p["down"] == site for p in mine)


def test_the_cut_output_names_pairs_paths_and_latency(topo, capsys):
    moved = dc_paths(topo, NONE, down(topo, "span:osl-ham-rail"))
    lab_cli._render_fault({"element": "span:osl-ham-rail", "mode": "light",
                           "links": ["osl-trd-2"], "routers": [], "paths": moved})
    out = capsys.readouterr().out
    for p in moved:
        assert f"{p['src_router']}-{p['dst_router']}" in out
        assert f"{p['after']['latency_ms']:.2f}" in out
        assert p["after"]["links"][0] in out
    lab_cli._render_fault({"element": "x", "mode": "light", "links": [], "routers": [],
                           "paths": []})
    assert "no datacentre pair changes path" in capsys.readouterr().out
