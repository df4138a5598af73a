"""Discovery runs in the store: record a report, and the open differences with when each began."""
from __future__ import annotations

import time
import uuid
from typing import Any

from controller.services.discover import DiscoverReport
from controller.store import Store

SCHEMA = ["""
CREATE TABLE discover_runs (run TEXT PRIMARY KEY, ts REAL NOT NULL, routers INTEGER,
    read INTEGER, differences INTEGER, exit_code INTEGER);
CREATE TABLE discover_differences (run TEXT NOT NULL, ts REAL NOT NULL, kind TEXT NOT NULL,
    place TEXT NOT NULL, model TEXT, device TEXT, detail TEXT);
CREATE INDEX discover_differences_run ON discover_differences (run)
"""]
RUN = ("run", "time", "routers", "read", "differences", "exit_code")


def record(store: Store, report: DiscoverReport, when: float | None = None) -> str | None:
    """Append the run; its id, or None when the store could not be written (the reason in
    store.errors)."""
    run, ts = uuid.uuid4().hex[:12], time.time() if when is None else when
    store.register("discover", SCHEMA)
    store.add("INSERT INTO discover_runs VALUES (?, ?, ?, ?, ?, ?)", [(
        run, ts, report.routers, len(report.read), len(report.differences), report.exit_code)])
    store.add("INSERT INTO discover_differences VALUES (?, ?, ?, ?, ?, ?, ?)", [
        (run, ts, d.kind, d.where, _text(d.model), _text(d.device), d.detail)
        for d in report.differences])
    return run if store.flush() else None


def _text(value: str | int | None) -> str | None:
    return None if value is None else str(value)


def history(store: Store, runs: int = 20) -> dict[str, Any]:
    """The last `runs` runs, oldest first, and each difference of the latest run with the time
    of the first run of the unbroken series (ending with the latest) that shows it."""
    store.register("discover", SCHEMA)
    trend = [dict(zip(RUN, row)) for row in reversed(store.query(
        "SELECT run, ts, routers, read, differences, exit_code FROM discover_runs "
        "ORDER BY ts DESC LIMIT ?", (runs,)))]
    every = [r for (r,) in store.query("SELECT run FROM discover_runs ORDER BY ts DESC")]
    rows = store.query("SELECT run, ts, kind, place, model, device, detail "
                       "FROM discover_differences ORDER BY ts DESC")
    per_run: dict[str, dict[tuple[str, str], tuple]] = {}
    for row in rows:
        per_run.setdefault(row[0], {})[(row[2], row[3])] = row
    latest = per_run.get(every[0], {}) if every else {}
    still = []
    for key, row in sorted(latest.items()):
        first, count = row, 0
        for run in every:  # newest first, while the difference is there
            if key not in per_run.get(run, {}):
                break
            first, count = per_run[run][key], count + 1
        still.append({"kind": row[2], "where": row[3], "model": row[4], "device": row[5],
                      "detail": row[6], "since": first[1], "runs": count})
    return {"trend": trend, "open": still}
