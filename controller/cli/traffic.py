"""`ngk traffic estimate`: a traffic matrix from the monitor's link counters (docs/traffic.md)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Optional

import typer

from controller.cli.common import Col, JsonOption, StoreOption, TopologyOption, emit, fail, \
    table, topology

app = typer.Typer(help="Measured traffic: the matrix behind the link counters.",
                  no_args_is_help=True)


def register(root: typer.Typer) -> None:
    """Add the `traffic` sub-app to the top-level app."""
    root.add_typer(app, name="traffic")


@app.command()
def estimate(
    since: str = typer.Option("15m", "--since", help="Window start: 15m, 24h, ISO time, epoch."),
    until: Optional[str] = typer.Option(None, "--until", help="Window end (default now)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the matrix as a demands file "
                                       "for `ngk capacity --demands`."),
    cls: str = typer.Option("best-effort", "--class", help="Class of the written demands "
                            "(counters carry none): priority, clinical or best-effort."),
    edge: Optional[str] = typer.Option(
        None, "--edge", help="ifName pattern (regex) of the edge interfaces, where traffic "
        "enters and leaves the network: the prior's volumes (default: each router's net "
        "traffic on the links)."),
    db: Optional[str] = StoreOption,
    as_json: bool = JsonOption,
    topology_path: Optional[Path] = TopologyOption,
) -> None:
    """Router-to-router traffic matrix from measured link loads (gravity prior refined by
    non-negative least squares: tomogravity)."""
    from controller.analysis.traffic import demands_yaml
    from controller.cli.monitor import parse_time
    from controller.fileio import check_writable
    from controller.model.demands import CLASSES
    from controller.services.traffic import estimate_from_store
    from controller.store import Store

    if cls not in CLASSES:
        fail(f"--class must be one of {', '.join(CLASSES)}, got {cls!r}")
    now = time.time()
    start, end = parse_time(since, now), parse_time(until, now) if until else now
    if end <= start:
        fail("--since must be before --until")
    if out:
        check_writable(out)
    store = Store(db)
    result = estimate_from_store(store, topology(topology_path), start, end, edge)
    if out:
        out.write_text(demands_yaml(result, cls, store.name))
        result["out"] = str(out)
    emit(result, as_json, _render)


def _render(r: dict[str, Any]) -> None:
    s = r["summary"]
    table(f"Traffic matrix: {len(r['demands'])} demands, {s['total_gbps']} Gbps",
          ["src", "dst", Col("Gbps", right=True), Col("prior Gbps", right=True)],
          [[d["src"], d["dst"], d["gbps"], d["prior_gbps"]] for d in r["demands"]])
    table(f"Link loads: residual max {s['residual_max_gbps']} Gbps, "
          f"{s['residual_relative']:.2%} of measured",
          ["link", "from", "to", Col("measured Gbps", right=True),
           Col("fitted Gbps", right=True), Col("residual Gbps", right=True)],
          [[x["link"], x["from"], x["to"], x["measured_gbps"], x["fitted_gbps"],
            x["residual_gbps"]] for x in r["links"]])
    if r.get("out"):
        typer.echo(f"wrote {r['out']}")
