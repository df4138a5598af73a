"""`ngk monitor` (SNMP polling, traps, metrics) and `ngk uptime` (availability from history)."""
from __future__ import annotations

import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

import typer

from controller.errors import InputError
from controller.cli.common import (
    InventoryOption, JsonOption, StoreOption, TopologyOption, console, emit, err_console, fail,
    table, topology)
from controller.cli.common import inventory as inventory_dir



def monitor(
    interval: float = typer.Option(10.0, "--interval", help="Seconds between poll cycles."),
    once: bool = typer.Option(False, "--once", help="Poll once, print, exit."),
    as_json: bool = JsonOption,
    inventory: Optional[Path] = InventoryOption,
    db: Optional[str] = StoreOption,
    metrics_port: Optional[int] = typer.Option(None, "--metrics-port", help="Prometheus port."),
    metrics_addr: str = typer.Option("127.0.0.1", "--metrics-addr"),
    trap_port: Optional[int] = typer.Option(None, "--trap-port", help="UDP port for traps."),
    trap_addr: Optional[str] = typer.Option(
        None, "--trap-addr", help="Address for traps (default: the local address that reaches "
        "the inventory's agents, never all addresses)."),
    alert: list[str] = typer.Option([], "--alert", help="Alert sink: file:PATH or http(s) URL."),
    concurrency: int = typer.Option(256, "--concurrency", help="Routers polled at once."),
    retention_days: float = typer.Option(400.0, "--retention-days"),
    adjacency_every: int = typer.Option(
        6, "--adjacency-every", min=0, help="Walk every router's OSPF neighbour table every N "
        "cycles (0: never); routers with an adjacency down are read every cycle."),
    ha: bool = typer.Option(False, "--ha", help="Active/standby with the other monitors of this "
                            "PostgreSQL store: only the lease holder polls and records."),
    shard: bool = typer.Option(False, "--shard", help="Sharded with the other monitors of this "
                               "PostgreSQL store: every live one polls and records its share "
                               "of the inventory (excludes --ha and --once)."),
    members: bool = typer.Option(False, "--members", help="Print the live sharded monitors of "
                                 "the store and the devices each polls, then exit."),
    topology_path: Optional[Path] = TopologyOption,
) -> None:
    """Poll every router of the inventory over SNMP; record state, events and their impact."""
    from controller.services.alerts import Alerts, sink
    from controller.services.monitor import app as service
    from controller.southbound.snmp.inventory import load_inventory
    from controller.store import Store

    inventory = inventory_dir(inventory)
    targets, problems = load_inventory(inventory)
    for diag in problems:
        err_console.print(str(diag), highlight=False, soft_wrap=True)
    if not targets:
        fail(f"no usable SNMP target in {inventory}")
    if members:
        return _members([t.router for t in targets], Store(db), interval, as_json)
    topo = topology(topology_path)
    alerts = Alerts([sink(a) for a in alert]) if alert else None
    report = service.run_monitor(
        targets, Store(db), topo, once=once, interval=interval, concurrency=concurrency,
        metrics_port=metrics_port, metrics_addr=metrics_addr, trap_port=trap_port,
        trap_addr=trap_addr, alerts=alerts, retention_days=retention_days,
        adjacency_every=adjacency_every, ha=ha, shard=shard)
    if report is not None:
        emit(report, as_json, _render_cycle)


def _members(devices: list[str], store: Any, interval: float, as_json: bool) -> None:
    """`--members`: the live sharded monitors (live = seen within 1.5 `--interval`)."""
    from controller.services.monitor.members import Members

    status = Members(store, "ngk-monitor-members", 1.5 * interval).status(devices)
    emit(status, as_json, lambda s: table(
        f"Sharded monitors: {len(s['members'])} live, {s['inventory']} devices",
        ["instance", "seen s ago", "devices"],
        [[m["instance"], m["seen_s_ago"], m["devices"]] for m in s["members"]]))


def _render_cycle(report: dict[str, Any]) -> None:
    table(f"SNMP poll: {len(report['routers'])} routers in {report['duration_s']} s",
          ["router", "reachable", "uptime s", "interfaces up/total", "error"],
          [[r["router"], r["reachable"], r["sys_uptime"],
            f"{sum(v == 'up' for v in r['interfaces'].values())}/{len(r['interfaces'])}",
            r["error"] or "; ".join(r["problems"])] for r in report["routers"]])
    for e in report["events"]:
        console.print(f"{e['kind']} {e['router']} {e['interface']}".strip(), highlight=False)


def parse_time(text: str, now: float) -> float:
    """`24h`, `7d`, `30m`, `90s` ago; an ISO date/time; or epoch seconds."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd])", text.strip())
    if m:
        return now - float(m[1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m[2]]
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise InputError(f"cannot read time {text!r}: use e.g. 24h, 7d, 2024-05-01T12:00 or epoch")


def uptime(
    since: str = typer.Option("24h", "--since", help="Window start: 24h, 7d, ISO time, epoch."),
    until: Optional[str] = typer.Option(None, "--until", help="Window end (default now)."),
    as_json: bool = JsonOption,
    png: Optional[Path] = typer.Option(None, "--png", help="Write a timeline PNG."),
    db: Optional[str] = StoreOption,
    topology_path: Optional[Path] = TopologyOption,
) -> None:
    """Availability and downtime per router, IP link and datacentre pair."""
    from controller.services import uptime as uptime_service
    from controller.store import Store

    now = time.time()
    start, end = parse_time(since, now), parse_time(until, now) if until else now
    if end <= start:
        fail("--since must be before --until")
    store = Store(db)
    if not store.exists():
        fail(f"no monitor database at {store.name}")
    report = uptime_service.uptime_report(store, topology(topology_path), start, end)
    if png:
        uptime_service.render_timeline(report, str(png))
    emit(report, as_json, _render_uptime)


def _render_uptime(report: dict[str, Any]) -> None:
    for key, title in (("routers", "router"), ("links", "link"), ("datacentre_pairs", "pair")):
        table(f"Availability per {title} (of the time observed)",
              [title, "availability %", "observed %", "downtime s", "outages"],
              [[x[title], x["availability_pct"], x["observed_pct"], x["downtime_s"], x["outages"]]
               for x in report[key]])


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""
    app.command("monitor")(monitor)
    app.command("uptime")(uptime)
