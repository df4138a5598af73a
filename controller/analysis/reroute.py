"""How the network reroutes around a failure, and the IGP change (if any) the controller would push.

With OSPF the network reroutes by itself, so the usual answer is "none". For every pair of
datacentre routers whose shortest router path the failure hits: the path before and after, at
router level (`router_paths`: intra-site link costs count, as in OSPF and in drills). When the
IGP's new path breaks a service's latency budget while another surviving path meets it, metric
changes that make the IGP pick that path are proposed, then verified by recomputing the IGP's
choice (docs/failures.md).
"""
from __future__ import annotations

from itertools import combinations
from typing import Any

from controller.analysis.failures import FailureAnalysis
from controller.analysis.router_paths import RouterGraph
from controller.model.layers import Outage, outage, resolve_element
from controller.model.topology import Topology

MAX_METRIC = 65535


def budget(topo: Topology, a: str, b: str) -> float | None:
    """The tightest latency budget of the services both datacentres serve."""
    budgets = [s.latency_budget_ms for s in topo.services.values()
               if a in s.datacentres and b in s.datacentres and s.latency_budget_ms is not None]
    return min(budgets) if budgets else None


def dc_router_pairs(topo: Topology) -> list[tuple[str, str, str, str]]:
    """(site a, site b, router of a, router of b) for every pair of datacentre routers in
    different datacentres: the flows drills probe between datacentres."""
    dcs = sorted(topo.datacentres())
    out = []
    for a, b in combinations(dcs, 2):
        for ra in sorted(r.id for r in topo.routers_at(a)):
            for rb in sorted(r.id for r in topo.routers_at(b)):
                out.append((a, b, ra, rb))
    return out


def reroute(topo: Topology, refs: list[str], metric: str = "igp") -> dict[str, Any]:
    """The JSON dict for `ngk reroute` of failures given as 'kind:id' or bare ids: per pair of
    datacentre routers whose shortest router path (ECMP: any of them) the failure hits, the
    path before and after, at router level (intra-site links count, as in OSPF and drills)."""
    elements = [resolve_element(topo, r) for r in refs]
    down = outage(topo, elements)
    before_g, after_g = RouterGraph(topo, None, metric), RouterGraph(topo, down, metric)
    scenario = FailureAnalysis(topo).evaluate(tuple(elements))
    pairs: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    notes: list[str] = []
    for a, b, ra, rb in dc_router_pairs(topo):
        before = before_g.paths(ra, rb)
        if not before:
            continue
        if ra in down.routers or rb in down.routers:
            gone = ra if ra in down.routers else rb
            notes.append(f"router {gone} is down: {ra}-{rb} not served")
            continue
        if not any(before_g.crosses(p, down) for p in before):
            continue
        after = after_g.paths(ra, rb)
        first = after_g.path_dict(after[0]) if after else None
        limit = budget(topo, a, b)
        ok = None if limit is None else first is not None and first["latency_ms"] <= limit
        was = before_g.path_dict(before[0])
        pairs.append({"src": a, "dst": b, "src_router": ra, "dst_router": rb,
                      "before": was, "after": first, "ecmp_before": len(before),
                      "ecmp_after": len(after),
                      "latency_increase_ms": None if first is None else
                      round(first["latency_ms"] - was["latency_ms"], 6),
                      "within_budget": ok})
        if first is None:
            notes.append(f"{ra}-{rb} unreachable: no surviving path")
        elif ok is False:
            fix = steer(topo, down, ra, rb, limit)  # type: ignore[arg-type]
            changes.extend(c for c in fix if c not in changes)
            notes.append(f"{ra}-{rb} at {first['latency_ms']} ms breaks its {limit} ms budget" +
                         ("; metric change proposed (verified)" if fix else
                          "; no surviving path meets it"))
    if any(p["after"] is None for p in pairs):
        action = "unreachable"
    elif changes:
        action = "metric-change"
    else:
        action = "none" if all(p["within_budget"] is not False for p in pairs) else "no-fix"
    return {"failed": [e.as_dict() for e in elements], "links_down": sorted(down.links),
            "metric": metric, "pairs": pairs, "disconnected_pairs": scenario["disconnected_pairs"],
            "failed_site_pairs": scenario["failed_site_pairs"],
            "members_without_datacentre": scenario["members_without_datacentre"],
            "igp_changes": changes,
            "summary": {"affected_pairs": len(pairs),
                        "datacentre_pairs_disconnected": scenario["datacentre_pairs_disconnected"],
                        "over_budget": sum(1 for p in pairs if p["within_budget"] is False),
                        "igp_action": action, "notes": notes}}


def steer(topo: Topology, down: Outage, src: str, dst: str, limit: float) -> list[dict]:
    """Metric changes making the IGP pick the lowest-latency router path src-dst, alone (no
    equal-cost alternative), when it meets `limit`; [] when none meets it or the changes cannot
    be verified."""
    fastest = RouterGraph(topo, down, "latency")
    found = fastest.paths(src, dst)
    if not found or fastest.path_dict(found[0])["latency_ms"] > limit:
        return []
    target = found[0]
    keep = set(zip(target, target[1:]))
    metric = {k: link.metric for k, link in topo.links.items()}
    for _ in range(len(metric)):
        g = RouterGraph(topo, down, "igp", metric)
        igp = g.paths(src, dst)
        if igp == [target]:
            break
        other = next(p for p in igp if p != target)
        hop = next(((a, b) for a, b in zip(other, other[1:]) if (a, b) not in keep), None)
        if hop is None:
            return []
        raised = int(metric[g.hop[hop][1][0]] + g.cost(target) - g.cost(other) + 1)
        for k in _between(topo, *hop):
            metric[k] = min(MAX_METRIC, max(metric[k], raised))
    if RouterGraph(topo, down, "igp", metric).paths(src, dst) != [target]:
        return []
    out = []
    for link_id, new in sorted(metric.items()):
        link = topo.links[link_id]
        if new != link.metric:
            for end in (link.a, link.b):
                out.append({"router": end.router, "interface": end.interface, "link": link_id,
                            "old_metric": link.metric, "new_metric": new})
    return out


def _between(topo: Topology, a: str, b: str) -> list[str]:
    return [k for k, lk in topo.links.items() if {lk.a.router, lk.b.router} == {a, b}]
