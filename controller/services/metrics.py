"""Prometheus metrics of the SNMP monitor (`ngk monitor --metrics-port`): read from the
monitor's public snapshot at scrape time, conventional `ngk_*` names and labels (docs/monitor.md;
the alert and recording rules on them are prometheus/ngk-rules.yml, docs/operations.md)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from controller.services.impact import ImpactMapper
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
        yield from (up, uptime, duration, errors, oper, *octets.values(), cycle, events, store)
        yield from role_metrics(m.active, m.cycles, m.assigned, m.inventory, len(m.members))
        yield from store_metrics(m.pending_rows, m.dropped_rows, m.last_store_error)
        if m.impact is not None:
            yield from topology_metrics(m.impact, m.routers_down, m.interfaces_down)


def role_metrics(active: bool, cycles: int, assigned: int, inventory: int,
                 members: int) -> Iterator[Any]:
    """What this instance does: `ngk_monitor_active` (1 while it polls: the leader, or a member of
    the sharded set; a standby exports 0 and no device metrics), its completed cycles, the
    devices it polls out of the inventory's, and the live sharded instances it sees (sharded
    only)."""
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    yield GaugeMetricFamily("ngk_monitor_active", "1 if this instance is polling (leader or "
                            "shard member), 0 on a standby", value=1.0 if active else 0.0)
    yield CounterMetricFamily("ngk_monitor_cycles", "Poll cycles completed", value=cycles)
    yield GaugeMetricFamily("ngk_monitor_assigned_devices", "Devices this instance polls",
                            value=assigned)
    yield GaugeMetricFamily("ngk_monitor_inventory_devices", "Devices in the inventory",
                            value=inventory)
    if members:
        yield GaugeMetricFamily("ngk_monitor_shard_members", "Live sharded monitor instances "
                                "this one splits the inventory with (itself included)",
                                value=members)


def store_metrics(pending: int, dropped: int, last_error: float | None) -> Iterator[Any]:
    """The write-behind queue of the store: rows waiting, rows dropped because the queue was
    full (lost history), and when a write last failed (absent while none has)."""
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    yield GaugeMetricFamily("ngk_store_pending_rows", "Rows queued for the next store write",
                            value=pending)
    yield CounterMetricFamily("ngk_store_dropped_rows", "Rows dropped from a full write queue",
                              value=dropped)
    if last_error is not None:
        yield GaugeMetricFamily("ngk_store_last_error_timestamp_seconds",
                                "When a store write last failed", value=last_error)


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


def serve_metrics(snapshot: Callable[[], Snapshot], port: int, addr: str = "127.0.0.1") -> Any:
    """Expose /metrics of `snapshot()` on addr:port (own registry); returns the HTTP server."""
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry()
    registry.register(MetricsCollector(snapshot))
    server, _ = start_http_server(port, addr=addr, registry=registry)
    return server
