"""Sharded polling with real processes: three `ngk monitor --shard` on one private PostgreSQL
cluster against 300 SNMP devices (one snmpd listening on 300 loopback addresses, each address one
inventory host). Every device is polled by exactly one instance, once per interval; kill -9 one
instance: its devices are polled again within two intervals, never twice in one; a database
outage moves no device and loses no row; a clean stop hands its devices over at their next
poll. Read from the store (samples record the polling instance)."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from itertools import pairwise

import pytest
from test_monitor_ha import stop, wait
from test_monitor_snmpd import Agent, free_port, host, write_inventory

from controller.services.sharding import assign
from controller.store import Store

pytestmark = pytest.mark.integration
INTERVAL = 1.0
DEVICES = 300
ADDRESSES = tuple(f"127.0.{10 + i // 200}.{10 + i % 200}" for i in range(DEVICES))
NAMES = [f"d{i}" for i in range(DEVICES)]


def polls(store: Store, since: float, until: float = float("inf")
          ) -> dict[str, list[tuple[float, str]]]:
    """device -> [(ts, instance)] of its samples in [since, until), in time order."""
    out: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for ts, router, instance in store.query(
            "SELECT ts, router, instance FROM samples WHERE ts >= ? AND ts < ? ORDER BY ts",
            (since, until)):
        out[router].append((ts, instance))
    return out


def covered(store: Store, devices: list[str], since: float) -> float | None:
    """When the last of `devices` was first polled after `since` (None: not all were yet)."""
    after = polls(store, since)
    return max(after[d][0][0] for d in devices) if all(after.get(d) for d in devices) else None


def owned_by(instance: str, instances: list[str]) -> list[str]:
    return [d for d, i in assign(NAMES, instances).items() if i == instance]


def metric(port: int, name: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return float(re.search(rf"^{name} (\S+)$", text, re.MULTILINE)[1])  # type: ignore[index]


def settled(store: Store, instances: list[str], since: float) -> bool:
    """Whether every device was polled since `since`, last by its owner among `instances`."""
    owner = assign(NAMES, instances)
    got = polls(store, since)
    return all(got.get(d) and got[d][-1][1] == i for d, i in owner.items())


def steady(store: Store, instances: list[str], since: float, until: float) -> None:
    """Every device polled in [since, until) by its owner among `instances` only, at gaps of
    about one interval (none missed, none polled twice)."""
    owner = assign(NAMES, instances)
    got = polls(store, since, until)
    assert set(got) == set(owner), set(owner) - set(got)
    for device, samples in got.items():
        assert {i for _, i in samples} == {owner[device]}, (device, samples)
        gaps = [b - a for (a, _), (b, _) in pairwise(samples)]
        assert all(0.5 * INTERVAL < g < 1.5 * INTERVAL for g in gaps), (device, gaps)


def test_three_shards_split_300_devices_and_cover_a_killed_one(tmp_path, postgres):
    agent = Agent(tmp_path / "agent", free_port(), addresses=ADDRESSES).start()
    url = postgres.database()
    inv = write_inventory(tmp_path / "inv", {
        f"d{i}": host(agent.port, a, community=agent.community, timeout=0.5)
        for i, a in enumerate(ADDRESSES)})
    store = Store(url)
    ports = [free_port(socket.SOCK_STREAM) for _ in range(3)]
    procs = [subprocess.Popen(
        [sys.executable, "-c", "from controller.cli.main import app; app()", "monitor", "--shard",
         "--interval", str(INTERVAL), "--inventory", str(inv), "--store", url,
         "--metrics-port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for port in ports]
    try:
        wait(lambda: len(store.query("SELECT instance FROM monitor_members")) == 3, 30)
        me = {int(i.rsplit(":", 1)[1]): i for i, in
              store.query("SELECT instance FROM monitor_members")}
        instances = sorted(me.values())
        joined = time.time()

        def every_device_last_polled_by_its_owner() -> bool:
            return settled(store, instances, joined)

        # joins settle: devices move to their owners at their cadence (a starting instance's
        # first batch takes several times a steady one under load: no fixed time is enough)
        wait(every_device_last_polled_by_its_owner, 10 * INTERVAL, step=0.2)
        t0 = time.time()
        time.sleep(4 * INTERVAL)
        steady(store, instances, t0, time.time() - INTERVAL)
        assert sum(metric(port, "ngk_monitor_assigned_devices") for port in ports) == DEVICES
        assert [metric(port, "ngk_monitor_shard_members") for port in ports] == [3.0] * 3
        listed = json.loads(subprocess.run(
            [sys.executable, "-m", "controller.cli", "monitor", "--members", "--json",
             "--interval", str(INTERVAL), "--inventory", str(inv), "--store", url],
            capture_output=True, text=True, check=True).stdout)
        assert {m["instance"]: m["devices"] for m in listed["members"]} == {
            i: len(owned_by(i, instances)) for i in instances}

        victim = procs[0]
        gone = me[victim.pid]
        lost = owned_by(gone, instances)
        killed = time.time()
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        survivors = [i for i in instances if i != gone]

        full = wait(lambda: covered(store, lost, killed), 10 * INTERVAL) - killed
        print(f"kill -9 of one of 3 shards ({len(lost)} devices): all polled again "
              f"{full:.2f} s later (interval {INTERVAL} s)")
        assert full <= 2 * INTERVAL
        time.sleep(2 * INTERVAL)
        t1 = time.time()
        time.sleep(3 * INTERVAL)
        steady(store, survivors, t1, time.time() - INTERVAL)

        # the database stops for a while: both poll on and write their queues when it is back,
        # and no device moves meanwhile (none polled twice, none missed, nothing raised twice)
        stopped = time.time()
        postgres.stop()
        time.sleep(3 * INTERVAL)
        postgres.start()
        back = time.time()
        wait(lambda: covered(store, NAMES, back), 10 * INTERVAL)
        time.sleep(2 * INTERVAL)
        steady(store, survivors, stopped - INTERVAL, time.time() - INTERVAL)
        print(f"database stopped {back - stopped:.1f} s: every device polled once per interval "
              "throughout, by the same instance")

        # a clean stop leaves the member table: the last one takes over at its next heartbeat
        stopping = procs[1]
        left = me[stopping.pid]
        handed = owned_by(left, survivors)
        left_at = time.time()
        stopping.terminate()
        stopping.wait(10)
        full_clean = wait(lambda: covered(store, handed, left_at), 10 * INTERVAL) - left_at
        print(f"SIGTERM of one of 2 shards ({len(handed)} devices): all polled again "
              f"{full_clean:.2f} s later")
        assert full_clean <= 2 * INTERVAL

        # never polled twice in one interval, across joins, the kill and the stop
        for device, samples in polls(store, 0).items():
            gaps = [b - a for (a, _), (b, _) in pairwise(samples)]
            assert min(gaps, default=INTERVAL) > 0.5 * INTERVAL, (device, gaps)
        # every state change recorded once: no device re-raised its first "up" after a move
        assert store.query("SELECT router, interface FROM state_changes GROUP BY router, "
                           "interface HAVING COUNT(*) > 1") == []
        assert store.query("SELECT kind, COUNT(*) FROM events GROUP BY kind") == []
    finally:
        stop(procs)
        agent.stop()
    for p in procs[1:]:
        errors = p.stderr.read().decode()
        assert "Traceback" not in errors, errors
