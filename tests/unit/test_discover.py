"""The discovery diff (controller.services.discover): each kind of difference from a small
hand-made observation of a 3-router triangle, none when the devices match the model, and
`observe` on getter outputs recorded from the live lab (tests/unit/data/discover/)."""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from controller.model.load import load_topology
from controller.model.topology import Topology
from controller.services.discover_history import history, record
from controller.services.discover_import import as_discovered, write
from controller.services.discover import (
    EXIT_DIFFERENT, EXIT_UNREACHABLE, KINDS, DiscoverReport, Seen, diff, observe)

TRIANGLE = """
name: triangle
addressing: {p2p: 10.9.0.0/24, loopbacks: 10.9.255.0/24, mgmt: 172.31.9.0/24}
sites:
  - {id: a, name: A, kind: datacentre, lat: 59.9, lon: 10.7}
  - {id: b, name: B, kind: datacentre, lat: 63.4, lon: 10.4}
  - {id: c, name: C, kind: pop, lat: 60.8, lon: 11.1}
optical_nodes: [{id: a, site: a}, {id: b, site: b}, {id: c, site: c}]
spans:
  - {id: s-ab, a: a, b: b, km: 400}
  - {id: s-ac, a: a, b: c, km: 120}
  - {id: s-cb, a: c, b: b, km: 300}
routers:
  - {id: ra, site: a, loopback: 10.9.255.1/32}
  - {id: rb, site: b, loopback: 10.9.255.2/32}
  - {id: rc, site: c, loopback: 10.9.255.3/32}
links:
  - {id: l-ab, a: {router: ra, interface: eth1, address: 10.9.0.0/31},
     b: {router: rb, interface: eth1, address: 10.9.0.1/31}, metric: 20, route: [s-ab]}
  - {id: l-ac, a: {router: ra, interface: eth2, address: 10.9.0.2/31},
     b: {router: rc, interface: eth1, address: 10.9.0.3/31}, metric: 10, route: [s-ac]}
  - {id: l-cb, a: {router: rc, interface: eth2, address: 10.9.0.4/31},
     b: {router: rb, interface: eth2, address: 10.9.0.5/31}, metric: 15, route: [s-cb]}
"""
RECORDED = Path(__file__).parent / "data" / "discover"


@pytest.fixture(scope="module")
def topo(tmp_path_factory: pytest.TempPathFactory) -> Topology:
    path = tmp_path_factory.mktemp("discover") / "triangle.yaml"
    path.write_text(TRIANGLE)
    return load_topology(path)


def as_modelled(topo: Topology) -> dict[str, Seen]:
    """What each router would report if the network were exactly the model (BFD running)."""
    out = {}
    for r in topo.routers.values():
        ends = [(n, f) for link in topo.links.values()
                for n, f in ((link.a, link.b), (link.b, link.a)) if n.router == r.id]
        metric = {n.interface: link.metric for link in topo.links.values()
                  for n in (link.a, link.b) if n.router == r.id}
        out[r.id] = Seen(
            interfaces=frozenset({"lo", "mgmt0"} | {n.interface for n, _ in ends}),
            addresses={"lo": ("127.0.0.1/8", str(r.loopback)),
                       "mgmt0": (str(r.mgmt),), **{n.interface: (str(n.address),)
                                                   for n, _ in ends}},
            lldp={n.interface: ((f.router, f.interface),) for n, f in ends},
            costs={"lo": 0, **metric},
            ospf={n.interface: ((str(topo.routers[f.router].loopback.ip), "Full"),)
                  for n, f in ends},
            bfd={n.interface: ((str(f.address.ip), "up"),) for n, f in ends})
    return out


Change = Callable[[dict[str, Seen]], None]


def edit(router: str, **fields: object) -> Change:
    """A change replacing fields of one router's Seen; a callable value gets the old value."""
    def apply(seen: dict[str, Seen]) -> None:
        old = seen[router]
        seen[router] = replace(old, **{k: v(getattr(old, k)) if callable(v) else v
                                       for k, v in fields.items()})
    return apply


def lldp_set(**by_iface: tuple[tuple[str, str], ...]) -> Callable[[dict], dict]:
    return lambda old: {k: v for k, v in {**old, **by_iface}.items() if v}


def swap_far_ends(seen: dict[str, Seen]) -> None:
    """Cables of l-ab and l-ac swapped at rb/rc: ra eth1 -> rc eth1, ra eth2 -> rb eth1."""
    edit("ra", lldp=lldp_set(eth1=(("rc", "eth1"),), eth2=(("rb", "eth1"),)))(seen)
    edit("rb", lldp=lldp_set(eth1=(("ra", "eth2"),)))(seen)
    edit("rc", lldp=lldp_set(eth1=(("ra", "eth1"),)))(seen)


def unplug(seen: dict[str, Seen]) -> None:
    """l-cb unplugged: no LLDP neighbour, no adjacency on either end."""
    for r in ("rb", "rc"):
        edit(r, lldp=lambda old: {k: v for k, v in old.items() if k != "eth2"},
             ospf=lambda old: {k: v for k, v in old.items() if k != "eth2"},
             bfd=lambda old: {k: v for k, v in old.items() if k != "eth2"})(seen)


def extra_cable(seen: dict[str, Seen]) -> None:
    edit("ra", interfaces=lambda old: old | {"eth9"},
         lldp=lldp_set(eth9=(("rb", "eth9"),)))(seen)
    edit("rb", interfaces=lambda old: old | {"eth9"},
         lldp=lldp_set(eth9=(("ra", "eth9"),)))(seen)


CASES: dict[str, tuple[list[Change], dict[str, str], list[tuple[str, str]]]] = {
    # name: (changes to the as-modelled observation, routers not read, expected (kind, where))
    "identical": ([], {}, []),
    "unreachable": ([lambda s: s.pop("rc")], {"rc": "cannot connect"},
                    [("unreachable-router", "rc")]),
    "unknown by LLDP": ([edit("rc", interfaces=lambda old: old | {"eth7"},
                              lldp=lldp_set(eth7=(("rogue.example.net", "ge-0/0/1"),)))],
                        {}, [("unknown-router", "rogue.example.net")]),
    "fqdn is the router": ([edit("ra", lldp=lldp_set(eth1=(("rb.example.net", "eth1"),)))],
                           {}, []),
    "missing link": ([unplug], {}, [("missing-link", "l-cb")]),
    "extra link": ([extra_cable], {}, [("extra-link", "ra eth9 - rb eth9")]),
    "wrong ports": ([swap_far_ends], {}, [("wrong-ports", "l-ab"), ("wrong-ports", "l-ac")]),
    "one-sided LLDP still a link": ([edit("rb", lldp=lldp_set(eth1=()))], {}, []),
    "cost": ([edit("rb", costs=lambda old: {**old, "eth2": 99})], {}, [("cost", "rb eth2")]),
    "address": ([edit("rc", addresses=lambda old: {**old, "eth1": ("10.9.0.7/31",)})], {},
                [("address", "rc eth1")]),
    "address gone": ([edit("rc", addresses=lambda old: {k: v for k, v in old.items()
                                                        if k != "eth1"})], {},
                     [("address", "rc eth1")]),
    "loopback": ([edit("ra", addresses=lambda old: {**old, "lo": ("127.0.0.1/8",)})], {},
                 [("address", "ra loopback")]),
    "ospf down": ([edit("ra", ospf=lambda old: {**old, "eth2": (("10.9.255.3", "Init"),)})],
                  {}, [("adjacency", "ra eth2")]),
    "bfd down": ([edit("rb", bfd=lambda old: {**old, "eth1": (("10.9.0.0", "down"),)})], {},
                 [("adjacency", "rb eth1")]),
    "no bfdd: ospf only": ([edit("rb", bfd=None)], {}, []),
    "all at once": ([swap_far_ends, edit("rb", costs=lambda old: {**old, "eth2": 99}),
                     edit("rc", interfaces=lambda old: old | {"eth7"},
                          lldp=lldp_set(eth7=(("rogue", "eth0"),)))], {},
                    [("unknown-router", "rogue"), ("wrong-ports", "l-ab"),
                     ("wrong-ports", "l-ac"), ("cost", "rb eth2")]),
}


@pytest.mark.parametrize("name", CASES)
def test_diff(topo: Topology, name: str) -> None:
    changes, errors, expected = CASES[name]
    seen = as_modelled(topo)
    for change in changes:
        change(seen)
    got = diff(topo, seen, errors, inventory=topo.routers)
    assert [(d.kind, d.where) for d in got] == expected


def test_details(topo: Topology) -> None:
    """model/device name what each side says."""
    seen = as_modelled(topo)
    swap_far_ends(seen)
    edit("rb", costs=lambda old: {**old, "eth2": 99})(seen)
    got = {d.where: d for d in diff(topo, seen, {})}
    assert (got["l-ab"].model, got["l-ab"].device) == ("ra eth1 - rb eth1", "ra eth2 - rb eth1")
    assert (got["l-ac"].model, got["l-ac"].device) == ("ra eth2 - rc eth1", "ra eth1 - rc eth1")
    assert (got["rb eth2"].model, got["rb eth2"].device) == (15, 99)


def test_inventory_host_unknown_and_unread(topo: Topology) -> None:
    seen = as_modelled(topo)
    got = diff(topo, seen, {"rb": "not in the inventory"}, inventory=["ra", "rc", "spare9"])
    assert [(d.kind, d.where, d.device) for d in got] == [
        ("unreachable-router", "rb", None), ("unknown-router", "spare9", "in the inventory")]


def test_unreachable_ends_not_judged(topo: Topology) -> None:
    """A link between two routers not read is neither missing nor present."""
    seen = {"ra": as_modelled(topo)["ra"]}
    got = diff(topo, seen, {"rb": "timeout", "rc": "timeout"})
    assert [d.kind for d in got] == ["unreachable-router"] * 2


@pytest.mark.parametrize("kinds, code", [
    ((), 0), (("unreachable-router",), EXIT_UNREACHABLE), (("cost",), EXIT_DIFFERENT),
    (("unreachable-router", "extra-link"), EXIT_DIFFERENT)])
def test_exit_code(kinds: tuple[str, ...], code: int) -> None:
    from controller.services.discover import Difference
    report = DiscoverReport([Difference(k, "x", None, None) for k in kinds], [], 0)
    assert report.exit_code == code
    assert report.as_dict()["ok"] is (not kinds)


def recorded(router: str) -> Seen:
    rec = json.loads((RECORDED / f"{router}.json").read_text())
    return observe(rec["show interface json"], rec["get_lldp_neighbors"],
                   rec["show ip ospf interface json"], rec["show ip ospf neighbor json"],
                   rec["show bfd peers json"])


def test_observe_recorded() -> None:
    """Getter outputs recorded from the converged 3-router lab: what `observe` makes of them."""
    s = recorded("rc")
    assert {"eth1", "eth2", "lo", "mgmt0"} <= s.interfaces
    assert s.lldp == {"eth1": (("ra", "eth2"),), "eth2": (("rb", "eth2"),)}
    assert s.addresses["eth1"] == ("10.77.0.3/31",) and s.addresses["eth2"] == ("10.77.0.4/31",)
    assert s.costs == {"eth1": 65, "eth2": 155, "lo": 0}
    assert s.ospf == {"eth1": (("10.77.255.1", "Full"),), "eth2": (("10.77.255.2", "Full"),)}
    assert s.bfd == {"eth1": (("10.77.0.2", "up"),), "eth2": (("10.77.0.5", "up"),)}


def test_recorded_lab_as_modelled() -> None:
    """The recordings of all three routers against the topology the lab was built from."""
    tiny = load_topology(RECORDED / "tiny.yaml")
    seen = {r: recorded(r) for r in ("ra", "rb", "rc")}
    assert diff(tiny, seen, {}, inventory=seen) == []
    seen["rc"] = replace(seen["rc"], costs={**seen["rc"].costs, "eth2": 1})
    assert [(d.kind, d.where, d.model, d.device) for d in diff(tiny, seen, {})] == [
        ("cost", "rc eth2", 155, 1)]


def imported(topo: Topology, seen: dict[str, Seen], tmp_path: Path) -> tuple[Topology, dict]:
    """as_discovered over the triangle, written and loaded back (it must validate)."""
    result = as_discovered(yaml.safe_load(TRIANGLE), topo, seen)
    out = tmp_path / "as-is.yaml"
    write(result.doc, out, Path("triangle.yaml"))
    return load_topology(out), result.links


def test_import_as_modelled(topo: Topology, tmp_path: Path) -> None:
    new, links = imported(topo, as_modelled(topo), tmp_path)
    assert new.links == topo.links and new.spans == topo.spans and new.routers == topo.routers
    assert links["as_modelled"] == ["l-ab", "l-ac", "l-cb"]


def test_import_recabled_extra_missing(topo: Topology, tmp_path: Path) -> None:
    """Swapped cords keep their link ids (route, capacity) on the ports seen, addresses left to
    the pool where the ends no longer share a subnet; an extra cable is added, an unplugged
    link dropped, a cost seen becomes the metric; against the same observation the result has
    no cabling difference left, only what the devices disagree on across the new links."""
    seen = as_modelled(topo)
    for change in (swap_far_ends, extra_cable, unplug,
                   edit("ra", costs=lambda old: {**old, "eth9": 7})):
        change(seen)
    new, links = imported(topo, seen, tmp_path)
    assert links == {"as_modelled": [], "recabled": ["l-ab", "l-ac"], "added": ["ra-rb-found-1"],
                     "dropped": ["l-cb"], "not_read": []}
    ab, ac = new.links["l-ab"], new.links["l-ac"]
    assert ((ab.a.router, ab.a.interface), (ab.b.router, ab.b.interface)) == (
        ("ra", "eth2"), ("rb", "eth1"))
    assert ab.route == topo.links["l-ab"].route and ac.a.interface == "eth1"
    assert new.links["ra-rb-found-1"].metric == 7
    left = diff(new, seen, {})  # cabled as the devices are; they still disagree with each
    assert {d.kind for d in left} == {"address", "cost", "adjacency"}  # other on the new links
    assert {d.detail.split()[-1] for d in left} == {"l-ab", "l-ac", "ra-rb-found-1"}


def test_history_open_since(tmp_path: Path) -> None:
    """Each open difference dates from the first run of the unbroken series that shows it."""
    from controller.services.discover import Difference
    from controller.store import Store

    a = Difference("cost", "rb eth2", 15, 99, "OSPF cost, link l-cb")
    b = Difference("unknown-router", "rogue", None, "rc eth7 (its port eth0)")
    store = Store(tmp_path / "ngk.db")
    for when, diffs in ((100.0, [a]), (200.0, []), (300.0, [a, b]), (400.0, [a, b])):
        assert record(store, DiscoverReport(diffs, ["ra", "rb", "rc"], 3, routers=3), when)
    got = history(store)
    assert [(r["time"], r["differences"], r["exit_code"]) for r in got["trend"]] == [
        (100.0, 1, 1), (200.0, 0, 0), (300.0, 2, 1), (400.0, 2, 1)]
    assert [(d["kind"], d["where"], d["model"], d["device"], d["since"], d["runs"])
            for d in got["open"]] == [("cost", "rb eth2", "15", "99", 300.0, 2),
                                      ("unknown-router", "rogue", None,
                                       "rc eth7 (its port eth0)", 300.0, 2)]
    record(store, DiscoverReport([b], ["ra", "rb", "rc"], 3, routers=3), 500.0)
    assert [(d["where"], d["since"], d["runs"]) for d in history(store, runs=2)["open"]] == [
        ("rogue", 300.0, 3)]
    assert len(history(store, runs=2)["trend"]) == 2


def test_junit_and_html_reports() -> None:
    """One test case per kind and per router; a hostile LLDP system name stays data."""
    import xml.etree.ElementTree as ET

    from controller.services.discover import Difference
    from controller.services.discover_reports import html_report, junit_xml

    rogue = '<script>alert("x")</script>&'
    diffs = [Difference("cost", "rb eth2", 15, 99, "OSPF cost, link l-cb"),
             Difference("cost", "ra eth1", 10, 20, "OSPF cost, link l-ab"),
             Difference("unknown-router", rogue, None, "rc eth7 (its port eth0)"),
             Difference("unreachable-router", "rc", "rc", None, "timeout")]
    report = DiscoverReport(diffs, ["ra", "rb"], 3, routers=3, errors={"rc": "timeout"})
    suite = ET.fromstring(junit_xml(report, ["ra", "rb", "rc"]))
    cases = {(c.get("classname"), c.get("name")): c for c in suite}
    assert len(cases) == len(KINDS) - 1 + 3 == int(suite.get("tests"))
    assert (suite.get("failures"), suite.get("errors")) == ("2", "1")
    cost = cases[("discover", "cost")].find("failure")
    assert cost is not None and cost.text is not None and len(cost.text.splitlines()) == 2
    assert cases[("discover.rc", "reachable")].find("error") is not None
    assert cases[("discover.ra", "reachable")].find("error") is None
    assert cases[("discover", "wrong-ports")].find("failure") is None
    assert rogue in cases[("discover", "unknown-router")].find("failure").text  # type: ignore
    page = html_report(report)
    assert "<script>" not in page and "&lt;script&gt;" in page and "4 difference(s)" in page
