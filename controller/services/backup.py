"""Back up running configs into a git-versioned folder: one commit per run, naming what changed."""
from __future__ import annotations

import os
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nornir.core import Nornir
from nornir.core.task import Task

from controller.southbound.nornir_run import run_each

@dataclass
class BackupReport:
    dir: str
    routers: dict[str, str] = field(default_factory=dict)  # new | changed | unchanged | failed: ..
    commit: str | None = None  # None when nothing changed
    message: str = ""

    @property
    def ok(self) -> bool:
        return not any(s.startswith("failed") for s in self.routers.values())

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def _running(task: Task) -> str:
    dev = task.host.get_connection("napalm", task.nornir.config)
    return dev.get_config(retrieve="running")["running"]


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "ngk backup", "GIT_COMMITTER_NAME": "ngk backup",
           "GIT_AUTHOR_EMAIL": "ngk@localhost", "GIT_COMMITTER_EMAIL": "ngk@localhost"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, env=env).stdout


def message(routers: dict[str, str], when: str) -> str:
    """`backup <when>: changed a, b; new c; failed d` (only the parts that apply)."""
    parts = []
    for label in ("changed", "new", "failed"):
        names = sorted(r for r, s in routers.items() if s.split(":")[0] == label)
        if names:
            parts.append(f"{label} {', '.join(names)}")
    return f"backup {when}: " + ("; ".join(parts) or "no change")


def backup(nr: Nornir, dest: Path, routers: list[str] | None = None) -> BackupReport:
    """Write <router>.conf for each reachable router into `dest` and commit if anything changed."""
    dest.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not (dest / ".git").exists():
        git(dest, "init", "-q")
    names = routers if routers is not None else list(nr.inventory.hosts)
    try:
        configs, errors = run_each(nr, names, _running)
    finally:
        nr.close_connections(on_failed=True)
    report = BackupReport(str(dest))
    for name, text in sorted(configs.items()):
        path = dest / f"{name}.conf"
        old = path.read_text() if path.exists() else None
        report.routers[name] = "new" if old is None else "unchanged" if old == text else "changed"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
    report.routers |= {n: f"failed: {e}" for n, e in errors.items()}
    report.message = message(report.routers, time.strftime("%Y-%m-%d %H:%M:%S"))
    git(dest, "add", "-A")
    if git(dest, "status", "--porcelain").strip():
        git(dest, "commit", "-q", "-m", report.message)
        report.commit = git(dest, "rev-parse", "HEAD").strip()
    return report
