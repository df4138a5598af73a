"""A drill report's targets (the measured figure against each failover target) and its verdict:
the one pass/fail rule that `ngk drill`, `ngk demo` and the playbook's drill step apply
(docs/drills.md)."""
from __future__ import annotations

from typing import Any

from controller.model.layers import Outage
from controller.model.topology import Topology

LIGHT_LIMIT_MS = 50.0
SILENT_LIMIT_MS = 200.0


def targets(report: dict[str, Any], topo: Topology, down: Outage) -> list[dict[str, Any]]:
    """The issue's four targets with the measured figure; `met` is None when one does not apply
    to this drill (e.g. the silent-failure bar in a light cut). Interruptions count the affected
    flows that can recover (not those from or to a failed router), with prober stalls taken out
    (`net_gap_ms`; the raw largest gap is `max_gap_ms` beside it)."""
    rows = report["flows"]
    affected = [f for f in rows if f["affected"]]
    rerouted = [f for f in affected if not f["endpoint_down"]]  # can recover at all
    gap = max((f["net_gap_ms"] for f in rerouted if f["net_gap_ms"] is not None), default=None)
    raw = max((f["max_gap_ms"] for f in rerouted if f["max_gap_ms"] is not None), default=None)
    outage_ms = max((f["outage_ms"] for f in rerouted if f["outage_ms"] is not None), default=None)
    noise = max((f["baseline_max_gap_ms"] for f in rows if f["baseline_max_gap_ms"] is not None),
                default=None)
    dc = set(topo.datacentres())
    dc_dc = any(len({topo.routers[e.router].site for e in (lk.a, lk.b)} & dc) == 2
                and topo.routers[lk.a.router].site != topo.routers[lk.b.router].site
                for lk in (topo.links[i] for i in down.links))
    light = report["action"] == "cut" and report["mode"] == "light" and dc_dc
    silent = report["mode"] == "silent"
    matched = sum(1 for f in affected if f["path_matches"])
    unaffected_lost = sum((f["lost"] or 0) + (f["restore_lost"] or 0)
                          for f in rows if not f["affected"])
    prober_lost = sum(f.get("prober_lost") or 0 for f in rows if not f["affected"])

    def target(ident: str, text: str, measured: Any, limit: Any, unit: str, applies: bool,
               ok: bool, **extra: Any) -> dict[str, Any]:
        return {"id": ident, "target": text, "measured": measured if applies else None,
                "limit": limit, "unit": unit, "applicable": applies,
                "met": (ok if measured is not None else False) if applies else None,
                **(extra if applies else {})}

    gap_extra = {"max_gap_ms": raw, "outage_ms": outage_ms, "baseline_max_gap_ms": noise,
                 "stall_ms": sum(w["ms"] for w in report.get("stalls", []))}

    return [
        target("light_cut_gap", "loss-of-light cut of a datacentre-to-datacentre span: "
               "interruption <= 50 ms per affected flow", gap, LIGHT_LIMIT_MS, "ms", light,
               gap is not None and gap <= LIGHT_LIMIT_MS, **gap_extra),
        target("silent_gap", "silent failure with BFD 50 ms x 3: interruption <= 200 ms", gap,
               SILENT_LIMIT_MS, "ms", silent, gap is not None and gap <= SILENT_LIMIT_MS,
               **gap_extra),
        target("path_match", "predicted reroute = observed forwarding path for 100 % of "
               "affected flows", round(100 * matched / len(affected), 1) if affected else None,
               100.0, "%", bool(affected), matched == len(affected)),
        target("unaffected_loss", "unaffected flows: zero loss", unaffected_lost, 0, "probes",
               True, unaffected_lost == 0, prober_lost=prober_lost),
    ]


def verdict(report: dict[str, Any], gap_ms: float | None = None) -> dict[str, Any]:
    """Pass or fail, with every reason: the lab restored to its start, every applicable target
    met, and (with `gap_ms`) no rerouted flow's interruption (stalls taken out) above it.
    Prober stalls are not failures; they are reported as notes, with what they overlapped."""
    reasons, notes = [], []
    if not report["restored"]:
        diffs = report["restore_check"].get("differences") or ["restore not checked"]
        reasons.append(f"not restored: {'; '.join(diffs[:3])}"
                       + (f" (+{len(diffs) - 3} more)" if len(diffs) > 3 else ""))
    for t in report["targets"]:
        if t["met"] is False:
            got = "nothing measured" if t["measured"] is None else f"{t['measured']} {t['unit']}"
            reasons.append(f"{t['id']}: {got}, limit {t['limit']:g} {t['unit']}")
    rerouted = [f for f in report["flows"] if f["affected"] and not f["endpoint_down"]]
    if gap_ms is not None:
        slow = [f"{f['src']}>{f['dst']} {f['net_gap_ms']:g} ms" for f in rerouted
                if f["net_gap_ms"] is not None and f["net_gap_ms"] > gap_ms]
        if slow:
            reasons.append(f"gap above {gap_ms:g} ms: {', '.join(slow)}")
    for w in report.get("stalls", []):
        notes.append(f"prober stall of {w['ms']:.1f} ms at {w['at_ms']:.1f} ms ({w['source']}): "
                     "seen on every flow at once, not counted as network interruption")
    artefacts = sum(f.get("prober_lost") or 0 for f in report["flows"])
    if artefacts:
        notes.append(f"{artefacts} unanswered probes were sent inside a prober stall or refused by "
                     "this host's own send buffers: not counted as network loss")
    hidden = [f for f in rerouted if f["max_gap_ms"] is not None and f["net_gap_ms"] is not None
              and f["max_gap_ms"] > f["net_gap_ms"]]
    if hidden:
        notes.append(f"{len(hidden)} rerouted flows had a stall inside their gap; run again on "
                     "a quieter machine for an unbroken measurement")
    return {"ok": not reasons, "reasons": reasons, "notes": notes}
