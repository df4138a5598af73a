"""Failover drills against the issue's targets, in the netns lab (needs root, FRR).

Runs a few drills (loss-of-light and silent cuts of the span under the preferred Oslo-Trondheim
link, the Gardermoen duct SRLG, a core router failure) `--runs` times each and prints, per drill,
the largest interruption of any affected flow per run, the lost probes, IGP and monitor times,
the share of affected flows whose forwarding path matches the model, and each target met or not.
Uses lab `--name` if it is up; otherwise builds it from `--topology` and removes it afterwards.

    python benchmarks/bench_failover.py [--name ngk] [--runs 2] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

from controller.lab.down import lab_down
from controller.lab.state import LabState
from controller.lab.status import lab_wait
from controller.lab.up import is_alive, lab_up
from controller.services.drills import DrillOptions, run_drill

DRILLS = [("cut", "span:osl-ham-rail", "light"), ("cut", "span:osl-ham-rail", "silent"),
          ("cut", "srlg:duct-e6-gardermoen", "light"), ("fail", "router:trd-cr1", "light")]


def summary(action: str, ref: str, mode: str, reports: list[dict]) -> dict:
    def worst(report: dict, key: str) -> float | None:
        values = [f[key] for f in report["flows"]
                  if f["affected"] and not f["endpoint_down"] and f[key] is not None]
        return max(values, default=None)

    gaps = [worst(r, "max_gap_ms") for r in reports]
    targets: dict[str, list] = {}
    for r in reports:
        for t in r["targets"]:
            if t["applicable"]:
                targets.setdefault(t["id"], []).append((t["measured"], t["met"]))
    return {
        "drill": f"{action} {ref}", "mode": mode, "runs": len(reports),
        "affected_flows": sum(f["affected"] for f in reports[0]["flows"]),
        "endpoint_down_flows": sum(f["endpoint_down"] for f in reports[0]["flows"]),
        "max_gap_ms_per_run": gaps,
        "outage_ms_per_run": [worst(r, "outage_ms") for r in reports],
        "lost_affected_per_run": [sum(f["lost"] or 0 for f in r["flows"] if f["affected"])
                                  for r in reports],
        "baseline_gap_ms_per_run": [max((f["baseline_max_gap_ms"] or 0) for f in r["flows"])
                                    for r in reports],
        "igp_converged_ms_per_run": [r["igp_converged_ms"] for r in reports],
        "monitor_event_ms_per_run": [r["monitor_event_ms"] for r in reports],
        "restored": all(r["restored"] for r in reports),
        "targets": {k: {"measured": [m for m, _ in v], "met_all": all(ok for _, ok in v)}
                    for k, v in targets.items()},
    }


def fmt(values: list) -> str:
    shown = [f"{v:.0f}" if isinstance(v, float) else str(v) for v in values]
    nums = [v for v in values if isinstance(v, (int, float))]
    return ", ".join(shown) + (f" (median {statistics.median(nums):.0f})" if len(nums) > 1 else "")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--name", default="ngk", help="Lab name.")
    p.add_argument("--topology", default=None, help="Topology for a lab that is not up.")
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--json", type=Path, default=None, help="Write the summary here too.")
    a = p.parse_args()
    state = LabState.load(a.name)
    built = state is None or not is_alive(state)
    if built:
        print(f"lab {a.name} is not up: building it", flush=True)
        lab_down(a.name)
        lab_up(a.topology, a.name)
    results = []
    try:
        lab_wait(a.name, timeout=120)
        with tempfile.TemporaryDirectory(prefix="ngk-bench-failover-") as tmp:
            for action, ref, mode in DRILLS:
                reports = []
                for i in range(a.runs):
                    print(f"{action} {ref} ({mode}) run {i + 1}/{a.runs}", flush=True)
                    reports.append(run_drill(action, ref, mode, DrillOptions(
                        lab=a.name, db=Path(tmp) / "ngk.db", out_dir=Path(tmp))))
                    lab_wait(a.name, timeout=120)
                results.append(summary(action, ref, mode, reports))
    finally:
        if built:
            lab_down(a.name)
    print()
    for s in results:
        print(f"== {s['drill']} ({s['mode']}): {s['affected_flows']} affected flows "
              f"({s['endpoint_down_flows']} to/from a failed router, left out of the gaps), "
              f"restored: {s['restored']}")
        print(f"   max gap per run (ms):        {fmt(s['max_gap_ms_per_run'])}")
        print(f"   send-side outage (ms):       {fmt(s['outage_ms_per_run'])}")
        print(f"   lost probes, affected flows: {fmt(s['lost_affected_per_run'])}")
        print(f"   baseline gap, no failure:    {fmt(s['baseline_gap_ms_per_run'])}")
        print(f"   IGP converged (ms):          {fmt(s['igp_converged_ms_per_run'])}")
        print(f"   monitor event (ms):          {fmt(s['monitor_event_ms_per_run'])}")
        for ident, t in s["targets"].items():
            print(f"   target {ident:16s} measured {fmt(t['measured'])}: "
                  f"{'met' if t['met_all'] else 'NOT met'}")
    if a.json:
        a.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
