"""Active/standby on the live lab: two real `ngk monitor --ha` processes on one private PostgreSQL
cluster poll every lab router. kill -9 the leader in the middle of a poll cycle (held open by one
agent that does not answer for a moment), then cut a span before the standby has taken over: the
standby takes over and polls within two intervals, records the cut once (one link_down per end, with
its fencing token), `ngk uptime` sees no gap longer than the takeover, and the restore is recorded
once too. docs/store.md "Active/standby monitors"."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from itertools import pairwise
from statistics import median

import pytest
from test_monitor_ha import stop
from test_monitor_lab import SPAN, endpoints, inventory

from conftest import wait_for
from controller.lab.faults import lab_cut, lab_restore
from controller.model.layers import outage, resolve_element
from controller.services.monitor.history import ADJACENCY
from controller.services.uptime import uptime_report
from controller.errors import StoreError
from controller.store import Store

pytestmark = pytest.mark.integration
INTERVAL = 1.0
TTL = 1.5 * INTERVAL  # the lease time of `ngk monitor --ha`
DETECT_S = 15.0


def test_takeover_mid_cycle_records_a_cut_in_the_window_once(lab_exclusive, postgres) -> None:
    lab = lab_exclusive
    routers = set(lab.topo.routers)
    links = sorted(outage(lab.topo, [resolve_element(lab.topo, SPAN)]).links)
    ends = endpoints(lab.topo, links)
    url = postgres.database()
    store = Store(url)
    q = store.query
    cmd = [sys.executable, "-c", "from controller.cli.main import app; app()", "monitor", "--ha",
           "--interval", str(INTERVAL), "--inventory", str(inventory(lab)), "--store", url,
           "-t", lab.state.topology]
    procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for _ in range(2)]

    def renewal(after: float) -> float:
        """The leader's next lease renewal after `after` (each opens a poll cycle), as the
        database clock (this machine's) recorded it."""
        return wait_for(lambda: next((e - TTL for e, in q("SELECT expires FROM monitor_lease")
                                      if e - TTL > after), None),
                        5 * INTERVAL, step=0.002, what="a lease renewal")

    def cycles_recorded() -> bool:
        try:
            return q("SELECT COUNT(*) FROM samples")[0][0] >= 2 * len(routers)
        except StoreError:  # the monitors have not created the tables yet
            return False

    # an agent away from the cut: it stops answering for a moment, in the killed cycle
    far = sorted(r for r in routers if r not in {r for r, _ in ends})[0]
    frozen = lab.state.routers[far].pids["snmpd"]
    try:
        wait_for(cycles_recorded, 60, what="the leader's samples")
        holder, token = q("SELECT holder, token FROM monitor_lease")[0]
        leader = next(p for p in procs if holder.endswith(f":{p.pid}"))
        standby = next(p for p in procs if p is not leader)
        new_holder = f"{holder.rsplit(':', 1)[0]}:{standby.pid}"
        # one cycle's profile: when its polls end, from the renewal that opened it
        since = renewal(0.0)
        cycle_at = renewal(since)
        done = [ts + d - since for ts, d in q(
            "SELECT ts, duration FROM samples WHERE ts >= ? AND ts < ?", (since, cycle_at))]
        assert len(done) == len(routers), done
        # a cycle is over in milliseconds: one agent that does not answer (SIGSTOP) holds the
        # next one open for the poll timeout, after the other routers have answered
        wait_for(lambda: q("SELECT COUNT(*) FROM samples WHERE ts >= ?", (cycle_at,))[0][0]
                 == len(routers), 2 * INTERVAL, step=0.002, what="the cycle's samples")
        os.kill(frozen, signal.SIGSTOP)
        cycle_at = renewal(cycle_at)
        time.sleep(max(0.0, cycle_at + max(done) + 0.1 - time.time()))
        killed = time.time()
        os.kill(leader.pid, signal.SIGKILL)
        leader.wait()
        os.kill(frozen, signal.SIGCONT)
        cut_at = time.time()
        lab_cut(SPAN, "light", lab.name)
        cut_done = time.time()
        assert q("SELECT holder, token FROM monitor_lease") == [(holder, token)], \
            "the cut must happen before the takeover"
        # the killed cycle was never recorded: the kill came before its end
        assert q("SELECT COUNT(*) FROM samples WHERE instance = ? AND ts >= ?",
                 (holder, cycle_at)) == [(0,)]
        wait_for(lambda: q("SELECT holder FROM monitor_lease")[0][0] == new_holder,
                 4 * INTERVAL, step=0.01, what="the takeover")
        took = time.time() - killed
        first = wait_for(lambda: q("SELECT MIN(ts) FROM samples WHERE instance = ?",
                                   (new_holder,))[0][0], 4 * INTERVAL, step=0.01)
        assert q("SELECT token FROM monitor_lease") == [(token + 1,)]

        def changes(state: str) -> list[tuple]:
            return q("SELECT router, interface, token FROM state_changes WHERE state = ? "
                     "AND ts > ? ORDER BY router, interface", (state, cut_at))

        def recorded(state: str) -> float:
            wait_for(lambda: {(r, i) for r, i, _ in changes(state)} >= ends, DETECT_S,
                     step=0.02, what=f"the ends {state}")
            return time.time()

        seen_down = recorded("down") - cut_at
        restored_at = time.time()
        lab_restore([], lab.name)
        seen_up = recorded("up") - restored_at
        # two more cycles: anything recorded twice would show now
        until = renewal(renewal(time.time()))
        assert standby.poll() is None
    finally:
        os.kill(frozen, signal.SIGCONT)
        stop(procs)

    print(f"kill -9 {(killed - cycle_at) * 1000:.0f} ms into a cycle held open by {far}'s "
          f"agent (polls end {median(done) * 1000:.0f}-{max(done) * 1000:.0f} ms into a "
          f"cycle); cut {cut_done - killed:.2f} s "
          f"later, before the takeover; lease taken {took:.2f} s after the kill, first poll "
          f"{first - killed:.2f} s; cut -> recorded {seen_down:.2f} s, restore -> recorded "
          f"{seen_up:.2f} s")
    assert killed < first <= killed + 2 * INTERVAL, (took, first - killed)  # the standby waited

    for state in ("down", "up"):  # once per end, by the new leader, with its token
        rows = [(r, i, t) for r, i, t in changes(state) if not i.startswith(ADJACENCY)]
        assert sorted(rows) == sorted((r, i, token + 1) for r, i in ends), (state, rows)
    events = q("SELECT kind, router, interface, token FROM events WHERE ts > ? "
               "AND kind IN ('link_down', 'link_up')", (cut_at,))
    assert sorted(events) == sorted((f"link_{s}", r, i, token + 1) for s in ("down", "up")
                                    for r, i in ends), events
    # no state recorded twice in a row, for any interface or adjacency, by either leader
    history: dict[tuple[str, str], list[str]] = {}
    for r, i, s in q("SELECT router, interface, state FROM state_changes ORDER BY ts"):
        history.setdefault((r, i), []).append(s)
    assert all(a != b for h in history.values() for a, b in pairwise(h)), history
    assert q("SELECT COUNT(*) FROM events WHERE kind IN ('router_down', 'router_up')") == [(0,)]

    report = uptime_report(store, lab.topo, since, until)
    window = until - since
    gaps = {x["router"]: window - x["observed_s"] for x in report["routers"]}
    print(f"uptime over {window:.1f} s: largest unobserved {max(gaps.values()):.2f} s "
          f"(takeover {took:.2f} s); observed {min(x['observed_pct'] for x in report['routers'])}"
          f"-{max(x['observed_pct'] for x in report['routers'])} %")
    assert set(gaps) == routers and max(gaps.values()) <= took, gaps
    assert all(x["availability_pct"] == 100 for x in report["routers"]), report["routers"]
    by_link = {x["link"]: x for x in report["links"]}
    for lid in links:
        assert by_link[lid]["outages"] == 1, by_link[lid]
    errors = standby.stderr.read().decode()
    assert "Traceback" not in errors, errors
