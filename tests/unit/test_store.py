"""The SQLite store: per-component migrations, WAL, a locked database and an unwritable path
are recorded and retried without losing rows."""
import sqlite3

from controller.store import Store


def test_migrations_run_once_and_in_order(tmp_path):
    db = tmp_path / "s.db"
    s = Store(db)
    s.register("a", ["CREATE TABLE a (x INTEGER)"])
    s.register("b", ["CREATE TABLE b (y TEXT)"])
    s.connect()
    s.close()
    s = Store(db)
    s.register("a", ["CREATE TABLE a (x INTEGER)", "ALTER TABLE a ADD COLUMN z TEXT"])
    s.register("b", ["CREATE TABLE b (y TEXT)"])  # would fail if run again
    s.add("INSERT INTO a VALUES (?, ?)", [(1, "one")])
    assert s.flush()
    assert s.query("SELECT component, version FROM schema_versions ORDER BY component") == [
        ("a", 2), ("b", 1)]
    assert s.query("SELECT * FROM a") == [(1, "one")]
    assert s.query("PRAGMA journal_mode")[0][0] == "wal"


def test_locked_database_is_retried(tmp_path):
    db = tmp_path / "s.db"
    s = Store(db, busy_timeout_ms=50)
    s.register("t", ["CREATE TABLE t (x INTEGER)"])
    s.connect()
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    s.add("INSERT INTO t VALUES (?)", [(i,) for i in range(5)])
    assert s.flush() is False
    assert "locked" in s.errors[-1][1] and s.pending_rows == 5
    s.add("INSERT INTO t VALUES (?)", [(99,)])
    other.execute("ROLLBACK")
    other.close()
    assert s.flush() is True and s.pending_rows == 0
    assert [r[0] for r in s.query("SELECT x FROM t ORDER BY x")] == [0, 1, 2, 3, 4, 99]


def test_unwritable_path_and_bounded_queue(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    s = Store(blocker / "sub" / "s.db", max_pending=10)
    s.register("t", ["CREATE TABLE t (x INTEGER)"])
    for i in range(4):
        s.add("INSERT INTO t VALUES (?)", [(i,)] * 4)
    assert s.flush() is False and s.errors
    assert s.pending_rows <= 10 and s.dropped_rows == 8
