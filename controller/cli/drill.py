"""`ngk drill`: measured failover drills in the netns lab (cut, fail, history). docs/drills.md"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from controller.cli.common import (
    Col, JsonOption, StoreOption, WideOption, console, emit, err_console, fail, table)
from controller.cli.lab import NameOption, lab_errors
from controller.store import Store

app = typer.Typer(help="Measured failover drills in the netns lab.", no_args_is_help=True)
OutOption = typer.Option(None, "--out", help="Directory for report.json, timeline.png and the "
                         "probe records (default: <state dir>/drills/<time>-<failure>).")
IntervalOption = typer.Option(5.0, "--interval-ms", min=0.5, max=5.0,
                              help="Probe interval per flow (ms).")
MonitorOption = typer.Option(True, "--monitor/--no-monitor",
                             help="Run ngk's SNMP monitor to time its event.")


def register(root: typer.Typer) -> None:
    """Add the `drill` sub-app to the top-level app."""
    root.add_typer(app, name="drill")


def _run(action: str, element: str, mode: str, name: str, db: str | None, out: Optional[Path],
         interval_ms: float, monitor: bool, as_json: bool, wide: bool) -> None:
    from controller.services.drills import DrillOptions, run_drill

    opts = DrillOptions(lab=name, interval=interval_ms / 1000, monitor=monitor, out_dir=out, db=db)
    with lab_errors():
        try:
            report = run_drill(action, element, mode, opts)
        except KeyboardInterrupt:
            fail("interrupted (a failure already injected was restored)", 130)
        except RuntimeError as exc:  # the prober could not start
            fail(str(exc), 1)
    emit(report, as_json, lambda r: render_report(r, wide))
    if not report["verdict"]["ok"]:
        raise typer.Exit(1)


@app.command()
def cut(element: str = typer.Argument(..., help="Span or SRLG (or link; kind:id if ambiguous)."),
        mode: str = typer.Option("light", "--mode", help="light: loss of light; silent: "
                                 "carrier up, packets dropped."),
        name: str = NameOption, db: Optional[str] = StoreOption, out: Optional[Path] = OutOption,
        interval_ms: float = IntervalOption, monitor: bool = MonitorOption,
        wide: bool = WideOption, as_json: bool = JsonOption) -> None:
    """Cut a span or SRLG in the lab while probing; measure, compare paths, restore."""
    _run("cut", element, mode, name, db, out, interval_ms, monitor, as_json, wide)


@app.command("fail")
def fail_(element: str = typer.Argument(..., help="Router or site."),
          name: str = NameOption, db: Optional[str] = StoreOption, out: Optional[Path] = OutOption,
          interval_ms: float = IntervalOption, monitor: bool = MonitorOption,
          wide: bool = WideOption, as_json: bool = JsonOption) -> None:
    """Fail a router or site in the lab while probing; measure, compare paths, restore."""
    _run("fail", element, "light", name, db, out, interval_ms, monitor, as_json, wide)


@app.command()
def history(failure: Optional[str] = typer.Option(None, "--failure",
                                                  help="Only this failure, e.g. span:osl-ham-e6."),
            db: Optional[str] = StoreOption, as_json: bool = JsonOption) -> None:
    """Compare stored drill runs: per failure and mode, the max gap of every run."""
    from controller.services.drill_store import drill_history

    result = drill_history(Store(db), failure)
    emit(result, as_json, _render_history)


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:.1f}{unit}" if isinstance(value, float) else f"{value}{unit}"


def render_verdict(v: dict[str, Any], what: str) -> None:
    """The one verdict (`drill_targets.verdict`) with every reason and note."""
    console.print(f"{what}: {'PASS' if v['ok'] else 'FAIL'}", markup=False)
    for reason in v["reasons"]:
        console.print(f"  failed: {reason}", markup=False)
    for note in v["notes"]:
        console.print(f"  note: {note}", markup=False)


def render_report(r: dict[str, Any], wide: bool = False) -> None:
    """The drill report as tables for people."""
    rows = [[f["src"], f["dst"], f["affected"], _fmt(f["net_gap_ms"]), _fmt(f["max_gap_ms"]),
             _fmt(f["outage_ms"]), f["lost"], _fmt(f["restore_max_gap_ms"]),
             " > ".join(f["observed_path"]["sites"]) if f["observed_path"] else "unreachable",
             "same" if f["path_matches"] else "DIFFERS"] for f in r["flows"]]
    table(f"drill {r['failure']} ({r['mode']}) in lab {r['lab']}",
          ["from", "to", "affected", Col("gap (ms)", right=True),
           Col("raw gap (ms)", wide=True, right=True), Col("outage (ms)", wide=True, right=True),
           Col("lost", right=True), Col("restore gap (ms)", wide=True, right=True),
           Col("sites after failure", wide=True), "path vs model"], rows, wide)
    console.print(f"IGP converged {_fmt(r['igp_converged_ms'], ' ms')} (lab confirmed "
                  f"{_fmt(r['igp_confirmed_ms'], ' ms')}); data plane "
                  f"{_fmt(r['dataplane_converged_ms'], ' ms')}; "
                  f"monitor event {_fmt(r['monitor_event_ms'], ' ms')}"
                  + (f" ({r['monitor']['note']})" if r["monitor"].get("note") else "")
                  + f"; restored: {'yes' if r['restored'] else 'NO'}", markup=False)
    for diff in r["restore_check"].get("differences", []):
        err_console.print(f"  not back to start: {diff}", markup=False)
    if r.get("stalls"):
        table("prober stalls (not the network)",
              [Col("at (ms)", right=True), Col("length (ms)", right=True), "seen by"],
              [[_fmt(w["at_ms"]), _fmt(w["ms"]), w["source"]] for w in r["stalls"]])
    table("targets", ["target", "measured", "limit", "met"],
          [[t["target"], _fmt(t["measured"], f" {t['unit']}"), f"{t['limit']:g} {t['unit']}",
            "n/a" if t["met"] is None else "yes" if t["met"] else "NO"] for t in r["targets"]])
    render_verdict(r["verdict"], "verdict")
    console.print(f"report: {r['artifacts']['report']}\ntimeline: {r['artifacts']['timeline']}"
                  + ("" if r.get("stored") else "\n(not stored in the database)"), markup=False)


def _render_history(h: dict[str, Any]) -> None:
    if not h["failures"]:
        console.print("no drills recorded")
        return
    table("drill history (largest gap of the affected flows per run, prober stalls taken out; "
          "oldest first)",
          ["failure", "mode", Col("runs", right=True), "gap per run (ms)",
           Col("best (ms)", right=True), Col("worst (ms)", right=True), "restored"],
          [[g["failure"], g["mode"], len(g["runs"]),
            ", ".join(_fmt(r["max_gap_ms"]) for r in g["runs"]), _fmt(g["best_gap_ms"]),
            _fmt(g["worst_gap_ms"]), f"{sum(r['restored'] for r in g['runs'])}/{len(g['runs'])}"]
           for g in h["failures"]])
