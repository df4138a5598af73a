"""Lab state: names, the state directory outside the checkout, and what a lab created.

Everything a lab creates is recorded in /run/ngk/<lab>/state.json *before* or right as it is
created, so `lab down` can remove exactly that (and nothing else) even after a crash.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from controller import data
from controller.errors import LabError

STATE_ROOT = Path(os.environ.get("NGK_LAB_ROOT", "/run/ngk"))
INVENTORY_ENV = "NGK_INVENTORY"
DEFAULT_LAB = "ngk"
LAB_NAME = re.compile(r"[a-z][a-z0-9-]{0,9}")
CUT_TABLE = "ngk_cut_{lab}"  # nftables netdev table per lab, inside each router netns


def check_name(name: str) -> str:
    """Lab names become netns, bridge and veth name prefixes (Linux limits them to 15 chars)."""
    if not LAB_NAME.fullmatch(name) or name.startswith("ngkr"):
        raise LabError(f"lab name {name!r} must be 1-10 characters of a-z, 0-9, '-', starting "
                       "with a letter (and not 'ngkr', which is reserved)", 2)
    return name


def lab_dir(name: str) -> Path:
    return STATE_ROOT / name


def netns_name(lab: str, router: str) -> str:
    """The router's network namespace, also its FRR pathspace (-N)."""
    return f"{lab}-{router}"


@dataclass
class RouterState:
    netns: str
    uts: str  # bind-mounted UTS namespace file
    mgmt_veth: str  # root-side end of the management veth
    dir: str
    pids: dict[str, int] = field(default_factory=dict)
    routing_killed: bool = False


@dataclass
class LabState:
    """What a lab is made of; `resources` are torn down in reverse order."""

    lab: str
    dir: str
    topology: str  # copy of the topology file inside the lab dir
    bare: bool
    phase: str = "building"  # building | up
    routers: dict[str, RouterState] = field(default_factory=dict)
    resources: list[dict[str, str]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    applied: dict[str, list[str]] = field(default_factory=lambda: {"light": [], "silent": []})

    @property
    def path(self) -> Path:
        return Path(self.dir) / "state.json"

    def record(self, kind: str, **fields: str) -> None:
        """Remember a created resource (netns, link, bridge, mount, path) and persist at once."""
        self.resources.append({"kind": kind, **fields})
        self.save()

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(asdict(self), f, indent=1)
        tmp.replace(self.path)

    @classmethod
    def load(cls, name: str) -> LabState | None:
        path = lab_dir(name) / "state.json"
        if not path.exists():
            return None
        raw = json.loads(path.read_text())
        raw["routers"] = {k: RouterState(**v) for k, v in raw.get("routers", {}).items()}
        return cls(**raw)


def lock_path(name: str) -> Path:
    return STATE_ROOT / f".{name}.lock"


@contextmanager
def locked(name: str) -> Iterator[None]:
    """Serialise lab operations (up, down, cut, restore) on one lab across processes.

    `lab down` unlinks the lock file while holding it, so a waiter re-checks after locking
    that it holds the file still at that path.
    """
    STATE_ROOT.mkdir(parents=True, exist_ok=True, mode=0o711)
    path = lock_path(name)
    while True:
        f = open(path, "a")
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            same = os.fstat(f.fileno()).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        f.close()
    try:
        yield
    finally:
        f.close()


def require(name: str) -> LabState:
    """The state of a lab that is up; LabError (exit 2) otherwise."""
    state = LabState.load(check_name(name))
    if state is None:
        raise LabError(f"lab {name!r} is not up (no {lab_dir(name) / 'state.json'})", 2)
    return state


def inventory_dir(explicit: str | Path | None = None, lab: str | None = None) -> Path:
    """The Nornir inventory every command uses: `explicit` (--inventory), else $NGK_INVENTORY,
    else the inventory of the lab (`lab`, else $NGK_LAB, else `ngk`) while it is up, else the
    production inventory/ (package data, written by `ngk inventory build`)."""
    chosen = explicit or os.environ.get(INVENTORY_ENV)
    if chosen:
        return Path(chosen)
    state = LabState.load(check_name(lab or os.environ.get("NGK_LAB") or DEFAULT_LAB))
    if state is not None and state.phase == "up":
        return Path(state.dir) / "inventory"
    return data.path("inventory")
