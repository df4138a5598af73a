"""Prometheus metrics of the SNMP monitor (`ngk monitor --metrics-port`): read from the
monitor's public snapshot at scrape time, conventional `ngk_snmp_*` names and labels
(docs/monitor.md)."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from controller.services.monitor.app import Snapshot


class MetricsCollector:
    """Prometheus metrics from `snapshot()`, taken at each scrape."""

    def __init__(self, snapshot: Callable[[], Snapshot]):
        self.snapshot = snapshot

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        m = self.snapshot()
        up = GaugeMetricFamily("ngk_snmp_up", "1 if the router answered its last SNMP poll",
                               labels=["router"])
        uptime = GaugeMetricFamily("ngk_snmp_sys_uptime_seconds", "sysUpTime of the router",
                                   labels=["router"])
        duration = GaugeMetricFamily("ngk_snmp_poll_duration_seconds",
                                     "Duration of the last poll of the router", labels=["router"])
        errors = CounterMetricFamily("ngk_snmp_poll_errors", "Failed or partial polls",
                                     labels=["router", "reason"])
        oper = GaugeMetricFamily("ngk_snmp_if_oper_up", "1 if ifOperStatus is up(1)",
                                 labels=["router", "interface"])
        octets = {d: CounterMetricFamily(f"ngk_snmp_if_{d}_octets", f"ifHC{d.title()}Octets",
                                         labels=["router", "interface"]) for d in ("in", "out")}
        for r in m.routers:
            if r.reachable is not None:
                up.add_metric([r.router], 1.0 if r.reachable else 0.0)
            if r.uptime_s is not None:
                uptime.add_metric([r.router], r.uptime_s)
            duration.add_metric([r.router], r.poll_duration)
            for reason, n in r.errors.items():
                errors.add_metric([r.router, reason], n)
            for name, is_up in r.oper.items():
                oper.add_metric([r.router, name], 1.0 if is_up else 0.0)
            for name, values in r.octets.items():
                for value, fam in zip(values, octets.values()):
                    if value is not None:
                        fam.add_metric([r.router, name], value)
        cycle = GaugeMetricFamily("ngk_snmp_cycle_duration_seconds", "Duration of the last cycle")
        cycle.add_metric([], m.last_cycle)
        events = CounterMetricFamily("ngk_monitor_events", "Events raised", labels=["kind"])
        for kind, n in m.event_counts.items():
            events.add_metric([kind], n)
        store = CounterMetricFamily("ngk_store_errors", "Failed store writes (retried)")
        store.add_metric([], m.store_errors)
        leader = GaugeMetricFamily("ngk_monitor_leader",
                                   "1 if this monitor leads (polls and records), 0 if a standby")
        leader.add_metric([], 1.0 if m.leader else 0.0)
        yield from (up, uptime, duration, errors, oper, *octets.values(), cycle, events, store,
                    leader)


def serve_metrics(snapshot: Callable[[], Snapshot], port: int, addr: str = "127.0.0.1") -> Any:
    """Expose /metrics of `snapshot()` on addr:port (own registry); returns the HTTP server."""
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry()
    registry.register(MetricsCollector(snapshot))
    server, _ = start_http_server(port, addr=addr, registry=registry)
    return server
