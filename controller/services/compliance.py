"""Compliance: each router's running config against its intended (rendered) config, grouped by
feature, plus the rules file; an overall score; history in the store; remediation via deploy.

A router is `compliant` (True) when its running config equals the intended one and breaks no
rule, `False` otherwise, and `None` ("unknown") when its running config could not be read: an
unknown router is neither compliant nor failing a rule. The score is the share of checks passed
over the routers read: one check per applicable rule plus one per feature (no drift in it).
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from controller.errors import InputError, UnknownName
from controller.config.features import FEATURES, DiffLine, feature_diff, parse, unified_diff
from controller.config.render import canonical, render_config
from controller.config.rules import SEVERITIES, Rule, Violation, check
from controller.model.topology import Topology
from controller.redact import redact
from controller.services import deploy as deploy_service
from controller.southbound.nornir_run import read_each
from controller.store import Store

Progress = Callable[[str, str], None]  # (router, message)
RANK = {s: i for i, s in enumerate(SEVERITIES)}
SCHEMA = ["""
CREATE TABLE compliance_runs (run TEXT PRIMARY KEY, ts REAL NOT NULL, score REAL,
    routers INTEGER, compliant INTEGER, non_compliant INTEGER, unknown INTEGER, threshold TEXT);
CREATE TABLE compliance_findings (run TEXT NOT NULL, ts REAL NOT NULL, router TEXT NOT NULL,
    status TEXT NOT NULL, finding TEXT, feature TEXT, severity TEXT);
CREATE INDEX compliance_findings_router ON compliance_findings (router, ts)
"""]


@dataclass
class RouterResult:
    router: str
    compliant: bool | None
    violations: list[Violation] = field(default_factory=list)
    diff: list[DiffLine] = field(default_factory=list)
    rules: dict[str, str] = field(default_factory=dict)  # rule id -> pass | fail | n/a
    unified_diff: str = ""
    error: str = ""

    @property
    def status(self) -> str:
        return {True: "compliant", False: "non-compliant", None: "unknown"}[self.compliant]

    @property
    def drifted(self) -> list[str]:
        return [f for f in FEATURES if any(d.feature == f for d in self.diff)]

    def checks(self) -> tuple[int, int]:
        """(passed, total) over applicable rules and features; (0, 0) when unknown."""
        if self.compliant is None:
            return 0, 0
        rules = [s for s in self.rules.values() if s != "n/a"]
        total = len(rules) + len(FEATURES)
        return total - rules.count("fail") - len(self.drifted), total

    def findings(self) -> list[tuple[str, str, str]]:
        """Stable keys of what is wrong (for history): (finding, feature, severity)."""
        out = [(f"rule {v.rule}" + (f" ({v.interface})" if v.interface else "") + f": {v.message}",
                v.feature, v.severity) for v in self.violations]
        out += [(f"diff {d.op} {d.block + ' | ' if d.block else ''}{d.text}", d.feature, "")
                for d in self.diff]
        return out

    def as_dict(self) -> dict[str, Any]:
        known = self.compliant is not None
        return {"router": self.router, "compliant": self.compliant, "status": self.status,
                "error": self.error, "violations": [v.as_dict() for v in self.violations],
                "diff": [d.as_dict() for d in self.diff],
                "features": {f: ("drift" if f in self.drifted else "compliant") if known
                             else None for f in FEATURES},
                "rules": self.rules, "unified_diff": self.unified_diff}


@dataclass
class ComplianceReport:
    threshold: str
    rules: list[Rule]
    routers: list[RouterResult]
    time: float = field(default_factory=time.time)
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    fix: dict[str, Any] | None = None

    @property
    def score(self) -> float | None:
        checks = [r.checks() for r in self.routers]
        passed, total = sum(c[0] for c in checks), sum(c[1] for c in checks)
        return round(100 * passed / total, 2) if total else None

    def failing(self) -> list[tuple[str, Violation]]:
        """(router, violation) for each violation at or above the threshold."""
        return [(r.router, v) for r in self.routers for v in r.violations
                if RANK[v.severity] >= RANK[self.threshold]]

    @property
    def ok(self) -> bool:
        return not self.failing()

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.routers)

    def as_dict(self) -> dict[str, Any]:
        rules = []
        for rule in self.rules:
            states = [r.rules.get(rule.id) for r in self.routers if r.compliant is not None]
            rules.append({"id": rule.id, "severity": rule.severity, "feature": rule.feature,
                          "explanation": rule.explanation, "passed": states.count("pass"),
                          "failed": states.count("fail"),
                          "failed_on": [r.router for r in self.routers
                                        if r.rules.get(rule.id) == "fail"]})
        return {"run": self.run, "time": self.time, "threshold": self.threshold,
                "score": self.score, "ok": self.ok,
                "summary": {"routers": len(self.routers), "compliant": self.count("compliant"),
                            "non_compliant": self.count("non-compliant"),
                            "unknown": self.count("unknown"),
                            "violations": sum(len(r.violations) for r in self.routers),
                            "failing_at_threshold": len(self.failing())},
                "rules": rules, "routers": [r.as_dict() for r in self.routers], "fix": self.fix}


def link_interfaces(topo: Topology) -> dict[str, set[str]]:
    """Per router, its interfaces that carry an IP link of the model."""
    out: dict[str, set[str]] = {r: set() for r in topo.routers}
    for router, interface in topo.link_ends:
        out[router].add(interface)
    return out


def evaluate(topo: Topology, router: str, running: str, rules: list[Rule],
             links: set[str] | None = None) -> RouterResult:
    """Compare one router's running config with its intended (rendered) config; check rules."""
    want = render_config(topo, router)
    lines = parse(running)
    node = topo.routers[router]
    links = link_interfaces(topo)[router] if links is None else links
    result = RouterResult(router, None, diff=[
        replace(d, text=redact(d.text), block=d.block and redact(d.block))
        for d in feature_diff(want, lines)])
    for rule in rules:
        if not rule.applies(node.role, node.platform):
            result.rules[rule.id] = "n/a"
            continue
        found = [replace(v, message=redact(v.message)) for v in check(rule, lines, links)]
        result.violations += found
        result.rules[rule.id] = "fail" if found else "pass"
    result.compliant = not result.diff and not result.violations
    if result.diff:
        result.unified_diff = redact(unified_diff(canonical(want), canonical(running), router))
    return result


def assess(topo: Topology, running: dict[str, str], errors: dict[str, str], rules: list[Rule],
           threshold: str = "low") -> ComplianceReport:
    """A report for every router in `running` (read) or `errors` (unknown)."""
    if threshold not in RANK:
        raise InputError(f"severity threshold must be one of {', '.join(SEVERITIES)}")
    names = set(running) | set(errors)
    unknown = sorted(names - set(topo.routers))
    if unknown:
        raise UnknownName(f"not in the topology: {', '.join(unknown)}")
    links = link_interfaces(topo)
    results = [evaluate(topo, r, running[r], rules, links[r]) if r in running
               else RouterResult(r, None, error=errors[r]) for r in sorted(names)]
    return ComplianceReport(threshold, rules, results)


def recorded(directory: Path, routers: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Running configs saved as <router>.conf (e.g. by `ngk backup`); missing ones are errors."""
    if not directory.is_dir():
        raise UnknownName(f"no directory of recorded configs at {directory}")
    configs, errors = {}, {}
    for r in routers:
        path = directory / f"{r}.conf"
        try:
            configs[r] = path.read_text()
        except OSError as exc:
            errors[r] = f"no recorded config: {exc.strerror or exc}"
    return configs, errors


def collect(nr: Any, routers: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Running configs read from the routers through Nornir/NAPALM; failures are errors."""
    def running(task: Any) -> str:
        dev = task.host.get_connection("napalm", task.nornir.config)
        return dev.get_config(retrieve="running")["running"]

    return read_each(nr, routers, running)


def record(store: Store, report: ComplianceReport) -> bool:
    """Append the report to the history; False (error kept in store.errors) if not written."""
    store.register("compliance", SCHEMA)
    store.add("INSERT INTO compliance_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [(
        report.run, report.time, report.score, len(report.routers), report.count("compliant"),
        report.count("non-compliant"), report.count("unknown"), report.threshold)])
    rows: list[tuple[Any, ...]] = []
    for r in report.routers:
        rows.append((report.run, report.time, r.router, r.status, None, None, None))
        rows += [(report.run, report.time, r.router, r.status, *f) for f in r.findings()]
    store.add("INSERT INTO compliance_findings VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    return store.flush()


def history(store: Store, runs: int = 20, router: str | None = None) -> dict[str, Any]:
    """The score trend of the last `runs` runs and, for each open finding, when it started.

    A finding started at the first of the consecutive runs (of that router, skipping runs where
    the router was unknown) that all show it; an unknown router is open since it became unknown.
    """
    store.register("compliance", SCHEMA)
    trend = [dict(zip(("run", "time", "score", "routers", "compliant", "non_compliant",
                       "unknown", "threshold"), row)) for row in reversed(store.query(
                 "SELECT * FROM compliance_runs ORDER BY ts DESC LIMIT ?", (runs,)))]
    where, params = ("WHERE router = ?", (router,)) if router else ("", ())
    rows = store.query("SELECT run, ts, router, status, finding, feature, severity FROM "
                       f"compliance_findings {where} ORDER BY router, ts", params)
    per_router: dict[str, list[tuple]] = {}
    for row in rows:
        per_router.setdefault(row[2], []).append(row)
    drifts = []
    for name, seen in sorted(per_router.items()):
        drifts += _open_findings(name, seen)
    return {"trend": trend, "drifts": drifts}


def _open_findings(router: str, rows: list[tuple]) -> list[dict[str, Any]]:
    runs: dict[str, tuple[float, str, dict[str, tuple]]] = {}
    for run, ts, _, status, finding, feature, severity in rows:
        entry = runs.setdefault(run, (ts, status, {}))
        if finding is not None:
            entry[2][finding] = (feature, severity)
    ordered = sorted(runs.values(), key=lambda e: e[0])
    last_ts, last_status, current = ordered[-1]
    if last_status == "unknown":
        start = last_ts
        for ts, status, _ in reversed(ordered):
            if status != "unknown":
                break
            start = ts
        return [{"router": router, "finding": "unreachable (unknown)", "feature": None,
                 "severity": None, "since": start, "last_seen": last_ts}]
    known = [e for e in ordered if e[1] != "unknown"]
    out = []
    for finding, (feature, severity) in current.items():
        start = last_ts
        for ts, _, found in reversed(known):
            if finding not in found:
                break
            start = ts
        out.append({"router": router, "finding": finding, "feature": feature,
                    "severity": severity or None, "since": start, "last_seen": last_ts})
    return sorted(out, key=lambda d: (d["since"], d["finding"]))


def remediate(topo: Topology, nr: Any, report: ComplianceReport, *, commit: bool,
              progress: Progress = lambda _r, _m: None, **deploy_args: Any) -> Any:
    """Hand the non-compliant routers to the deploy path (dry-run unless commit)."""
    drifted = [r.router for r in report.routers if r.compliant is False]
    return deploy_service.deploy(topo, nr, deploy_service.intended(topo, drifted), commit=commit,
                                 progress=progress, message="ngk compliance --fix",
                                 **deploy_args)


def compliance(topo: Topology, routers: list[str], rules: list[Rule], *,
               threshold: str = "low", nr: Any = None, recorded_dir: Path | None = None,
               store: Store | None = None, fix: bool = False, commit: bool = False,
               progress: Progress = lambda _r, _m: None,
               deploy_args: dict[str, Any] | None = None) -> ComplianceReport:
    """Read the running configs (routers via `nr`, or files in `recorded_dir`), assess, record.

    With `fix`, the non-compliant routers go to the deploy path; after a committed fix they are
    read and assessed again, and the report (also recorded) shows the state after the fix.
    """
    if threshold not in RANK:
        raise InputError(f"severity threshold must be one of {', '.join(SEVERITIES)}")
    if (nr is None) == (recorded_dir is None):
        raise InputError("give either an inventory (live routers) "
                         "or a directory of recorded configs")
    if fix and nr is None:
        raise InputError("--fix needs live routers: use an inventory, not recorded configs")
    if nr is not None:
        running, errors = collect(nr, routers)
    else:
        assert recorded_dir is not None  # exactly one of the two, checked above
        running, errors = recorded(recorded_dir, routers)
    report = assess(topo, running, errors, rules, threshold)
    if store is not None:
        record(store, report)
    if not fix or all(r.compliant is not False for r in report.routers):
        return report
    deployed = remediate(topo, nr, report, commit=commit, progress=progress,
                         **(deploy_args or {}))
    if commit:
        touched = [r.router for r in deployed.routers]
        again, again_errors = collect(nr, touched)
        rechecked = {r.router: r for r in assess(topo, again, again_errors, rules,
                                                 threshold).routers}
        report = ComplianceReport(threshold, rules,
                                  [rechecked.get(r.router, r) for r in report.routers])
        if store is not None:
            record(store, report)
    report.fix = deployed.as_dict()
    return report
