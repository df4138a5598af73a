"""Active/standby with real processes: two `ngk monitor --ha` on one private PostgreSQL cluster,
polling a real snmpd. kill -9 the leader: the standby takes over within two intervals, nothing
is recorded twice and rows after the takeover carry the new fencing token. Stop PostgreSQL for a
while: the leader keeps polling and writes its queue, in order, when the server is back."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from itertools import pairwise

import pytest
from test_monitor_snmpd import Agent, free_port, host, write_inventory

from conftest import wait_for

from controller.errors import StoreError
from controller.store import Store

pytestmark = pytest.mark.integration
INTERVAL = 0.5


def wait(check, seconds: float = 20.0, step: float = 0.02):
    """`wait_for` on a store query, a store that is down meanwhile counting as not yet."""
    def quiet():
        try:
            return check()
        except StoreError:
            return None

    return wait_for(quiet, seconds, step=step, what=getattr(check, "__name__", "the store"))


def stop(procs: list[subprocess.Popen]) -> None:
    """SIGTERM the monitors still running and wait for each (the tests' one way to end them)."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
            p.wait(10)


def test_standby_takes_over_and_a_partition_loses_nothing(tmp_path, postgres):
    agent = Agent(tmp_path / "agent", free_port()).start()
    url = postgres.database()
    inv = write_inventory(tmp_path / "inv", {"osl-cr1": host(agent.port,
                                                            community=agent.community)})
    store = Store(url)
    cmd = [sys.executable, "-c", "from controller.cli.main import app; app()", "monitor", "--ha",
           "--interval", str(INTERVAL), "--inventory", str(inv), "--store", url]
    procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for _ in range(2)]
    try:
        wait(lambda: store.query("SELECT COUNT(*) FROM samples")[0][0] >= 4)
        holder, token = store.query("SELECT holder, token FROM monitor_lease")[0]
        leader = next(p for p in procs if holder.endswith(f":{p.pid}"))
        standby = next(p for p in procs if p is not leader)
        killed = time.time()
        os.kill(leader.pid, signal.SIGKILL)
        leader.wait()
        wait(lambda: store.query("SELECT holder FROM monitor_lease")[0][0].endswith(
            f":{standby.pid}"))
        took = time.time() - killed
        first = wait(lambda: store.query("SELECT MIN(ts) FROM samples WHERE ts > ?",
                                         (killed,))[0][0])
        print(f"takeover {took:.2f} s after kill -9, first poll {first - killed:.2f} s")
        assert first - killed <= 2 * INTERVAL + 0.5, (took, first - killed)
        assert store.query("SELECT token FROM monitor_lease") == [(token + 1,)]
        # the standby restored the leader's state: the router and its interfaces once each
        assert store.query("SELECT interface, COUNT(*) FROM state_changes GROUP BY interface "
                           "HAVING COUNT(*) > 1") == []
        assert store.query("SELECT COUNT(*) FROM events WHERE kind = 'router_up'") == [(0,)]

        # a partition from the database: the leader polls on and writes its queue later
        stopped = time.time()
        postgres.stop()
        time.sleep(4 * INTERVAL)
        postgres.start()
        back = time.time()
        wait(lambda: store.query("SELECT COUNT(*) FROM samples WHERE ts > ?", (back,))[0][0])
        ts = [r[0] for r in store.query("SELECT ts FROM samples WHERE ts > ? ORDER BY ts",
                                        (stopped - 2 * INTERVAL,))]
        gaps = [b - a for a, b in pairwise(ts)]
        print(f"samples across a {back - stopped:.1f} s database outage: largest gap "
              f"{max(gaps):.2f} s")
        assert max(gaps) <= 2 * INTERVAL, gaps
        assert store.query("SELECT holder, token FROM monitor_lease")[0][1] == token + 1
        assert standby.poll() is None
    finally:
        stop(procs)
        agent.stop()
    errors = standby.stderr.read().decode()
    assert "Traceback" not in errors, errors
