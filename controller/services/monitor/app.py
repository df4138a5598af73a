"""The monitor process: poll every router over SNMP, receive traps, feed the state machine, add the
topology impact to down/up events, record history, alert, and export Prometheus metrics.

Nothing a device or the store does can stop it: faults become recorded reasons.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from controller.errors import InputError, StoreError
from controller.model.topology import Topology
from controller.services.alerts import Alerts
from controller.services.impact import ImpactMapper
from controller.services.metrics import serve_metrics
from controller.services.monitor.history import History
from controller.services.monitor.lease import Lease
from controller.services.monitor.members import Members
from controller.services.monitor.shard import Shard
from controller.services.monitor.state import (
    Event,
    MonitorState,
    NeighbourWalk,
    RouterView,
    StateChange,
    StoreFailed,
    oper_state,
)
from controller.southbound.snmp.client import SnmpClient
from controller.southbound.snmp.inventory import Target
from controller.southbound.snmp.oids import (
    OSPF_NBR_STATE,
    TICKS_PER_S,
    ospf_index_address,
)
from controller.southbound.snmp.poller import DevicePoll, poll_all, walk
from controller.southbound.snmp.traps import Trap
from controller.store import Store

NBR_REPETITIONS = 32


@dataclass(frozen=True)
class Snapshot:
    """The monitor as the metrics read it at scrape time."""

    routers: list[RouterView]
    last_cycle: float
    event_counts: dict[str, int]
    store_errors: int
    active: bool  # polls and records (always, without --ha; the lease holder with it)
    cycles: int
    assigned: int  # devices this instance polls
    inventory: int  # devices in the inventory
    members: tuple[str, ...]  # the live instances of sharded monitors (empty without --shard)
    pending_rows: int  # the store's write-behind queue
    dropped_rows: int
    last_store_error: float | None
    routers_down: frozenset[str]
    interfaces_down: frozenset[tuple[str, str]]
    impact: ImpactMapper | None  # the topology the metrics map what is down onto


class Monitor:
    """One monitor process. `interval` (seconds between cycles) is recorded with every sample as
    how long it counts as observed (twice the interval; `ngk uptime`)."""

    def __init__(self, targets: list[Target], store: Store, impact: ImpactMapper | None = None,
                 alerts: Alerts | None = None, concurrency: int = 256, adjacency_every: int = 6,
                 interval: float | None = None):
        self.targets, self.store, self.impact, self.alerts = targets, store, impact, alerts
        self.concurrency, self.adjacency_every, self.cycles = concurrency, adjacency_every, 0
        self.interval = interval
        self.state = MonitorState([t.router for t in targets], impact)
        self.history = History(store)
        self.state.restore(self.history.restore())
        self.client: SnmpClient | None = None
        self.event_counts: dict[str, int] = {}
        self.traps = 0
        self.last_cycle = 0.0
        self.lease: Lease | None = None  # active/standby: poll and record only while leading
        self.lost_store = False  # a standby or shard member that could not reach the store
        # monotonic: till then a standby back in touch waits for the leader, a shard member for
        # the others (they write their queues) before it takes over any device
        self.grace_until = 0.0
        self.members: Members | None = None  # sharded: poll and record only this shard
        self.shard: Shard | None = None
        self.elsewhere = MonitorState([])  # sharded: the other shards' devices, as recorded

    def down(self) -> tuple[set[str], set[tuple[str, str]]]:
        """Routers and (router, interface) pairs down: as this instance sees them and, sharded,
        the other shards' devices as the store last recorded them."""
        return (self.state.routers_down() | self.elsewhere.routers_down(),
                self.state.interfaces_down() | self.elsewhere.interfaces_down())

    def snapshot(self) -> Snapshot:
        store = self.store
        routers_down, interfaces_down = self.down()
        return Snapshot(
            self.state.snapshot(), self.last_cycle, dict(self.event_counts), store.error_count,
            active=self.lease is None or self.lease.token is not None, cycles=self.cycles,
            assigned=len(self.shard.owned) if self.shard else len(self.targets),
            inventory=len(self.targets),
            members=tuple(self.shard.live) if self.shard else (),
            pending_rows=store.pending_rows, dropped_rows=store.dropped_rows,
            last_store_error=store.errors[-1][0] if store.errors else None,
            routers_down=frozenset(routers_down), interfaces_down=frozenset(interfaces_down),
            impact=self.impact)

    # --- from the state machine to history, impact, alerts ------------------------------------
    def _take(self, out: list[Event]) -> list[Event]:
        """Record the state changes of `out`; returns (and counts) the published events."""
        events = []
        for e in out:
            if isinstance(e, StateChange):
                self.history.change(e.ts, e.router, e.interface, e.state, e.reason, e.source)
            else:
                events.append(e)
                self.event_counts[e.kind] = self.event_counts.get(e.kind, 0) + 1
        return events

    def apply(self, poll: DevicePoll) -> list[Event]:
        """One poll into the state machine and the history; returns its events."""
        events = self._take(self.state.apply(poll))
        rates = self.state.routers[poll.router].rates
        self.history.poll(poll, rates, 2 * self.interval if self.interval else None)
        return events

    def on_trap(self, trap: Trap) -> list[dict[str, Any]]:
        """Record a trap as an event right away (state change, impact, alert, flush)."""
        self.traps += 1
        if self.lease and self.lease.token is None:
            return []  # a standby: the leader records what the routers send to both
        if self.shard and not self.shard.mine(trap.router or f"unknown:{trap.source}"):
            return []  # the sender's poller records it
        events = self._take(self.state.on_trap(trap))
        return self._finish(events, trap.received)

    def _finish(self, events: list[Event], received: float | None = None) -> list[dict]:
        """Impact for down/up events (computed on everything down now; `impact_ms` from
        `received`, the poll result's or trap's receipt, else the event's time), then store,
        flush and alert. Returns the events as dicts, store errors of this flush last."""
        if self.impact and any(e.changes_topology for e in events):
            impact = self.impact.assess(self.impact.elements(*self.down()))
            now = time.time()
            for e in events:
                if e.changes_topology and self.impact.maps(e.router, e.interface):
                    got = e.ts if received is None else received
                    e.impact, e.impact_ms = impact, round((now - got) * 1000, 3)
        out = [e.as_dict() for e in events]
        self.history.events(out)
        before = self.store.error_count
        self.store.flush()
        new = self.store.error_count - before
        for ts, reason in list(self.store.errors)[-new:] if new else []:
            failed = StoreFailed(ts=ts, reason=reason)
            self.event_counts[failed.kind] = self.event_counts.get(failed.kind, 0) + 1
            out.append(failed.as_dict())
        if self.alerts:
            for event in out:
                self.alerts.dispatch(event)
        return out

    async def _walk_neighbours(self, target: Target) -> NeighbourWalk:
        """ospfNbrState by neighbour address (the poller's GETBULK walk); None when it failed."""
        assert self.client is not None
        got = await walk(self.client, target, {"state": OSPF_NBR_STATE},
                         max_repetitions=NBR_REPETITIONS, index_len=5)
        states = None if got.error else {
            address: value for index, value in got.rows["state"].items()
            if isinstance(value, int)
            and (address := ospf_index_address(OSPF_NBR_STATE + index, OSPF_NBR_STATE))}
        return NeighbourWalk(target.router, time.time(), states)

    async def check_adjacencies(self, polls: list[DevicePoll]) -> list[dict[str, Any]]:
        """OSPF adjacencies from the routers' ospfNbrTable: every `adjacency_every`-th cycle on
        every reachable router, and on every cycle on those with an adjacency recorded down."""
        if not self.adjacency_every:
            return []
        targets = {t.router: t for t in self.targets}
        routers = self.state.to_walk([p.router for p in polls if p.reachable],
                                     self.cycles % self.adjacency_every == 0)
        walks = await asyncio.gather(*(self._walk_neighbours(targets[r]) for r in routers))
        events = [e for w in walks for e in self._take(self.state.on_neighbours(w))]
        return self._finish(events) if events else []

    # --- cycles -------------------------------------------------------------------------------
    async def cycle(self, targets: list[Target] | None = None) -> dict[str, Any]:
        """Poll every target (or `targets`) once; returns the cycle report (docs/monitor.md,
        `--once --json`)."""
        if self.client is None:
            self.client = await SnmpClient.create()
        start = time.perf_counter()
        later: list[Event] = []  # events without impact: stored at the end of the cycle
        mine: dict[str, list[Event]] = {}
        raised: list[dict] = []  # in the order the polls completed and were applied

        def on_result(poll: DevicePoll) -> None:
            events = mine[poll.router] = self.apply(poll)
            if any(e.changes_topology for e in events):  # impact and store now, not at cycle end
                raised.extend(self._finish(events, poll.ts + poll.duration))
            else:
                raised.extend(e.as_dict() for e in events)
                later.extend(events)

        polls = await poll_all(self.client, self.targets if targets is None else targets,
                               self.concurrency, on_result=on_result)
        raised += await self.check_adjacencies(polls)
        self.cycles += 1
        self.last_cycle = time.perf_counter() - start
        raised += [e for e in self._finish(later) if e["source"] == "store"]
        per_router = []
        for poll in polls:
            rates = self.state.routers[poll.router].rates
            per_router.append({
                "router": poll.router, "reachable": poll.reachable,
                "sys_uptime": (poll.sys_uptime / TICKS_PER_S
                               if poll.sys_uptime is not None else None),
                "sys_name": poll.sys_name, "error": poll.error, "problems": poll.problems,
                "poll_ms": round(poll.duration * 1000, 3),
                "interfaces": {i.name: oper_state(i.oper) for i in poll.interfaces.values()
                               if i.oper is not None},
                "rates_bps": {k: {"in": v[0], "out": v[1]} for k, v in rates.items()
                              if v != (None, None)},
                "events": [e.as_dict() for e in mine[poll.router]]})
        return {"ts": time.time(), "duration_s": round(self.last_cycle, 4),
                "values": sum(p.values for p in polls), "routers": per_router,
                "events": raised,
                "store_errors": [reason for _, reason in list(self.store.errors)[-10:]]}

    def heartbeat(self) -> None:
        """Sharded: renew membership, take the live instances, adopt and release devices. With
        the store unreachable, go on polling the same devices; back in touch, keep them for one
        heartbeat lapse time, so the others are back and have written their queues before any
        device moves (docs/operations.md)."""
        assert self.members is not None and self.shard is not None
        try:
            live = self.members.beat()
        except StoreError as exc:
            self.store.record_error(f"heartbeat failed, polling the same devices: {exc}")
            self.lost_store = True
            return
        if self.lost_store:
            self.lost_store, self.grace_until = False, time.monotonic() + self.members.ttl
        if time.monotonic() < self.grace_until:
            return
        now = time.time()
        gained = self.shard.rebalance(live, now)
        self.state.release(set(self.state.routers) - self.shard.owned)
        if gained:
            self.shard.schedule(gained, self.history.last_polls(gained), now)

    def adopt(self, due: list[str]) -> None:
        """Sharded: devices about to be polled here for the first time since they moved here
        start from the state recorded now, when their previous poller has written its last
        poll (`MonitorState.adopt`)."""
        assert self.shard is not None
        fresh = self.shard.fresh.intersection(due)
        if fresh:
            self.state.adopt(fresh, self.history.restore(uptimes_of=fresh))

    def read_elsewhere(self) -> None:
        """Sharded: the state of the devices other instances poll, as last recorded, so impact
        and the topology metrics see the whole network (read after each poll batch)."""
        assert self.shard is not None
        self.elsewhere = MonitorState([d for d in self.shard.devices
                                       if d not in self.shard.owned], self.impact)
        self.elsewhere.restore(self.history.restore(uptimes_of=()))

    async def shard_cycle(self) -> float:
        """Sharded: heartbeat, then poll the devices of this shard that are due; returns the
        seconds until the next heartbeat or due device."""
        assert self.shard is not None
        self.heartbeat()
        shard, now = self.shard, time.time()
        check = shard.to_check(now)
        if check:
            shard.schedule(check, self.history.last_polls(check), now)
        due = shard.due_now(now)
        if due:
            self.adopt(due)
            by_name = {t.router: t for t in self.targets}
            await self.cycle([by_name[d] for d in due])
            shard.polled(due, now)
            self.read_elsewhere()
        return shard.next_due(time.time())

    def prune(self, retention_days: float, now: float | None = None) -> None:
        """Drop samples and events older than the retention (history.prune)."""
        self.history.prune((now or time.time()) - retention_days * 86400)
        self.store.flush()

    def leading(self) -> bool:
        """Hold or renew the lease (always true without one). A leader that cannot reach the
        store goes on polling and queueing: if nobody took over meanwhile, its queue is written
        in order when the store is back, else the fence refuses it. A standby back in touch with
        the store gives the leader one lease time to renew before it may take over. Taking over
        restores the state the previous leader recorded, so nothing it saw is raised again."""
        if self.lease is None:
            return True
        was = self.lease.token
        try:
            if was is None and self.lost_store:
                self.lease.holder_now()  # back in touch: the leader's turn first
                self.lost_store, self.grace_until = False, time.monotonic() + self.lease.ttl
            if was is None and time.monotonic() < self.grace_until:
                return False
            token = self.lease.hold()
        except StoreError:
            self.lost_store = was is None
            return was is not None
        if token is not None and token != was:
            self.state.restore(self.history.restore())
            self.history.token = token
        return token is not None

    async def run(self, interval: float, retention_days: float = 400.0,
                  stop: asyncio.Event | None = None) -> None:
        """Cycle every `interval` seconds until `stop` is set (a standby checks the lease four
        times an interval instead; a shard member heartbeats four times an interval and polls
        each device when due); prune once an hour (one shard member does)."""
        stop = stop or asyncio.Event()
        self.interval = interval
        last_prune = 0.0
        while not stop.is_set():
            began = time.monotonic()
            pause = interval / 4
            if self.shard:  # its pause counts from the end of the batch
                pause = await self.shard_cycle() + time.monotonic() - began
                if began - last_prune > 3600 and self.shard.mine("prune"):
                    self.prune(retention_days)
                    last_prune = began
            elif self.leading():
                await self.cycle()
                if began - last_prune > 3600:
                    self.prune(retention_days)
                    last_prune = began
                pause = interval
            try:
                await asyncio.wait_for(stop.wait(), max(0.0, pause - (time.monotonic() - began)))
            except TimeoutError:
                pass

    def close(self) -> None:
        if self.client:
            self.client.close()
        self.store.flush()
        if self.members:
            try:
                self.members.leave()
            except StoreError as exc:
                self.store.record_error(f"could not leave the sharded monitors: {exc}")


def run_monitor(targets: list[Target], store: Store, topo: Topology | None, *, once: bool,
                interval: float = 10.0, concurrency: int = 256, metrics_port: int | None = None,
                metrics_addr: str = "127.0.0.1", trap_port: int | None = None,
                trap_addr: str | None = None, alerts: Alerts | None = None,
                retention_days: float = 400.0, adjacency_every: int = 6,
                ha: bool = False, shard: bool = False) -> dict[str, Any] | None:
    """One cycle (returns its report) or run until SIGINT/SIGTERM (returns None). With `ha`,
    one of the monitors sharing the (PostgreSQL) store leads: its lease lapses after 1.5
    intervals, and a standby takes over within two. With `shard`, all of them poll, each its
    share of the inventory among the live ones (heartbeats lapse after 1.5 intervals)."""
    import os
    import signal
    import socket

    from controller.southbound.snmp.traps import TrapReceiver

    if ha and shard:
        raise InputError("--ha and --shard exclude each other: --ha runs one active monitor and "
                         "hot standbys, --shard runs every instance active on its share")
    if once and shard:
        raise InputError("--once and --shard exclude each other: a sharded monitor polls its "
                         "share among the running ones (see them with --members)")
    monitor = Monitor(targets, store, ImpactMapper(topo) if topo else None, alerts, concurrency,
                      adjacency_every)
    me = monitor.history.instance = f"{socket.gethostname()}:{os.getpid()}"
    if ha:
        monitor.lease = Lease(store, me, 1.5 * interval)
    if shard:
        monitor.members = Members(store, me, 1.5 * interval)
        monitor.shard = Shard(me, [t.router for t in targets], interval)
    server = serve_metrics(monitor.snapshot, metrics_port, metrics_addr) if metrics_port else None

    def on_trap(trap: Trap) -> None:
        monitor.on_trap(trap)

    async def main() -> dict[str, Any] | None:
        receiver = None
        try:
            if once:
                return await monitor.cycle()
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            if trap_port:
                receiver = TrapReceiver(targets, on_trap, trap_addr, trap_port)
                receiver.start()
            await monitor.run(interval, retention_days, stop)
            return None
        finally:
            if receiver:
                receiver.close()
            monitor.close()

    try:
        return asyncio.run(main())
    finally:
        if server:
            server.shutdown()
        if alerts:
            alerts.close()
