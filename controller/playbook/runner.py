"""Run a validated playbook: targets resolved, steps in order, on_failure honoured, a run log
kept."""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from controller.model.select import select_targets
from controller.paths import state_path
from controller.playbook.model import Playbook, Step
from controller.playbook.registry import Context, Outcome



def run_playbook(book: Playbook, ctx: Context,
                 progress: Callable[[Step, str], None] | None = None,
                 log_file: Path | None = None) -> dict[str, Any]:
    """Run every step; returns the run report (also appended to the run log as one JSON line)."""
    started = datetime.now(timezone.utc)
    results: list[dict[str, Any]] = []
    stopped, rolled_back, interrupted = False, False, False
    for step in book.steps:
        if stopped:
            results.append(_result(step, "skipped", "not run: an earlier step failed", 0.0))
            continue
        if progress:
            progress(step, "running")
        t0 = time.monotonic()
        try:
            targets = select_targets(ctx.topology, step.targets, ctx.limit)
            outcome = book.actions[step.action].run(ctx, targets, step.args)
        except KeyboardInterrupt:
            interrupted = True
            outcome = Outcome(False, "interrupted")
        except Exception as exc:  # a step failing mid-way is reported, never a traceback
            outcome = Outcome(False, f"{type(exc).__name__}: {exc}")
        status = "ok" if outcome.ok else "failed"
        results.append(_result(step, status, outcome.summary, time.monotonic() - t0,
                               outcome.details, outcome.changed))
        if progress:
            progress(step, status)
        if not outcome.ok and (interrupted or step.on_failure != "continue"):
            stopped = True
            if interrupted or step.on_failure == "rollback":
                rolled_back = _rollback(ctx, results)
    report = {
        "playbook": book.name, "file": book.file, "dry_run": ctx.dry_run,
        "started": started.isoformat(), "finished": datetime.now(timezone.utc).isoformat(),
        "ok": all(r["status"] in ("ok",) for r in results), "interrupted": interrupted,
        "rolled_back": rolled_back, "steps": results,
    }
    _log(report, log_file or state_path("playbook-runs.jsonl"))
    return report


def _rollback(ctx: Context, results: list[dict[str, Any]]) -> bool:
    """Undo what earlier steps registered, newest first; True when every undo succeeded."""
    ok = True
    while ctx.undo:
        label, undo = ctx.undo.pop()
        try:
            result = undo()
        except Exception as exc:  # reported like a failed step, never a traceback
            result = Outcome(False, f"{type(exc).__name__}: {exc}")
        if isinstance(result, Outcome) and not result.ok:  # e.g. a deploy that returned failures
            ok = False
            results.append({"name": f"rollback: {label}", "action": "rollback",
                            "status": "failed", "summary": f"NOT undone: {result.summary}",
                            "duration_s": 0.0, "details": result.details, "changed": False})
        else:
            results.append({"name": f"rollback: {label}", "action": "rollback", "status": "ok",
                            "summary": "undone", "duration_s": 0.0, "details": {},
                            "changed": True})
    return ok


def _result(step: Step, status: str, summary: str, duration: float,
            details: dict[str, Any] | None = None, changed: bool = False) -> dict[str, Any]:
    return {"name": step.name, "action": step.action, "targets": step.targets,
            "status": status, "summary": summary, "duration_s": round(duration, 3),
            "details": details or {}, "changed": changed}


def _log(report: dict[str, Any], path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(report, default=str) + "\n")
    except OSError as exc:
        report["log_error"] = f"run log not written to {path}: {exc.strerror}"
