"""Prometheus metrics of the SNMP monitor (`ngk monitor --metrics-port`): read from the
monitor's state at scrape time, conventional `ngk_snmp_*` names and labels (docs/monitor.md)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from controller.southbound.snmp.oids import TICKS_PER_S

if TYPE_CHECKING:
    from controller.services.monitor import Monitor


class MetricsCollector:
    """Prometheus metrics read from the monitor's state at scrape time."""

    def __init__(self, monitor: Monitor):
        self.monitor = monitor

    def collect(self):  # noqa: ANN201 (prometheus_client collector protocol)
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        m = self.monitor
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
        for router, st in list(m.state.items()):
            if st.reachable is not None:
                up.add_metric([router], 1.0 if st.reachable else 0.0)
            if st.uptime is not None:
                uptime.add_metric([router], st.uptime / TICKS_PER_S)
            duration.add_metric([router], st.duration)
            for reason, n in list(st.errors.items()):
                errors.add_metric([router, reason], n)
            for name, state in list(st.oper.items()):
                oper.add_metric([router, name], 1.0 if state == "up" else 0.0)
            for ifc in list(st.interfaces.values()):
                for d, fam in octets.items():
                    value = getattr(ifc, f"{d}_octets")
                    if value is not None:
                        fam.add_metric([router, ifc.name], value)
        cycle = GaugeMetricFamily("ngk_snmp_cycle_duration_seconds", "Duration of the last cycle")
        cycle.add_metric([], m.last_cycle)
        events = CounterMetricFamily("ngk_monitor_events", "Events raised", labels=["kind"])
        for kind, n in list(m.event_counts.items()):
            events.add_metric([kind], n)
        store = CounterMetricFamily("ngk_store_errors", "Failed store writes (retried)")
        store.add_metric([], len(m.store.errors))
        yield from (up, uptime, duration, errors, oper, *octets.values(), cycle, events, store)


def serve_metrics(monitor: Monitor, port: int, addr: str = "127.0.0.1") -> Any:
    """Expose /metrics on addr:port (own registry); returns the HTTP server."""
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry()
    registry.register(MetricsCollector(monitor))
    server, _ = start_http_server(port, addr=addr, registry=registry)
    return server
