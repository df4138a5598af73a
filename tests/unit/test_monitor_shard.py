"""Sharded monitors: membership heartbeats on a private PostgreSQL cluster, the per-device cadence
across a move (shard.py), and the rule that a device moving between instances raises no down/up
event that its previous poller raised already (MonitorState.adopt)."""
import json
import time

import pytest
from typer.testing import CliRunner

from controller.cli.main import app
from controller.credentials import SnmpCredentials
from controller.errors import InputError
from controller.services.monitor.app import Monitor
from controller.services.monitor.members import Members
from controller.services.monitor.shard import Shard
from controller.services.sharding import assign
from controller.southbound.snmp.inventory import Target
from controller.southbound.snmp.poller import DevicePoll, Interface
from controller.store import Store

ROUTERS = [f"r{i}" for i in range(20)]


def test_heartbeats_define_the_live_members(postgres):
    url = postgres.database()
    a, b = Members(Store(url), "host-a:1", ttl=0.3), Members(Store(url), "host-b:2", ttl=0.3)
    assert a.beat() == ["host-a:1"]
    assert b.beat() == ["host-a:1", "host-b:2"]
    time.sleep(0.4)  # a stopped beating: lapsed by the server's clock
    assert b.beat() == ["host-b:2"]
    assert a.beat() == ["host-a:1", "host-b:2"]  # back
    split = b.status(ROUTERS)
    assert split["inventory"] == len(ROUTERS) and [m["instance"] for m in split["members"]] == [
        "host-a:1", "host-b:2"]
    assert sum(m["devices"] for m in split["members"]) == len(ROUTERS)
    assert all(m["devices"] and 0 <= m["seen_s_ago"] < 0.3 for m in split["members"])
    a.leave()
    assert b.live() == ["host-b:2"]
    assert Members(Store(url), "host-c:3", ttl=0.3, name="other").beat() == ["host-c:3"]


def test_rows_of_long_gone_instances_are_forgotten(postgres):
    url = postgres.database()
    a, b = Members(Store(url), "a:1", ttl=0.01), Members(Store(url), "b:2", ttl=0.01)
    a.beat()
    time.sleep(1.1)  # 100 ttls
    b.beat()
    assert a.store.query("SELECT instance FROM monitor_members") == [("b:2",)]


def test_members_need_postgresql(tmp_path):
    with pytest.raises(InputError, match="PostgreSQL"):
        Members(Store(tmp_path / "x.db"), "a", 1.0)


def test_a_device_keeps_its_cadence_across_a_move():
    s = Shard("b:2", ROUTERS, interval=1.0)
    gained = s.rebalance(["a:1", "b:2"], now=100.0)
    assert gained == set(s.owned) == s.fresh and gained
    d, gone, fresh = sorted(gained)[:3]
    # d was polled 0.2 s ago by a live instance, gone's poller is no longer live, fresh never
    s.schedule({d, gone, fresh}, {d: (99.8, "a:1"), gone: (99.5, "c:3")}, now=100.0)
    assert s.due_now(100.3) == []  # starting: 1.5 heartbeats to see the others first
    assert s.due[gone] == pytest.approx(100.5) and gone in s.due_now(100.5)
    assert s.due[fresh] == pytest.approx(100.375) and fresh in s.pending  # a may poll it
    assert s.due[d] == pytest.approx(100.8) and s.to_check(100.7) == {fresh}
    assert d not in s.due_now(100.9)  # awaiting the check, not polled
    assert s.to_check(100.9) == {d, fresh}
    s.schedule({d, fresh}, {d: (100.8, "a:1")}, now=100.9)  # a polled d once more, not fresh
    assert s.due[d] == pytest.approx(101.8) and not s.pending
    assert fresh in s.due_now(100.9) and d not in s.due_now(100.9) and d in s.due_now(101.8)
    s.polled(s.due_now(100.9), 100.9)
    assert s.fresh == {d}  # not polled here yet: its state is read from the store when it is
    assert s.next_due(101.0) == pytest.approx(0.25)  # the next heartbeat comes first
    assert s.rebalance(["b:2"], now=101.0) == set(ROUTERS) - gained  # a left: b takes the rest
    assert s.mine("prune")


def test_an_instance_alone_polls_at_once_after_warming_up():
    s = Shard("a:1", ROUTERS, interval=1.0)
    s.schedule(s.rebalance(["a:1"], now=0.0), {}, now=0.0)
    assert not s.pending and s.next_due(0.0) == pytest.approx(0.25)
    assert s.due_now(0.375) == ROUTERS


def target(r: str) -> Target:
    return Target(r, "192.0.2.1", 161, SnmpCredentials("2c", community="c"))


def poll(router: str, ts: float, up: bool, link_up: bool = True, booted: float = 0.0
         ) -> DevicePoll:
    if not up:
        return DevicePoll(router, ts, False, error="timeout")
    eth = Interface(2, "eth0", 1 if link_up else 2, 1, 1000, 1000)
    return DevicePoll(router, ts, True, sys_uptime=int((ts - booted) * 100), interfaces={2: eth})


def sharded(url: str, me: str) -> Monitor:
    m = Monitor([target(r) for r in ROUTERS], Store(url), interval=1.0)
    m.members, m.shard = Members(m.store, me, ttl=30.0), Shard(me, ROUTERS, 1.0)
    m.history.instance = me
    return m


def feed(m: Monitor, *polls: DevicePoll) -> list[str]:
    kinds = []
    for p in polls:
        assert m.shard is not None and p.router in m.shard.owned
        kinds += [e["kind"] for e in m._finish(m.apply(p))]
    return kinds


def test_a_moving_device_raises_no_spurious_down_or_up(postgres):
    url = postgres.database()
    a = sharded(url, "a:1")
    a.heartbeat()
    assert a.shard is not None and a.shard.owned == set(ROUTERS)
    split = assign(ROUTERS, ["a:1", "b:2"])
    d, e = [r for r in ROUTERS if split[r] == "b:2"][:2]
    assert feed(a, poll(d, 1.0, True), poll(e, 1.0, True)) == []  # first sight: recorded only
    assert feed(a, poll(d, 2.0, False), poll(e, 2.0, True, link_up=False)) == [
        "router_down", "link_down"]

    b = sharded(url, "b:2")  # joins; d and e move to b, which never saw them
    b.heartbeat()
    a.heartbeat()
    assert d in b.shard.owned and d not in a.shard.owned and d not in a.state.routers
    b.adopt([d, e])  # as b polls them first
    b.shard.polled([d, e], 3.0)
    # nothing raised again; e's last sysUpTime came with it: a reboot after a's poll is seen
    assert feed(b, poll(d, 3.0, False), poll(e, 3.0, True, link_up=False, booted=2.5)) == [
        "reboot"]
    a.read_elsewhere()  # what b polls, as recorded: a's impact and metrics see it down
    assert a.snapshot().routers_down == {d} and a.snapshot().interfaces_down == {(e, "eth0")}
    assert {r.router for r in a.snapshot().routers} == a.shard.owned  # device metrics: its own
    assert feed(b, poll(d, 4.0, True), poll(e, 4.0, True)) == ["router_up", "link_up"]

    b.close()  # leaves: d and e move back to a, whose own view of them is stale (down)
    a.heartbeat()
    assert d in a.shard.owned and {d, e} <= a.shard.fresh
    a.adopt([d, e])
    assert feed(a, poll(d, 5.0, True), poll(e, 5.0, True)) == []
    events = a.store.query("SELECT router, kind, COUNT(*) FROM events GROUP BY router, kind")
    assert sorted(events) == sorted([(d, "router_down", 1), (d, "router_up", 1),
                                     (e, "link_down", 1), (e, "reboot", 1), (e, "link_up", 1)])
    changes = a.store.query("SELECT router, interface, state FROM state_changes ORDER BY ts")
    assert [c[1:] for c in changes if c[0] == d] == [
        ("", "up"), ("eth0", "up"), ("", "down"), ("", "up")]
    assert [c[1:] for c in changes if c[0] == e] == [
        ("", "up"), ("eth0", "up"), ("eth0", "down"), ("eth0", "up")]
    assert {r for r, in a.store.query("SELECT DISTINCT instance FROM samples WHERE ts >= 3 "
                                     "AND ts < 5")} == {"b:2"}


@pytest.mark.parametrize("flags, message", [
    (["--ha", "--shard"], "--ha and --shard exclude each other"),
    (["--once", "--shard"], "--once and --shard exclude each other"),
    (["--shard"], "sharded monitors need a PostgreSQL store"),
    (["--members"], "sharded monitors need a PostgreSQL store")])
def test_cli_refuses_ha_with_shard_and_shards_without_postgresql(tmp_path, flags, message):
    inv = tmp_path / "inv"
    inv.mkdir()
    (inv / "hosts.yaml").write_text(json.dumps({"r1": {"hostname": "192.0.2.1", "data": {
        "snmp": {"community": "c"}}}}))
    res = CliRunner().invoke(app, ["monitor", *flags, "--inventory", str(inv),
                                   "--store", str(tmp_path / "m.db")])
    assert res.exit_code != 0 and message in res.stderr and "Traceback" not in res.output
