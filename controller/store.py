"""The controller's store, shared by monitor, compliance and drills: one interface, two backends.
SQLite (a file path; WAL; the embedded default `$NGK_STATE_DIR/ngk.db`) or PostgreSQL (a
`postgresql://` URL, through psycopg 3). `--store` / `$NGK_STORE` choose (docs/store.md).

Each component owns its tables and registers its schema as an ordered list of SQL steps:
`store.register("compliance", [step1, step2])`. Steps already applied (recorded per component
in `schema_versions`) are skipped, new ones run in order, so a component adds a table or column
by appending a step, never by editing an old one. The steps are written once, in the portable
subset both backends share; for PostgreSQL `REAL` becomes DOUBLE PRECISION, `INTEGER` BIGINT,
`INTEGER PRIMARY KEY AUTOINCREMENT` BIGSERIAL PRIMARY KEY, and `?` placeholders `%s`.

Writes are queued and flushed in one transaction. A locked database, a full disk, an unwritable
path or an unreachable server is recorded in `errors` and the queue is kept for the next `flush`:
the caller never sees an exception and loses no history (up to `max_pending` queued rows).
Reads raise `StoreError`.
"""
from __future__ import annotations

import logging
import os
import re
import sqlite3
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from controller.errors import StoreError
from controller.paths import state_path

log = logging.getLogger(__name__)

BASE_SCHEMA = """CREATE TABLE IF NOT EXISTS schema_versions (
    component TEXT PRIMARY KEY, version INTEGER NOT NULL, updated REAL NOT NULL)"""
SET_VERSION = ("INSERT INTO schema_versions VALUES (?, ?, ?) ON CONFLICT (component) DO UPDATE "
               "SET version = excluded.version, updated = excluded.updated")
PG_TYPES = [(re.compile(r"\bINTEGER PRIMARY KEY AUTOINCREMENT\b", re.IGNORECASE),
             "BIGSERIAL PRIMARY KEY"),
            (re.compile(r"\bINTEGER\b", re.IGNORECASE), "BIGINT"),
            (re.compile(r"\bREAL\b", re.IGNORECASE), "DOUBLE PRECISION")]
MIGRATION_LOCK = 0x6e676b  # pg_advisory_xact_lock key: one migrator at a time


def is_url(spec: str) -> bool:
    return spec.startswith(("postgresql://", "postgres://"))


def redacted(spec: str) -> str:
    """A store location fit for messages and logs: a URL without its password."""
    if not is_url(spec):
        return spec
    parts = urlsplit(spec)
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0] + "@" if len(netloc) == 2 else ""
    return parts._replace(netloc=user + netloc[-1]).geturl()


class Store:
    def __init__(self, target: str | Path | None = None, busy_timeout_ms: int = 200,
                 max_pending: int = 1_000_000):
        spec = str(target) if target else os.environ.get("NGK_STORE") or str(
            state_path("ngk.db"))
        self.postgres = is_url(spec)
        self.spec = spec
        self.path: Path | None = None if self.postgres else Path(spec)
        self.name = redacted(spec)
        self.busy_timeout_ms = busy_timeout_ms
        self.max_pending = max_pending
        self.schemas: dict[str, list[str]] = {}
        self.pending: list[tuple[str, list[tuple]]] = []
        self.pending_rows = 0
        self.dropped_rows = 0
        self.errors: deque[tuple[float, str]] = deque(maxlen=100)  # the last 100
        self.error_count = 0  # every error since start (monotonic: store_error events, metric)
        self.conn: Any = None
        # (query, params): checked first in every write transaction; no row = fenced off
        self.fence: tuple[str, tuple] | None = None
        self.fenced_rows = 0  # rows refused because the fence failed (a deposed leader's)
        if self.postgres:
            import psycopg
            self.failures: tuple[type[BaseException], ...] = (psycopg.Error, OSError)
        else:
            self.failures = (sqlite3.Error, OSError)

    def exists(self) -> bool:
        """Whether there is anything to read (a SQLite file; a server is assumed to be there)."""
        return self.path is None or self.path.exists()

    def register(self, component: str, steps: Sequence[str]) -> None:
        """Declare a component's schema steps; applied on (re)connect, in order, once each."""
        self.schemas[component] = list(steps)
        if self.conn is not None:
            self._migrate(self.conn, component)

    # --- backends -----------------------------------------------------------------------------
    def _sql(self, statement: str, ddl: bool = False) -> str:
        if not self.postgres:
            return statement
        if ddl:
            for pattern, replacement in PG_TYPES:
                statement = pattern.sub(replacement, statement)
        return statement.replace("%", "%%").replace("?", "%s")

    def _begin(self, conn: Any) -> None:
        conn.execute("BEGIN" if self.postgres else "BEGIN IMMEDIATE")

    def connect(self) -> Any:
        """Open (creating the SQLite directory, applying migrations); raises backend errors."""
        if self.conn is None:
            conn: Any
            if self.postgres:
                import psycopg
                conn = psycopg.connect(self.spec, autocommit=True, connect_timeout=5)
            else:
                assert self.path is not None
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=self.busy_timeout_ms / 1000,
                                       isolation_level=None, check_same_thread=False)
            try:
                if not self.postgres:
                    conn.execute("PRAGMA journal_mode=WAL")
                    conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute(self._sql(BASE_SCHEMA, ddl=True))
                for component in self.schemas:
                    self._migrate(conn, component)
            except BaseException:
                conn.close()
                raise
            self.conn = conn
        return self.conn

    def _migrate(self, conn: Any, component: str) -> None:
        steps = self.schemas[component]
        self._begin(conn)
        try:
            if self.postgres:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            row = conn.execute(self._sql("SELECT version FROM schema_versions WHERE component=?"),
                               (component,)).fetchone()
            done = row[0] if row else 0
            for step in steps[done:]:
                for statement in step.split(";"):
                    if statement.strip():
                        conn.execute(self._sql(statement, ddl=True))
            if len(steps) > done:
                conn.execute(self._sql(SET_VERSION), (component, len(steps), time.time()))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _drop(self) -> None:
        """Forget a server connection after a failure (the next use reconnects)."""
        if self.postgres and self.conn is not None:
            try:
                self.conn.close()
            finally:
                self.conn = None

    # --- writes -------------------------------------------------------------------------------
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
            self._begin(conn)
            try:
                if self.fence and conn.execute(self._sql(self.fence[0]),
                                               self.fence[1]).fetchone() is None:
                    conn.execute("ROLLBACK")
                    return self._refuse()
                for sql, rows in self.pending:
                    if self.postgres:
                        with conn.cursor() as cur:
                            cur.executemany(self._sql(sql), rows)
                    else:
                        conn.executemany(sql, rows)
                conn.execute("COMMIT")
            except BaseException:
                if self.postgres or conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except self.failures as exc:
            self._drop()
            self.record_error(f"write of {self.pending_rows} rows failed, will retry: {exc}")
            return False
        self.pending.clear()
        self.pending_rows = 0
        return True

    def _refuse(self) -> bool:
        """Drop the queue: the fence says another writer (a newer leader) owns the store."""
        self.record_error(f"fenced off (another monitor leads): {self.pending_rows} rows refused")
        self.fenced_rows += self.pending_rows
        self.pending.clear()
        self.pending_rows = 0
        return False

    def record_error(self, reason: str) -> None:
        log.warning("store %s: %s", self.name, reason)
        self.errors.append((time.time(), reason))
        self.error_count += 1

    # --- reads --------------------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Read rows; raises StoreError (readers decide how to report it)."""
        try:
            conn = self.connect()
            if self.postgres and not params:
                return [tuple(r) for r in conn.execute(sql).fetchall()]
            return [tuple(r) for r in conn.execute(self._sql(sql), tuple(params)).fetchall()]
        except self.failures as exc:
            self._drop()
            raise StoreError(f"cannot read the store {self.name}: {exc}") from exc

    def tables(self) -> list[str]:
        """The tables in the store, sorted (schema_versions included)."""
        if self.postgres:
            sql = ("SELECT table_name FROM information_schema.tables WHERE table_schema = "
                   "current_schema() AND table_type = 'BASE TABLE'")
        else:
            sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        return sorted(r[0] for r in self.query(sql))

    def columns(self, table: str) -> list[str]:
        if table not in self.tables():
            raise StoreError(f"no table {table!r} in {self.name}")
        conn = self.connect()
        cur = conn.execute(f'SELECT * FROM "{table}" LIMIT 0')
        return [d[0] for d in cur.description]

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
