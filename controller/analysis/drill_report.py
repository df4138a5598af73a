"""A PNG timeline of a drill's probes: one row per flow, a tick per reply, the largest gap
shaded (red rows: affected flows), prober stalls as grey bands, the injection and the restore
marked. The left panel zooms
on the failure, the right one shows the whole drill."""
from __future__ import annotations

from pathlib import Path
from typing import Any

ZOOM_MARGIN_MS = 150.0


def render_timeline(report: dict[str, Any], records: list[Any], t0_ns: int,
                    restore_ns: int | None, path: str | Path) -> None:
    """Draw probe records (objects with src, dst and replies as (seq, echoed ns, received ns),
    e.g. `probes.FlowRecord`) relative to the injection at `t0_ns` (monotonic ns)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_key = {(r.src, r.dst): r for r in records}
    flows = report["flows"]
    restore = (restore_ns - t0_ns) / 1e6 if restore_ns is not None else None
    gap_ends = [f["gap_at_ms"] + f["max_gap_ms"] for f in flows
                if f["affected"] and f["max_gap_ms"] is not None and f["gap_at_ms"] is not None]
    zoom = (-ZOOM_MARGIN_MS, max(gap_ends, default=0.0) + ZOOM_MARGIN_MS)
    if restore is not None:
        zoom = (zoom[0], min(zoom[1], restore))
    fig, axes = plt.subplots(1, 2, figsize=(14, 0.3 * len(flows) + 1.8), sharey=True,
                             gridspec_kw={"width_ratios": [1, 2]})
    for ax in axes:
        for y, f in enumerate(flows):
            rec = by_key.get((f["src_address"], f["dst_address"]))
            times = [(r[2] - t0_ns) / 1e6 for r in rec.replies] if rec else []
            ax.eventplot([times], lineoffsets=y, linelengths=0.7, linewidths=0.5,
                         colors="#c62828" if f["affected"] else "#2e7d32")
            if f["max_gap_ms"] and f["gap_at_ms"] is not None:
                ax.broken_barh([(f["gap_at_ms"], f["max_gap_ms"])], (y - 0.45, 0.9),
                               color="#ef9a9a" if f["affected"] else "#ffcc80", zorder=0)
        for w in report.get("stalls", []):  # the prober stopped: not the network
            ax.axvspan(w["at_ms"], w["at_ms"] + w["ms"], color="#9e9e9e", alpha=0.35, lw=0)
        ax.axvline(0, color="black", lw=1)
        if restore is not None:
            ax.axvline(restore, color="#1565c0", lw=1)
        ax.set_xlabel("ms since the failure was injected")
    left, right = axes
    left.set_xlim(*zoom)
    for y, f in enumerate(flows):
        if f["max_gap_ms"] and f["gap_at_ms"] is not None and f["affected"]:
            left.text(min(f["gap_at_ms"] + f["max_gap_ms"], zoom[1]), y,
                      f" {f['max_gap_ms']:.0f} ms", fontsize=6, va="center")
    left.set_title("around the failure", fontsize=9)
    right.set_title("whole drill (blue: restore)", fontsize=9)
    left.set_yticks(range(len(flows)), [f"{f['src']} > {f['dst']}" for f in flows], fontsize=7)
    left.set_ylim(len(flows) - 0.5, -0.5)
    fig.suptitle(f"drill {report['failure']} ({report['mode']}): replies per flow, largest gap "
                 "shaded, affected flows in red, prober stalls grey", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
