"""The monitor: poll every router over SNMP, receive traps, turn what changed into state changes
and events (with their topology impact), record them, alert, and export Prometheus metrics.

Nothing a device or the store does can stop it: faults become recorded reasons.
"""
from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from controller.model.topology import Topology
from controller.services.alerts import Alerts
from controller.services.impact import ImpactMapper
from controller.services.metrics import serve_metrics
from controller.southbound.snmp.client import SnmpClient, SnmpError
from controller.southbound.snmp.inventory import Target
from controller.southbound.snmp.oids import (IF_STATE, NBR_FULL, NBR_STATE, OPER_STATUS,
                                             OSPF_NBR_STATE, TICKS_PER_S, ospf_index_address)
from controller.southbound.snmp.poller import MAX_ROUNDS, DevicePoll, Interface, poll_all
from controller.southbound.snmp.traps import Trap
from controller.store import Store

SCHEMA = ["""
CREATE TABLE samples (ts REAL, router TEXT, reachable INTEGER, sys_uptime INTEGER,
                      duration REAL, error TEXT);
CREATE INDEX samples_ts ON samples (ts);
CREATE INDEX samples_router ON samples (router, ts);
CREATE TABLE if_samples (ts REAL, router TEXT, if_index INTEGER, name TEXT, oper INTEGER,
                         admin INTEGER, in_octets INTEGER, out_octets INTEGER, in_bps REAL,
                         out_bps REAL);
CREATE INDEX if_samples_ts ON if_samples (ts);
CREATE TABLE state_changes (ts REAL, router TEXT, interface TEXT, state TEXT, reason TEXT,
                            source TEXT);
CREATE INDEX state_changes_key ON state_changes (router, interface, ts);
CREATE TABLE events (ts REAL, kind TEXT, router TEXT, interface TEXT, source TEXT, detail TEXT);
CREATE INDEX events_ts ON events (ts)
"""]
WRAP_TICKS = 1 << 32
DOWN_KINDS = {"router_down", "router_up", "link_down", "link_up", "linkDown", "linkUp",
              "ospf_neighbor_down", "ospf_neighbor_up"}
ADJACENCY = "ospf:"  # state_changes.interface of the OSPF adjacency over an interface
NBR_REPETITIONS = 32


def rebooted(prev_ticks: int, prev_ts: float, ticks: int, ts: float) -> bool:
    """sysUpTime advanced less than the time that surely passed between the two readings
    (`prev_ts`: when the previous poll ended, `ts`: when this one started): the agent restarted,
    even when it had been up for less time than the polls are apart. The 32-bit TimeTicks wrap
    (~497 days) is not a reboot."""
    elapsed = max(0.0, ts - prev_ts) * TICKS_PER_S
    advanced = prev_ticks + elapsed
    if advanced < WRAP_TICKS:
        return ticks < advanced - (TICKS_PER_S / 2 + 0.001 * elapsed)  # clock rates differ a bit
    slack = max(10 * TICKS_PER_S, 0.05 * elapsed)
    return abs(ticks - advanced % WRAP_TICKS) > slack


def counter_delta(prev: int | None, cur: int | None, reset: bool, bits: int = 64
                  ) -> tuple[int | None, str | None]:
    """(increase, note): None with note "reset" after a reboot, the wrapped increase with note
    "wrap" when a counter went back without one."""
    if prev is None or cur is None:
        return None, None
    if reset:
        return None, "reset"
    if cur < prev:
        return cur + (1 << bits) - prev, "wrap"
    return cur - prev, None


def oper_state(status: int | None) -> str:
    return "up" if status == 1 else "down"


def _db_int(value: int | None) -> int | float | None:
    return value if value is None or value < (1 << 63) else float(value)


@dataclass
class RouterState:
    reachable: bool | None = None
    uptime: int | None = None
    uptime_ts: float | None = None
    error: str | None = None
    problems: tuple[str, ...] = ()
    interfaces: dict[int, Interface] = field(default_factory=dict)
    if_ts: float | None = None
    oper: dict[str, str] = field(default_factory=dict)
    oper_ts: dict[str, float] = field(default_factory=dict)  # when `oper` last changed
    adjacency: dict[str, tuple[str, float]] = field(default_factory=dict)  # "full"/"down", since
    rates: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    duration: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)
    sys_name: str | None = None


class Monitor:
    def __init__(self, targets: list[Target], store: Store, impact: ImpactMapper | None = None,
                 alerts: Alerts | None = None, concurrency: int = 256, adjacency_every: int = 6):
        self.targets, self.store, self.impact, self.alerts = targets, store, impact, alerts
        self.concurrency, self.adjacency_every, self.cycles = concurrency, adjacency_every, 0
        self.state: dict[str, RouterState] = {t.router: RouterState() for t in targets}
        self.client: SnmpClient | None = None
        self.event_counts: dict[str, int] = {}
        self.traps = 0
        self.last_cycle = 0.0
        store.register("monitor", SCHEMA)
        self._restore()

    # --- restart: pick up the last known state from the store --------------------------
    def _restore(self) -> None:
        try:
            rows = self.store.query(
                "SELECT router, interface, state FROM state_changes s WHERE ts = (SELECT MAX(ts) "
                "FROM state_changes t WHERE t.router = s.router AND t.interface = s.interface)")
            uptimes = self.store.query(  # SQLite: bare columns come from the MAX(ts) row
                "SELECT router, sys_uptime, MAX(ts) + COALESCE(duration, 0) FROM samples "
                "WHERE sys_uptime IS NOT NULL GROUP BY router")
        except Exception as exc:  # sqlite3.Error or OSError: start without history, say why
            self.store.record_error(f"cannot read previous state: {exc}")
            return
        for router, interface, state in rows:
            st = self.state.get(router)
            if st is None:
                continue
            if interface.startswith(ADJACENCY):
                st.adjacency[interface[len(ADJACENCY):]] = ("full" if state == "up" else "down",
                                                            0.0)
            elif interface:
                st.oper[interface] = state
            else:
                st.reachable = state == "up"
        for router, uptime, ts in uptimes:
            if router in self.state:
                self.state[router].uptime, self.state[router].uptime_ts = uptime, ts

    # --- events ---------------------------------------------------------------------------
    def _event(self, events: list[dict], ts: float, kind: str, router: str, interface: str = "",
               source: str = "poll", **detail: Any) -> dict:
        event = {"ts": ts, "kind": kind, "router": router, "interface": interface,
                 "source": source, "detail": detail}
        events.append(event)
        self.event_counts[kind] = self.event_counts.get(kind, 0) + 1
        return event

    def _change(self, ts: float, router: str, interface: str, state: str, reason: str | None,
                source: str) -> None:
        self.store.add("INSERT INTO state_changes VALUES (?,?,?,?,?,?)",
                       [(ts, router, interface, state, reason, source)])

    def apply(self, poll: DevicePoll) -> list[dict]:
        """Update the state of one router from a poll; returns the events it raised."""
        st, events, ts, r = self.state.setdefault(poll.router, RouterState()), [], poll.ts, poll.router
        received = poll.ts + poll.duration
        st.duration = poll.duration
        self.store.add("INSERT INTO samples VALUES (?,?,?,?,?,?)",
                       [(ts, r, int(poll.reachable), poll.sys_uptime, poll.duration,
                         poll.error or "; ".join(poll.problems) or None)])
        if not poll.reachable:
            reason = poll.error or "unreachable"
            st.errors[reason.split(":")[0]] = st.errors.get(reason.split(":")[0], 0) + 1
            if st.reachable is not False:
                self._change(ts, r, "", "down", reason, "poll")
                self._event(events, ts, "router_down", r, reason=reason, received=received)
            st.reachable, st.error = False, reason
            return events
        if st.reachable is not True:
            self._change(ts, r, "", "up", None, "poll")
            if st.reachable is False:
                self._event(events, ts, "router_up", r, was=st.error, received=received)
        st.reachable, st.error, st.sys_name = True, None, poll.sys_name
        reboot = False
        if poll.sys_uptime is not None:
            if st.uptime is not None and st.uptime_ts is not None and rebooted(
                    st.uptime, st.uptime_ts, poll.sys_uptime, ts):
                reboot = True
                self._event(events, ts, "reboot", r, previous_uptime_s=st.uptime / TICKS_PER_S,
                            uptime_s=poll.sys_uptime / TICKS_PER_S)
            st.uptime, st.uptime_ts = poll.sys_uptime, ts + poll.duration
        if tuple(poll.problems) != st.problems and poll.problems:
            st.errors["partial"] = st.errors.get("partial", 0) + 1
            self._event(events, ts, "poll_error", r, problems=poll.problems)
        st.problems = tuple(poll.problems)
        self._interfaces(st, poll, reboot, events)
        for e in events:
            if e["kind"] in DOWN_KINDS:
                e["detail"]["received"] = received
        return events

    def _interfaces(self, st: RouterState, poll: DevicePoll, reboot: bool,
                    events: list[dict]) -> None:
        ts, r, rows = poll.ts, poll.router, []
        dt = ts - st.if_ts if st.if_ts else None
        for idx, ifc in poll.interfaces.items():
            prev = st.interfaces.get(idx)
            rates = []
            for attr in ("in_octets", "out_octets"):
                delta, note = counter_delta(getattr(prev, attr, None), getattr(ifc, attr), reboot)
                if note:
                    self._event(events, ts, f"counter_{note}", r, ifc.name, counter=attr,
                                previous=getattr(prev, attr), value=getattr(ifc, attr))
                rates.append(delta * 8 / dt if delta is not None and dt else None)
            st.rates[ifc.name] = (rates[0], rates[1])
            rows.append((ts, r, idx, ifc.name, ifc.oper, ifc.admin, _db_int(ifc.in_octets),
                         _db_int(ifc.out_octets), rates[0], rates[1]))
            if ifc.oper is None:
                continue
            state, before = oper_state(ifc.oper), st.oper.get(ifc.name)
            if state != before:
                status = OPER_STATUS.get(ifc.oper, str(ifc.oper))
                self._change(ts, r, ifc.name, state, status, "poll")
                if before is not None or (state == "down" and ifc.admin == 1):
                    self._event(events, ts, f"link_{state}", r, ifc.name, oper=status,
                                admin=OPER_STATUS.get(ifc.admin or 0, ifc.admin))
                st.oper[ifc.name], st.oper_ts[ifc.name] = state, ts
        self.store.add("INSERT INTO if_samples VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
        st.interfaces, st.if_ts = poll.interfaces, ts

    def on_trap(self, trap: Trap) -> list[dict]:
        """Record a trap as an event right away (state change, impact, alert, flush)."""
        router = trap.router or f"unknown:{trap.source}"
        st, events, interface = self.state.get(router), [], ""
        self.traps += 1
        if trap.if_index is not None:
            known = st.interfaces.get(trap.if_index) if st else None
            interface = known.name if known else f"ifIndex{trap.if_index}"
        if st and trap.kind in ("linkDown", "linkUp") and interface:
            state = "down" if trap.kind == "linkDown" else "up"
            if st.oper.get(interface) != state:
                self._change(trap.received, router, interface, state, trap.kind, "trap")
                st.oper[interface], st.oper_ts[interface] = state, trap.received
        kind, detail = trap.kind, {}
        if trap.kind == "ospfNbrStateChange" and st and self.impact and trap.nbr_address:
            kind, interface, detail = self._adjacency(self.impact, router, trap)
        elif trap.kind == "ospfIfStateChange" and trap.ospf_if_state is not None:
            interface = (self.impact.interface(router, trap.ospf_if_address or "")
                         if self.impact else None) or ""
            detail = {"if_address": trap.ospf_if_address,
                      "state": IF_STATE.get(trap.ospf_if_state, str(trap.ospf_if_state))}
        self._event(events, trap.received, kind, router, interface, "trap", **detail,
                    source_address=trap.source, if_index=trap.if_index, varbinds=trap.varbinds)
        self._finish(events)
        return events

    def _adjacency(self, impact: ImpactMapper, router: str, trap: Trap
                   ) -> tuple[str, str, dict[str, Any]]:
        """(event kind, interface, detail) of an ospfNbrStateChange. On one of the router's IP
        links, leaving full is `ospf_neighbor_down` and coming back to full `ospf_neighbor_up`;
        the rest (unknown neighbours, other transitions) keeps the trap's kind."""
        state, address = trap.nbr_state, trap.nbr_address or ""
        detail: dict[str, Any] = {
            "neighbor_address": address, "neighbor_router_id": trap.nbr_router_id,
            "ospf_router_id": trap.ospf_router_id,
            "state": NBR_STATE.get(state, str(state)) if state is not None else None}
        link = impact.neighbor(router, address)
        if link is None or state is None:
            return trap.kind, "", detail
        interface, detail["link"] = link
        return (self._adjacency_seen(router, interface, state, trap.received, "trap")
                or trap.kind, interface, detail)

    def _adjacency_seen(self, router: str, interface: str, nbr_state: int, ts: float,
                        source: str) -> str | None:
        """Keep the OSPF neighbour state seen over `interface`. When the adjacency left full
        (also on first sight) or came back, record the state change and return the event kind,
        `ospf_neighbor_down` or `ospf_neighbor_up`."""
        st = self.state[router]
        now = "full" if nbr_state == NBR_FULL else "down"
        before = st.adjacency.get(interface, (None, 0.0))[0]
        if now == before:
            return None
        st.adjacency[interface] = (now, ts)
        if before is None and now == "full":
            return None
        self._change(ts, router, ADJACENCY + interface, "up" if now == "full" else "down",
                     f"ospfNbrState {NBR_STATE.get(nbr_state, nbr_state)}", source)
        return f"ospf_neighbor_{'up' if now == 'full' else 'down'}"

    async def _check_adjacencies(self, polls: list[DevicePoll]) -> list[dict]:
        """OSPF adjacencies read from the routers' ospfNbrTable: every `adjacency_every`-th cycle
        on every reachable router, and on every cycle on those with an adjacency recorded down.
        Traps report changes only, so neither a lost down trap nor a lost up trap (nor a monitor
        restarted meanwhile) leaves a link's adjacency wrong for long. Returns the events."""
        if self.impact is None or not self.adjacency_every:
            return []
        everyone = self.cycles % self.adjacency_every == 0
        targets = {t.router: t for t in self.targets}
        routers = [p.router for p in polls if p.reachable and self.impact.neighbors.get(p.router)
                   and (everyone or any(state == "down" for state, _ in
                                        self.state[p.router].adjacency.values()))]
        tables = await asyncio.gather(*(self._nbr_states(targets[r]) for r in routers))
        events: list[dict] = []
        for router, table in zip(routers, tables):
            if table is None or not (table or self.state[router].adjacency):
                continue  # the walk failed, or an agent that never showed an OSPF neighbour
            ts = time.time()
            for interface, address in self.impact.neighbors[router]:
                state = table.get(address, 1)  # gone from the table: down
                kind = self._adjacency_seen(router, interface, state, ts, "poll")
                if kind:
                    self._event(events, ts, kind, router, interface, "poll",
                                neighbor_address=address, state=NBR_STATE.get(state, str(state)),
                                link=self.impact.by_endpoint[(router, interface)])
        if events:
            self._finish(events)
        return events

    async def _nbr_states(self, target: Target) -> dict[str, int] | None:
        """ospfNbrState by neighbour address (GETBULK walk), None when the walk failed."""
        cursor, out = OSPF_NBR_STATE, {}
        try:
            for _ in range(MAX_ROUNDS):
                varbinds = await self.client.bulk(target, [], [cursor], NBR_REPETITIONS)
                for name, value in varbinds:
                    if name[:len(OSPF_NBR_STATE)] != OSPF_NBR_STATE or name <= cursor \
                            or not isinstance(value, int):
                        return out
                    address = ospf_index_address(name, OSPF_NBR_STATE)
                    if address:
                        out[address] = value
                    cursor = name
                if not varbinds:
                    return out
        except SnmpError:
            return None
        return out

    def _down_interfaces(self) -> set[tuple[str, str]]:
        """(router, interface) pairs down for impact purposes: ifOperStatus down, unless an OSPF
        adjacency over the interface reached full since (the agent's ifTable cache lags), or the
        adjacency over it is down."""
        out = set()
        for r, s in self.state.items():
            for name in set(s.oper) | set(s.adjacency):
                adj, adj_ts = s.adjacency.get(name, (None, 0.0))
                if adj == "down" or (s.oper.get(name) == "down" and not (
                        adj == "full" and adj_ts > s.oper_ts.get(name, 0.0))):
                    out.add((r, name))
        return out

    def _finish(self, events: list[dict]) -> None:
        """Impact for down/up events, then store, flush and alert."""
        received = {id(e): e["detail"].pop("received", e["ts"]) for e in events}
        if self.impact and any(e["kind"] in DOWN_KINDS for e in events):
            routers = {r for r, s in self.state.items() if s.reachable is False}
            impact = self.impact.assess(self.impact.elements(routers, self._down_interfaces()))
            for e in events:
                if e["kind"] in DOWN_KINDS and self.impact.maps(e["router"], e["interface"]):
                    e["detail"]["impact"] = impact
                    e["detail"]["impact_ms"] = round((time.time() - received[id(e)]) * 1000, 3)
        self.store.add("INSERT INTO events VALUES (?,?,?,?,?,?)",
                       [(e["ts"], e["kind"], e["router"], e["interface"], e["source"],
                         json.dumps(e["detail"], default=str)) for e in events])
        errors_before = len(self.store.errors)
        self.store.flush()
        for ts, reason in self.store.errors[errors_before:]:
            self._event(events, ts, "store_error", "", source="store", reason=reason)
        if self.alerts:
            for e in events:
                self.alerts.dispatch(e)

    # --- cycles ---------------------------------------------------------------------------
    async def cycle(self) -> dict[str, Any]:
        """Poll everything once; returns the cycle report (docs/monitor.md, `--once --json`)."""
        if self.client is None:
            self.client = await SnmpClient.create()
        start = time.perf_counter()
        events: list[dict] = []
        mine: dict[str, list[dict]] = {}
        raised: list[dict] = []  # in the order the polls completed and were applied

        def on_result(poll: DevicePoll) -> None:
            mine[poll.router] = self.apply(poll)
            raised.extend(mine[poll.router])
            if any(e["kind"] in DOWN_KINDS for e in mine[poll.router]):
                self._finish(mine[poll.router])  # impact and store now, not at cycle end
            else:
                events.extend(mine[poll.router])

        polls = await poll_all(self.client, self.targets, self.concurrency, on_result=on_result)
        raised += await self._check_adjacencies(polls)
        self.cycles += 1
        self.last_cycle = time.perf_counter() - start
        self._finish(events)
        per_router = []
        for poll in polls:
            st = self.state[poll.router]
            per_router.append({
                "router": poll.router, "reachable": poll.reachable,
                "sys_uptime": poll.sys_uptime / TICKS_PER_S if poll.sys_uptime is not None else None,
                "sys_name": poll.sys_name, "error": poll.error, "problems": poll.problems,
                "poll_ms": round(poll.duration * 1000, 3),
                "interfaces": {i.name: oper_state(i.oper) for i in poll.interfaces.values()
                               if i.oper is not None},
                "rates_bps": {k: {"in": v[0], "out": v[1]} for k, v in st.rates.items()
                              if v != (None, None)},
                "events": mine[poll.router]})
        return {"ts": time.time(), "duration_s": round(self.last_cycle, 4),
                "values": sum(p.values for p in polls), "routers": per_router,
                "events": raised + [e for e in events if e["source"] == "store"],
                "store_errors": [reason for _, reason in self.store.errors[-10:]]}

    def prune(self, retention_days: float, now: float | None = None) -> None:
        """Drop samples and events older than the retention; keep the last state change of
        every router/interface so availability still knows the state at the window start."""
        cutoff = (now or time.time()) - retention_days * 86400
        for table in ("samples", "if_samples", "events"):
            self.store.add(f"DELETE FROM {table} WHERE ts < ?", [(cutoff,)])
        self.store.add(
            "DELETE FROM state_changes WHERE ts < ? AND ts < (SELECT MAX(ts) FROM state_changes t "
            "WHERE t.router = state_changes.router AND t.interface = state_changes.interface)",
            [(cutoff,)])
        self.store.flush()

    async def run(self, interval: float, retention_days: float = 400.0,
                  stop: asyncio.Event | None = None) -> None:
        """Cycle every `interval` seconds until `stop` is set; prune once an hour."""
        stop = stop or asyncio.Event()
        last_prune = 0.0
        while not stop.is_set():
            began = time.monotonic()
            await self.cycle()
            if began - last_prune > 3600:
                self.prune(retention_days)
                last_prune = began
            try:
                await asyncio.wait_for(stop.wait(), max(0.0, interval - (time.monotonic() - began)))
            except TimeoutError:
                pass

    def close(self) -> None:
        if self.client:
            self.client.close()
        self.store.flush()


def run_monitor(targets: list[Target], store: Store, topo: Topology | None, *, once: bool,
                interval: float = 10.0, concurrency: int = 256, metrics_port: int | None = None,
                metrics_addr: str = "127.0.0.1", trap_port: int | None = None,
                trap_addr: str | None = None, alerts: Alerts | None = None,
                retention_days: float = 400.0, adjacency_every: int = 6) -> dict[str, Any] | None:
    """One cycle (returns its report) or run until SIGINT/SIGTERM (returns None)."""
    import signal

    from controller.southbound.snmp.traps import TrapReceiver

    monitor = Monitor(targets, store, ImpactMapper(topo) if topo else None, alerts, concurrency,
                      adjacency_every)
    server = serve_metrics(monitor, metrics_port, metrics_addr) if metrics_port else None

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
                receiver = TrapReceiver(targets, monitor.on_trap, trap_addr, trap_port)
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
