"""Drill results in the store: record a report, compare the stored runs per failure."""
from __future__ import annotations

import json
import time
from typing import Any

from controller.store import Store

SCHEMA = ["""
CREATE TABLE drills (id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL, lab TEXT, failure TEXT,
                     mode TEXT, restored INTEGER, affected INTEGER, max_gap_ms REAL, lost INTEGER,
                     paths_matched INTEGER, igp_converged_ms REAL, monitor_event_ms REAL,
                     report TEXT);
CREATE INDEX drills_failure ON drills (failure, mode, ts)
"""]


def store_report(store: Store, report: dict[str, Any]) -> bool:
    """Record a drill; False (the reason in store.errors) when the store cannot be written."""
    store.register("drills", SCHEMA)
    affected = [f for f in report["flows"] if f["affected"]]
    # the gap the verdict judges: prober stalls taken out (docs/drills.md)
    gap = max((f["net_gap_ms"] for f in affected if f.get("net_gap_ms") is not None),
              default=None)
    store.add("INSERT INTO drills (ts, lab, failure, mode, restored, affected, max_gap_ms, lost, "
              "paths_matched, igp_converged_ms, monitor_event_ms, report) "
              "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
              [(time.time(), report["lab"], report["failure"], report["mode"],
                int(report["restored"]), len(affected), gap,
                sum(f["lost"] or 0 for f in affected), sum(f["path_matches"] for f in affected),
                report["igp_converged_ms"], report["monitor_event_ms"], json.dumps(report))])
    return store.flush()


def drill_history(store: Store, failure: str | None = None) -> dict[str, Any]:
    """Runs per failure and mode, oldest first, with the max gap of each (raises StoreError)."""
    store.register("drills", SCHEMA)
    sql = ("SELECT id, ts, failure, mode, restored, affected, max_gap_ms, lost, paths_matched, "
           "igp_converged_ms, monitor_event_ms FROM drills")
    rows = store.query(sql + (" WHERE failure = ?" if failure else "") + " ORDER BY ts, id",
                       (failure,) if failure else ())
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for (ident, ts, fail, mode, restored, affected, gap, lost, matched, igp, mon) in rows:
        groups.setdefault((fail, mode), []).append({
            "id": ident, "ts": ts, "restored": bool(restored), "affected": affected,
            "max_gap_ms": gap, "lost": lost, "paths_matched": matched,
            "igp_converged_ms": igp, "monitor_event_ms": mon})
    out = []
    for (fail, mode), runs in sorted(groups.items()):
        gaps = [r["max_gap_ms"] for r in runs if r["max_gap_ms"] is not None]
        out.append({"failure": fail, "mode": mode, "runs": runs,
                    "best_gap_ms": min(gaps, default=None), "worst_gap_ms": max(gaps, default=None),
                    "last_gap_ms": runs[-1]["max_gap_ms"]})
    return {"failures": out}
