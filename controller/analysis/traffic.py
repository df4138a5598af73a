"""A router-to-router traffic matrix from measured link loads: tomogravity (docs/traffic.md).

The routing matrix R (arc x router pair: the ECMP fraction of the pair's traffic on the arc) is
the capacity engine's intact routing, so the estimate and `ngk capacity` route alike. The prior
is a gravity model (`gravity_prior`) on what enters and leaves the network at each router: its
edge interfaces' rates where they are measured, else its net traffic on the links. The
estimate is the non-negative matrix closest to that prior (chi-square distance, sum of
(x - g)^2 / g) among those that best reproduce the measured loads: one bounded least-squares
problem, the loads weighted `DATA_WEIGHT` times the prior, solved exactly by
`scipy.optimize.lsq_linear` (bounded-variable least squares).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from controller.analysis.capacity import CapacityModel
from controller.errors import InputError
from controller.model.demands import Demand, Demands, endpoint
from controller.model.topology import Topology

DATA_WEIGHT = 1e5  # the loads' weight against the prior's (scaled units): the fit wins
PRIOR_FLOOR = 1e-3  # smallest prior per pair, of the largest load: a zero prior still moves
KEEP_GBPS = 1e-6  # demands below 1 kbit/s are noise (BFD, OSPF hellos), left out of the file


@dataclass(frozen=True)
class Routing:
    """Router pairs, arcs (link id, from, to) and R: arcs x pairs ECMP fractions (intact)."""

    pairs: list[tuple[str, str]]
    arcs: list[tuple[str, str, str]]
    R: np.ndarray


def routing(topo: Topology) -> Routing:
    """The intact network's routing of one unit between every ordered pair of routers, as the
    capacity engine routes it (OSPF costs, ECMP at every hop, CE routers stub); pairs it cannot
    route are left out."""
    routers = sorted(topo.routers)
    pairs = [(s, d) for s in routers for d in routers if s != d]
    ends = {r: endpoint(topo, f"router:{r}") for r in routers}
    model = CapacityModel(topo, Demands(tuple(
        Demand(ends[s], ends[d], 1.0, "best-effort") for s, d in pairs)))
    net = model.net
    R = np.zeros((net.A, len(pairs)))
    for k, route in enumerate(model.demand_route):
        flow = model.flows[route]
        R[flow.arcs, k] = flow.fracs
    keep = [k for k, route in enumerate(model.demand_route) if model.flows[route].routed]
    arcs = []
    for lid in net.links:  # arc 2i runs a -> b on link i, arc 2i + 1 b -> a (capacity.Network)
        a, b = topo.links[lid].a.router, topo.links[lid].b.router
        arcs += [(lid, a, b), (lid, b, a)]
    return Routing([pairs[k] for k in keep], arcs, R[:, keep])


def gravity_prior(rt: Routing, loads: np.ndarray, measured: np.ndarray,
                  edge: dict[str, tuple[float, float]] | None = None) -> np.ndarray:
    """g per pair: g[s, d] = sent[s] * received[d] / (total received - received[s]), so s's row
    adds up to what it sends (no traffic to itself). A router sends what enters
    the network at it (its edge interfaces' in rate, `edge`: router -> (in, out) Gbps) and
    receives what leaves there; the rest of its net traffic on the measured arcs (out - in, less
    the edge's in - out: traffic the router itself sends or receives) adds to sent if positive,
    to received if negative. Without `edge`: sent = max(0, out - in), received = max(0, in -
    out)."""
    routers = sorted({r for pair in rt.pairs for r in pair})
    index = {r: i for i, r in enumerate(routers)}
    net = np.zeros(len(routers))
    for (_, a, b), load, ok in zip(rt.arcs, loads, measured):
        if ok:
            net[index[a]] += load
            net[index[b]] -= load
    into = np.array([(edge or {}).get(r, (0.0, 0.0))[0] for r in routers])
    out_of = np.array([(edge or {}).get(r, (0.0, 0.0))[1] for r in routers])
    local = net - (into - out_of)
    sent, received = into + np.maximum(local, 0.0), out_of + np.maximum(-local, 0.0)
    total = received.sum()
    return np.array([sent[index[s]] * received[index[d]] / (total - received[index[s]])
                     if total > received[index[s]] else 0.0 for s, d in rt.pairs])


def tomogravity(R: np.ndarray, y: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """argmin over x >= 0 of DATA_WEIGHT^2 |R x - y|^2 + sum (x - g)^2 / max(g, floor), in units
    of the largest load: reproduces y exactly (to solver precision) whenever some x >= 0 does,
    and picks the solution nearest the prior among those."""
    from scipy.optimize import lsq_linear

    scale = float(max(y.max(initial=0.0), prior.max(initial=0.0)))
    if scale <= 0.0:
        return np.zeros(R.shape[1])
    g = prior / scale
    w = 1.0 / np.sqrt(np.maximum(g, PRIOR_FLOOR))
    A = np.vstack([DATA_WEIGHT * R, np.diag(w)])
    b = np.concatenate([DATA_WEIGHT * y / scale, w * g])
    res = lsq_linear(A, b, bounds=(0.0, np.inf), method="bvls", tol=1e-12)
    return np.maximum(res.x, 0.0) * scale


def estimate(topo: Topology, loads: dict[tuple[str, str, str], float],
             edge: dict[str, tuple[float, float]] | None = None) -> dict[str, Any]:
    """The traffic matrix from measured Gbps per arc ((link, from router, to router) -> Gbps;
    arcs left out are unmeasured) and, if known, per router the Gbps entering and leaving the
    network at its edge interfaces: the JSON dict of `ngk traffic estimate` (docs/traffic.md)."""
    rt = routing(topo)
    unknown = sorted(set(loads) - set(rt.arcs))
    if unknown:
        raise InputError(f"measured loads on arcs the topology does not have: {unknown[:3]}")
    if not loads:
        raise InputError("no measured link load: nothing to estimate from")
    measured = np.array([arc in loads for arc in rt.arcs])
    y = np.array([loads.get(arc, 0.0) for arc in rt.arcs])
    prior = gravity_prior(rt, y, measured, edge)
    x = tomogravity(rt.R[measured], y[measured], prior)
    fitted = rt.R @ x
    res = fitted[measured] - y[measured]
    links = [{"link": lid, "from": a, "to": b,
              "measured_gbps": _r(y[i]) if measured[i] else None, "fitted_gbps": _r(fitted[i]),
              "residual_gbps": _r(fitted[i] - y[i]) if measured[i] else None}
             for i, (lid, a, b) in enumerate(rt.arcs)]
    demands = [{"src": s, "dst": d, "gbps": _r(x[k]), "prior_gbps": _r(prior[k])}
               for k, (s, d) in enumerate(rt.pairs) if x[k] >= KEEP_GBPS]
    total = float(np.abs(y[measured]).sum())
    return {
        "demands": sorted(demands, key=lambda e: (-e["gbps"], e["src"], e["dst"])),
        "links": links,
        "summary": {
            "routers": len({r for p in rt.pairs for r in p}), "pairs": len(rt.pairs),
            "arcs": len(rt.arcs), "measured_arcs": int(measured.sum()),
            "unmeasured_arcs": [f"{lid}:{a}>{b}" for (lid, a, b), ok in zip(rt.arcs, measured)
                                if not ok],
            "total_gbps": _r(x.sum()), "kept_gbps": _r(x[x >= KEEP_GBPS].sum()),
            "prior_total_gbps": _r(prior.sum()),
            "prior": "edge" if edge else "net",
            "residual_max_gbps": _r(np.abs(res).max(initial=0.0)),
            "residual_rms_gbps": _r(np.sqrt(np.mean(res ** 2)) if len(res) else 0.0),
            "residual_relative": _r(np.abs(res).sum() / total if total else 0.0),
        },
    }


def demands_yaml(result: dict[str, Any], cls: str, source: str) -> str:
    """The estimate as a demands file (controller/model/demands.py's format)."""
    lines = [f"# Estimated by ngk traffic estimate from {source} (docs/traffic.md).",
             f"# Class {cls}: link counters carry no class.", "demands:"]
    lines += [f"  - {{src: 'router:{d['src']}', dst: 'router:{d['dst']}', "
              f"gbps: {d['gbps']:.9f}, class: {cls}}}" for d in result["demands"]]
    if not result["demands"]:
        lines[-1] = "demands: []"
    return "\n".join(lines) + "\n"


def _r(x: float) -> float:
    return round(float(x), 9) + 0.0
