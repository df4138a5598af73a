"""Measured link loads from the monitor's history, and the traffic matrix they imply
(docs/traffic.md).

The monitor stores, with every interface sample, the rate since that interface's previous sample
(wrap- and reboot-safe, from ifHCInOctets/ifHCOutOctets; None when unknown). The load of an arc
(a link in one direction) over a window is the time-weighted mean of those rates: each rate counts
for the time since the previous sample, and only rates whose whole interval lies in the window.
Both ends see an arc (out at its tail, in at its head); where both are measured the mean is used.
Edge interfaces (a pattern on ifName; a link's ends never are) give what enters and leaves the
network at each router, the gravity prior's volumes.
"""
from __future__ import annotations

import re
from typing import Any

from controller.errors import InputError
from controller.model.topology import Topology
from controller.services.monitor.history import SCHEMA
from controller.store import Store

Arc = tuple[str, str, str]  # link id, from router, to router


def interface_rates(store: Store, since: float, until: float) -> dict[tuple[str, str], tuple]:
    """(router, ifName) -> (mean in bps, mean out bps, seconds covered) over the window."""
    if not store.exists():
        raise InputError(f"no monitor store at {store.name}: run `ngk monitor` first")
    store.register("monitor", SCHEMA)
    rows = store.query("SELECT router, name, ts, in_bps, out_bps FROM if_samples WHERE ts >= ? "
                       "AND ts <= ? ORDER BY router, name, ts", (since, until))
    acc: dict[tuple[str, str], list[float]] = {}  # in bits, in s, out bits, out s
    last: dict[tuple[str, str], float] = {}
    for router, name, ts, in_bps, out_bps in rows:
        key = (router, name)
        if key in last:
            dt = ts - last[key]
            a = acc.setdefault(key, [0.0, 0.0, 0.0, 0.0])
            for i, bps in ((0, in_bps), (2, out_bps)):
                if bps is not None and dt > 0:
                    a[i] += bps * dt
                    a[i + 1] += dt
        last[key] = ts
    return {k: (a[0] / a[1] if a[1] else None, a[2] / a[3] if a[3] else None, max(a[1], a[3]))
            for k, a in acc.items() if a[1] or a[3]}


def arc_loads(topo: Topology, rates: dict[tuple[str, str], tuple]) -> dict[Arc, float]:
    """Gbps per measured arc: the mean of its tail's out rate and its head's in rate."""
    out: dict[Arc, float] = {}
    for lid in sorted(topo.links):
        link = topo.links[lid]
        for near, far in ((link.a, link.b), (link.b, link.a)):
            seen = [v for v in (rates.get((near.router, near.interface), (None,) * 3)[1],
                                rates.get((far.router, far.interface), (None,) * 3)[0])
                    if v is not None]
            if seen:
                out[(lid, near.router, far.router)] = sum(seen) / len(seen) / 1e9
    return out


def edge_volumes(topo: Topology, rates: dict[tuple[str, str], tuple],
                 pattern: str) -> dict[str, tuple[float, float]]:
    """Router -> (Gbps in, Gbps out) summed over its interfaces whose ifName matches `pattern`
    (fully) and that end no IP link of the topology."""
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise InputError(f"--edge {pattern!r} is no regular expression: {exc}") from None
    out: dict[str, tuple[float, float]] = {}
    for (router, name), (bps_in, bps_out, _) in sorted(rates.items()):
        if router in topo.routers and (router, name) not in topo.link_ends \
                and regex.fullmatch(name):
            was = out.get(router, (0.0, 0.0))
            out[router] = (was[0] + (bps_in or 0.0) / 1e9, was[1] + (bps_out or 0.0) / 1e9)
    if not out:
        raise InputError(f"--edge {pattern!r} matches no measured interface outside the links")
    return out


def estimate_from_store(store: Store, topo: Topology, since: float, until: float,
                        edge: str | None = None) -> dict[str, Any]:
    """`ngk traffic estimate`: the JSON dict (docs/traffic.md); `edge`: the edge interfaces'
    ifName pattern (None: the prior from the routers' net traffic)."""
    from controller.analysis.traffic import estimate

    rates = interface_rates(store, since, until)
    if not rates:
        raise InputError(f"no interface rates in {store.name} between {since:.0f} and "
                         f"{until:.0f}: the monitor must poll at least twice in the window")
    loads = arc_loads(topo, rates)
    if not loads:
        raise InputError(f"the interface rates in {store.name} name no link of topology "
                         f"{topo.name!r}: wrong --topology?")
    result = estimate(topo, loads, edge_volumes(topo, rates, edge) if edge else None)
    covered = [rates[k][2] for k in rates]
    result["window"] = {"since": since, "until": until, "interfaces": len(rates),
                        "seconds_min": round(min(covered), 3),
                        "seconds_max": round(max(covered), 3)}
    return result
