"""Sharded monitors: who is polling. Every instance heartbeats a row in the PostgreSQL store; the
live ones (seen within `ttl`, by the database server's clock like lease.py) split the inventory
by rendezvous hashing (controller/services/sharding.py). docs/operations.md, "Sharded polling"."""
from __future__ import annotations

from collections import Counter
from typing import Any

from controller.errors import InputError
from controller.services.monitor.lease import NOW
from controller.services.sharding import assign
from controller.store import Store

SCHEMA = ["""
CREATE TABLE monitor_members (name TEXT NOT NULL, instance TEXT NOT NULL, seen REAL NOT NULL,
                              PRIMARY KEY (name, instance))
"""]
BEAT = f"""
INSERT INTO monitor_members VALUES (?, ?, {NOW})
ON CONFLICT (name, instance) DO UPDATE SET seen = excluded.seen RETURNING seen"""
LIVE = f"""
SELECT instance, {NOW} - seen FROM monitor_members WHERE name = ? AND seen >= {NOW} - ?
ORDER BY instance"""
FORGET = f"DELETE FROM monitor_members WHERE name = ? AND seen < {NOW} - ? RETURNING instance"
LEAVE = "DELETE FROM monitor_members WHERE name = ? AND instance = ? RETURNING instance"
FORGET_AFTER = 100  # ttls: rows of instances gone this long are deleted (restarts get new ids)


class Members:
    """Instance `me` of the sharded monitors named `name` (an observer: any name that is no
    instance's); live = heartbeat within `ttl` s."""

    def __init__(self, store: Store, me: str, ttl: float, name: str = "monitor"):
        if not store.postgres:
            raise InputError("sharded monitors need a PostgreSQL store "
                             "(--store postgresql://...)")
        self.store, self.me, self.ttl, self.name = store, me, ttl, name
        store.register("members", SCHEMA)

    def beat(self) -> list[str]:
        """Record that `me` is alive; returns the live instances, sorted (`me` among them).
        Raises StoreError when the store is unreachable."""
        self.store.query(BEAT, (self.name, self.me))
        self.store.query(FORGET, (self.name, FORGET_AFTER * self.ttl))
        return self.live()

    def live(self) -> list[str]:
        return [r[0] for r in self.store.query(LIVE, (self.name, self.ttl))]

    def status(self, devices: list[str]) -> dict[str, Any]:
        """The live instances, how long ago each was seen and how many of `devices` it polls
        (`ngk monitor --members`; docs/operations.md). Raises StoreError."""
        rows = self.store.query(LIVE, (self.name, self.ttl))
        split = Counter(assign(devices, [r[0] for r in rows]).values())
        return {"inventory": len(devices), "members": [
            {"instance": i, "seen_s_ago": round(max(0.0, age), 3), "devices": split[i]}
            for i, age in rows]}

    def leave(self) -> None:
        """A clean stop: the others take this instance's devices at their next heartbeat."""
        self.store.query(LEAVE, (self.name, self.me))
