"""The leader lease and its fencing token on a private PostgreSQL cluster: one holder at a time,
a lapsed lease is taken with a higher token, and a deposed leader's writes are refused."""
import time

import pytest

from controller.errors import InputError
from controller.services.monitor.lease import Lease
from controller.store import Store


def test_a_deposed_leader_is_fenced_off(postgres):
    url = postgres.database()
    a_store, b_store = Store(url), Store(url)
    a, b = Lease(a_store, "host-a:1", ttl=0.3), Lease(b_store, "host-b:2", ttl=0.3)
    for s in (a_store, b_store):
        s.register("t", ["CREATE TABLE t (x INTEGER)"])
    assert a.hold() == 1 and b.hold() is None and a.hold() == 1  # renewal keeps the token
    a_store.add("INSERT INTO t VALUES (?)", [(1,)])
    assert a_store.flush()
    time.sleep(0.4)  # a's lease lapses (a stalled leader)
    assert b.hold() == 2 and b.holder_now() == ("host-b:2", 2)
    a_store.add("INSERT INTO t VALUES (?)", [(2,)])
    assert a_store.flush() is False and a_store.fenced_rows == 1 and a_store.pending_rows == 0
    assert "fenced off" in a_store.errors[-1][1]
    assert a.hold() is None  # and it learns it is a standby now
    b_store.add("INSERT INTO t VALUES (?)", [(3,)])
    assert b_store.flush()
    assert b_store.query("SELECT x FROM t ORDER BY x") == [(1,), (3,)]


def test_lease_needs_postgresql(tmp_path):
    with pytest.raises(InputError, match="PostgreSQL"):
        Lease(Store(tmp_path / "x.db"), "a", 1.0)
