"""The monitor's history: the live impact and `ngk uptime` apply one link-down rule (fed the same
sequence, they agree at every moment), and store failures keep being reported past the 100 the
store remembers."""
import pytest

from controller.credentials import SnmpCredentials
from controller.model.layers import outage
from controller.model.load import load_topology
from controller.services.impact import ImpactMapper
from controller.services.metrics import MetricsCollector
from controller.services.monitor.app import Monitor
from controller.services.monitor.history import History
from controller.services.monitor.state import MonitorState, StateChange
from controller.services.uptime import uptime_report
from controller.southbound.snmp.inventory import Target
from controller.southbound.snmp.poller import DevicePoll, Interface
from controller.southbound.snmp.traps import Trap
from controller.store import Store

TOPO = load_topology()
MAPPER = ImpactMapper(TOPO)
LINK = TOPO.links["osl-ham-2"]
A, B = LINK.a, LINK.b


def poll(router: str, ts: float, down: set[str] = frozenset(), reachable: bool = True
         ) -> DevicePoll:
    names = sorted({x.interface for lk in TOPO.router_links(router) for x in (lk.a, lk.b)
                    if x.router == router})
    ifs = {i: Interface(i, n, 2 if n in down else 1, 1, None, None)
           for i, n in enumerate(names, 1)} if reachable else {}
    return DevicePoll(router, ts, reachable, 100 * int(ts) + 1000 if reachable else None,
                      interfaces=ifs, error=None if reachable else "timeout")


def nbr(router: str, address: str, state: int, ts: float) -> Trap:
    return Trap("ospfNbrStateChange", router, "x", ts, nbr_address=address, nbr_state=state)


# (time, input): an adjacency lost, the agent's ifTable reporting it late, the adjacency back
# before ifOperStatus is (the agent lags), a router unreachable and back, the port up again
SEQUENCE = [
    (1.0, [poll(r, 1.0) for r in sorted(TOPO.routers)]),
    (2.0, [nbr(A.router, str(B.address.ip), 1, 2.0)]),
    (3.0, [poll(A.router, 3.0, {A.interface})]),
    (4.0, [nbr(A.router, str(B.address.ip), 8, 4.0)]),
    (5.0, [poll(B.router, 5.0, reachable=False)]),
    (6.0, [poll(B.router, 6.0)]),
    (7.0, [poll(A.router, 7.0)]),
    (8.0, [poll(B.router, 8.0, {B.interface})]),
]


def test_live_impact_and_uptime_agree(store_url):
    state, store = MonitorState(TOPO.routers, MAPPER), Store(store_url)
    history = History(store)
    live: dict[float, set[str]] = {}
    for ts, inputs in SEQUENCE:
        for x in inputs:
            out = state.apply(x) if isinstance(x, DevicePoll) else state.on_trap(x)
            for e in out:
                if isinstance(e, StateChange):
                    history.change(e.ts, e.router, e.interface, e.state, e.reason, e.source)
        elements = MAPPER.elements(state.routers_down(), state.interfaces_down())
        live[ts] = set(outage(TOPO, elements).links)
    store.add("INSERT INTO samples (ts, router, reachable, horizon) VALUES (?, ?, 1, 60)",
              [(0.5, r) for r in TOPO.routers])
    assert store.flush()
    report = uptime_report(store, TOPO, 0.5, 10.0)
    for ts, want in live.items():
        recorded = {x["link"] for x in report["links"]
                    if any(a <= ts + 0.5 < b for a, b in x["down_intervals"])}
        assert recorded == want, ts
    # the sequence exercises each rule: adjacency down, lagging oper down, router down
    assert live[2.0] == live[3.0] == {LINK.id} and live[4.0] == set()
    assert live[5.0] == {lk.id for lk in TOPO.router_links(B.router)}
    assert live[7.0] == set() and live[8.0] == {LINK.id}


def test_store_errors_are_reported_past_the_hundred_kept(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    store = Store(blocker / "sub" / "m.db")
    targets = [Target("r1", "192.0.2.1", 161, SnmpCredentials("2c", community="c"))]
    m = Monitor(targets, store)  # cannot read previous state: error 1
    reported = [e for i in range(150) for e in m.on_trap(Trap("coldStart", "r1", "x", float(i)))
                if e["kind"] == "store_error"]
    assert len(reported) == 150 and len(store.errors) == 100 and store.error_count == 151
    metric, = [f for f in MetricsCollector(m.snapshot).collect() if f.name == "ngk_store_errors"]
    assert metric.samples[0].value == 151
    assert m.snapshot().event_counts["store_error"] == 150
    leader, = [f for f in MetricsCollector(m.snapshot).collect() if f.name == "ngk_monitor_active"]
    assert leader.samples[0].value == 1.0  # no lease: the one monitor leads


@pytest.mark.parametrize("n", [1, 100, 101, 250])
def test_store_error_count_is_monotonic(tmp_path, n):
    store = Store(tmp_path / "s.db")
    for i in range(n):
        store.record_error(f"e{i}")
    assert store.error_count == n and len(store.errors) == min(n, 100)
    assert store.errors[-1][1] == f"e{n - 1}"


def test_a_trap_both_monitors_received_is_stored_once(store_url):
    """Routers send each notification to every monitor: two monitors on one store record the
    same linkDown once (same sender, content and agent clock), a later one (another sysUpTime)
    and a trap without the agent's clock (nothing to tell a resend from a repeat) each time."""
    targets = [Target("r1", "192.0.2.1", 161, SnmpCredentials("2c", community="c"))]
    a, b = Monitor(targets, Store(store_url)), Monitor(targets, Store(store_url))

    def link_down(received: float, uptime: int | None) -> Trap:
        binds = {"1.3.6.1.6.3.1.1.4.1.0": "1.3.6.1.6.3.1.1.5.3", "1.3.6.1.2.1.2.2.1.1.7": 7}
        if uptime is not None:
            binds["1.3.6.1.2.1.1.3.0"] = uptime
        return Trap("linkDown", "r1", "192.0.2.1", received, if_index=7, varbinds=binds)

    for monitor, delay in ((a, 0.0), (b, 0.004)):  # the second receiver a little later
        monitor.on_trap(link_down(100.0 + delay, 5000))
        monitor.on_trap(link_down(101.0 + delay, 5100))
        monitor.on_trap(link_down(102.0 + delay, None))
        assert monitor.store.flush()
    rows = Store(store_url).query("SELECT ts, detail FROM events WHERE kind = 'linkDown' "
                                  "ORDER BY ts")
    assert [round(ts) for ts, _ in rows] == [100, 101, 102, 102]
    assert rows[0][0] == 100.0  # the first receiver's row stands


def test_the_current_state_table_is_backfilled_and_kept_as_the_last_change(store_url):
    """A store from before `state_current` gets it filled from state_changes by the migration;
    from then on every change keeps it at the latest state of its key, whatever the order the
    changes are written in, and restore reads it."""
    from controller.services.monitor.history import SCHEMA

    old = Store(store_url)
    old.register("monitor", SCHEMA[:-1])
    rows = [(1.0, "r1", "", "up"), (5.0, "r1", "", "down"), (3.0, "r1", "eth1", "down"),
            (2.0, "r1", "eth1", "up"), (4.0, "r2", "ospf:eth2", "down")]
    old.add("INSERT INTO state_changes (ts, router, interface, state) VALUES (?,?,?,?)", rows)
    assert old.flush()
    old.close()
    history = History(Store(store_url))
    want = {("r1", "", "down", 5.0), ("r1", "eth1", "down", 3.0), ("r2", "ospf:eth2", "down", 4.0)}
    assert set(history.restore().changes) == want
    history.change(7.0, "r1", "eth1", "up", "poll", "poll")
    history.change(6.5, "r1", "", "down", "poll", "poll")
    history.change(6.0, "r1", "", "up", "late", "trap")  # written later, but older: not current
    history.change(6.0, "r2", "ospf:eth2", "up", "late", "trap")
    assert history.store.flush()
    assert set(History(Store(store_url)).restore().changes) == {
        ("r1", "", "down", 6.5), ("r1", "eth1", "up", 7.0), ("r2", "ospf:eth2", "up", 6.0)}
