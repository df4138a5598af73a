"""The controller's SQLite store (WAL), shared by monitor, compliance and drills.

Each component owns its tables and registers its schema as an ordered list of SQL steps:
`store.register("compliance", [step1, step2])`. Steps already applied (recorded per component
in `schema_versions`) are skipped, new ones run in order, so a component adds a table or column
by appending a step, never by editing an old one.

Writes are queued and flushed in one transaction. A locked database, a full disk or an
unwritable path is recorded in `errors` and the queue is kept for the next `flush`: the caller
never sees an exception and loses no history (up to `max_pending` queued rows).
"""
from __future__ import annotations

import logging
import sqlite3
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from controller.paths import state_path

log = logging.getLogger(__name__)

BASE_SCHEMA = """CREATE TABLE IF NOT EXISTS schema_versions (
    component TEXT PRIMARY KEY, version INTEGER NOT NULL, updated REAL NOT NULL)"""


class Store:
    def __init__(self, path: str | Path | None = None, busy_timeout_ms: int = 200,
                 max_pending: int = 1_000_000):
        self.path = Path(path) if path else state_path("ngk.db")
        self.busy_timeout_ms = busy_timeout_ms
        self.max_pending = max_pending
        self.schemas: dict[str, list[str]] = {}
        self.pending: list[tuple[str, list[tuple]]] = []
        self.pending_rows = 0
        self.dropped_rows = 0
        self.errors: deque[tuple[float, str]] = deque(maxlen=100)  # the last 100
        self.error_count = 0  # every error since start (monotonic: store_error events, metric)
        self.conn: sqlite3.Connection | None = None

    def register(self, component: str, steps: Sequence[str]) -> None:
        """Declare a component's schema steps; applied on (re)connect, in order, once each."""
        self.schemas[component] = list(steps)
        if self.conn is not None:
            self._migrate(self.conn, component)

    def connect(self) -> sqlite3.Connection:
        """Open (creating the directory and applying migrations); raises sqlite3/OS errors."""
        if self.conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout_ms / 1000,
                                   isolation_level=None, check_same_thread=False)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute(BASE_SCHEMA)
                for component in self.schemas:
                    self._migrate(conn, component)
            except sqlite3.Error:
                conn.close()
                raise
            self.conn = conn
        return self.conn

    def _migrate(self, conn: sqlite3.Connection, component: str) -> None:
        steps = self.schemas[component]
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute("SELECT version FROM schema_versions WHERE component=?",
                               (component,)).fetchone()
            done = row[0] if row else 0
            for step in steps[done:]:
                for statement in step.split(";"):
                    if statement.strip():
                        conn.execute(statement)
            if len(steps) > done:
                conn.execute("INSERT OR REPLACE INTO schema_versions VALUES (?, ?, ?)",
                             (component, len(steps), time.time()))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def add(self, sql: str, rows: list[tuple]) -> None:
        """Queue rows for an INSERT (or any executemany statement); written by `flush`."""
        if not rows:
            return
        self.pending.append((sql, rows))
        self.pending_rows += len(rows)
        while self.pending_rows > self.max_pending and len(self.pending) > 1:
            _, old = self.pending.pop(0)
            self.pending_rows -= len(old)
            self.dropped_rows += len(old)

    def flush(self) -> bool:
        """Write everything queued in one transaction; False (and an error recorded) if not."""
        if not self.pending:
            return True
        try:
            conn = self.connect()
            conn.execute("BEGIN IMMEDIATE")
            try:
                for sql, rows in self.pending:
                    conn.executemany(sql, rows)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except (sqlite3.Error, OSError) as exc:
            self.record_error(f"write of {self.pending_rows} rows failed, will retry: {exc}")
            return False
        self.pending.clear()
        self.pending_rows = 0
        return True

    def record_error(self, reason: str) -> None:
        log.warning("store %s: %s", self.path, reason)
        self.errors.append((time.time(), reason))
        self.error_count += 1

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Read rows; raises sqlite3.Error (readers decide how to report it)."""
        return self.connect().execute(sql, params).fetchall()

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
