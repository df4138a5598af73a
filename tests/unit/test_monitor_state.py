"""The monitor's state machine on its own: recorded polls, traps and neighbour walks in, typed
events out; no store, socket or clock."""
import pytest

from controller.model.load import load_topology
from controller.services.impact import ImpactMapper
from controller.services.monitor.history import Seen
from controller.services.monitor.state import (
    CounterNote,
    LinkChange,
    MonitorState,
    NeighbourPolled,
    NeighbourTrap,
    NeighbourWalk,
    Reboot,
    RouterDown,
    RouterUp,
    StateChange,
    TrapEvent,
)
from controller.southbound.snmp.poller import DevicePoll, Interface
from controller.southbound.snmp.traps import Trap

TOPO = load_topology()
MAPPER = ImpactMapper(TOPO)
LINK = TOPO.links["osl-ham-2"]


def poll(ts: float, uptime: int, oper: dict[int, int], octets: int = 1000, router: str = "r1",
         reachable: bool = True) -> DevicePoll:
    ifs = {i: Interface(i, f"eth{i}", st, 2 if i == 2 else 1, octets, octets)  # eth2 admin down
           for i, st in oper.items()}
    return DevicePoll(router, ts, reachable, uptime, router, ifs if reachable else {},
                      None if reachable else "timeout", duration=0.01)


def kinds(events) -> list[str]:
    return [e.kind for e in events]


def test_a_recorded_sequence_of_polls():
    m = MonitorState(["r1"])
    first = m.apply(poll(1.0, 200, {1: 1, 2: 2}))
    assert all(isinstance(e, StateChange) for e in first)  # first sight: recorded, no event
    assert [(e.interface, e.state) for e in first] == [("", "up"), ("eth1", "up"),
                                                      ("eth2", "down")]
    assert m.apply(poll(11.0, 1200, {1: 1, 2: 2}, 2000)) == []
    assert m.snapshot()[0].rates["eth1"] == (800.0, 800.0)
    down = m.apply(poll(20.0, 2100, {1: 2, 2: 2}, 3000))
    assert kinds(down) == ["state_change", "link_down"]
    link, = [e for e in down if isinstance(e, LinkChange)]
    assert (link.interface, link.detail()) == ("eth1", {"oper": "down", "admin": "up"})
    reboot = m.apply(poll(30.0, 50, {1: 1, 2: 2}, 10))
    assert kinds(reboot) == ["reboot", "counter_reset", "counter_reset", "state_change",
                             "link_up", "counter_reset", "counter_reset"]
    assert isinstance(reboot[0], Reboot) and reboot[0].uptime_s == 0.5
    wrap = m.apply(poll(40.0, 1050, {1: 1, 2: 2}, 5))
    assert {type(e) for e in wrap} == {CounterNote} and {e.kind for e in wrap} == {"counter_wrap"}
    gone = m.apply(poll(50.0, 0, {}, reachable=False))
    assert kinds(gone) == ["state_change", "router_down"] and gone[1].detail() == {
        "reason": "timeout"}
    assert m.apply(poll(60.0, 0, {}, reachable=False)) == []  # still down: nothing new
    back = m.apply(poll(70.0, 4050, {1: 1, 2: 2}, 10))
    assert isinstance(back[1], RouterUp) and back[1].was == "timeout"
    view, = m.snapshot()
    assert view.errors == {"timeout": 2} and view.reachable and view.uptime_s == 40.5
    assert back[1].as_dict() == {"ts": 70.0, "kind": "router_up", "router": "r1",
                                 "interface": "", "source": "poll",
                                 "detail": {"was": "timeout"}}


def nbr_trap(router: str, address: str, state: int, ts: float) -> Trap:
    return Trap("ospfNbrStateChange", router, "192.0.2.1", ts, nbr_address=address,
                nbr_state=state, nbr_router_id="10.255.0.9", ospf_router_id="10.255.0.1")


def test_neighbour_traps_and_walks_keep_the_adjacency():
    m = MonitorState(TOPO.routers, MAPPER)
    a, b = LINK.a, LINK.b
    far = str(b.address.ip)
    down = m.on_trap(nbr_trap(a.router, far, 1, 1.0))
    assert kinds(down) == ["state_change", "ospf_neighbor_down"]
    change, event = down
    assert (change.interface, change.state, change.source) == (f"ospf:{a.interface}", "down",
                                                              "trap")
    assert isinstance(event, NeighbourTrap) and event.link == LINK.id
    assert (a.router, a.interface) in m.interfaces_down()
    assert m.on_trap(nbr_trap(a.router, far, 1, 1.5))[0].kind == "ospfNbrStateChange"
    # a walk that no longer lists the neighbour keeps it down; one that shows it full: up
    others = {address: 8 for _, address in MAPPER.neighbors[a.router] if address != far}
    first = m.on_neighbours(NeighbourWalk(a.router, 2.0, others))  # first sight of the others
    assert {type(e) for e in first} == {StateChange} and {e.state for e in first} == {"up"}
    assert m.to_walk([a.router, b.router], everyone=False) == [a.router]
    up = m.on_neighbours(NeighbourWalk(a.router, 3.0, {**others, far: 8}))
    assert kinds(up) == ["state_change", "ospf_neighbor_up"]
    assert isinstance(up[1], NeighbourPolled) and up[1].detail() == {
        "neighbor_address": far, "state": "full", "link": LINK.id}
    assert m.interfaces_down() == set() and m.to_walk([a.router], everyone=False) == []
    assert m.on_neighbours(NeighbourWalk(a.router, 4.0, None)) == []  # a failed walk: nothing


def test_unknown_sender_and_unmapped_neighbour_keep_the_trap():
    m = MonitorState(TOPO.routers, MAPPER)
    e, = m.on_trap(Trap("coldStart", None, "198.51.100.7", 1.0))
    assert isinstance(e, TrapEvent) and e.router == "unknown:198.51.100.7"
    e, = m.on_trap(nbr_trap(LINK.a.router, "10.9.9.9", 1, 1.0))
    assert e.kind == "ospfNbrStateChange" and "link" not in e.detail()


@pytest.mark.parametrize("full_at,down", [(2.0, False), (1.2, True)])
def test_the_newer_of_oper_down_and_a_full_adjacency_wins(full_at, down):
    m = MonitorState(TOPO.routers, MAPPER)
    a = LINK.a
    m.on_trap(nbr_trap(a.router, str(LINK.b.address.ip), 1, 1.0))
    m.on_trap(Trap("linkDown", a.router, "x", 1.5, if_index=7))
    m.routers[a.router].oper[a.interface] = Seen(False, 1.5)
    m.on_trap(nbr_trap(a.router, str(LINK.b.address.ip), 8, full_at))
    assert ((a.router, a.interface) in m.interfaces_down()) is down


def test_restore_raises_no_duplicate_events():
    from controller.services.monitor.history import Restored

    m = MonitorState(["r1"])
    m.restore(Restored([("r1", "", "down", 5.0), ("r1", "eth1", "up", 1.0)], [("r1", 100, 5.0)]))
    assert m.apply(poll(6.0, 0, {}, reachable=False)) == []
    assert kinds(m.apply(poll(7.0, 300, {1: 1}))) == ["state_change", "router_up"]
    assert isinstance(RouterDown(ts=0, router="r", reason="x"), RouterDown)
