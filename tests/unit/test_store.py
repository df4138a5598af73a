"""The store on both backends (SQLite file, private PostgreSQL cluster): per-component migrations
from every earlier version, failures recorded and retried without losing rows, and a whole store
moved SQLite -> PostgreSQL without losing a row."""
import json
import sqlite3

import pytest

from controller.credentials import SnmpCredentials
from controller.errors import InputError, StoreError
from controller.services import compliance, storage
from controller.services.drill_store import drill_history
from controller.services.monitor.app import Monitor
from controller.services.uptime import uptime_report
from controller.southbound.snmp.inventory import Target
from controller.southbound.snmp.poller import DevicePoll, Interface
from controller.southbound.snmp.traps import Trap
from controller.store import Store, redacted


def test_migrations_run_once_and_in_order(store_url):
    s = Store(store_url)
    s.register("a", ["CREATE TABLE a (x INTEGER)"])
    s.register("b", ["CREATE TABLE b (y TEXT)"])
    s.connect()
    s.close()
    s = Store(store_url)
    s.register("a", ["CREATE TABLE a (x INTEGER)", "ALTER TABLE a ADD COLUMN z TEXT"])
    s.register("b", ["CREATE TABLE b (y TEXT)"])  # would fail if run again
    s.add("INSERT INTO a VALUES (?, ?)", [(1, "one"), (2**40, "100%")])
    assert s.flush()
    assert s.query("SELECT component, version FROM schema_versions ORDER BY component") == [
        ("a", 2), ("b", 1)]
    assert s.query("SELECT * FROM a WHERE z LIKE ? ORDER BY x", ("%e",)) == [(1, "one")]
    assert s.query("SELECT x FROM a WHERE z = '100%'") == [(2**40,)]  # 64-bit, literal %
    if s.postgres:
        assert s.query("SELECT data_type FROM information_schema.columns WHERE table_name = 'a' "
                       "AND column_name = 'x'") == [("bigint",)]
    else:
        assert s.query("PRAGMA journal_mode")[0][0] == "wal"


def test_reads_raise_store_error(store_url):
    s = Store(store_url)
    with pytest.raises(StoreError, match="cannot read the store"):
        s.query("SELECT * FROM no_such_table")
    assert s.query("SELECT 1") == [(1,)]  # the store is still usable after a failed read


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


def test_server_gone_is_retried_in_order(postgres):
    url = postgres.database()
    s = Store(url)
    s.register("t", ["CREATE TABLE t (x INTEGER)"])
    s.add("INSERT INTO t VALUES (?)", [(0,)])
    assert s.flush()
    postgres.stop()
    try:
        for i in (1, 2):
            s.add("INSERT INTO t VALUES (?)", [(i,)])
            assert s.flush() is False
        assert s.error_count == 2 and s.pending_rows == 2
        with pytest.raises(StoreError):
            s.query("SELECT x FROM t")
    finally:
        postgres.start()
    s.add("INSERT INTO t VALUES (?)", [(3,)])
    assert s.flush()
    assert [r[0] for r in s.query("SELECT x FROM t ORDER BY x")] == [0, 1, 2, 3]


def test_passwords_stay_out_of_messages():
    assert redacted("postgresql://ngk:s3cret@db.example:5432/ngk") == \
        "postgresql://ngk@db.example:5432/ngk"
    s = Store("postgresql://ngk:s3cret@/nodb?host=/nonexistent&connect_timeout=1")
    s.add("INSERT INTO t VALUES (?)", [(1,)])
    assert s.flush() is False and "s3cret" not in s.name


def _schema(store: Store) -> dict[str, list[str]]:
    return {t: store.columns(t) for t in store.tables()}


@pytest.mark.parametrize("component,done", [
    (c, k) for c, steps in storage.schemas().items() for k in range(len(steps))])
def test_every_component_migrates_from_every_earlier_version(store_url, component, done,
                                                             tmp_path, request):
    steps = storage.schemas()[component]
    old = Store(store_url)
    old.register(component, steps[:done])
    old.connect()
    if component == "monitor" and done:  # rows written before the migration stay
        old.add("INSERT INTO samples (ts, router, reachable, sys_uptime, duration, error) "
                "VALUES (?, ?, ?, ?, ?, ?)", [(1.5, "r1", 1, 7, 0.01, None)])
        assert old.flush()
    tables = [t for t in old.tables() if t != "schema_versions"]
    counts = {t: old.query(f'SELECT COUNT(*) FROM "{t}"')[0][0] for t in tables}
    old.close()
    new = Store(store_url)
    new.register(component, steps)
    new.connect()
    assert storage.versions(new)[component] == len(steps)
    assert {t: new.query(f'SELECT COUNT(*) FROM "{t}"')[0][0] for t in tables} == counts
    fresh = Store(request.getfixturevalue("postgres").database() if new.postgres
                  else tmp_path / "fresh.db")
    fresh.register(component, steps)
    fresh.connect()
    assert _schema(fresh) == _schema(new)


def populate(store: Store) -> None:
    """Every table of every component, through the monitor itself where it can."""
    storage.migrate(store)
    targets = [Target(r, "192.0.2.1", 161, SnmpCredentials("2c", community="c"))
               for r in ("r1", "r2")]
    m = Monitor(targets, store, interval=10.0)
    for i in range(30):
        for r in ("r1", "r2"):
            up = not (r == "r2" and 10 <= i < 14)
            ifs = {1: Interface(1, "eth1", 1 if i % 7 else 2, 1, 10**12 + i * 12345, 2**63 - 1),
                   2: Interface(2, "lo", 1, 1, None, 0)}
            m.apply(DevicePoll(r, 1.7e9 + i * 10.123456789, up, 100 * i + 7, r,
                               ifs if up else {}, None if up else "timeout: no reply",
                               duration=0.0123))
        m.on_trap(Trap("linkDown", "r1", "192.0.2.1", 1.7e9 + i, if_index=1,
                       varbinds={"1.3.6": "quote ' and \" and \\ and é"}))
    store.add("INSERT INTO compliance_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
              [(f"run{i}", 1.7e9 + i, 99.5, 20, 19, 1, 0, "warn") for i in range(5)])
    store.add("INSERT INTO compliance_findings VALUES (?, ?, ?, ?, ?, ?, ?)",
              [(f"run{i}", 1.7e9 + i, "r1", "non-compliant", "ntp missing", "ntp", None)
               for i in range(5)])
    store.add("INSERT INTO drills (ts, lab, failure, mode, restored, affected, max_gap_ms, lost, "
              "paths_matched, igp_converged_ms, monitor_event_ms, report) "
              "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
              [(1.7e9 + i, "ngk", "span:a-b", "light", 1, 3, 42.5, 7, 3, 120.0, None,
                json.dumps({"i": i})) for i in range(4)])
    store.add("INSERT INTO monitor_lease VALUES (?, ?, ?, ?)", [("monitor", "host-a:1", 3, 1.7e9)])
    store.add("INSERT INTO discover_runs VALUES (?, ?, ?, ?, ?, ?)",
              [(f"d{i}", 1.7e9 + i, 15, 14, 2, 1) for i in range(3)])
    store.add("INSERT INTO discover_differences VALUES (?, ?, ?, ?, ?, ?, ?)",
              [(f"d{i}", 1.7e9 + i, "cost", "r1 eth1", "10", "4242", "OSPF cost, link x")
               for i in range(3)])
    assert store.flush()


def dump(store: Store) -> dict[str, list[tuple]]:
    return {t: sorted(store.query(f'SELECT * FROM "{t}"'), key=repr) for t in store.tables()
            if t != "schema_versions"}


def test_sqlite_to_postgresql_loses_no_row(tmp_path, postgres):
    source = Store(tmp_path / "ngk.db")
    populate(source)
    before = dump(source)
    assert all(before.values()) and set(before) == {
        "samples", "if_samples", "state_changes", "state_current", "events", "compliance_runs",
        "compliance_findings", "drills", "monitor_lease", "discover_runs",
        "discover_differences"}
    exported = storage.export(source, tmp_path / "ngk.dump")
    assert exported["rows"] == {t: len(rows) for t, rows in before.items()}
    assert (tmp_path / "ngk.dump").stat().st_mode & 0o777 == 0o600
    target = Store(postgres.database())
    result = storage.import_(target, tmp_path / "ngk.dump")
    assert result["schema"] == storage.versions(source)
    assert dump(target) == before  # every row of every table, value for value
    target.add("INSERT INTO drills (ts, lab) VALUES (?, ?)", [(1.8e9, "after")])
    assert target.flush()  # the id sequence continues after the imported ids
    assert target.query("SELECT id FROM drills WHERE lab = 'after'") == [(5,)]
    with pytest.raises(StoreError, match="not empty"):
        storage.import_(Store(target.spec), tmp_path / "ngk.dump")


def test_both_backends_give_the_same_answers(tmp_path, postgres):
    """The readers (uptime, compliance and drill history) on a store and on its copy."""
    source = Store(tmp_path / "ngk.db")
    populate(source)
    storage.export(source, tmp_path / "ngk.dump")
    target = Store(postgres.database())
    storage.import_(target, tmp_path / "ngk.dump")
    for store in (source, target):
        store.add("INSERT INTO drills (ts, lab, failure, mode) VALUES (?, ?, ?, ?)",
                  [(1.9e9, "ngk", "span:a-b", "light")])
        assert store.flush()
    answers = [(uptime_report(s, None, 1.7e9, 1.7e9 + 400), compliance.history(s),
                drill_history(s)) for s in (source, target)]
    assert answers[0] == answers[1]
    router = answers[0][0]["routers"][1]
    assert router["router"] == "r2" and router["outages"] == 1 and router["observed_pct"] > 70


def cli(*args: str):
    from typer.testing import CliRunner

    from controller.cli.main import app

    return CliRunner().invoke(app, list(args))


def test_store_commands(tmp_path, postgres):
    db, url = tmp_path / "ngk.db", postgres.database()
    res = cli("store", "migrate", "--store", str(db), "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["after"] == {c: len(v) for c, v in storage.schemas().items()}
    populate(Store(db))
    assert cli("store", "export", "--db", str(db), "--out", str(tmp_path / "d")).exit_code == 0
    res = cli("store", "import", str(tmp_path / "d"), "--store", url, "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["rows"]["samples"] == 60
    res = cli("uptime", "--since", "1700000000", "--until", "1700000400", "--json")
    assert res.exit_code == 2 and "no monitor database" in res.output  # the state dir's: none
    for where in (["--store", url], ["--db", str(db)]):
        res = cli("uptime", "--since", "1700000000", "--until", "1700000400", "--json", *where)
        assert res.exit_code == 0, res.output
        routers = {r["router"]: r["outages"] for r in json.loads(res.output)["routers"]}
        assert (routers["r1"], routers["r2"]) == (0, 1)
    again = cli("store", "import", str(tmp_path / "d"), "--store", url)
    assert again.exit_code == 1 and "not empty" in again.output and "Traceback" not in again.output


def test_import_of_an_older_dump_migrates_it_forward(tmp_path, store_url):
    old = Store(tmp_path / "old.db")
    monitor = storage.schemas()["monitor"]
    old.register("monitor", monitor[:1])  # before samples.horizon
    old.add("INSERT INTO samples (ts, router, reachable, sys_uptime, duration, error) "
            "VALUES (?, ?, ?, ?, ?, ?)", [(1.0, "r1", 1, 5, 0.01, None)])
    assert old.flush()
    storage.export(old, tmp_path / "old.dump")
    new = Store(store_url)
    storage.import_(new, tmp_path / "old.dump")
    assert storage.versions(new)["monitor"] == len(monitor)
    assert new.query("SELECT router, horizon FROM samples") == [("r1", None)]


def test_a_bad_dump_is_an_input_error(tmp_path):
    bad = tmp_path / "bad.dump"
    bad.write_text('{"format": "something else"}\n')
    with pytest.raises(InputError, match="not an ngk store dump"):
        storage.import_(Store(tmp_path / "x.db"), bad)
    bad.write_text('{"format": "ngk-store-dump", "schema_versions": {"monitor": 1}}\n'
                   '{"table": "samples", "columns": ["ts"], "rows": 3}\n[1.0]\n')
    with pytest.raises(InputError, match="truncated"):
        storage.import_(Store(tmp_path / "y.db"), bad)
