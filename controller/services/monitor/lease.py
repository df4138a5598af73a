"""Active/standby monitors: one leader lease per monitor name, held in the PostgreSQL store itself
(no consensus of our own). Taking a free or lapsed lease raises its fencing token; the leader
renews it every cycle; every write of the leader carries the token and the store refuses it once
another holder has taken over (the check locks the lease row, so a takeover waits for a write in
flight). Times are the database server's clock, so hosts' clocks do not matter. docs/store.md"""
from __future__ import annotations

from controller.errors import InputError
from controller.store import Store

SCHEMA = ["""
CREATE TABLE monitor_lease (name TEXT PRIMARY KEY, holder TEXT NOT NULL, token INTEGER NOT NULL,
                            expires REAL NOT NULL)
"""]
NOW = "EXTRACT(EPOCH FROM clock_timestamp())"
HOLD = f"""
INSERT INTO monitor_lease VALUES (?, ?, 1, {NOW} + ?)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires,
    token = CASE WHEN monitor_lease.holder = excluded.holder AND monitor_lease.token = ?
                 THEN monitor_lease.token ELSE monitor_lease.token + 1 END
WHERE (monitor_lease.holder = excluded.holder AND monitor_lease.token = ?)
   OR monitor_lease.expires < {NOW}
RETURNING token"""
FENCE = "SELECT token FROM monitor_lease WHERE name = ? AND holder = ? AND token = ? FOR SHARE"


class Lease:
    def __init__(self, store: Store, holder: str, ttl: float, name: str = "monitor"):
        if not store.postgres:
            raise InputError("active/standby monitors need a PostgreSQL store "
                             "(--store postgresql://...)")
        self.store, self.holder, self.ttl, self.name = store, holder, ttl, name
        self.token: int | None = None
        store.register("lease", SCHEMA)

    def hold(self) -> int | None:
        """Take the lease if free or lapsed, or renew ours: the fencing token while we lead,
        None while another holder does. Raises StoreError when the store is unreachable."""
        mine = self.token or 0
        rows = self.store.query(HOLD, (self.name, self.holder, self.ttl, mine, mine))
        self.token = rows[0][0] if rows else None
        self.store.fence = (FENCE, (self.name, self.holder, self.token)) if self.token else None
        return self.token

    def holder_now(self) -> tuple[str, int] | None:
        rows = self.store.query("SELECT holder, token FROM monitor_lease WHERE name = ?",
                                (self.name,))
        return (rows[0][0], rows[0][1]) if rows else None
