"""`lab up`: build a lab from a topology, all or nothing.

Stale state (dead daemons, a crashed build) is cleaned up first; a lab that is alive is refused.
Any failure while building tears down everything recorded so far before re-raising. Ctrl-C stops
the build at the next safe point (interrupt.checkpoint) and the teardown then runs whole, however
often Ctrl-C is pressed again; every process started carries the lab's mark (interrupt.owned_by).
"""
from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from controller.config.render import render_config
from controller.lab import creds as credentials
from controller.lab import daemons, network, qos, quoting
from controller.lab.down import teardown
from controller.lab.interrupt import checkpoint, deferred_interrupts, owned_by
from controller.lab.inventory import write_inventory
from controller.lab.state import (
    DEFAULT_LAB, LabError, LabState, RouterState, check_name, lab_dir, locked, netns_name)
from controller.lab.system import alive, netns_list, parallel, preflight
from controller.model.load import load_topology, topology_path
from controller.model.topology import Topology

Progress = Callable[[str], None]


def lab_up(topology: str | Path | None = None, name: str = DEFAULT_LAB, *, bare: bool = False,
           progress: Progress = lambda _: None) -> dict[str, Any]:
    """Bring lab `name` up; returns a summary (paths, counts, seconds). Raises LabError."""
    preflight()
    check_name(name)
    path = topology_path(topology)
    topo = load_topology(path)
    quoting.check_topology(topo)
    start = time.monotonic()
    with locked(name), deferred_interrupts(), owned_by(name):
        old = LabState.load(name)
        if old is not None:
            if is_alive(old):
                raise LabError(f"lab {name!r} is already up (state in {old.dir}); "
                               f"run `ngk lab down --name {name}` first", 2)
            progress("cleaning up a stale lab from an earlier run")
            teardown(old)
        elif lab_dir(name).exists():
            raise LabError(f"{lab_dir(name)} exists but holds no lab state (not made by `ngk lab "
                           "up`?): remove it or use another --name", 2)
        state = new_state(topo, name, bare)
        network.check_free(topo, state)
        try:
            build(topo, path, state, progress)
        except BaseException as exc:
            progress("interrupted: removing what was created" if isinstance(
                exc, KeyboardInterrupt) else "build failed: removing what was created")
            teardown(state)
            raise
    return {"lab": name, "state_dir": state.dir, "inventory": str(Path(state.dir) / "inventory"),
            "routers": len(topo.routers), "links": len(topo.links), "bare": bare,
            "seconds": round(time.monotonic() - start, 2)}


def is_alive(state: LabState) -> bool:
    """Built completely, every recorded daemon running and every netns present."""
    pids = [pid for rs in state.routers.values() for pid in rs.pids.values()]
    namespaces = netns_list()
    return (state.phase == "up" and all(alive(p) for p in pids)
            and all(rs.netns in namespaces for rs in state.routers.values()))


def new_state(topo: Topology, name: str, bare: bool) -> LabState:
    base = lab_dir(name)
    state = LabState(lab=name, dir=str(base), topology=str(base / "topology.yaml"), bare=bare)
    for i, router in enumerate(topo.routers):
        rdir = base / "routers" / router
        state.routers[router] = RouterState(
            netns=netns_name(name, router), uts=str(rdir / "uts"), mgmt_veth=f"{name}-m{i}",
            dir=str(rdir))
    return state


def build(topo: Topology, path: Path, state: LabState, progress: Progress) -> None:
    base = Path(state.dir)
    base.mkdir(parents=True, mode=0o711)
    state.record("path", path=str(base))
    shutil.copyfile(path, state.topology)
    creds = credentials.generate(base)
    progress(f"creating {len(topo.routers)} network namespaces")
    network.create_namespaces(state)
    checkpoint()
    progress("creating the management bridge and veths")
    network.create_mgmt(topo, state)
    checkpoint()
    progress(f"creating {len(topo.links)} links")
    network.create_links(topo, state)
    checkpoint()
    network.configure_addresses(topo, state)
    for rs in state.routers.values():
        state.record("nft", netns=rs.netns, family="inet",
                     name=f"ngk_mgmt_{state.lab.replace('-', '_')}")
    progress("applying the class-of-service policy to every link at its modelled rate")
    qos.install_lab(topo, state)
    checkpoint()
    controller = str(network.controller_address(topo).ip)
    known = []
    for router in topo.routers.values():
        conf = render_config(topo, router.id, routing=not state.bare)
        known.append(daemons.prepare(topo, router, state.routers[router.id], creds, controller,
                                     conf))
    Path(creds.known_hosts).write_text("".join(known))
    for rs in state.routers.values():
        for created in daemons.link_frr_paths(rs):
            state.record("path", path=str(created))
    checkpoint()
    start_daemons(topo, state, creds, progress)
    write_inventory(topo, creds, base)
    state.phase = "up"
    state.save()


def start_daemons(topo: Topology, state: LabState, creds: credentials.Credentials,
                  progress: Progress) -> None:
    lock, done = threading.Lock(), []

    def start(router: str) -> None:
        rs = state.routers[router]

        def recorded(daemon: str, pid: int) -> None:
            with lock:
                rs.pids[daemon] = pid
                state.save()
            checkpoint()

        recorded("snmpd", daemons.start_snmpd(rs))
        daemons.tune_snmpd(topo.routers[router], creds)
        daemons.start_frr(rs, recorded)
        recorded("lldpd", daemons.start_lldpd(topo.routers[router], rs))
        pid = daemons.start_sshd(rs)
        with lock:
            rs.pids["sshd"] = pid
            # the bind mounts live in sshd's private mount namespace and vanish with it
            state.record("private_mount", owner=f"sshd:{pid}", netns=rs.netns,
                         targets="/var/run/frr /etc/frr")
            done.append(router)
            progress(f"started {router} ({len(done)}/{len(topo.routers)})")

    parallel(start, topo.routers, workers=4)
