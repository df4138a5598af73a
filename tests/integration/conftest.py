"""The live lab for integration tests: ONE lab (`ngk-test`) per test run, shared by all workers.

Under pytest-xdist every worker process runs this session fixture. A file lock (fcntl) makes
exactly one of them build the lab; each worker registers its PID in a users file and the last
worker to leave brings the lab down (a worker that started after that rebuilds it — correct, only
slower). Tests are also marked `xdist_group("lab")`, so `--dist loadgroup` keeps them in one
worker. Tests that inject failures take the `lab_exclusive` lock (readers take `lab_shared`),
so they never disturb each other even when spread over workers.

The lab runs the reference topology with its management subnet moved to 172.31.200.0/24, so
it can run beside a developer's own `ngk` lab.
"""
from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from controller.lab import creds as credentials
from controller.lab.down import lab_down
from controller.lab.faults import lab_restore
from controller.lab.state import STATE_ROOT, LabError, LabState
from controller.lab.status import lab_wait
from controller.lab.system import alive, preflight
from controller.lab.up import lab_up
from controller.model.load import REFERENCE_TOPOLOGY, load_topology
from controller.model.topology import Topology

LAB = "ngk-test"
MGMT = "172.31.200"


@dataclass
class Lab:
    name: str
    topo: Topology
    state: LabState
    creds: credentials.Credentials


def skip_reason() -> str | None:
    try:
        preflight()
    except LabError as exc:
        return str(exc)
    return None


@contextmanager
def file_lock(name: str, mode: int = fcntl.LOCK_EX) -> Iterator[None]:
    STATE_ROOT.mkdir(parents=True, exist_ok=True, mode=0o711)
    with open(STATE_ROOT / name, "a") as f:
        fcntl.flock(f, mode)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def lab_topology(out: Path) -> Path:
    """The reference topology with the management subnet moved out of the default range."""
    data = yaml.safe_load(REFERENCE_TOPOLOGY.read_text())
    data["addressing"]["mgmt"] = f"{MGMT}.0/24"
    for router in data["routers"]:
        router["mgmt"] = router["mgmt"].replace("172.31.0.", f"{MGMT}.")
    out.write_text(yaml.safe_dump(data, sort_keys=False))
    return out


def _users(path: Path) -> set[int]:
    pids = {int(p) for p in path.read_text().split()} if path.exists() else set()
    return {p for p in pids if alive(p)}


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    reason = skip_reason()
    if reason:
        pytest.skip(f"live lab unavailable: {reason}")
    users_file = STATE_ROOT / f".{LAB}.users"
    with file_lock(f".{LAB}.fixture.lock"):
        users = _users(users_file)
        if not users:
            lab_down(LAB)  # whatever an earlier, dead test run left behind
            lab_up(lab_topology(tmp_path_factory.mktemp("lab") / "ngk-test.yaml"), LAB)
        users_file.write_text(" ".join(str(p) for p in users | {os.getpid()}))
    lab_wait(LAB, timeout=60)
    state = LabState.load(LAB)
    yield Lab(LAB, load_topology(state.topology), state, credentials.load(state.dir))
    with file_lock(f".{LAB}.fixture.lock"):
        users = _users(users_file) - {os.getpid()}
        users_file.write_text(" ".join(str(p) for p in users))
        if not users:
            lab_down(LAB)
            users_file.unlink()


@pytest.fixture
def lab_shared(lab: Lab) -> Iterator[Lab]:
    """The converged lab, with no failure injected while the test runs."""
    with file_lock(f".{LAB}.mutate.lock", fcntl.LOCK_SH):
        lab_wait(LAB, timeout=30)
        yield lab


@pytest.fixture
def lab_exclusive(lab: Lab) -> Iterator[Lab]:
    """The converged lab for a test that injects failures; everything is restored after it."""
    with file_lock(f".{LAB}.mutate.lock", fcntl.LOCK_EX):
        lab_wait(LAB, timeout=30)
        try:
            yield lab
        finally:
            lab_restore([], LAB)
            lab_wait(LAB, timeout=60)
