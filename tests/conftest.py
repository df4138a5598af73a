"""Every test run keeps ngk's state (store, audit log, backups, drill records, playbook runs) in a
temporary state directory of its own, never in the operator's /var/lib/ngk; store tests run on
SQLite and on a private PostgreSQL cluster (`store_url`)."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

STATE_SETTINGS = ("NGK_DB", "NGK_STORE", "NGK_AUDIT_LOG")  # would point past NGK_STATE_DIR


def pytest_configure(config: pytest.Config) -> None:
    for name in STATE_SETTINGS:
        os.environ.pop(name, None)
    os.environ["NGK_STATE_DIR"] = tempfile.mkdtemp(prefix="ngk-test-state-")


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(os.environ.pop("NGK_STATE_DIR", ""), ignore_errors=True)


class PostgresCluster:
    """A private PostgreSQL cluster: initdb + pg_ctl in a temp dir, listening only on a unix
    socket there, run as the unprivileged `postgres` user (the server refuses root)."""

    def __init__(self) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
        if not bins:
            pytest.fail("PostgreSQL is not installed: run scripts/bootstrap --test")
        self.bin = bins[-1].parent
        self.dir = Path(tempfile.mkdtemp(prefix="ngk-pg-"))
        self.data = self.dir / "data"
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "ngk", "-E", "UTF8",
                  "--no-sync")
        self.start()

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.as_user, str(self.bin / tool), *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=self.dir)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://ngk@/{database}?host={self.dir}"

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-w", "-o",
                  f"-k {self.dir} -c listen_addresses='' -c fsync=off "
                  "-c full_page_writes=off -c max_connections=40", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def database(self) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster()
    try:
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same store test on each backend: a fresh SQLite file or PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "ngk.db")
    return request.getfixturevalue("postgres").database()
