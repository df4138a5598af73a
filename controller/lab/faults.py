"""Failure injection: cut spans/links (loss of light or silent drop), fail routers/sites, restore.

Active failures live in state.json. After every change the wanted kernel state is computed from
all active failures together (so overlapping failures restore correctly) and only the difference
is applied:
- light: both veth ends administratively down (carrier lost at once);
- silent: carrier stays up, an nftables netdev ingress `drop` chain on both ends, in a table named
  per lab inside each router netns;
- router/site failure: routing daemons killed and every link of the failed routers down (light).
"""
from __future__ import annotations

from typing import Any

from controller.analysis.reroute import dc_router_pairs
from controller.analysis.router_paths import RouterGraph
from controller.lab import daemons, quoting
from controller.lab.interrupt import owned_by
from controller.lab.state import CUT_TABLE, DEFAULT_LAB, LabError, LabState, locked, require
from controller.lab.system import ip_batch, parallel, run
from controller.model.layers import Element, Outage, outage, resolve_element
from controller.model.load import load_topology
from controller.model.topology import Topology

MODES = ("light", "silent")
CUTTABLE = ("span", "link", "srlg")
FAILABLE = ("router", "site")


def active_outage(topo: Topology, state: LabState) -> Outage:
    return outage(topo, [_element(f["element"]) for f in state.failures])


def lab_cut(ref: str, mode: str = "light", name: str = DEFAULT_LAB) -> dict[str, Any]:
    """Cut a span, SRLG or link (every IP link riding it goes down)."""
    if mode not in MODES:
        raise LabError(f"mode must be one of {', '.join(MODES)}, got {mode!r}", 2)
    return _inject(ref, CUTTABLE, "cut", mode, name)


def lab_fail(ref: str, name: str = DEFAULT_LAB) -> dict[str, Any]:
    """Fail a router or a whole site: routing daemons killed, all its links down."""
    return _inject(ref, FAILABLE, "fail", "light", name)


def lab_restore(refs: list[str] | None = None, name: str = DEFAULT_LAB) -> dict[str, Any]:
    """Undo the named failures (all of them when `refs` is empty)."""
    with locked(name):
        state = require(name)
        topo = load_topology(state.topology)
        if refs:
            wanted = {str(resolve_element(topo, r)) for r in refs}
            active = {f["element"] for f in state.failures}
            missing = sorted(wanted - active)
            if missing:
                raise LabError(f"not failed: {', '.join(missing)} (active: "
                               f"{', '.join(sorted(active)) or 'none'})", 2)
        else:
            wanted = {f["element"] for f in state.failures}
        state.failures = [f for f in state.failures if f["element"] not in wanted]
        apply(topo, state)
        return {"lab": name, "restored": sorted(wanted),
                "failures": [f["element"] for f in state.failures]}


def _inject(ref: str, kinds: tuple[str, ...], action: str, mode: str, name: str) -> dict[str, Any]:
    with locked(name):
        state = require(name)
        topo = load_topology(state.topology)
        element = resolve_element(topo, ref)
        if element.kind not in kinds:
            raise LabError(f"{element} is a {element.kind}: `lab {action}` takes "
                           f"{' or '.join(kinds)}", 2)
        state.failures = [f for f in state.failures if f["element"] != str(element)]
        before = active_outage(topo, state)
        state.failures.append({"element": str(element), "action": action, "mode": mode})
        down = outage(topo, [element])
        apply(topo, state)
        return {"lab": name, "element": str(element), "mode": mode,
                "links": sorted(down.links), "routers": sorted(down.routers),
                "paths": dc_paths(topo, before, active_outage(topo, state))}


def dc_paths(topo: Topology, before: Outage, after: Outage) -> list[dict[str, Any]]:
    """Pairs of datacentre routers whose shortest router paths (as `ngk reroute`: router level,
    ECMP) the change moves: {"src", "dst", "src_router", "dst_router", "before", "after", "down"}
    with path dicts (the first ECMP path); "after" is None when cut off, "down" names the
    datacentre whose router failed (else None)."""
    old_g, new_g = RouterGraph(topo, before), RouterGraph(topo, after)
    out = []
    for a, b, ra, rb in dc_router_pairs(topo):
        old = old_g.paths(ra, rb) if not {ra, rb} & before.routers else []
        if not old:
            continue
        dead = [site for site, r in ((a, ra), (b, rb)) if r in after.routers]
        new = [] if dead else new_g.paths(ra, rb)
        if new != old:
            out.append({"src": a, "dst": b, "src_router": ra, "dst_router": rb,
                        "before": old_g.path_dict(old[0]),
                        "after": new_g.path_dict(new[0]) if new else None,
                        "down": dead[0] if dead else None})
    return out


def _element(text: str) -> Element:
    kind, ident = text.split(":", 1)
    return Element(kind, ident)


def wanted(topo: Topology, state: LabState) -> tuple[set[str], set[str], set[str]]:
    """Links down by light, links dropping silently, routers with routing killed."""
    light: set[str] = set()
    silent: set[str] = set()
    killed: set[str] = set()
    for f in state.failures:
        down = outage(topo, [_element(f["element"])])
        (silent if f["mode"] == "silent" else light).update(down.links)
        if f["action"] == "fail":
            killed |= down.routers
    return light, silent - light, killed


def apply(topo: Topology, state: LabState) -> None:
    """Make the kernel and the daemons match the active failures; persist the result."""
    light, silent, killed = wanted(topo, state)
    was_light, was_silent = set(state.applied["light"]), set(state.applied["silent"])
    for router in sorted(killed):
        rs = state.routers[router]
        if not rs.routing_killed:
            daemons.stop_frr(rs)
            rs.routing_killed = True
            state.save()
    per_ns: dict[str, list[str]] = {}
    for links, verb in ((light - was_light, "down"), (was_light - light, "up")):
        for link_id in sorted(links):
            for end in _ends(topo, state, link_id):
                per_ns.setdefault(end[0], []).append(f"link set {end[1]} {verb}")
    # all namespaces at once: a fibre cut takes every wavelength on it down together
    parallel(lambda item: ip_batch(item[1], netns=item[0]), list(per_ns.items()))
    touched = {ns for lid in silent ^ was_silent for ns, _ in _ends(topo, state, lid)}
    for netns in sorted(touched):
        _silent_table(state, netns, sorted(i for lid in silent for ns, i in _ends(topo, state, lid)
                                           if ns == netns))
    state.applied = {"light": sorted(light), "silent": sorted(silent)}
    state.save()
    for router, rs in state.routers.items():
        if rs.routing_killed and router not in killed:
            with owned_by(state.lab):
                daemons.start_frr(rs, rs.pids.__setitem__)
            rs.routing_killed = False
            state.save()


def _ends(topo: Topology, state: LabState, link_id: str) -> list[tuple[str, str]]:
    link = topo.links[link_id]
    return [(state.routers[e.router].netns, e.interface) for e in (link.a, link.b)]


def _silent_table(state: LabState, netns: str, interfaces: list[str]) -> None:
    """(Re)write the netns's drop table: one ingress chain per silently cut interface."""
    table = CUT_TABLE.format(lab=state.lab.replace("-", "_"))
    script = f"table netdev {table}\ndelete table netdev {table}\n"
    if interfaces:
        names = [quoting.word("interface", i, quoting.IFNAME) for i in interfaces]
        chains = "".join(f'  chain drop_{i.replace("-", "_").replace(".", "_")} {{\n'
                         f'    type filter hook ingress device "{i}" priority -500; '
                         "policy drop;\n  }\n" for i in names)
        script += f"table netdev {table} {{\n{chains}}}\n"
        if not any(r.get("kind") == "nft" and r.get("netns") == netns and r.get("name") == table
                   for r in state.resources):
            state.record("nft", netns=netns, family="netdev", name=table)
    run(["ip", "netns", "exec", netns, "nft", "-f", "-"], input=script)
