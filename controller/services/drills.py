"""Failover drills in the netns lab: probe, inject, measure, compare, restore (docs/drills.md).

A drill probes every pair of datacentre router loopbacks and every member site to each
datacentre (UDP, `probes.py`, 5 ms), watches ngk's monitor, injects one failure through the lab
(`lab_cut` / `lab_fail`), waits for the IGP, compares the forwarding paths (FIB walk) with the
model's prediction, restores, checks the lab is back where it started, and reports per flow.
Whatever happens after the injection (an error, Ctrl-C), the failure is restored before return.
"""
from __future__ import annotations

import json
import signal
import threading
import time
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

from controller.lab.faults import lab_cut, lab_fail, lab_restore
from controller.lab.state import DEFAULT_LAB, LabError, LabState, require
from controller.lab.status import converged, routing, vtysh_json
from controller.lab.system import parallel
from controller.model.layers import Outage, outage, resolve_element
from controller.model.load import load_topology
from controller.model.topology import Topology
from controller.services import forwarding as fwd
from controller.services.drill_store import store_report
from controller.services.drill_targets import targets, verdict
from controller.services.drill_watch import MonitorWatch
from controller.services.probes import DEFAULT_INTERVAL, FlowRecord, Member, ProbeSet, flow_stats
from controller.paths import state_path
from controller.services.probes import stalls as probe_stalls
from controller.store import Store

CUT_KINDS = ("span", "srlg", "link")
FAIL_KINDS = ("router", "site")
MODES = ("light", "silent")
POLL_PAUSE_S = 0.1  # between routing polls (each is ~45 vtysh processes)


@dataclass
class DrillOptions:
    lab: str = DEFAULT_LAB
    interval: float = DEFAULT_INTERVAL
    baseline_s: float = 1.0  # probes before the injection
    hold_s: float = 1.0  # after convergence, before reading paths and before stopping probes
    timeout_s: float = 60.0  # for convergence after the failure and after the restore
    monitor: bool = True
    out_dir: Path | None = None  # default: <state dir>/drills/<time>-<failure>
    store: bool = True  # record the result in the store
    db: str | Path | None = None  # the store (default: Store's: $NGK_STORE, the state dir)



def flows(topo: Topology) -> list[tuple[str, str]]:
    """(src router, dst router): every pair of datacentre routers, then each member site's first
    router to the first router of every datacentre."""
    dcs = sorted(topo.datacentres())
    dc_routers = [r.id for s in dcs for r in sorted(topo.routers_at(s), key=lambda r: r.id)]
    out = list(combinations(dc_routers, 2))
    first = {s: min(r.id for r in topo.routers_at(s)) for s in topo.sites if topo.routers_at(s)}
    out += [(first[m], first[d]) for m in sorted(topo.members()) if m in first for d in dcs
            if d in first]
    return out


def _ms(t: int, t0: int) -> float:
    return round((t - t0) / 1e6, 3)


def _spf_state(state: LabState, routers: list[str]) -> dict[str, tuple[int, int]]:
    """Per router: (SPF runs so far, monotonic ns when the last SPF ended)."""
    def one(router: str) -> tuple[int, int]:
        t0 = time.monotonic_ns()
        info = vtysh_json(state.routers[router].netns, "show ip ospf json")[0]
        at = (t0 + time.monotonic_ns()) // 2
        runs = sum(a.get("spfExecutedCounter", 0) for a in info.get("areas", {}).values())
        ended = at - int(info.get("spfLastExecutedMsecs", 0)) * 1_000_000 \
            + int(info.get("spfLastDurationMsecs", 0)) * 1_000_000
        return runs, ended

    return dict(zip(routers, parallel(one, routers, workers=4)))


class Drill:
    """One drill on one lab: `run()` does it all and returns the report (docs/drills.md)."""

    def __init__(self, action: str, ref: str, mode: str, opts: DrillOptions):
        if mode not in MODES:
            raise LabError(f"mode must be one of {', '.join(MODES)}, got {mode!r}", 2)
        self.state = require(opts.lab)
        self.topo = load_topology(self.state.topology)
        self.element = resolve_element(self.topo, ref)
        kinds = CUT_KINDS if action == "cut" else FAIL_KINDS
        if self.element.kind not in kinds:
            raise LabError(f"{self.element} is a {self.element.kind}: `drill {action}` takes "
                           f"{' or '.join(kinds)}", 2)
        if action == "fail":
            mode = "light"
        self.action, self.mode, self.opts = action, mode, opts
        self.down: Outage = outage(self.topo, [self.element])
        self.flows = flows(self.topo)
        self.routers = sorted(self.topo.routers)
        stamp = time.strftime("%Y%m%dT%H%M%S")
        base = opts.out_dir or state_path("drills")
        self.dir = base / f"{stamp}-{self.element.kind}-{self.element.id}-{mode}"
        self.marks: dict[str, int] = {}

    # --- steps -------------------------------------------------------------------------------
    def precheck(self) -> list[dict[str, Any]]:
        if self.state.failures:
            raise LabError(f"lab {self.opts.lab!r} has active failures "
                           f"({', '.join(f['element'] for f in self.state.failures)}): run "
                           f"`ngk lab restore --name {self.opts.lab}` first", 2)
        rows = routing(self.topo, self.state)
        if not converged(rows):
            raise LabError(f"lab {self.opts.lab!r} is not converged: run `ngk lab wait --name "
                           f"{self.opts.lab}` (or `ngk lab status`) first", 2)
        return rows

    def observe(self, fib: fwd.Fib) -> dict[tuple[str, str], dict[str, Any]]:
        return {(s, d): fwd.walk(self.topo, fib, s, d) for s, d in self.flows}

    def stable_paths(self) -> dict[tuple[str, str], dict[str, Any]]:
        """FIB walks repeated until two in a row agree (at most 5)."""
        last = self.observe(fwd.lab_fib(self.state, self.routers))
        for _ in range(4):
            now = self.observe(fwd.lab_fib(self.state, self.routers))
            if now == last:
                break
            last = now
        return last

    def wait_converged(self, t0: int) -> int:
        """Poll until the lab's routing has converged; monotonic ns at the end of that poll."""
        deadline = time.monotonic() + self.opts.timeout_s
        while True:
            self.state = require(self.opts.lab)
            rows = routing(self.topo, self.state)
            if converged(rows):
                return time.monotonic_ns()
            if time.monotonic() > deadline:
                raise LabError(f"lab {self.opts.lab!r} did not converge within "
                               f"{self.opts.timeout_s:g} s after {self.element} "
                               f"({_ms(time.monotonic_ns(), t0) / 1000:.1f} s)")
            time.sleep(POLL_PAUSE_S)

    def probe_members(self) -> list[Member]:
        targets: dict[str, list[str]] = {}
        for s, d in self.flows:
            targets.setdefault(s, []).append(str(self.topo.routers[d].loopback.ip))
            targets.setdefault(d, [])
        return [Member(self.state.routers[r].netns, str(self.topo.routers[r].loopback.ip),
                       tuple(t)) for r, t in sorted(targets.items())]

    def inject(self) -> None:
        if self.action == "cut":
            lab_cut(str(self.element), self.mode, self.opts.lab)
        else:
            lab_fail(str(self.element), self.opts.lab)

    # --- the drill ---------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        base_rows = self.precheck()
        live = [r for r in self.routers if r not in self.down.routers]
        before = self.stable_paths()
        spf_before = _spf_state(self.state, live)
        self.dir.mkdir(parents=True, exist_ok=True)
        probes = ProbeSet(self.dir, self.opts.interval)
        watch = MonitorWatch(self.state, self.topo, self.dir) if self.opts.monitor else None
        injected = restored = False
        after: dict = {}
        check: dict[str, Any] = {}
        spf_after: dict[str, tuple[int, int]] = {}
        event: dict[str, Any]
        try:
            if watch:
                watch.start()
            probes.start(self.probe_members())
            self.marks["probes"] = time.monotonic_ns()
            time.sleep(self.opts.baseline_s)
            if watch:
                watch.arm(self.down)
            self.marks["inject"] = t0 = time.monotonic_ns()
            wall0 = time.time()
            injected = True
            self.inject()
            self.marks["injected"] = time.monotonic_ns()
            self.marks["confirmed"] = self.wait_converged(t0)
            spf_after = _spf_state(self.state, live)
            time.sleep(self.opts.hold_s)
            after = self.stable_paths()
            self.marks["restore"] = time.monotonic_ns()
            lab_restore([str(self.element)], self.opts.lab)
            restored = True
            self.marks["restored"] = time.monotonic_ns()
            check = self.back_to_start(base_rows, before)
            time.sleep(self.opts.hold_s)
            self.marks["end"] = time.monotonic_ns()
        finally:
            if injected and not restored:
                self.emergency_restore()
            records = probes.stop()
            event = watch.stop() if watch else {"event_ms": None,
                                                "note": "monitor not run (--no-monitor)"}
        if event.get("wall") is not None:
            event["event_ms"] = round((event.pop("wall") - wall0) * 1000, 3)
        self.records = records
        return self.report(records, before, after, check, event, spf_before, spf_after)

    def emergency_restore(self) -> None:
        """Restore the failure with Ctrl-C ignored (an interrupted restore would leave it)."""
        main = threading.current_thread() is threading.main_thread()
        old = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
        try:
            state = require(self.opts.lab)
            if any(f["element"] == str(self.element) for f in state.failures):
                lab_restore([str(self.element)], self.opts.lab)
        finally:
            if main:
                signal.signal(signal.SIGINT, old)

    def back_to_start(self, base_rows: list[dict], before: dict) -> dict[str, Any]:
        """Wait until adjacencies, BFD sessions, routes and every flow's path equal the start."""
        deadline = time.monotonic() + self.opts.timeout_s
        def counts(r: dict) -> tuple[int, int, int]:
            return r["ospf_neighbors"], r["bfd_up"], r["loopbacks_reached"]

        want = {r["router"]: counts(r) for r in base_rows}
        while True:
            self.state = require(self.opts.lab)
            diffs = [f"{r['router']}: ospf full/bfd up/routes {counts(r)} != {want[r['router']]}"
                     + ("" if all(r["daemons"].values()) else ", daemons down")
                     for r in routing(self.topo, self.state)
                     if counts(r) != want[r["router"]] or not all(r["daemons"].values())]
            if not diffs:
                paths = self.stable_paths()
                diffs = [f"{s} > {d}: path {paths[(s, d)]['paths']} != {before[(s, d)]['paths']}"
                         for s, d in self.flows
                         if paths[(s, d)]["paths"] != before[(s, d)]["paths"]]
            if self.state.failures:
                diffs.append("failures still active: " + ", ".join(
                    f["element"] for f in self.state.failures))
            if not diffs or time.monotonic() > deadline:
                return {"converged_ms": _ms(time.monotonic_ns(), self.marks["restore"]),
                        "differences": diffs}
            time.sleep(0.3)

    # --- the report --------------------------------------------------------------------------
    def report(self, records: list[FlowRecord], before: dict, after: dict, check: dict,
               event: dict, spf_before: dict, spf_after: dict) -> dict[str, Any]:
        m = self.marks
        t0 = m.get("inject", m.get("probes", 0))
        end = m.get("end", time.monotonic_ns())
        restore_at = m.get("restore", end)
        by_key = {(r.src, r.dst): r for r in records}
        recs = {(s, d): by_key.get((str(self.topo.routers[s].loopback.ip),
                                    str(self.topo.routers[d].loopback.ip))) for s, d in self.flows}
        hit = {k: fwd.uses(self.topo, before[k]["paths"], self.down) for k in self.flows}
        control = [r for k, r in recs.items() if r is not None and not hit[k]]
        found = probe_stalls(records, control, t0, end, self.opts.interval)
        windows = [(w["start"], w["end"]) for w in found]
        rows = [self.flow_row(s, d, recs[(s, d)], before, after, t0, restore_at, end, windows)
                for s, d in self.flows]
        affected = [f for f in rows if f["affected"]]
        spf_ends = [ended for r, (runs, ended) in spf_after.items()
                    if runs > spf_before.get(r, (runs, 0))[0] and ended >= t0]
        restored = bool(check) and not check.get("differences")
        out = {
            "lab": self.opts.lab, "failure": str(self.element), "action": self.action,
            "mode": self.mode, "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "interval_ms": self.opts.interval * 1000,
            "links_down": sorted(self.down.links), "routers_down": sorted(self.down.routers),
            "inject_ms": _ms(m["injected"], t0) if "injected" in m else None,
            "igp_converged_ms": _ms(max(spf_ends), t0) if spf_ends and "confirmed" in m else None,
            "igp_confirmed_ms": _ms(m["confirmed"], t0) if "confirmed" in m else None,
            "dataplane_converged_ms": max((f["outage_end_ms"] for f in affected
                                           if f["outage_end_ms"] is not None and not f["ongoing"]),
                                          default=None),
            "monitor_event_ms": event.get("event_ms"),
            "monitor": event,
            "restored": restored, "restore_check": check,
            "stalls": [{"at_ms": _ms(w["start"], t0), "ms": _ms(w["end"], w["start"]),
                        "source": w["source"]} for w in found],
            "flows": rows,
        }
        out["targets"] = targets(out, self.topo, self.down)
        out["verdict"] = verdict(out)
        out["artifacts"] = {"dir": str(self.dir), "report": str(self.dir / "report.json"),
                            "timeline": str(self.dir / "timeline.png")}
        return out

    def flow_row(self, s: str, d: str, rec: FlowRecord | None, before: dict, after: dict,
                 t0: int, restore_at: int, end: int, stalls: list[tuple[int, int]]
                 ) -> dict[str, Any]:
        pred = fwd.predicted(self.topo, self.down, s, d)
        obs = after.get((s, d), {"paths": [], "broken": ["not observed (drill aborted)"]})
        row: dict[str, Any] = {
            "src": s, "dst": d, "src_address": str(self.topo.routers[s].loopback.ip),
            "dst_address": str(self.topo.routers[d].loopback.ip),
            "affected": fwd.uses(self.topo, before[(s, d)]["paths"], self.down),
            "endpoint_down": s in self.down.routers or d in self.down.routers,
            "max_gap_ms": None, "net_gap_ms": None, "outage_ms": None, "outage_end_ms": None,
            "lost": None, "prober_lost": None, "sent": 0,
            "ongoing": None, "gap_at_ms": None,
            "restore_max_gap_ms": None, "restore_lost": None, "baseline_max_gap_ms": None,
            "predicted_path": fwd.model_path(self.topo, pred[0]) if pred else None,
            "observed_path": fwd.model_path(self.topo, obs["paths"][0]) if obs["paths"] else None,
            "predicted_ecmp": pred, "observed_ecmp": obs["paths"], "broken": obs["broken"],
            "path_matches": pred == obs["paths"],
        }
        engine = fwd.engine_path(self.topo, self.down, s, d)
        row["engine_path"] = engine
        row["engine_matches"] = (engine is None and not obs["paths"]) or (
            engine is not None and any(fwd.model_path(self.topo, p)["sites"] == engine["sites"]
                                       for p in obs["paths"]))
        if rec is not None:
            fail = flow_stats(rec, t0, restore_at, stall_windows=stalls)
            row.update({k: fail[k] for k in ("max_gap_ms", "net_gap_ms", "outage_ms",
                                             "outage_end_ms", "lost", "sent", "ongoing",
                                             "gap_at_ms", "sender_max_gap_ms")})
            back = flow_stats(rec, restore_at, end, stall_windows=stalls)
            row["restore_max_gap_ms"], row["restore_lost"] = back["max_gap_ms"], back["lost"]
            row["prober_lost"] = fail["prober_lost"] + back["prober_lost"]
            if "probes" in self.marks:
                base = flow_stats(rec, self.marks["probes"] + int(0.3e9), t0)
                row["baseline_max_gap_ms"] = base["max_gap_ms"]
        return row



def run_drill(action: str, ref: str, mode: str = "light",
              opts: DrillOptions | None = None) -> dict[str, Any]:
    """Run one drill; write report.json and timeline.png, store the result; the report dict.

    Raises LabError (lab down, not converged, active failures, no convergence) or KeyError
    (unknown element); the failure is always restored once injected (also on Ctrl-C)."""
    from controller.analysis.drill_report import render_timeline

    opts = opts or DrillOptions()
    drill = Drill(action, ref, mode, opts)
    report = drill.run()
    render_timeline(report, drill.records, drill.marks["inject"], drill.marks.get("restore"),
                    report["artifacts"]["timeline"])
    report["stored"] = store_report(Store(opts.db), report) if opts.store else False
    Path(report["artifacts"]["report"]).write_text(json.dumps(report, indent=1))
    return report
