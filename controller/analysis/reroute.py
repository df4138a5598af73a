"""How the network reroutes around a failure, and the IGP change (if any) the controller would push.

With OSPF the network reroutes by itself, so the usual answer is "none". For every datacentre
pair whose best path the failure hits: the path before and after. When the IGP's new path breaks a
service's latency budget while another surviving path meets it, metric changes that make the IGP
pick that path are proposed, then verified by recomputing the IGP's choice (docs/failures.md).
"""
from __future__ import annotations

from itertools import combinations
from typing import Any

import networkx as nx

from controller.analysis.failures import FailureAnalysis
from controller.analysis.paths import best_path
from controller.model.layers import outage, resolve_element, site_graph
from controller.model.topology import Topology

MAX_METRIC = 65535


def budget(topo: Topology, a: str, b: str) -> float | None:
    """The tightest latency budget of the services both datacentres serve."""
    budgets = [s.latency_budget_ms for s in topo.services.values()
               if a in s.datacentres and b in s.datacentres and s.latency_budget_ms is not None]
    return min(budgets) if budgets else None


def reroute(topo: Topology, refs: list[str], metric: str = "igp") -> dict[str, Any]:
    """The JSON dict for `ngk reroute` of failures given as 'kind:id' or bare ids."""
    elements = [resolve_element(topo, r) for r in refs]
    down = outage(topo, elements)
    before_g, after_g = site_graph(topo), site_graph(topo, down)
    scenario = FailureAnalysis(topo).evaluate(tuple(elements))
    pairs, changes, notes = [], [], []
    dcs = sorted(d for d in topo.datacentres() if d in before_g)
    for a, b in combinations(dcs, 2):
        before = best_path(topo, before_g, a, b, metric)
        if before is None:
            continue
        if a in down.sites or b in down.sites:
            notes.append(f"datacentre {a if a in down.sites else b} is down: {a}-{b} not served")
            continue
        if down.links.isdisjoint(before["links"]):
            continue
        after = best_path(topo, after_g, a, b, metric)
        limit = budget(topo, a, b)
        ok = None if limit is None else after is not None and after["latency_ms"] <= limit
        pairs.append({"src": a, "dst": b, "before": before, "after": after,
                      "latency_increase_ms": None if after is None else
                      round(after["latency_ms"] - before["latency_ms"], 6),
                      "within_budget": ok})
        if after is None:
            notes.append(f"{a}-{b} unreachable: no surviving path")
        elif ok is False:
            fix = steer(topo, after_g, a, b, limit)  # type: ignore[arg-type]
            changes.extend(fix)
            notes.append(f"{a}-{b} at {after['latency_ms']} ms breaks its {limit} ms budget" +
                         ("; metric change proposed (verified)" if fix else
                          "; no surviving path meets it"))
    if any(p["after"] is None for p in pairs):
        action = "unreachable"
    elif changes:
        action = "metric-change"
    else:
        action = "none" if all(p["within_budget"] is not False for p in pairs) else "no-fix"
    return {"failed": [e.as_dict() for e in elements], "links_down": sorted(down.links),
            "pairs": pairs, "disconnected_pairs": scenario["disconnected_pairs"],
            "members_without_datacentre": scenario["members_without_datacentre"],
            "igp_changes": changes,
            "summary": {"affected_pairs": len(pairs),
                        "datacentre_pairs_disconnected": scenario["datacentre_pairs_disconnected"],
                        "over_budget": sum(1 for p in pairs if p["within_budget"] is False),
                        "igp_action": action, "notes": notes}}


def steer(topo: Topology, graph: nx.MultiGraph, a: str, b: str, limit: float) -> list[dict]:
    """Metric changes making the IGP pick the lowest-latency path a-b when it meets `limit`;
    [] when none meets it or the changes cannot be verified."""
    target = best_path(topo, graph, a, b, "latency")
    if target is None or target["latency_ms"] > limit:
        return []
    g = graph.copy()
    want = set(target["links"])
    metric = {k: d["metric"] for _, _, k, d in g.edges(keys=True, data=True)}
    for _ in range(g.number_of_edges()):
        igp = best_path(topo, g, a, b, "igp")
        if igp is None or igp["links"] == target["links"]:
            break
        cost_t = sum(metric[k] for k in target["links"])
        extra = cost_t - igp["cost"] + 1
        link = next(k for k in igp["links"] if k not in want)
        metric[link] = min(MAX_METRIC, int(metric[link] + extra))
        for u, v, k, d in g.edges(keys=True, data=True):
            if k == link:
                d["metric"] = metric[link]
    igp = best_path(topo, g, a, b, "igp")
    if igp is None or igp["links"] != target["links"] or not unique_best(topo, g, a, b, igp):
        return []
    out = []
    for link_id, new in sorted(metric.items()):
        link = topo.links[link_id]
        if new != link.metric:
            for end in (link.a, link.b):
                out.append({"router": end.router, "interface": end.interface, "link": link_id,
                            "old_metric": link.metric, "new_metric": new})
    return out


def unique_best(topo: Topology, g: nx.MultiGraph, a: str, b: str, igp: dict) -> bool:
    """No other path ties with the IGP's choice (so no ECMP split onto a slow path)."""
    for link in igp["links"]:
        h = g.copy()
        h.remove_edges_from([(u, v, k) for u, v, k in g.edges(keys=True) if k == link])
        other = best_path(topo, h, a, b, "igp")
        if other is not None and other["cost"] <= igp["cost"]:
            return False
    return True
