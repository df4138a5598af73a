"""Prometheus metrics of the SNMP monitor (`ngk monitor --metrics-port`): read from the
monitor's state at scrape time, conventional `ngk_*` names and labels (docs/monitor.md; the
alert and recording rules on them are prometheus/ngk-rules.yml, docs/operations.md)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from controller.southbound.snmp.oids import TICKS_PER_S

if TYPE_CHECKING:
    from controller.services.impact import ImpactMapper
    from controller.services.monitor import Monitor
    from controller.store import Store


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
        # one instance that polls its whole inventory (no leader lease or shards yet)
        yield from role_metrics(True, m.cycles, len(m.targets), len(m.targets))
        yield from store_metrics(m.store)
        if m.impact is not None:
            yield from topology_metrics(
                m.impact, {r for r, st in m.state.items() if st.reachable is False},
                m._down_interfaces())


def role_metrics(active: bool, cycles: int, assigned: int, inventory: int) -> Iterator[Any]:
    """What this instance does: `ngk_monitor_active` (1 while it polls: the leader, or a member of
    the sharded set; a standby exports 0 and no device metrics), its completed cycles, and the
    devices it polls out of the inventory's."""
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    yield GaugeMetricFamily("ngk_monitor_active", "1 if this instance is polling (leader or "
                            "shard member), 0 on a standby", value=1.0 if active else 0.0)
    yield CounterMetricFamily("ngk_monitor_cycles", "Poll cycles completed", value=cycles)
    yield GaugeMetricFamily("ngk_monitor_assigned_devices", "Devices this instance polls",
                            value=assigned)
    yield GaugeMetricFamily("ngk_monitor_inventory_devices", "Devices in the inventory",
                            value=inventory)


def store_metrics(store: Store) -> Iterator[Any]:
    """The write-behind queue of the store: rows waiting, rows dropped because the queue was
    full (lost history), and when a write last failed (absent while none has)."""
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    yield GaugeMetricFamily("ngk_store_pending_rows", "Rows queued for the next store write",
                            value=store.pending_rows)
    yield CounterMetricFamily("ngk_store_dropped_rows", "Rows dropped from a full write queue",
                              value=store.dropped_rows)
    if store.errors:
        yield GaugeMetricFamily("ngk_store_last_error_timestamp_seconds",
                                "When a store write last failed", value=store.errors[-1][0])


def topology_metrics(impact: ImpactMapper, routers_down: set[str],
                     interfaces_down: set[tuple[str, str]]) -> Iterator[Any]:
    """The topology seen through what is down: `ngk_link_up{link}` per IP link,
    `ngk_datacentre_pair_paths{a,b}` (2 SRLG-diverse paths, 1 one path only, 0 disconnected) and
    `ngk_spof{kind,id,designed}` per single point of failure (`designed` "true" when it is one
    with nothing down)."""
    from prometheus_client.core import GaugeMetricFamily

    res = impact.resilience(impact.elements(routers_down, interfaces_down))
    down = set(res["links_down"])
    link_up = GaugeMetricFamily("ngk_link_up", "1 unless the IP link is down (an end router "
                                "unreachable, an end interface or its OSPF adjacency down)",
                                labels=["link"])
    for link in sorted(impact.topo.links):
        link_up.add_metric([link], 0.0 if link in down else 1.0)
    paths = GaugeMetricFamily("ngk_datacentre_pair_paths", "SRLG-diverse paths left between two "
                              "datacentres: 2 a diverse pair, 1 one path only, 0 disconnected",
                              labels=["a", "b"])
    for (a, b), n in sorted(res["pair_paths"].items()):
        paths.add_metric([a, b], n)
    spof = GaugeMetricFamily("ngk_spof", "A span, SRLG or router whose failure now disconnects "
                             "sites", labels=["kind", "id", "designed"])
    designed = set(res["designed_spofs"])
    for kind, ident in res["spofs"]:
        spof.add_metric([kind, ident, "true" if (kind, ident) in designed else "false"], 1.0)
    yield from (link_up, paths, spof)


def serve_metrics(monitor: Monitor, port: int, addr: str = "127.0.0.1") -> Any:
    """Expose /metrics on addr:port (own registry); returns the HTTP server."""
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry()
    registry.register(MetricsCollector(monitor))
    server, _ = start_http_server(port, addr=addr, registry=registry)
    return server
