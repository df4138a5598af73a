"""`lab status` / `lab wait`: is every router up, its IGP converged, its management reachable?

Expected values come from the model with the lab's active failures applied: a router expects a
Full OSPF adjacency on each of its links that is up, and a route to the loopback of every router
it is still connected to in the IP graph.
"""
from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx

from controller.lab import creds as credentials
from controller.lab import qos
from controller.lab.faults import active_outage
from controller.lab.mgmt import ssh_command
from controller.lab.state import DEFAULT_LAB, LabError, LabState, require
from controller.lab.system import alive, parallel, run
from controller.lab.vty import vty_json
from controller.model.layers import ip_graph
from controller.model.load import load_topology
from controller.model.topology import Topology
from controller.southbound.snmp.inventory import load_inventory
from controller.southbound.snmp.poller import poll_once

SHOW = (("ospfd", "show ip ospf neighbor json"), ("bfdd", "show bfd peers json"),
        ("zebra", "show ip route ospf json"))


def vtysh_json(netns: str, *commands: str) -> list[Any]:
    """Run show commands through the vtysh binary; one parsed JSON value per command."""
    args = ["vtysh", "-N", netns]
    for cmd in commands:
        args += ["-c", cmd]
    text = run(args, check=False, timeout=10).stdout
    decoder, pos = json.JSONDecoder(), 0
    out: list[Any] = []
    while len(out) < len(commands):
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            out.append({})
            continue
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            value, pos = {}, text.find("\n", pos) + 1 or len(text)
        out.append(value)
    return out


def expectations(topo: Topology, state: LabState) -> dict[str, dict[str, Any]]:
    """Per live router: adjacencies expected and the loopbacks it should reach."""
    down = active_outage(topo, state)
    graph = ip_graph(topo)
    graph.remove_nodes_from(down.routers)
    graph.remove_edges_from([(lk.a.router, lk.b.router, lk.id) for lk in topo.links.values()
                             if lk.id in down.links and graph.has_edge(lk.a.router, lk.b.router,
                                                                       lk.id)])
    out = {}
    for router in graph:
        out[router] = {
            "neighbors": graph.degree(router),
            "loopbacks": {f"{topo.routers[r].loopback.ip}/32"
                          for r in nx.node_connected_component(graph, router) if r != router},
        }
    return out


def routing(topo: Topology, state: LabState) -> list[dict[str, Any]]:
    """Daemons, adjacencies, BFD and loopback reachability of every router (no SSH/SNMP),
    read from the daemons' vty sockets (controller.lab.vty)."""
    expect = expectations(topo, state)

    def one(router: str) -> dict[str, Any]:
        rs = state.routers[router]
        nbrs, bfd, routes = (vty_json(rs.netns, daemon, cmd) for daemon, cmd in SHOW)
        full = sum(1 for entries in nbrs.get("neighbors", {}).values() for n in entries
                   if str(n.get("nbrState", "")).startswith("Full"))
        bfd_up = sum(1 for p in bfd if p.get("status") == "up") if isinstance(bfd, list) else 0
        wanted = expect.get(router, {"neighbors": 0, "loopbacks": set()})
        reached = {p for p in wanted["loopbacks"]
                   if any(r.get("selected") and r.get("installed") for r in routes.get(p, []))}
        return {"router": router, "daemons": {d: alive(p) for d, p in rs.pids.items()},
                "ospf_neighbors": full, "ospf_expected": wanted["neighbors"], "bfd_up": bfd_up,
                "bfd_expected": wanted["neighbors"],  # every OSPF interface runs BFD
                "loopbacks_reached": len(reached), "loopbacks_expected": len(wanted["loopbacks"]),
                "failed": router not in expect}

    return parallel(one, topo.routers, workers=8)


def row_converged(r: dict[str, Any]) -> bool:
    """A failed router, or one whose daemons run and whose adjacencies, BFD sessions and routes
    are all there."""
    return r["failed"] or (all(r["daemons"].values())
                           and r["ospf_neighbors"] == r["ospf_expected"]
                           and r["bfd_up"] == r["bfd_expected"]
                           and r["loopbacks_reached"] == r["loopbacks_expected"])


def converged(rows: list[dict[str, Any]]) -> bool:
    return all(row_converged(r) for r in rows)


def lab_status(name: str = DEFAULT_LAB, *, management: bool = True) -> dict[str, Any]:
    """The status JSON: {"lab", "converged", "failures", "routers": [...]} (see docs/lab.md).

    The routing state, which interfaces carry the class-of-service policy and, with
    `management`, one SNMP poll of every router and one SSH login per router all run at once:
    the work waits on routers, not on this machine."""
    state = require(name)
    topo = load_topology(state.topology)
    jobs: list[Callable[[], Any]] = [lambda: routing(topo, state), lambda: policies(topo, state)]
    if management:
        creds = credentials.load(state.dir)
        targets, _ = load_inventory(Path(state.dir) / "inventory")

        def ssh_ok(router: str) -> bool:
            host = str(topo.routers[router].mgmt.ip)
            try:
                return "FRRouting" in ssh_command(creds, host, "vtysh -c 'show version'")
            except ConnectionError:
                return False

        def sys_names() -> dict[str, str | None]:
            return {p.router: p.sys_name for p in poll_once(targets, columns=())}

        jobs += [sys_names] + [functools.partial(ssh_ok, r) for r in topo.routers]
    rows, qos_by_router, *mgmt = parallel(lambda job: job(), jobs, workers=len(jobs))
    for row in rows:
        row["qos"] = qos_by_router[row["router"]]
    if management:
        names, *ssh = mgmt
        for row, ssh_up in zip(rows, ssh):
            row["ssh"] = ssh_up
            row["snmp"] = names.get(row["router"]) == row["router"]
    return _status(name, state, rows)


def policies(topo: Topology, state: LabState) -> dict[str, dict[str, bool]]:
    """Per router, per IP-link interface: does it carry the class-of-service policy?"""
    return {r: qos.present(state.routers[r].netns, sorted(devs))
            for r, devs in qos.link_rates(topo).items()}


def _status(name: str, state: LabState, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"lab": name, "converged": converged(rows),
            "failures": [f["element"] for f in state.failures], "routers": rows}


def lab_wait(name: str = DEFAULT_LAB, timeout: float = 60.0,
             interval: float = 0.5) -> dict[str, Any]:
    """Poll the routing state until converged; LabError (exit 1) on timeout."""
    deadline = time.monotonic() + timeout
    start = time.monotonic()
    while True:
        state = require(name)
        rows = routing(load_topology(state.topology), state)
        if converged(rows):
            return {"lab": name, "converged": True, "seconds": round(time.monotonic() - start, 2)}
        if time.monotonic() >= deadline:
            lagging = [r["router"] for r in rows if not row_converged(r)]
            raise LabError(f"lab {name!r} not converged after {timeout:g} s "
                           f"(lagging: {', '.join(lagging)})")
        time.sleep(interval)
