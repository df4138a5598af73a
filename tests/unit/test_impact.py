"""Impact mapping and availability against brute force on the reference topology (networkx)."""
from itertools import combinations

import networkx as nx
import pytest

from controller.model.layers import Element
from controller.model.load import load_topology
from controller.services.impact import ImpactMapper
from controller.services.monitor.history import SCHEMA
from controller.services.uptime import GREEN, GREY, render_timeline, uptime_report
from controller.store import Store

TOPO = load_topology()
CHANGE = ("INSERT INTO state_changes (ts, router, interface, state, reason, source) "
          "VALUES (?, ?, ?, ?, NULL, 'poll')")
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


def _observed(s: Store, routers, start: float, end: float, every: float = 10.0) -> None:
    """Samples as a monitor polling every `every` s writes them (each observes 2 intervals)."""
    s.add("INSERT INTO samples (ts, router, reachable, horizon) VALUES (?, ?, 1, ?)",
          [(t, r, 2 * every) for r in routers for t in range(int(start), int(end), int(every))])


def test_uptime_report_by_hand(tmp_path):
    s = Store(tmp_path / "u.db")
    s.register("monitor", SCHEMA)
    l1 = TOPO.links["osl-trd-1"]
    rows = [(0, "osl-cr1", "", "up"), (0, l1.a.router, l1.a.interface, "up"),
            (100, "osl-cr1", "", "down"), (130, "osl-cr1", "", "up"),
            (150, l1.a.router, l1.a.interface, "down"), (190, l1.a.router, l1.a.interface, "up"),
            (500, "osl-cr1", "", "down")]
    s.add(CHANGE, rows)
    _observed(s, TOPO.routers, 0, 300)
    s.flush()
    rep = uptime_report(s, TOPO, 50, 250)
    r = next(x for x in rep["routers"] if x["router"] == "osl-cr1")
    assert (r["downtime_s"], r["observed_s"], r["outages"]) == (30, 200, 1)
    assert r["availability_pct"] == pytest.approx(85.0) and r["observed_pct"] == 100
    link = next(x for x in rep["links"] if x["link"] == "osl-trd-1")  # router down OR port down
    assert link["downtime_s"] == 70 and link["down_intervals"] == [[100, 130], [150, 190]]
    assert all(x["observed_s"] == 0 for x in rep["routers"] if x["router"] == "bod-pe1")
    pairs = {x["pair"]: x for x in rep["datacentre_pairs"]}
    assert pairs["osl-trd"]["downtime_s"] == 0  # the second Oslo-Trondheim link carries on
    png = tmp_path / "timeline.png"
    render_timeline(rep, str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def _pixels(png, colour: str) -> int:
    import matplotlib.colors
    import matplotlib.image
    import numpy as np

    img = matplotlib.image.imread(str(png))[..., :3]
    want = np.array(matplotlib.colors.to_rgb(colour))
    return int((np.abs(img - want).max(axis=-1) < 0.02).sum())


def test_unobserved_time_is_unknown_not_up(tmp_path):
    """A router seen up for its first 100 s of a 1,000 s window, then never polled again: a
    later outage nobody observed is not downtime, and the rest is unknown, not up."""
    s = Store(tmp_path / "u.db")
    s.register("monitor", SCHEMA)
    s.add(CHANGE,
          [(0, "r1", "", "up"), (500, "r1", "", "down"), (600, "r1", "", "up")])
    _observed(s, ["r1"], 0, 100)  # polls at 0..90 s, each observing 20 s: [0, 110)
    s.add("INSERT INTO samples (ts, router, reachable) VALUES (900, 'r1', 1)", [()])  # no horizon
    s.flush()
    r, = uptime_report(s, None, 0, 1000)["routers"]
    assert r["observed_intervals"] == [[0, 110], [900, 920]]  # a legacy row: DEFAULT_HORIZON
    assert (r["observed_s"], r["observed_pct"], r["downtime_s"]) == (130, 13.0, 0)
    assert r["availability_pct"] == 100.0 and r["outages"] == 0
    png = tmp_path / "t.png"
    render_timeline(uptime_report(s, None, 0, 1000), str(png))
    green, grey = _pixels(png, GREEN), _pixels(png, GREY)
    assert green and grey > 5 * green  # 13 % observed up, 87 % grey


def test_observed_down_time_counts_only_while_observed(tmp_path):
    s = Store(tmp_path / "u.db")
    s.register("monitor", SCHEMA)
    s.add(CHANGE,
          [(0, "r1", "", "up"), (50, "r1", "", "down")])
    _observed(s, ["r1"], 0, 100)
    s.flush()
    r, = uptime_report(s, None, 0, 400)["routers"]
    assert r["down_intervals"] == [[50, 110]] and r["availability_pct"] == pytest.approx(
        100 * 50 / 110, abs=1e-3)
