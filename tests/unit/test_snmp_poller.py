"""Poller, inventory and state logic against a fake agent that answers GETBULK from a MIB dict
(a brute-force getnext over sorted OIDs), and recorded faults."""
import asyncio
import bisect
import json

import pytest

from controller.services.monitor.app import Monitor
from controller.services.monitor.state import counter_delta, rebooted
from controller.southbound.snmp import ber
from controller.southbound.snmp.client import SnmpError
from controller.credentials import SnmpCredentials
from controller.southbound.snmp.inventory import Target, load_inventory
from controller.southbound.snmp.oids import IF_COLUMNS, SCALARS, SYS_NAME, SYS_UPTIME
from controller.southbound.snmp.poller import poll_all, poll_device
from controller.store import Store

TARGET = Target("r1", "127.0.0.1", 161, SnmpCredentials("2c", community="c"))


def mib(n_if: int, uptime: int = 5000, oper=None) -> dict:
    out = {SYS_UPTIME + (0,): uptime, SYS_NAME + (0,): b"r1", (1, 3, 6, 1, 2, 1, 1, 1, 0): b"x"}
    for i in range(1, n_if + 1):
        out[IF_COLUMNS["descr"] + (i,)] = f"eth{i}".encode()
        out[IF_COLUMNS["name"] + (i,)] = f"eth{i}".encode()
        out[IF_COLUMNS["admin"] + (i,)] = 1
        out[IF_COLUMNS["oper"] + (i,)] = (oper or {}).get(i, 1)
        out[IF_COLUMNS["in_octets"] + (i,)] = 1000 * i
        out[IF_COLUMNS["out_octets"] + (i,)] = 2000 * i
    out[(1, 3, 6, 1, 2, 1, 2, 2, 1, 9, 1)] = 0  # a column the poller does not ask for
    return out


class FakeAgent:
    def __init__(self, data: dict, fail: Exception | None = None):
        self.keys, self.data, self.fail, self.requests = sorted(data), data, fail, 0

    def _next(self, oid):
        i = bisect.bisect_right(self.keys, oid)
        if i < len(self.keys):
            return self.keys[i], self.data[self.keys[i]]
        return oid, ber.END_OF_MIB_VIEW

    async def bulk(self, target, non_repeaters, repeaters, max_repetitions):
        self.requests += 1
        if self.fail:
            raise self.fail
        out = [self._next(o) for o in non_repeaters]
        cursors = list(repeaters)
        for _ in range(max_repetitions):
            row = [self._next(o) for o in cursors]
            out += row
            cursors = [o for o, _ in row]
        return out


@pytest.mark.parametrize("n_if,max_rep", [(0, 16), (1, 1), (10, 3), (37, 16), (5, 5)])
def test_poll_matches_the_agent_table(n_if, max_rep):
    agent = FakeAgent(mib(n_if, oper={2: 2}))
    poll = asyncio.run(poll_device(agent, TARGET, max_rep))
    assert poll.reachable and poll.error is None and poll.problems == []
    assert (poll.sys_uptime, poll.sys_name) == (5000, "r1")
    assert sorted(poll.interfaces) == list(range(1, n_if + 1))
    for i, ifc in poll.interfaces.items():
        assert (ifc.name, ifc.oper, ifc.in_octets, ifc.out_octets) == (
            f"eth{i}", 2 if i == 2 else 1, 1000 * i, 2000 * i)
    assert agent.requests == max(1, -(-(n_if + 1) // max_rep))  # ceil: last row leaves the table


class Recording(FakeAgent):
    """Keeps (non-repeaters, repeaters, max-repetitions) of every request."""

    def __init__(self, data: dict):
        super().__init__(data)
        self.calls = []

    async def bulk(self, target, non_repeaters, repeaters, max_repetitions):
        self.calls.append((list(non_repeaters), list(repeaters), max_repetitions))
        return await super().bulk(target, non_repeaters, repeaters, max_repetitions)


def test_subset_poll_is_one_getbulk_of_ten_interfaces():
    agent = Recording(mib(37, oper={3: 2, 12: 2}))
    poll = asyncio.run(poll_device(agent, TARGET, columns=("oper",), max_rows=10))
    assert agent.calls == [(list(SCALARS), [IF_COLUMNS["oper"]], 10)]
    assert poll.reachable and poll.problems == []
    assert (poll.sys_uptime, poll.sys_name) == (5000, "r1")
    assert {i: f.oper for i, f in poll.interfaces.items()} == \
        {i: 2 if i == 3 else 1 for i in range(1, 11)}
    assert all(f.in_octets is None and f.name == f"ifIndex{i}" for i, f in poll.interfaces.items())
    assert poll.values == 2 + 10


@pytest.mark.parametrize("n_if,max_rows,max_rep", [(37, 10, 4), (5, 10, 16), (10, 10, 16),
                                                   (0, 3, 16), (11, 10, 10), (20, 7, 3),
                                                   (5, 10, 3)])
def test_subset_walk_stops_at_max_rows(n_if, max_rows, max_rep):
    agent = Recording(mib(n_if))
    poll = asyncio.run(poll_device(agent, TARGET, max_rep, ("oper", "in_octets"), max_rows))
    want = list(range(1, min(n_if, max_rows) + 1))
    assert poll.problems == [] and sorted(poll.interfaces) == want
    assert [(f.oper, f.in_octets) for f in poll.interfaces.values()] == \
        [(1, 1000 * i) for i in want]
    got, reps = 0, []  # each request asks for what is left; it stops at the cap or the table's end
    while not reps or got < min(max_rows, n_if + 1):
        reps.append(min(max_rep, max_rows - got))
        got += reps[-1]
    assert [c[2] for c in agent.calls] == reps
    assert agent.calls[0][:2] == (list(SCALARS), [IF_COLUMNS["oper"], IF_COLUMNS["in_octets"]])
    assert all(c[0] == [] for c in agent.calls[1:])


def test_poll_all_subset_one_request_per_device():
    agent = Recording(mib(25))
    targets = [Target(f"r{i}", "127.0.0.1", 161, SnmpCredentials("2c", community="c"))
               for i in range(7)]
    polls = asyncio.run(poll_all(agent, targets, concurrency=3, columns=("oper",), max_rows=10))
    assert [p.router for p in polls] == [t.router for t in targets] and len(agent.calls) == 7
    assert all(sorted(p.interfaces) == list(range(1, 11)) for p in polls)


def test_max_rows_below_one_is_refused():
    with pytest.raises(ValueError, match="max_rows"):
        asyncio.run(poll_device(FakeAgent(mib(1)), TARGET, max_rows=0))


def test_missing_and_malformed_oids_are_problems_not_crashes():
    data = mib(2)
    del data[SYS_UPTIME + (0,)]
    data[IF_COLUMNS["oper"] + (2,)] = b"up"  # wrong type
    poll = asyncio.run(poll_device(FakeAgent(data), TARGET))
    assert poll.reachable and poll.sys_uptime is None
    assert any("sysUpTime missing" in p for p in poll.problems)
    assert any("oper has the wrong type" in p for p in poll.problems)
    assert poll.interfaces[2].oper is None and poll.interfaces[1].oper == 1


def test_unreachable_keeps_the_reason():
    agent = FakeAgent({}, SnmpError("timeout: no response"))
    poll = asyncio.run(poll_device(agent, TARGET))
    assert not poll.reachable and poll.error == "timeout: no response"


def test_non_increasing_agent_is_stopped():
    class Loop(FakeAgent):
        async def bulk(self, target, non_repeaters, repeaters, max_repetitions):
            first = await super().bulk(target, non_repeaters, repeaters, 1)
            return first if non_repeaters else [(IF_COLUMNS[k] + (1,), 1) for k in IF_COLUMNS]
    poll = asyncio.run(poll_device(Loop(mib(3)), TARGET, 1))
    assert any("non-increasing" in p for p in poll.problems)


@pytest.mark.parametrize("prev,prev_ts,cur,ts,want", [
    (1000, 0, 2000, 10, False), (100000, 0, 50, 10, True), (2**32 - 500, 0, 500, 10, False),
    (2**32 - 500, 0, 50000, 10, True), (500, 0, 500, 0, False),
    (30, 0, 50, 2.3, True),  # restarted 0.5 s ago, 2.3 s after a reading at 0.3 s of uptime
    (6000, 0, 6000 + 30000 - 20, 300, False),  # 0.2 s short over 5 min: timing, not a restart
    (6000, 0, 6000 + 30000 - 200, 300, True)])
def test_reboot_detection(prev, prev_ts, cur, ts, want):
    assert rebooted(prev, prev_ts, cur, ts) is want


@pytest.mark.parametrize("prev,cur,reset,bits,want", [
    (10, 25, False, 64, (15, None)), (2**64 - 10, 5, False, 64, (15, "wrap")),
    (2**32 - 1, 0, False, 32, (1, "wrap")), (900, 10, True, 64, (None, "reset")),
    (None, 10, False, 64, (None, None))])
def test_counter_delta(prev, cur, reset, bits, want):
    assert counter_delta(prev, cur, reset, bits) == want


def _monitor(tmp_path, *routers):
    targets = [Target(r, "127.0.0.1", 161, SnmpCredentials("2c", community="c")) for r in routers]
    return Monitor(targets, Store(tmp_path / "m.db"))


def test_state_changes_events_and_restart(tmp_path):
    mon = _monitor(tmp_path, "r1")
    agent = FakeAgent(mib(2))
    first = mon.apply(asyncio.run(poll_device(agent, TARGET)))
    assert first == []  # all up on first sight: nothing to report
    agent = FakeAgent(mib(2, uptime=40, oper={1: 2}))
    events = mon.apply(asyncio.run(poll_device(agent, TARGET)))
    assert {e.kind for e in events} >= {"reboot", "link_down"}
    assert all(e.kind != "counter_wrap" for e in events)  # reset at reboot, not a wrap
    mon.store.flush()
    agent = FakeAgent({}, SnmpError("timeout"))
    assert [e.kind for e in mon.apply(asyncio.run(poll_device(agent, TARGET)))] == ["router_down"]
    mon.store.flush()
    again = _monitor(tmp_path, "r1")  # a restart keeps state: no second router_down
    st = again.state.routers["r1"]
    assert st.reachable is False and st.oper["eth1"].up is False
    assert again.apply(asyncio.run(poll_device(agent, TARGET))) == []
    rows = again.store.query("SELECT interface, state FROM state_changes ORDER BY rowid")
    assert rows == [("", "up"), ("eth1", "up"), ("eth2", "up"), ("eth1", "down"), ("", "down")]


def test_inventory(tmp_path):
    secrets = tmp_path / "secret" / "snmp.yaml"
    secrets.parent.mkdir()
    secrets.write_text("snmp: {version: '3', user: u, auth_key: authkey123, priv_key: privkey123}\n"
                       "hosts: {r2: {snmp: {user: special}}}\n")
    secrets.chmod(0o600)
    lab = tmp_path / "lab-secrets.yaml"
    lab.write_text(json.dumps({"ssh": {"username": "root"}, "snmp": {
        "version": "3", "community": "cc", "user": "ngk", "auth_key": "a" * 12,
        "priv_key": "p" * 12}}))
    lab.chmod(0o600)
    inv = tmp_path / "inv"
    inv.mkdir()
    (inv / "defaults.yaml").write_text("data: {snmp: {timeout: 2.5}}\n")
    (inv / "groups.yaml").write_text("lab: {data: {snmp: {secrets_file: %s}}}\n" % lab)
    (inv / "hosts.yaml").write_text(
        "r1:\n  hostname: 10.0.0.1\n  data: {snmp: {community: pub, port: 1161}}\n"
        f"r2:\n  hostname: 10.0.0.2\n  data: {{snmp: {{secrets_file: {secrets}}}}}\n"
        "r3:\n  hostname: 10.0.0.3\n  groups: [lab]\n"
        "bad1:\n  hostname: router.example\n"
        "bad2:\n  hostname: 10.0.0.5\n  data: {snmp: {version: '3', user: u}}\n"
        "bad3:\n  hostname: 10.0.0.6\n  data: {snmp: {community: x, port: 70000}}\n"
        f"bad4:\n  hostname: 10.0.0.7\n  data: {{snmp: {{secrets_file: {tmp_path}/none.yaml}}}}\n")
    targets, diags = load_inventory(inv)
    by = {t.router: t for t in targets}
    assert by["r1"].port == 1161 and by["r1"].credentials.community == "pub"
    assert by["r1"].timeout == 2.5
    assert by["r2"].credentials.version == "3" and by["r2"].credentials.user == "special"
    assert by["r3"].credentials.user == "ngk" and by["r3"].credentials.auth_key == "a" * 12
    assert by["r3"].credentials.community == "cc"  # kept to accept the lab's v2c traps
    assert [d.path for d in diags] == ["bad1", "bad2", "bad3", "bad4"]
    assert "does not exist" in diags[3].message
    assert all(d.file.endswith("hosts.yaml") and d.line for d in diags)
    assert "auth_key" in diags[1].message and "port" in diags[2].message
