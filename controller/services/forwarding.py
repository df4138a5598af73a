"""Forwarding paths between router loopbacks: observed (a FIB walk through the lab's routers)
and predicted (IGP shortest paths on the model with a failure applied), in the same form.

A path is a list of router ids; with ECMP a flow has several, so both sides are *sets* of paths
(sorted lists). `model_path` maps router hops onto the model: the sites crossed and the inter-site
IP links used (what the site-level path engine `best_path` answers).
"""
from __future__ import annotations

from typing import Any

from controller.analysis.paths import best_path
from controller.analysis.router_paths import router_paths
from controller.lab.state import LabState
from controller.lab.status import vtysh_json
from controller.lab.system import parallel
from controller.model.layers import Outage, site_graph
from controller.model.topology import Topology

MAX_HOPS = 64
Fib = dict[str, dict[str, list[str]]]  # router -> prefix -> outgoing interfaces (FIB, ECMP)


def parse_fib(routes: dict[str, Any]) -> dict[str, list[str]]:
    """Prefix -> outgoing interfaces of the selected, installed route (`show ip route json`)."""
    out: dict[str, list[str]] = {}
    for prefix, entries in routes.items():
        for entry in entries if isinstance(entries, list) else ():
            if entry.get("selected") and entry.get("installed"):
                out[prefix] = sorted({nh["interfaceName"] for nh in entry.get("nexthops", [])
                                      if nh.get("fib") and nh.get("interfaceName")})
    return out


def lab_fib(state: LabState, routers: list[str]) -> Fib:
    """Every router's FIB, read through its vtysh (a router whose FRR is down has none)."""
    def one(router: str) -> dict[str, list[str]]:
        return parse_fib(vtysh_json(state.routers[router].netns, "show ip route json")[0])

    return dict(zip(routers, parallel(one, routers, workers=4)))


def walk(topo: Topology, fib: Fib, src: str, dst: str) -> dict[str, Any]:
    """Follow the FIBs hop by hop from router `src` to the loopback of router `dst`.

    Returns {"paths": complete router paths (sorted), "broken": descriptions of branches that
    end without reaching dst (no route, unknown interface, loop)}."""
    prefix = f"{topo.routers[dst].loopback.ip}/32"
    peers = {k: (link.id, far.router) for k, (link, far) in topo.link_ends.items()}
    paths: list[list[str]] = []
    broken: list[str] = []
    stack = [[src]]
    while stack:
        path = stack.pop()
        here = path[-1]
        if here == dst:
            paths.append(path)
            continue
        if len(path) > MAX_HOPS:
            broken.append(f"{' > '.join(path)}: too many hops")
            continue
        out = fib.get(here, {}).get(prefix)
        if not out:
            broken.append(f"{' > '.join(path)}: no route to {prefix}")
            continue
        for interface in out:
            if (here, interface) not in peers:
                broken.append(f"{' > '.join(path)}: via {interface}, not a link of the model")
                continue
            nxt = peers[(here, interface)][1]
            if nxt in path:
                broken.append(f"{' > '.join(path + [nxt])}: forwarding loop")
                continue
            stack.append(path + [nxt])
    return {"paths": sorted(map(list, {tuple(p) for p in paths})), "broken": sorted(set(broken))}


def predicted(topo: Topology, down: Outage, src: str, dst: str) -> list[list[str]]:
    """Every IGP shortest path (ECMP) from router src to router dst on the model's IP layer with
    `down` applied; [] when either router is down or they are not connected."""
    return router_paths(topo, down, src, dst)


def links_between(topo: Topology, routers: list[str]) -> list[list[str]]:
    """Per hop of a router path, the cheapest links joining the two routers (several: ECMP)."""
    hops = []
    for a, b in zip(routers, routers[1:]):
        found = [lk for lk in topo.links.values() if {lk.a.router, lk.b.router} == {a, b}]
        low = min((lk.metric for lk in found), default=0)
        hops.append(sorted(lk.id for lk in found if lk.metric == low))
    return hops


def model_path(topo: Topology, routers: list[str]) -> dict[str, Any]:
    """A router path mapped onto the model: routers, the sites crossed, and per hop the link
    carrying it (equal-cost parallel links joined with "|")."""
    sites: list[str] = []
    for r in routers:
        site = topo.routers[r].site
        if not sites or sites[-1] != site:
            sites.append(site)
    return {"routers": list(routers), "sites": sites,
            "links": ["|".join(hop) for hop in links_between(topo, routers)]}


def uses(topo: Topology, paths: list[list[str]], down: Outage) -> bool:
    """Whether any of the router paths crosses a failed router or a failed link."""
    return any(down.routers & set(path)
               or any(set(hop) & down.links for hop in links_between(topo, path))
               for path in paths)


def engine_path(topo: Topology, down: Outage, src: str, dst: str) -> dict[str, Any] | None:
    """The site-level path engine's answer (`best_path`, IGP metric) for the flow's two sites;
    None when either router or site is down or they are not connected."""
    if src in down.routers or dst in down.routers:
        return None
    a, b = topo.routers[src].site, topo.routers[dst].site
    if a == b:
        return {"sites": [a], "links": []}
    graph = site_graph(topo, down)
    if a not in graph or b not in graph:
        return None
    found = best_path(topo, graph, a, b, metric="igp")
    return {"sites": found["sites"], "links": found["links"]} if found else None
