"""The monitor's state machine: what each router last showed, and the typed events a poll, a trap
or an OSPF neighbour walk raises (`apply`, `on_trap`, `on_neighbours`). Pure: no socket, store or
clock of its own; times come with the input. State transitions to record come out as
`StateChange` events, the rest are published (docs/monitor.md, "Events")."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

from controller.services.impact import ImpactMapper
from controller.services.monitor.history import (
    Restored,
    Seen,
    adjacency_key,
    interface_is_down,
    split_key,
)
from controller.southbound.snmp.oids import (
    IF_STATE,
    NBR_FULL,
    NBR_STATE,
    OPER_STATUS,
    TICKS_PER_S,
)
from controller.southbound.snmp.poller import DevicePoll, Interface
from controller.southbound.snmp.traps import Trap

WRAP_TICKS = 1 << 32
DOWN_KINDS = {"router_down", "router_up", "link_down", "link_up", "linkDown", "linkUp",
              "ospf_neighbor_down", "ospf_neighbor_up"}


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


# --- events -------------------------------------------------------------------------------------
_BASE = {"ts", "kind", "router", "interface", "source", "impact", "impact_ms"}


@dataclass(kw_only=True)
class Event:
    """Something the monitor saw; the fields of a subclass are its `detail` (JSON, the store)."""

    ts: float
    kind: str
    router: str
    interface: str = ""
    source: str = "poll"
    impact: dict[str, Any] | None = None  # the app's impact of everything down at that moment
    impact_ms: float | None = None

    @property
    def changes_topology(self) -> bool:
        return self.kind in DOWN_KINDS

    def detail(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _BASE
               and not (f.metadata.get("optional") and getattr(self, f.name) is None)}
        if self.impact is not None:
            out.update(impact=self.impact, impact_ms=self.impact_ms)
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"ts": self.ts, "kind": self.kind, "router": self.router,
                "interface": self.interface, "source": self.source, "detail": self.detail()}


@dataclass(kw_only=True)
class StateChange(Event):
    """A transition to record (`interface` is the history key: "", ifName or `ospf:<ifName>`)."""

    kind: str = "state_change"
    state: str
    reason: str | None


@dataclass(kw_only=True)
class RouterDown(Event):
    kind: str = "router_down"
    reason: str


@dataclass(kw_only=True)
class RouterUp(Event):
    kind: str = "router_up"
    was: str | None


@dataclass(kw_only=True)
class Reboot(Event):
    kind: str = "reboot"
    previous_uptime_s: float
    uptime_s: float


@dataclass(kw_only=True)
class PollError(Event):
    kind: str = "poll_error"
    problems: list[str]


@dataclass(kw_only=True)
class CounterNote(Event):
    """`counter_wrap` or `counter_reset`."""

    counter: str
    previous: int | None
    value: int | None


@dataclass(kw_only=True)
class LinkChange(Event):
    """`link_down` or `link_up` (ifOperStatus)."""

    oper: str
    admin: str | int | None


@dataclass(kw_only=True)
class NeighbourPolled(Event):
    """`ospf_neighbor_down`/`_up` seen in a router's ospfNbrTable."""

    neighbor_address: str
    state: str
    link: str


@dataclass(kw_only=True)
class TrapEvent(Event):
    """A trap; `kind` is its name (oids.TRAPS) or dotted OID."""

    source: str = "trap"
    source_address: str
    if_index: int | None
    varbinds: dict[str, Any]


@dataclass(kw_only=True)
class NeighbourTrap(TrapEvent):
    """An ospfNbrStateChange; `ospf_neighbor_down`/`_up` when it changed an IP link's adjacency."""

    neighbor_address: str
    neighbor_router_id: str | None
    ospf_router_id: str | None
    state: str | None
    link: str | None = field(default=None, metadata={"optional": True})


@dataclass(kw_only=True)
class OspfIfTrap(TrapEvent):
    if_address: str | None
    state: str


@dataclass(kw_only=True)
class StoreFailed(Event):
    kind: str = "store_error"
    router: str = ""
    source: str = "store"
    reason: str


# --- state --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NeighbourWalk:
    """A router's ospfNbrTable read at `ts`: ospfNbrState by neighbour address (None: failed)."""

    router: str
    ts: float
    states: dict[str, int] | None


@dataclass(frozen=True)
class RouterView:
    """A router as the monitor last saw it (the public snapshot, e.g. for the metrics)."""

    router: str
    reachable: bool | None
    uptime_s: float | None
    poll_duration: float
    errors: dict[str, int]
    oper: dict[str, bool]
    octets: dict[str, tuple[int | None, int | None]]
    rates: dict[str, tuple[float | None, float | None]]
    oper_seen: dict[str, Seen]
    adjacency: dict[str, Seen]


@dataclass
class _Router:
    reachable: bool | None = None
    uptime: int | None = None
    uptime_ts: float | None = None
    error: str | None = None
    problems: tuple[str, ...] = ()
    interfaces: dict[int, Interface] = field(default_factory=dict)
    if_ts: float | None = None
    oper: dict[str, Seen] = field(default_factory=dict)
    adjacency: dict[str, Seen] = field(default_factory=dict)
    rates: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    duration: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)


class MonitorState:
    """The routers' state; `impact` (optional) maps OSPF neighbours and addresses to links."""

    def __init__(self, routers: Iterable[str], impact: ImpactMapper | None = None):
        self.routers = {r: _Router() for r in routers}
        self.impact = impact

    def restore(self, saved: Restored, only: set[str] | None = None) -> None:
        """Pick up the last known state (a restarted monitor raises no duplicate events), of
        every router or of those in `only`."""
        for router, key, state, ts in saved.changes:
            st = self.routers.get(router)
            if st is None or (only is not None and router not in only):
                continue
            what, name = split_key(key)
            if what == "adjacency":
                st.adjacency[name] = Seen(state == "up", ts)
            elif what == "oper":
                st.oper[name] = Seen(state == "up", ts)
            else:
                st.reachable = state == "up"
        for router, ticks, ts in saved.uptimes:
            if router in self.routers and (only is None or router in only):
                self.routers[router].uptime, self.routers[router].uptime_ts = ticks, ts

    def adopt(self, routers: Iterable[str], saved: Restored) -> None:
        """Routers another monitor polled until now (sharding): start them from what the store
        recorded, not from what this one saw before or nothing, so the first poll raises no
        down/up event that was raised already."""
        only = set(routers)
        for r in only:
            self.routers[r] = _Router()
        self.restore(saved, only)

    def release(self, routers: Iterable[str]) -> None:
        """Forget routers another monitor polls now."""
        for r in routers:
            self.routers.pop(r, None)

    # --- polls --------------------------------------------------------------------------------
    def apply(self, poll: DevicePoll) -> list[Event]:
        """Update one router from a poll; returns its state changes and events."""
        st = self.routers.setdefault(poll.router, _Router())
        out: list[Event] = []
        ts, r = poll.ts, poll.router
        st.duration = poll.duration
        if not poll.reachable:
            reason = poll.error or "unreachable"
            key = reason.split(":")[0]
            st.errors[key] = st.errors.get(key, 0) + 1
            if st.reachable is not False:
                out += [StateChange(ts=ts, router=r, state="down", reason=reason),
                        RouterDown(ts=ts, router=r, reason=reason)]
            st.reachable, st.error = False, reason
            return out
        if st.reachable is not True:
            out.append(StateChange(ts=ts, router=r, state="up", reason=None))
            if st.reachable is False:
                out.append(RouterUp(ts=ts, router=r, was=st.error))
        st.reachable, st.error = True, None
        reboot = False
        if poll.sys_uptime is not None:
            if st.uptime is not None and st.uptime_ts is not None and rebooted(
                    st.uptime, st.uptime_ts, poll.sys_uptime, ts):
                reboot = True
                out.append(Reboot(ts=ts, router=r, previous_uptime_s=st.uptime / TICKS_PER_S,
                                  uptime_s=poll.sys_uptime / TICKS_PER_S))
            st.uptime, st.uptime_ts = poll.sys_uptime, ts + poll.duration
        if tuple(poll.problems) != st.problems and poll.problems:
            st.errors["partial"] = st.errors.get("partial", 0) + 1
            out.append(PollError(ts=ts, router=r, problems=poll.problems))
        st.problems = tuple(poll.problems)
        self._interfaces(st, poll, reboot, out)
        return out

    def _interfaces(self, st: _Router, poll: DevicePoll, reboot: bool, out: list[Event]) -> None:
        ts, r = poll.ts, poll.router
        dt = ts - st.if_ts if st.if_ts else None
        for idx, ifc in poll.interfaces.items():
            prev = st.interfaces.get(idx)
            rates = []
            for attr in ("in_octets", "out_octets"):
                delta, note = counter_delta(getattr(prev, attr, None), getattr(ifc, attr), reboot)
                if note:
                    out.append(CounterNote(ts=ts, kind=f"counter_{note}", router=r,
                                           interface=ifc.name, counter=attr,
                                           previous=getattr(prev, attr), value=getattr(ifc, attr)))
                rates.append(delta * 8 / dt if delta is not None and dt else None)
            st.rates[ifc.name] = (rates[0], rates[1])
            if ifc.oper is None:
                continue
            state, before = oper_state(ifc.oper), st.oper.get(ifc.name)
            if before is None or state != ("up" if before.up else "down"):
                status = OPER_STATUS.get(ifc.oper, str(ifc.oper))
                out.append(StateChange(ts=ts, router=r, interface=ifc.name, state=state,
                                       reason=status))
                if before is not None or (state == "down" and ifc.admin == 1):
                    out.append(LinkChange(ts=ts, kind=f"link_{state}", router=r,
                                          interface=ifc.name, oper=status,
                                          admin=OPER_STATUS.get(ifc.admin or 0, ifc.admin)))
                st.oper[ifc.name] = Seen(state == "up", ts)
        st.interfaces, st.if_ts = poll.interfaces, ts

    # --- traps --------------------------------------------------------------------------------
    def on_trap(self, trap: Trap) -> list[Event]:
        """The trap as an event, after the state changes it makes."""
        router = trap.router or f"unknown:{trap.source}"
        st, interface = self.routers.get(router), ""
        out: list[Event] = []
        ts = trap.received
        if trap.if_index is not None:
            known = st.interfaces.get(trap.if_index) if st else None
            interface = known.name if known else f"ifIndex{trap.if_index}"
        if st and trap.kind in ("linkDown", "linkUp") and interface:
            up = trap.kind == "linkUp"
            before = st.oper.get(interface)
            if before is None or before.up != up:
                out.append(StateChange(ts=ts, router=router, interface=interface,
                                       state="up" if up else "down", reason=trap.kind,
                                       source="trap"))
                st.oper[interface] = Seen(up, ts)
        common: dict[str, Any] = {"ts": ts, "router": router, "source_address": trap.source,
                                  "if_index": trap.if_index, "varbinds": trap.varbinds}
        if trap.kind == "ospfNbrStateChange" and st and self.impact and trap.nbr_address:
            state = trap.nbr_state
            event = NeighbourTrap(
                kind=trap.kind, **common, neighbor_address=trap.nbr_address,
                neighbor_router_id=trap.nbr_router_id, ospf_router_id=trap.ospf_router_id,
                state=NBR_STATE.get(state, str(state)) if state is not None else None)
            link = self.impact.neighbor(router, trap.nbr_address)
            if link is not None and state is not None:
                event.interface, event.link = link
                event.kind = self._adjacency_seen(router, event.interface, state, ts, "trap",
                                                  out) or trap.kind
            out.append(event)
        elif trap.kind == "ospfIfStateChange" and trap.ospf_if_state is not None:
            name = (self.impact.interface(router, trap.ospf_if_address or "")
                    if self.impact else None) or ""
            out.append(OspfIfTrap(kind=trap.kind, interface=name, **common,
                                  if_address=trap.ospf_if_address,
                                  state=IF_STATE.get(trap.ospf_if_state,
                                                     str(trap.ospf_if_state))))
        else:
            out.append(TrapEvent(kind=trap.kind, interface=interface, **common))
        return out

    # --- OSPF neighbour walks -----------------------------------------------------------------
    def to_walk(self, reachable: Iterable[str], everyone: bool) -> list[str]:
        """Routers whose ospfNbrTable to read: of the `reachable` ones with OSPF neighbours on IP
        links, all when `everyone`, else those with an adjacency recorded down."""
        if self.impact is None:
            return []
        return [r for r in reachable if self.impact.neighbors.get(r) and (everyone or any(
            not seen.up for seen in self.routers[r].adjacency.values()))]

    def on_neighbours(self, walk: NeighbourWalk) -> list[Event]:
        """Adjacencies from a walk: a neighbour of an IP link missing from the table or not full
        is down. Traps report changes only, so neither a lost down trap nor a lost up trap (nor a
        monitor restarted meanwhile) leaves a link's adjacency wrong for long."""
        st = self.routers.get(walk.router)
        out: list[Event] = []
        if self.impact is None or st is None or walk.states is None or not (
                walk.states or st.adjacency):
            return []  # the walk failed, or an agent that never showed an OSPF neighbour
        for interface, address in self.impact.neighbors.get(walk.router, []):
            state = walk.states.get(address, 1)  # gone from the table: down
            kind = self._adjacency_seen(walk.router, interface, state, walk.ts, "poll", out)
            if kind:
                out.append(NeighbourPolled(
                    ts=walk.ts, kind=kind, router=walk.router, interface=interface,
                    neighbor_address=address, state=NBR_STATE.get(state, str(state)),
                    link=self.impact.by_endpoint[(walk.router, interface)]))
        return out

    def _adjacency_seen(self, router: str, interface: str, nbr_state: int, ts: float,
                        source: str, out: list[Event]) -> str | None:
        """Keep the OSPF neighbour state seen over `interface` (a change is recorded, also the
        first sight). Leaving full (also on first sight) or coming back returns the event kind,
        `ospf_neighbor_down` or `ospf_neighbor_up`."""
        st = self.routers[router]
        up = nbr_state == NBR_FULL
        before = st.adjacency.get(interface)
        if before is not None and before.up == up:
            return None
        st.adjacency[interface] = Seen(up, ts)
        out.append(StateChange(ts=ts, router=router, interface=adjacency_key(interface),
                               state="up" if up else "down", source=source,
                               reason=f"ospfNbrState {NBR_STATE.get(nbr_state, nbr_state)}"))
        if before is None and up:
            return None
        return f"ospf_neighbor_{'up' if up else 'down'}"

    # --- what is down -------------------------------------------------------------------------
    def routers_down(self) -> set[str]:
        return {r for r, s in self.routers.items() if s.reachable is False}

    def interfaces_down(self) -> set[tuple[str, str]]:
        """(router, interface) pairs down by `history.interface_is_down`."""
        return {(r, name) for r, s in self.routers.items() for name in set(s.oper) | set(
            s.adjacency) if interface_is_down(s.oper.get(name), s.adjacency.get(name))}

    def snapshot(self) -> list[RouterView]:
        """Every router as last seen (copies: safe to read from another thread)."""
        return [RouterView(
            router=r, reachable=s.reachable,
            uptime_s=s.uptime / TICKS_PER_S if s.uptime is not None else None,
            poll_duration=s.duration, errors=dict(s.errors),
            oper={k: v.up for k, v in s.oper.items()},
            octets={i.name: (i.in_octets, i.out_octets) for i in s.interfaces.values()},
            rates=dict(s.rates), oper_seen=dict(s.oper), adjacency=dict(s.adjacency))
            for r, s in list(self.routers.items())]
