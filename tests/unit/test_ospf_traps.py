"""OSPF-TRAP-MIB traps (RFC 4750) as the lab's FRR ospfd sends them, recorded from a light cut of
osl-ham-rail: parsing, and the monitor's ospf_neighbor_down/up events with their impact, checked
against the links found here by hand from the topology's /31 addresses."""
import asyncio

import pytest

from controller.model.load import load_topology
from controller.services.impact import ImpactMapper
from controller.services.monitor.app import Monitor
from controller.services.monitor.history import ADJACENCY, Seen
from controller.services.uptime import uptime_report
from controller.southbound.snmp.poller import DevicePoll
from controller.credentials import SnmpCredentials
from controller.southbound.snmp.inventory import Target
from controller.southbound.snmp.oids import OSPF_NBR_STATE, oid
from controller.southbound.snmp.traps import parse
from controller.store import Store

TOPO = load_topology()
MAPPER = ImpactMapper(TOPO)
NBR_TRAP, IF_TRAP = oid("1.3.6.1.2.1.14.16.2.2"), oid("1.3.6.1.2.1.14.16.2.16")
TRAP_OID, UPTIME = oid("1.3.6.1.6.3.1.1.4.1.0"), oid("1.3.6.1.2.1.1.3.0")
# Recorded verbatim from osl-cr2 (FRR 8.4 ospfd AgentX via net-snmp): no ospfNbrAddressLessIndex
# var-bind, the neighbour's address and address-less index are in the instance index.
RECORDED_NBR = [(UPTIME, 895), (TRAP_OID, NBR_TRAP),
                (oid("1.3.6.1.2.1.14.1.1.0"), "10.255.0.2"),
                (oid("1.3.6.1.2.1.14.10.1.1.10.0.0.7.0"), "10.0.0.7"),
                (oid("1.3.6.1.2.1.14.10.1.3.10.0.0.7.0"), "10.255.0.7"),
                (oid("1.3.6.1.2.1.14.10.1.6.10.0.0.7.0"), 1)]
RECORDED_IF = [(UPTIME, 895), (TRAP_OID, IF_TRAP), (oid("1.3.6.1.2.1.14.1.1.0"), "10.255.0.2"),
               (oid("1.3.6.1.2.1.14.7.1.1.10.0.0.6.0"), "10.0.0.6"),
               (oid("1.3.6.1.2.1.14.7.1.2.10.0.0.6.0"), 0),
               (oid("1.3.6.1.2.1.14.7.1.12.10.0.0.6.0"), 1)]
# The ospfNbrStateChange traps of that cut: (seconds after the cut, router, its router ID,
# neighbour address, neighbour router ID, ospfNbrState); restore at t = 6.09 s.
RECORDED_CUT = [
    (0.069, "osl-cr2", "10.255.0.2", "10.0.0.7", "10.255.0.7", 1),
    (0.073, "osl-cr2", "10.255.0.2", "10.0.0.3", "10.255.0.4", 1),
    (0.074, "ham-pe1", "10.255.0.7", "10.0.0.6", "10.255.0.2", 1),
    (0.079, "trd-cr2", "10.255.0.4", "10.0.0.2", "10.255.0.2", 1),
    (7.134, "osl-cr2", "10.255.0.2", "10.0.0.7", "10.255.0.7", 8),
    (7.139, "ham-pe1", "10.255.0.7", "10.0.0.6", "10.255.0.2", 8),
    (7.153, "osl-cr2", "10.255.0.2", "10.0.0.3", "10.255.0.4", 8),
    (7.154, "trd-cr2", "10.255.0.4", "10.0.0.2", "10.255.0.2", 8),
]
CUT_LINKS = {"osl-ham-2", "osl-trd-2"}


def nbr_varbinds(router_id: str, address: str, nbr_id: str, state: int) -> list:
    index = oid(address) + (0,)
    return [(UPTIME, 1), (TRAP_OID, NBR_TRAP), (oid("1.3.6.1.2.1.14.1.1.0"), router_id),
            (oid("1.3.6.1.2.1.14.10.1.1") + index, address),
            (oid("1.3.6.1.2.1.14.10.1.3") + index, nbr_id),
            (oid("1.3.6.1.2.1.14.10.1.6") + index, state)]


def by_hand(router: str, address: str) -> tuple[str, str]:
    """(router's interface, link) whose far end has `address`, by a scan of every link."""
    found = [(near.interface, lk.id) for lk in TOPO.links.values()
             for near, far in ((lk.a, lk.b), (lk.b, lk.a))
             if near.router == router and str(far.address.ip) == address]
    assert len(found) == 1
    return found[0]


def monitor(tmp_path) -> Monitor:
    targets = [Target(r, f"192.0.2.{i}", 161, SnmpCredentials("2c", community="c"))
               for i, r in enumerate(sorted(TOPO.routers), 1)]
    return Monitor(targets, Store(tmp_path / "m.db"), MAPPER)


def test_parse_recorded_nbr_state_change():
    trap = parse(RECORDED_NBR, "osl-cr2", "192.0.2.1", 1.0)
    assert trap.kind == "ospfNbrStateChange"
    assert (trap.ospf_router_id, trap.nbr_address, trap.nbr_router_id, trap.nbr_state) == (
        "10.255.0.2", "10.0.0.7", "10.255.0.7", 1)
    assert trap.if_index is None and trap.oper is None


def test_parse_takes_the_neighbour_address_from_the_index_when_absent():
    trap = parse([vb for vb in RECORDED_NBR if vb[0][:10] != oid("1.3.6.1.2.1.14.10.1.1")],
                 "osl-cr2", "192.0.2.1", 1.0)
    assert trap.nbr_address == "10.0.0.7" and trap.nbr_state == 1


def test_parse_recorded_if_state_change():
    trap = parse(RECORDED_IF, "osl-cr2", "192.0.2.1", 1.0)
    assert trap.kind == "ospfIfStateChange"
    assert (trap.ospf_if_address, trap.ospf_if_state, trap.nbr_state) == ("10.0.0.6", 1, None)


@pytest.mark.parametrize("link", sorted(TOPO.links))
def test_every_link_end_maps_its_neighbour(link):
    lk = TOPO.links[link]
    for near, far in ((lk.a, lk.b), (lk.b, lk.a)):
        assert MAPPER.neighbor(near.router, str(far.address.ip)) == by_hand(
            near.router, str(far.address.ip))
        assert MAPPER.neighbor(near.router, str(near.address.ip)) is None


def test_recorded_cut_gives_neighbour_down_then_up_with_impact(tmp_path):
    m = monitor(tmp_path)
    events = []
    for dt, router, rid, address, nbr_id, state in RECORDED_CUT:
        events += m.on_trap(parse(nbr_varbinds(rid, address, nbr_id, state), router, "x",
                                  1000.0 + dt))
    downs = [e for e in events if e["kind"] == "ospf_neighbor_down"]
    ups = [e for e in events if e["kind"] == "ospf_neighbor_up"]
    want = [(r, *by_hand(r, a)) for _, r, _, a, _, s in RECORDED_CUT if s == 1]
    assert [(e["router"], e["interface"], e["detail"]["link"]) for e in downs] == want
    assert {lid for _, _, lid in want} == CUT_LINKS
    assert len(ups) == len(downs)
    for e in downs:
        assert e["detail"]["link"] in e["detail"]["impact"]["links_down"]
        assert e["detail"]["state"] == "down" and e["source"] == "trap"
    assert set(downs[-1]["detail"]["impact"]["links_down"]) == CUT_LINKS
    assert set(ups[0]["detail"]["impact"]["links_down"]) == CUT_LINKS  # trd-cr2 not yet full
    assert ups[-1]["detail"]["impact"]["elements"] == []  # the last one closes the outage
    # the adjacency is not ifOperStatus: no interface state changed, but the adjacency's own
    # state is recorded, and `ngk uptime` counts a link down while an adjacency over it is down
    assert all(not st.oper for st in m.state.routers.values())
    m.store.add("INSERT INTO samples (ts, router, reachable, horizon) VALUES (?, ?, 1, 10)",
                [(1000.0, r) for r in TOPO.routers])  # observed for the whole window
    m.store.flush()
    rows = m.store.query("SELECT ts, router, interface, state FROM state_changes ORDER BY ts")
    assert rows == [(1000.0 + dt, r, ADJACENCY + by_hand(r, a)[0], "down" if st == 1 else "up")
                    for dt, r, _, a, _, st in RECORDED_CUT]
    report = {x["link"]: x for x in uptime_report(m.store, TOPO, 1000.0, 1010.0)["links"]}
    for lid in CUT_LINKS:
        times = [(1000.0 + dt, st) for dt, r, _, a, _, st in RECORDED_CUT
                 if by_hand(r, a)[1] == lid]
        start = min(t for t, st in times if st == 1)
        end = max(t for t, st in times if st == 8)
        assert report[lid]["down_intervals"] == [[start, end]], report[lid]
        assert report[lid]["downtime_s"] == round(end - start, 3)
    assert all(x["downtime_s"] == 0 for lid, x in report.items() if lid not in CUT_LINKS)


class NbrTable:
    """Routers' ospfNbrTable for the monitor's walk: ospfNbrState by neighbour address."""

    def __init__(self, tables: dict[str, dict[str, int]]):
        self.tables, self.walked = tables, []

    async def bulk(self, target, non_repeaters, repeaters, max_repetitions):
        (cursor,) = repeaters
        if cursor == OSPF_NBR_STATE:  # a walk starts
            self.walked.append(target.router)
        rows = sorted((oid("1.3.6.1.2.1.14.10.1.6." + a + ".0"), st)
                      for a, st in self.tables.get(target.router, {}).items())
        after = [r for r in rows if r[0] > cursor][:max_repetitions]
        return after or [(oid("1.3.6.1.2.1.14.10.1.7.0"), 0)]  # the next column: end of walk


def all_full(router: str) -> dict[str, int]:
    return {a: 8 for r, a in MAPPER.by_neighbor if r == router}


def polls(t: float = 2.0) -> list[DevicePoll]:
    return [DevicePoll(r, t, reachable=True) for r in sorted(TOPO.routers)]


def test_adjacency_down_survives_a_restart_and_a_walk_sees_it_back(tmp_path):
    m = monitor(tmp_path)
    interface, link = by_hand("osl-cr2", "10.0.0.7")
    m.on_trap(parse(nbr_varbinds("10.255.0.2", "10.0.0.7", "10.255.0.7", 1), "osl-cr2", "x", 1.0))
    m.store.flush()
    again = monitor(tmp_path)  # restarted: the up trap was lost while it was away
    assert again.state.routers["osl-cr2"].adjacency[interface] == Seen(False, 1.0)
    again.client, again.cycles = NbrTable({"osl-cr2": all_full("osl-cr2")}), 1
    e, = asyncio.run(again.check_adjacencies(polls()))
    assert again.client.walked == ["osl-cr2"]  # not a full-walk cycle: only the suspect router
    assert (e["kind"], e["source"], e["router"], e["interface"]) == \
        ("ospf_neighbor_up", "poll", "osl-cr2", interface)
    assert e["detail"]["link"] == link and e["detail"]["impact"]["elements"] == []
    assert asyncio.run(again.check_adjacencies(polls())) == []  # nothing left to check


def test_a_walk_finds_a_silent_failure_whose_trap_was_lost(tmp_path):
    m = monitor(tmp_path)
    tables = {r: all_full(r) for r in TOPO.routers}
    m.client = NbrTable(tables)
    assert asyncio.run(m.check_adjacencies(polls())) == []  # first sight of full: no event
    assert sorted(m.client.walked) == sorted(TOPO.routers)
    for i, (_, router, _, address, _, _) in enumerate(RECORDED_CUT[:4]):  # neighbours leave
        if i % 2:  # full: some are gone from the table, some stay in state down (1)
            del tables[router][address]
        else:
            tables[router][address] = 1
    m.cycles = 6  # a full-walk cycle
    events = asyncio.run(m.check_adjacencies(polls()))
    want = {(r, *by_hand(r, a)) for _, r, _, a, _, _ in RECORDED_CUT[:4]}
    assert {(e["router"], e["interface"], e["detail"]["link"]) for e in events} == want
    assert {e["kind"] for e in events} == {"ospf_neighbor_down"}
    assert set(events[-1]["detail"]["impact"]["links_down"]) == CUT_LINKS
    m.store.flush()
    assert m.store.query("SELECT COUNT(*) FROM state_changes WHERE state = 'down' "
                         "AND interface LIKE 'ospf:%'") == [(4,)]


def test_an_agent_without_ospf_neighbours_raises_nothing(tmp_path):
    m = monitor(tmp_path)
    m.client = NbrTable({})
    assert asyncio.run(m.check_adjacencies(polls())) == []
    assert all(not st.adjacency for st in m.state.routers.values())


def test_repeats_and_first_full_raise_no_event(tmp_path):
    m = monitor(tmp_path)
    kinds = [e["kind"] for s in (8, 1, 1, 4, 8, 8) for e in m.on_trap(parse(
        nbr_varbinds("10.255.0.2", "10.0.0.7", "10.255.0.7", s), "osl-cr2", "x", 1.0))]
    assert kinds == ["ospfNbrStateChange", "ospf_neighbor_down", "ospfNbrStateChange",
                     "ospfNbrStateChange", "ospf_neighbor_up", "ospfNbrStateChange"]


def test_unknown_neighbour_keeps_the_trap_kind_without_impact(tmp_path):
    m = monitor(tmp_path)
    e, = m.on_trap(parse(nbr_varbinds("10.255.0.2", "10.9.9.9", "10.255.0.9", 1), "osl-cr2",
                         "x", 1.0))
    assert e["kind"] == "ospfNbrStateChange" and e["interface"] == ""
    assert "impact" not in e["detail"] and e["detail"]["neighbor_address"] == "10.9.9.9"


def _link_down(m: Monitor, router: str, interface: str, ts: float) -> None:
    m.state.routers[router].oper[interface] = Seen(False, ts)


@pytest.mark.parametrize("full_after_oper_down", [True, False])
def test_full_adjacency_newer_than_oper_down_wins(tmp_path, full_after_oper_down):
    m = monitor(tmp_path)
    interface, link = by_hand("osl-cr2", "10.0.0.7")
    trap = parse(nbr_varbinds("10.255.0.2", "10.0.0.7", "10.255.0.7", 1), "osl-cr2", "x", 1.0)
    m.on_trap(trap)
    _link_down(m, "osl-cr2", interface, 1.5)  # the agent's stale ifTable catches up
    e, = m.on_trap(parse(nbr_varbinds("10.255.0.2", "10.0.0.7", "10.255.0.7", 8), "osl-cr2",
                         "x", 2.0 if full_after_oper_down else 1.2))
    assert e["kind"] == "ospf_neighbor_up"
    assert e["detail"]["impact"]["links_down"] == ([] if full_after_oper_down else [link])
    # ifOperStatus is left as reported
    assert m.state.routers["osl-cr2"].oper[interface].up is False


def test_if_state_change_names_the_interface(tmp_path):
    m = monitor(tmp_path)
    e, = m.on_trap(parse(RECORDED_IF, "osl-cr2", "x", 1.0))
    assert e["kind"] == "ospfIfStateChange" and e["detail"]["state"] == "down"
    want = [near.interface for lk in TOPO.links.values() for near in (lk.a, lk.b)
            if near.router == "osl-cr2" and str(near.address.ip) == "10.0.0.6"]
    assert [e["interface"]] == want
