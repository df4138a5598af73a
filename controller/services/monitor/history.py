"""The monitor's history in the store: its schema, how adjacencies are keyed (`ospf:<if>`), the one
rule for "this link is down" (the live impact and `ngk uptime` both use `link_is_down`), and the
reads and writes of the monitor's rows."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from controller.errors import StoreError
from controller.southbound.snmp.poller import DevicePoll
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
""", """
ALTER TABLE samples ADD COLUMN horizon REAL
""", """
ALTER TABLE state_changes ADD COLUMN token INTEGER;
ALTER TABLE events ADD COLUMN token INTEGER
""", """
ALTER TABLE samples ADD COLUMN instance TEXT
""", """
ALTER TABLE events ADD COLUMN dedup TEXT;
CREATE UNIQUE INDEX events_dedup ON events (dedup)
""", """
CREATE TABLE state_current (router TEXT NOT NULL, interface TEXT NOT NULL, state TEXT, ts REAL,
                            PRIMARY KEY (router, interface));
INSERT INTO state_current (router, interface, state, ts)
SELECT router, interface, MIN(state), ts FROM state_changes s WHERE ts = (SELECT MAX(ts)
    FROM state_changes t WHERE t.router = s.router AND t.interface = s.interface)
GROUP BY router, interface, ts
"""]
CURRENT = """INSERT INTO state_current (router, interface, state, ts) VALUES (?,?,?,?)
ON CONFLICT (router, interface) DO UPDATE SET state = excluded.state, ts = excluded.ts
WHERE excluded.ts >= state_current.ts"""  # the last state of each key: what restore reads
SYS_UPTIME_VARBIND = "1.3.6.1.2.1.1.3.0"  # a notification's first var-bind: the agent's clock
ADJACENCY = "ospf:"  # state_changes.interface of the OSPF adjacency over an interface
DEFAULT_HORIZON = 20.0  # seconds a sample without a recorded horizon counts as observed


def adjacency_key(interface: str) -> str:
    """The state_changes.interface of the OSPF adjacency over `interface`."""
    return ADJACENCY + interface


def split_key(key: str) -> tuple[str, str]:
    """state_changes.interface -> ("router", ""), ("oper", ifName) or ("adjacency", ifName)."""
    if key.startswith(ADJACENCY):
        return "adjacency", key[len(ADJACENCY):]
    return ("oper", key) if key else ("router", "")


# --- the one link-down rule ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Seen:
    """A state (`up`: ifOperStatus up / adjacency full) and since when it holds."""

    up: bool
    since: float


def interface_is_down(oper: Seen | None, adjacency: Seen | None) -> bool | None:
    """Down when the OSPF adjacency over it is down, or ifOperStatus is down and no adjacency over
    it reached full since (an agent's ifTable cache can report a restore late); None when neither
    is known."""
    if adjacency is not None and not adjacency.up:
        return True
    if oper is not None and not oper.up:
        return not (adjacency is not None and adjacency.since > oper.since)
    return None if oper is None and adjacency is None else False


@dataclass(frozen=True, slots=True)
class End:
    """What is known of one end of an IP link: its router reachable, ifOperStatus, adjacency."""

    reachable: bool | None
    oper: Seen | None
    adjacency: Seen | None


def link_is_down(ends: Iterable[End]) -> bool | None:
    """An IP link is down when a router at either end is unreachable or either end's interface is
    down (`interface_is_down`); None when nothing is known of it."""
    known = False
    for end in ends:
        iface = interface_is_down(end.oper, end.adjacency)
        if end.reachable is False or iface:
            return True
        known = known or end.reachable is not None or iface is not None
    return False if known else None


def dedup_key(event: dict) -> str | None:
    """The identity of a trap's event, the same in every monitor that received the trap (routers
    send to all of them): the sender, what happened and the notification's own content, whose
    sysUpTime var-bind is the agent's time of sending. None for polled events (each is recorded
    by the one instance polling the router) and for a trap without the agent's time."""
    varbinds = event["detail"].get("varbinds") if event["source"] == "trap" else None
    if not varbinds or not any(k.lstrip(".") == SYS_UPTIME_VARBIND for k in varbinds):
        return None
    content = json.dumps([event["router"], event["kind"], event["interface"], varbinds],
                         sort_keys=True, default=str)
    return hashlib.sha256(content.encode()).hexdigest()


# --- reads and writes ---------------------------------------------------------------------------
@dataclass
class Restored:
    """The last state change of every router/interface/adjacency key and the last sysUpTime."""

    # router, key, state, ts
    changes: list[tuple[str, str, str, float]] = field(default_factory=list)
    uptimes: list[tuple[str, int, float]] = field(default_factory=list)  # router, ticks, when read


def _db_int(value: int | None) -> int | float | None:
    return value if value is None or value < (1 << 63) else float(value)


class History:
    """The monitor's rows in a store (queued; `flush` writes them in one transaction)."""

    def __init__(self, store: Store):
        self.store = store
        self.token: int | None = None  # the leader's fencing token, written with its rows
        self.instance: str | None = None  # the monitor instance, written with its samples
        store.register("monitor", SCHEMA)

    def restore(self, uptimes_of: Iterable[str] | None = None) -> Restored:
        """What a restarted monitor needs: the last state changes, and the last sysUpTime of
        every router (or of `uptimes_of`: one index lookup each, for sharded monitors taking
        devices over); empty (the reason recorded) if the store is unreadable."""
        try:
            rows = self.store.query("SELECT router, interface, state, ts FROM state_current")
            if uptimes_of is None:
                uptimes = self.store.query(
                    "SELECT s.router, s.sys_uptime, s.ts + COALESCE(s.duration, 0) FROM samples s "
                    "JOIN (SELECT router, MAX(ts) AS ts FROM samples WHERE sys_uptime IS NOT NULL "
                    "GROUP BY router) m ON s.router = m.router AND s.ts = m.ts "
                    "WHERE s.sys_uptime IS NOT NULL")
            else:
                uptimes = [(router, *r[0]) for router in uptimes_of if (r := self.store.query(
                    "SELECT sys_uptime, ts + COALESCE(duration, 0) FROM samples WHERE router = ? "
                    "AND sys_uptime IS NOT NULL ORDER BY ts DESC LIMIT 1", (router,)))]
        except StoreError as exc:  # start without history, say why
            self.store.record_error(f"cannot read previous state: {exc}")
            return Restored()
        return Restored([tuple(r) for r in rows], [tuple(r) for r in uptimes])  # type: ignore[misc]

    def last_polls(self, routers: Iterable[str]) -> dict[str, tuple[float, str | None]]:
        """router -> (ts, instance) of its last sample (one index lookup each); empty (the
        reason recorded) if the store is unreadable."""
        out = {}
        try:
            for router in routers:
                rows = self.store.query("SELECT ts, instance FROM samples WHERE router = ? "
                                        "ORDER BY ts DESC LIMIT 1", (router,))
                if rows:
                    out[router] = (rows[0][0], rows[0][1])
        except StoreError as exc:
            self.store.record_error(f"cannot read the last polls: {exc}")
        return out

    def poll(self, poll: DevicePoll, rates: dict[str, tuple[float | None, float | None]],
             horizon: float | None) -> None:
        """A poll's sample (observed from ts for `horizon` s) and its interface samples."""
        self.store.add("INSERT INTO samples (ts, router, reachable, sys_uptime, duration, error, "
                       "horizon, instance) VALUES (?,?,?,?,?,?,?,?)",
                       [(poll.ts, poll.router, int(poll.reachable), poll.sys_uptime, poll.duration,
                         poll.error or "; ".join(poll.problems) or None, horizon,
                         self.instance)])
        if not poll.reachable:
            return
        self.store.add("INSERT INTO if_samples VALUES (?,?,?,?,?,?,?,?,?,?)",
                       [(poll.ts, poll.router, idx, ifc.name, ifc.oper, ifc.admin,
                         _db_int(ifc.in_octets), _db_int(ifc.out_octets),
                         *rates.get(ifc.name, (None, None)))
                        for idx, ifc in poll.interfaces.items()])

    def change(self, ts: float, router: str, key: str, state: str, reason: str | None,
               source: str) -> None:
        self.store.add("INSERT INTO state_changes (ts, router, interface, state, reason, source, "
                       "token) VALUES (?,?,?,?,?,?,?)",
                       [(ts, router, key, state, reason, source, self.token)])
        self.store.add(CURRENT, [(router, key, state, ts)])

    def events(self, events: list[dict]) -> None:
        """Queue events; a trap's event that another monitor already stored is left out."""
        self.store.add("INSERT INTO events (ts, kind, router, interface, source, detail, token, "
                       "dedup) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                       [(e["ts"], e["kind"], e["router"], e["interface"], e["source"],
                         json.dumps(e["detail"], default=str), self.token, dedup_key(e))
                        for e in events])

    def prune(self, cutoff: float) -> None:
        """Drop samples and events before `cutoff`; keep the last state change of every key so
        availability still knows the state at the window start."""
        for table in ("samples", "if_samples", "events"):
            self.store.add(f"DELETE FROM {table} WHERE ts < ?", [(cutoff,)])
        self.store.add(
            "DELETE FROM state_changes WHERE ts < ? AND ts < (SELECT MAX(ts) FROM state_changes t "
            "WHERE t.router = state_changes.router AND t.interface = state_changes.interface)",
            [(cutoff,)])
