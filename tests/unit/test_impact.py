"""Impact mapping and availability against brute force on the reference topology (networkx)."""
from itertools import combinations

import networkx as nx
import pytest

from controller.model.layers import Element
from controller.model.load import load_topology
from controller.services.impact import ImpactMapper
from controller.services.monitor import SCHEMA
from controller.services.uptime import render_timeline, uptime_report
from controller.store import Store

TOPO = load_topology()
MAPPER = ImpactMapper(TOPO)


def brute(down_links: set[str], down_routers: set[str]):
    """By hand: DC pairs cut (site graph) and the IGP cost of each DC router pair (router
    graph, intra-site links included)."""
    g, routers = nx.MultiGraph(), nx.MultiGraph()
    g.add_nodes_from({r.site for r in TOPO.routers.values()})
    routers.add_nodes_from(r for r in TOPO.routers if r not in down_routers)
    for link in TOPO.links.values():
        if link.id in down_links or {link.a.router, link.b.router} & down_routers:
            continue
        routers.add_edge(link.a.router, link.b.router, key=link.id, w=link.metric)
        sa, sb = TOPO.link_sites(link)
        if sa != sb:
            g.add_edge(sa, sb, key=link.id, w=link.metric)
    cut, cost = [], {}
    for a, b in combinations(sorted(TOPO.datacentres()), 2):
        if not nx.has_path(g, a, b):
            cut.append([a, b])
        for ra in TOPO.routers_at(a):
            for rb in TOPO.routers_at(b):
                if ra.id in routers and rb.id in routers and nx.has_path(routers, ra.id, rb.id):
                    cost[(ra.id, rb.id)] = nx.shortest_path_length(routers, ra.id, rb.id,
                                                                   weight="w")
    return cut, cost


def _cost(links):
    return sum(TOPO.links[lid].metric for lid in links)


@pytest.mark.parametrize("link", sorted(TOPO.links))
def test_each_link_down_matches_brute_force(link):
    end = TOPO.links[link].a
    els = MAPPER.elements(set(), {(end.router, end.interface), ("x", "mgmt0")})
    assert els == [Element("link", link)]
    out = MAPPER.assess(els)
    cut, cost = brute({link}, set())
    assert out["datacentre_pairs_disconnected"] == cut
    assert link in out["links_down"] and set(TOPO.links[link].route) <= set(out["spans"])
    for r in out["reroutes"]:
        if r["after"]:
            assert _cost(r["via_links"]) == cost[tuple(r["routers"])]
            assert link not in r["via_links"]
        else:
            assert tuple(r["routers"]) not in cost


@pytest.mark.parametrize("routers", [{"osl-cr1"}, {"osl-cr1", "osl-cr2"}, {"trd-cr1", "tos-cr2"}])
def test_routers_down(routers):
    out = MAPPER.assess(MAPPER.elements(routers, set()))
    cut, _ = brute(set(), routers)
    # a site whose routers are all down stays in the graph, cut off (the analysis' semantics)
    assert out["datacentre_pairs_disconnected"] == cut
    assert {f"router:{r}" for r in routers} <= set(out["elements"])


def test_uptime_report_by_hand(tmp_path):
    s = Store(tmp_path / "u.db")
    s.register("monitor", SCHEMA)
    l1 = TOPO.links["osl-trd-1"]
    rows = [(0, "osl-cr1", "", "up"), (0, l1.a.router, l1.a.interface, "up"),
            (100, "osl-cr1", "", "down"), (130, "osl-cr1", "", "up"),
            (150, l1.a.router, l1.a.interface, "down"), (190, l1.a.router, l1.a.interface, "up"),
            (500, "osl-cr1", "", "down")]
    s.add("INSERT INTO state_changes VALUES (?,?,?,?,NULL,'poll')", rows)
    s.flush()
    rep = uptime_report(s, TOPO, 50, 250)
    r = next(x for x in rep["routers"] if x["router"] == "osl-cr1")
    assert (r["downtime_s"], r["known_s"], r["outages"]) == (30, 200, 1)
    assert r["availability_pct"] == pytest.approx(85.0)
    link = next(x for x in rep["links"] if x["link"] == "osl-trd-1")  # router down OR port down
    assert link["downtime_s"] == 70 and link["down_intervals"] == [[100, 130], [150, 190]]
    assert all(x["known_s"] == 0 for x in rep["routers"] if x["router"] == "bod-pe1")
    pairs = {x["pair"]: x for x in rep["datacentre_pairs"]}
    assert pairs["osl-trd"]["downtime_s"] == 0  # the second Oslo-Trondheim link carries on
    png = tmp_path / "timeline.png"
    render_timeline(rep, str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
