"""Post-change checks, expectations from the model: every IP link's OSPF adjacency and BFD session
up at each end we can see, every router loopback routed everywhere, every service's member sites
still connected to one of its datacentres, and the datacentre routers' loopbacks answering pings
from the changed routers.

`evaluate` is pure (observed state in, problems out); `verify` polls the routers until the checks
pass or a deadline expires.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
from nornir.core import Nornir
from nornir.core.task import Task

from controller.model.topology import IpLink, Topology
from controller.southbound.nornir_run import run_each

COMMANDS = ("show ip ospf neighbor json", "show bfd peers json", "show ip route json")


@dataclass(frozen=True)
class Problem:
    check: str  # ospf | bfd | loopback | service | ping | unreachable
    routers: tuple[str, ...]  # the routers it implicates
    detail: str


@dataclass
class Observed:
    """What one router reports (the JSON of COMMANDS)."""

    ospf: dict[str, Any]
    bfd: list[dict[str, Any]]
    routes: dict[str, Any]

    def adjacency(self, interface: str, router_id: str) -> bool:
        for nbr in self.ospf.get("neighbors", {}).get(router_id, []):
            state = nbr.get("nbrState") or nbr.get("state", "")
            if state.startswith("Full") and nbr.get("ifaceName", "").split(":")[0] == interface:
                return True
        return False

    def bfd_up(self, interface: str, peer: str) -> bool:
        return any(p.get("interface") == interface and p.get("peer") == peer
                   and p.get("status") == "up" for p in self.bfd)


@dataclass
class VerifyResult:
    ok: bool
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0
    unverified: list[str] = field(default_factory=list)  # routers we could not read


def _link_problems(topo: Topology, link: IpLink, seen: dict[str, Observed]) -> list[Problem]:
    out = []
    ends = (link.a, link.b)
    for near, far in (ends, ends[::-1]):
        state = seen.get(near.router)
        if state is None:
            continue
        rid = str(topo.routers[far.router].loopback.ip)
        where = f"{near.router} {near.interface} -> {far.router} (link {link.id})"
        if not state.adjacency(near.interface, rid):
            out.append(Problem("ospf", (link.a.router, link.b.router),
                               f"no Full adjacency {where}"))
        if not state.bfd_up(near.interface, str(far.address.ip)):
            out.append(Problem("bfd", (link.a.router, link.b.router), f"BFD not up {where}"))
    return out


def _adjacency_graph(topo: Topology, seen: dict[str, Observed]) -> nx.Graph:
    """Routers joined where every visible end of a link reports a Full adjacency."""
    g = nx.Graph()
    g.add_nodes_from(topo.routers)
    for link in topo.links.values():
        ends = (link.a, link.b)
        checks = [seen[n.router].adjacency(n.interface, str(topo.routers[f.router].loopback.ip))
                  for n, f in (ends, ends[::-1]) if n.router in seen]
        if checks and all(checks):
            g.add_edge(link.a.router, link.b.router)
    return g


def evaluate(topo: Topology, seen: dict[str, Observed]) -> list[Problem]:
    """Every problem visible in the observed state of the routers in `seen`."""
    problems = [p for link in topo.links.values() for p in _link_problems(topo, link, seen)]
    for name, state in sorted(seen.items()):
        for other in sorted(topo.routers.values(), key=lambda r: r.id):
            if other.id != name and str(other.loopback.network) not in state.routes:
                problems.append(Problem("loopback", (name, other.id),
                                        f"{name} has no route to {other.id} {other.loopback}"))
    graph = _adjacency_graph(topo, seen)
    for svc in topo.services.values():
        dcs = {r.id for dc in svc.datacentres for r in topo.routers_at(dc)}
        for member in svc.members:
            routers = {r.id for r in topo.routers_at(member)}
            if routers and dcs and not any(nx.has_path(graph, r, d) for r in routers for d in dcs):
                problems.append(Problem("service", tuple(sorted(routers)),
                                        f"service {svc.id}: {member} cannot reach any of "
                                        f"{', '.join(svc.datacentres)}"))
    return problems


def _observe(task: Task) -> Observed:
    out = task.host.get_connection("napalm", task.nornir.config).cli(list(COMMANDS), "json")
    return Observed(*(out[c] for c in COMMANDS))


def _ping_all(task: Task, targets: list[str]) -> list[str]:
    """Loopbacks that did not answer a ping from this router."""
    dev = task.host.get_connection("napalm", task.nornir.config)
    with ThreadPoolExecutor(max_workers=8) as pool:  # channels of one SSH session, in parallel
        answers = list(pool.map(lambda t: dev.ping(t, count=1, timeout=1), targets))
    return [t for t, answer in zip(targets, answers) if _lost(answer)]


def _lost(result: dict[str, Any]) -> bool:
    ok = result.get("success")
    return not ok or ok["packet_loss"] >= ok["probes_sent"]


def verify(topo: Topology, nr: Nornir, *, ping_from: Iterable[str] = (), timeout: float = 30,
           interval: float = 1.0, skip: Iterable[str] = ()) -> VerifyResult:
    """Poll the inventory routers of the topology (but `skip`) until `evaluate` finds nothing
    (then ping the datacentre loopbacks from `ping_from`), or until `timeout` seconds pass."""
    start = time.monotonic()
    names = [h for h in nr.inventory.hosts if h in topo.routers and h not in set(skip)]
    while True:
        seen, errors = run_each(nr, names, _observe)
        problems = evaluate(topo, seen)
        if not problems:  # data plane: changed routers ping every datacentre router's loopback
            dcs = {dc for svc in topo.services.values() for dc in svc.datacentres}
            targets = sorted(str(r.loopback.ip) for r in topo.routers.values() if r.site in dcs)
            lost, ping_errors = run_each(nr, set(ping_from) & set(seen), _ping_all,
                                         targets=targets)
            problems = [Problem("ping", (src,), f"{src}: no answer from {t}")
                        for src, ts in sorted(lost.items()) for t in ts]
            problems += [Problem("unreachable", (src,), err) for src, err in ping_errors.items()]
        if not problems or time.monotonic() - start >= timeout:
            return VerifyResult(not problems, problems, round(time.monotonic() - start, 2),
                                sorted(errors))
        time.sleep(interval)
