"""Push the intended configs: dry-run by default; with commit, per router in parallel:
load -> diff -> commit with revert_in -> verify (network-wide) -> confirm.

Policies when anything fails: `atomic` (the default) confirms nothing and rolls every changed
router back (a router that cannot be prepared stops the run before any commit); `per-device`
rolls back only the routers implicated in a failure and confirms the rest. A router that is
never confirmed reverts by itself when its commit-confirm timer fires, even if this process dies.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nornir.core import Nornir
from nornir.core.task import Task

from controller.errors import InputError, UnknownName
from controller.config.render import render_config
from controller.fileio import write_private
from controller.model.topology import Topology
from controller.redact import redact
from controller.services.audit import AuditLog
from controller.services.verify import Problem, verify
from controller.southbound.nornir_run import run_each

POLICIES = ("atomic", "per-device")
Progress = Callable[[str, str], None]  # (router, message)


@dataclass
class RouterResult:
    router: str
    changed: bool = False
    diff: str = ""
    status: str = "pending"  # no-change | would-change | confirmed | rolled-back | commit-failed
    error: str = ""          # | not-committed | failed


@dataclass
class DeployReport:
    committed: bool
    policy: str
    ok: bool = True
    routers: list[RouterResult] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def intended(topo: Topology, routers: list[str]) -> dict[str, str]:
    return {r: render_config(topo, r) for r in routers}


def write_configs(configs: dict[str, str], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for router, text in sorted(configs.items()):
        path = out / f"{router}.conf"
        write_private(path, text)  # configs carry SNMP keys and communities
        paths.append(path)
    return paths


def _device(task: Task) -> Any:
    return task.host.get_connection("napalm", task.nornir.config)


def _prepare(task: Task, configs: dict[str, str], keep: bool) -> str:
    dev = _device(task)
    dev.load_replace_candidate(config=configs[task.host.name])
    diff = dev.compare_config()
    if not (keep and diff):
        dev.discard_config()
    return diff


def _commit(task: Task, revert_in: int, message: str) -> None:
    _device(task).commit_config(message=message, revert_in=revert_in)


def _confirm(task: Task) -> None:
    _device(task).confirm_commit()


def _rollback(task: Task) -> None:
    _device(task).rollback()


def _discard(task: Task) -> None:
    _device(task).discard_config()


class _Run:
    """One deploy: results per router, phase timing, audit and progress."""

    def __init__(self, nr: Nornir, report: DeployReport, audit: AuditLog | None,
                 progress: Progress) -> None:
        self.nr, self.report, self.audit, self._progress = nr, report, audit, progress
        self.by_name = {r.router: r for r in report.routers}
        self.id = uuid.uuid4().hex[:12]

    def progress(self, router: str, message: str) -> None:
        """Tell the caller; a failing display must never stop a deploy between commit and
        confirm."""
        try:
            self._progress(router, message)
        except Exception:  # noqa: BLE001 - the display is not worth a half-finished deploy
            pass

    def phase(self, name: str, names: set[str], fn: Callable[..., Any], status: str | None,
              **kwargs: Any) -> tuple[dict[str, Any], dict[str, str]]:
        start = time.monotonic()
        for n in sorted(names):
            self.progress(n, name)
        ok, errors = run_each(self.nr, names, fn, **kwargs)
        self.report.phases[name] = round(self.report.phases.get(name, 0)
                                         + time.monotonic() - start, 3)
        for n in ok:
            if status:
                self.set(n, status)
        return ok, errors

    def set(self, router: str, status: str, error: str = "") -> None:
        res = self.by_name[router]
        res.status, res.error = status, redact(error) if error else res.error
        self.progress(router, status + (f": {res.error}" if error else ""))

    def log(self, names: Collection[str], action: str) -> None:
        if self.audit is None:
            return
        for n in sorted(names):
            r = self.by_name[n]
            self.audit.record(action, n, r.status, diff=r.diff, detail=r.error, run=self.id)


def deploy(topo: Topology, nr: Nornir, configs: dict[str, str], *, commit: bool = False,
           confirm_timeout: int = 120, policy: str = "atomic", verify_timeout: float = 30,
           audit: AuditLog | None = None, progress: Progress = lambda _r, _m: None,
           message: str = "ngk deploy") -> DeployReport:
    """Deploy `configs` (router -> full config) through `nr`; never raises for device faults."""
    if policy not in POLICIES:
        raise UnknownName(f"unknown policy {policy!r} (use {' or '.join(POLICIES)})")
    missing = sorted(set(configs) - set(nr.inventory.hosts))
    if missing:
        raise UnknownName(f"not in the inventory: {', '.join(missing)}")
    if verify_timeout >= confirm_timeout:
        raise InputError("--confirm-timeout must exceed the verification time "
                       f"({verify_timeout:g} s) or routers revert before they are confirmed")
    report = DeployReport(commit, policy, routers=[RouterResult(r) for r in sorted(configs)])
    run = _Run(nr, report, audit, progress)
    try:
        _deploy(topo, run, configs, commit, confirm_timeout, policy, verify_timeout, message)
    finally:
        nr.close_connections(on_failed=True)
    report.ok = all(r.status in ("no-change", "would-change", "confirmed")
                    for r in report.routers) and not report.problems
    return report


def _deploy(topo: Topology, run: _Run, configs: dict[str, str], commit: bool,
            confirm_timeout: int, policy: str, verify_timeout: float, message: str) -> None:
    diffs, errors = run.phase("prepare", set(configs), _prepare, None, configs=configs,
                              keep=commit)
    for name, diff in diffs.items():
        res = run.by_name[name]
        res.changed, res.diff = bool(diff), redact(diff)
        run.set(name, "would-change" if diff else "no-change")
    for name, err in errors.items():
        run.set(name, "failed", err)
    changed = {n for n, d in diffs.items() if d}
    if not commit or not changed:
        return
    if policy == "atomic" and errors:
        run.phase("discard", changed, _discard, "not-committed")
        run.log(changed, "deploy")
        return
    done, errors = run.phase("commit", changed, _commit, None, revert_in=confirm_timeout,
                             message=message)
    for name, err in errors.items():
        run.set(name, "commit-failed", err)
    committed = set(done)
    if policy == "atomic" and errors:
        _revert(run, committed, "rolled back: a commit failed elsewhere (atomic)")
        run.log(changed, "deploy")
        return
    start = time.monotonic()
    unreachable = {r.router for r in run.report.routers if r.status == "failed"}
    result = verify(topo, run.nr, ping_from=committed, timeout=verify_timeout, skip=unreachable)
    run.report.phases["verify"] = round(time.monotonic() - start, 3)
    run.report.problems = result.problems
    if result.ok:
        _confirm_all(run, committed)
    elif policy == "atomic":
        _revert(run, committed, "rolled back: verification failed (atomic)")
    else:
        blamed = {r for p in result.problems for r in p.routers} & committed
        _revert(run, blamed, "rolled back: verification failed here")
        _confirm_all(run, committed - blamed)
    run.log(changed, "deploy")


def _confirm_all(run: _Run, names: set[str]) -> None:
    _, errors = run.phase("confirm", names, _confirm, "confirmed")
    for name, err in errors.items():
        run.set(name, "failed", f"confirm failed: {err}")


def _revert(run: _Run, names: set[str], why: str) -> None:
    """Roll back now; a router we cannot reach reverts by itself when its timer fires."""
    _, errors = run.phase("rollback", names, _rollback, None)
    for name in names:
        if name in errors:
            run.set(name, "failed", f"{why}; rollback failed ({errors[name]}): "
                                    "the router reverts by itself when its timer fires")
        else:
            run.set(name, "rolled-back", why)
