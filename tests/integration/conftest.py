"""The live lab for integration tests: ONE lab (`ngk-test`) per test run, shared by all workers.

Under pytest-xdist every worker process runs this session fixture. A file lock (fcntl) makes
exactly one of them build the lab; each worker registers its PID in a users file and the last
worker to leave brings the lab down (a worker that started after that rebuilds it — correct, only
slower). Tests that inject failures take the `lab_exclusive` lock (readers take `lab_shared`),
so they never disturb each other even when spread over workers.

The lab runs the reference topology with its management subnet moved to 172.31.200.0/24, so
it can run beside a developer's own `ngk` lab.
"""
from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from controller.lab import creds as credentials
from controller.lab.down import lab_down
from controller.lab.faults import lab_restore
from controller.lab.relocate import with_mgmt_subnet
from controller.lab.state import STATE_ROOT, LabError, LabState
from controller.lab.status import lab_wait
from controller.lab.system import alive, preflight
from controller.lab.up import lab_up
from controller.model.load import load_topology
from controller.model.topology import Topology

LAB = "ngk-test"
MGMT = "172.31.200"


@dataclass
class Lab:
    name: str
    topo: Topology
    state: LabState
    creds: credentials.Credentials


def require_lab() -> None:
    """Fail (never skip) when the lab cannot run here: bootstrap installs all it needs, so a
    missing package or privilege is an error a green run must not hide."""
    try:
        preflight()
    except LabError as exc:
        pytest.fail(f"live lab unavailable: {exc} (run scripts/bootstrap --test, as root)")


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
    return with_mgmt_subnet(f"{MGMT}.0/24", out)


def _users(path: Path) -> set[int]:
    pids = {int(p) for p in path.read_text().split()} if path.exists() else set()
    return {p for p in pids if alive(p)}


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    require_lab()
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


# A 3-router lab of a test's own (two datacentres and a PoP in a triangle), for tests that bring
# labs up and down; `mgmt` must be a subnet no other lab uses.
TINY = """
name: tiny
addressing: {{p2p: 10.77.0.0/24, loopbacks: 10.77.255.0/24, mgmt: {mgmt}}}
sites:
  - {{id: a, name: A, kind: datacentre, lat: 59.9, lon: 10.7}}
  - {{id: b, name: B, kind: datacentre, lat: 63.4, lon: 10.4}}
  - {{id: c, name: C, kind: pop, lat: 60.8, lon: 11.1}}
optical_nodes: [{{id: a, site: a}}, {{id: b, site: b}}, {{id: c, site: c}}]
spans:
  - {{id: s-ab, a: a, b: b, km: 400}}
  - {{id: s-ac, a: a, b: c, km: 120}}
  - {{id: s-cb, a: c, b: b, km: 300}}
routers:
  - {{id: ra, site: a}}
  - {{id: rb, site: b}}
  - {{id: rc, site: c}}
links:
  - {{id: l-ab, a: {{router: ra, interface: eth1}}, b: {{router: rb, interface: eth1}},
     route: [s-ab]}}
  - {{id: l-ac, a: {{router: ra, interface: eth2}}, b: {{router: rc, interface: eth1}},
     route: [s-ac]}}
  - {{id: l-cb, a: {{router: rc, interface: eth2}}, b: {{router: rb, interface: eth2}},
     route: [s-cb]}}
"""


def tiny_topology(out: Path, mgmt: str) -> Path:
    out.write_text(TINY.format(mgmt=mgmt))
    return out


def wait_for(check: Callable[[], Any], timeout: float, step: float = 0.1, what: str = "") -> Any:
    """The one polling helper of the tests: `check()`'s first truthy value within `timeout`
    seconds; on timeout the test fails, naming what it waited for and the last value seen."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() >= deadline:
            break
        time.sleep(step)
    if not value:
        pytest.fail(f"timed out after {timeout} s waiting for {what or 'the condition'} "
                    f"(last value {value!r})")
    return value
