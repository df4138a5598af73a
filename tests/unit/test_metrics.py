"""The monitor's Prometheus metrics: the topology ones (links, datacentre pair diversity, SPOFs)
against brute force on the reference topology (networkx), and the whole exposition of a monitor
fed real polls, parsed back with prometheus_client's own parser."""
from itertools import combinations

import networkx as nx
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from controller.model.layers import Element, outage
from controller.model.load import load_topology
from controller.services.impact import SPOF_KINDS, ImpactMapper
from controller.services.metrics import MetricsCollector
from controller.services.monitor.app import Monitor
from controller.credentials import SnmpCredentials
from controller.southbound.snmp.inventory import Target
from controller.southbound.snmp.poller import DevicePoll, Interface
from controller.store import Store

TOPO = load_topology()
MAPPER = ImpactMapper(TOPO)
DCS = list(combinations(sorted(TOPO.datacentres()), 2))


def surviving(elements: list[Element]) -> nx.MultiGraph:
    """Site graph by hand: every site with a router, inter-site links not taken down."""
    down = outage(TOPO, elements)
    g = nx.MultiGraph()
    g.add_nodes_from(r.site for r in TOPO.routers.values() if r.id not in down.routers)
    for link in TOPO.links.values():
        sa, sb = TOPO.link_sites(link)
        if link.id not in down.links and sa != sb and {link.a.router, link.b.router}.isdisjoint(
                down.routers):
            g.add_edge(sa, sb, key=link.id)
    return g


def risks(links: list[str]) -> tuple[set[str], set[str]]:
    spans = {s for lk in links for s in TOPO.links[lk].route}
    return spans, {g for s in spans for g in TOPO.spans[s].srlgs}


def brute_paths(elements: list[Element], a: str, b: str) -> int:
    """2 if two simple paths share no span and no SRLG, 1 if connected, 0 if not."""
    g = surviving(elements)
    if a not in g or b not in g or not nx.has_path(g, a, b):
        return 0
    found = [risks([k for _, _, k in p]) for p in nx.all_simple_edge_paths(g, a, b)]
    diverse = any(s1.isdisjoint(s2) and g1.isdisjoint(g2)
                  for (s1, g1), (s2, g2) in combinations(found, 2))
    return 2 if diverse else 1


def brute_spofs(elements: list[Element]) -> set[tuple[str, str]]:
    """Candidates whose failure on top splits a component of the site graph (all sites kept)."""
    def parts(els: list[Element]) -> int:
        g = surviving(els)
        g.add_nodes_from(r.site for r in TOPO.routers.values())
        return nx.number_connected_components(g)

    base = parts(elements)
    return {(el.kind, el.id) for el in MAPPER.analysis.elements(SPOF_KINDS)
            if parts([*elements, el]) > base}


SCENARIOS = [[]] + [[Element("span", s)] for s in sorted(TOPO.spans)] + [
    [Element("span", "bod-narvik"), Element("span", "bod-tos-sea")],  # Tromsø cut off
    [Element("span", "aal-dombas"), Element("span", "aal-trd")],
    [Element("router", "trd-cr1"), Element("link", "osl-trd-2")],
    [Element("router", "osl-cr1"), Element("router", "osl-cr2")]]  # Oslo has no router left


@pytest.mark.parametrize("elements", SCENARIOS, ids=lambda els: "+".join(map(str, els)) or "none")
def test_resilience_matches_brute_force(elements):
    res = MAPPER.resilience(elements)
    assert res["pair_paths"] == {(a, b): brute_paths(elements, a, b) for a, b in DCS}
    assert set(res["spofs"]) == brute_spofs(elements)
    assert set(res["designed_spofs"]) == brute_spofs([])
    assert res["links_down"] == sorted(outage(TOPO, elements).links)


def test_scenarios_cover_every_answer():
    """The brute-force comparison above sees 0, 1 and 2 paths, and new SPOFs."""
    values = {n for els in SCENARIOS for n in MAPPER.resilience(els)["pair_paths"].values()}
    assert values == {0, 1, 2}
    res = MAPPER.resilience([Element("span", "osl-ham-rail")])
    assert set(res["spofs"]) - set(res["designed_spofs"]) == {("router", "trd-cr1")}


def up_poll(router: str, ts: float, down: frozenset[str] = frozenset()) -> DevicePoll:
    ends = sorted(e.interface for lk in TOPO.router_links(router) for e in (lk.a, lk.b)
                  if e.router == router)
    interfaces = {i: Interface(i, name, 2 if name in down else 1, 1, 1000 * i, 2000 * i)
                  for i, name in enumerate(ends, 1)}
    return DevicePoll(router, ts, True, sys_uptime=int(ts * 100), sys_name=router,
                      interfaces=interfaces, duration=0.01)


def scrape(mon: Monitor) -> dict[str, list]:
    registry = CollectorRegistry()
    registry.register(MetricsCollector(mon.snapshot))
    text = generate_latest(registry).decode()
    out: dict[str, list] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out.setdefault(s.name, []).append((s.labels, s.value))
    return out


def value(samples: dict[str, list], name: str, **labels: str) -> float:
    found = [v for lbl, v in samples[name] if all(lbl.get(k) == w for k, w in labels.items())]
    assert len(found) == 1, (name, labels, samples.get(name))
    return found[0]


def test_exposition_of_a_monitor_fed_polls(tmp_path):
    targets = [Target(r, f"192.0.2.{i}", 161, SnmpCredentials("2c", community="c"))
               for i, r in enumerate(sorted(TOPO.routers), 1)]
    mon = Monitor(targets, Store(tmp_path / "m.db"), MAPPER)
    for r in TOPO.routers:
        mon.apply(up_poll(r, 100.0))
    healthy = scrape(mon)
    assert value(healthy, "ngk_monitor_active") == 1.0
    assert value(healthy, "ngk_monitor_assigned_devices") == len(TOPO.routers)
    assert value(healthy, "ngk_monitor_inventory_devices") == len(TOPO.routers)
    assert value(healthy, "ngk_store_pending_rows") > 0  # nothing flushed yet
    assert "ngk_store_last_error_timestamp_seconds" not in healthy
    assert {lbl["link"] for lbl, v in healthy["ngk_link_up"] if v == 1.0} == set(TOPO.links)
    assert {(lbl["a"], lbl["b"]): v for lbl, v in healthy["ngk_datacentre_pair_paths"]} == {
        p: 2.0 for p in DCS}
    assert {lbl["designed"] for lbl, _ in healthy["ngk_spof"]} == {"true"}

    # Tromsø's two northern spans: its two links ride them; bod-pe1 answers with both down
    mon.store.flush()
    cut = {"bod-narvik", "bod-tos-sea"}
    links = {lk for s in cut for lk in TOPO.links_on_span()[s]}
    ends = {(e.router, e.interface) for lk in links for e in (TOPO.links[lk].a, TOPO.links[lk].b)}
    for r in TOPO.routers:
        mine = frozenset(i for rr, i in ends if rr == r)
        mon.apply(up_poll(r, 110.0, mine))
    mon.apply(DevicePoll("krs-ce1", 111.0, False, error="timeout"))
    mon.cycles = 2
    cut_samples = scrape(mon)
    assert value(cut_samples, "ngk_snmp_up", router="krs-ce1") == 0.0
    assert value(cut_samples, "ngk_monitor_cycles_total") == 2.0
    krs = {lk.id for lk in TOPO.router_links("krs-ce1")}
    assert {lbl["link"] for lbl, v in cut_samples["ngk_link_up"] if v == 0.0} == links | krs
    tos = {(lbl["a"], lbl["b"]): v for lbl, v in cut_samples["ngk_datacentre_pair_paths"]}
    assert tos == {("osl", "tos"): 0.0, ("osl", "trd"): 2.0, ("tos", "trd"): 0.0}
    new = {(lbl["kind"], lbl["id"]) for lbl, _ in cut_samples["ngk_spof"]
           if lbl["designed"] == "false"}
    elements = [Element("span", s) for s in cut] + [Element("router", "krs-ce1")]
    assert new == brute_spofs(elements) - brute_spofs([])


def test_store_metrics_report_failed_writes(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    mon = Monitor([], Store(blocker / "m.db"))  # a path under a file: every write fails
    mon.store.add("INSERT INTO events VALUES (?,?,?,?,?,?)", [(1.0, "x", "", "", "", "{}")])
    assert not mon.store.flush()
    samples = scrape(mon)
    assert value(samples, "ngk_store_pending_rows") == 1.0
    assert value(samples, "ngk_store_last_error_timestamp_seconds") == mon.store.errors[-1][0]
    assert value(samples, "ngk_store_dropped_rows_total") == 0.0
    assert "ngk_link_up" not in samples  # no topology given: no topology metrics
