"""ngk's SNMP monitor run alongside a drill, timing its first event for the failure."""
from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

from controller.lab.state import LabState
from controller.model.layers import Outage
from controller.model.topology import Topology
from controller.store import Store


class MonitorWatch:
    """ngk's monitor against the lab, in a thread: SNMP poll cycles back to back (a pause
    between them) and its trap receiver when the lab's trap port is free. Once armed, the first
    event on an end of a failed link (link down by poll or trap, or the OSPF neighbour lost
    there: the only sign of a silent failure) or router-down of a failed router is kept."""

    PAUSE_S = 0.5  # the lab's agents share the drill's 2 cores with bfdd and the probes
    LINK_DOWN = ("link_down", "linkDown", "ospf_neighbor_down")

    def __init__(self, state: LabState, topo: Topology, workdir: Path):
        self.state, self.topo, self.workdir = state, topo, workdir
        self.watch: tuple[set[tuple[str, str]], set[str]] | None = None
        self.found: dict[str, Any] | None = None
        self.notes: list[str] = []
        self.cycles = 0
        self.ready, self.stopping = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    def start(self, timeout: float = 20.0) -> None:
        """Run until the first (baseline) poll cycle is done, so later changes are events."""
        self.thread.start()
        if not self.ready.wait(timeout):
            self.notes.append(f"monitor: first poll cycle not done within {timeout:g} s")

    def arm(self, down: Outage) -> None:
        ends = {(e.router, e.interface) for i in down.links
                for e in (self.topo.links[i].a, self.topo.links[i].b)}
        self.watch = (ends, set(down.routers))

    def stop(self) -> dict[str, Any]:
        self.stopping.set()
        self.thread.join(30)
        out = dict(self.found or {"event_ms": None})
        if self.found is None:
            self.notes.append("no monitor event for the failure while it lasted")
        out.update({"cycles": self.cycles, "note": "; ".join(self.notes) or None})
        return out

    def _check(self, events: list[dict], source: str) -> None:
        if self.watch is None or self.found is not None:
            return
        ends, routers = self.watch
        for e in events:
            hit = (e["kind"] in self.LINK_DOWN and (e["router"], e["interface"]) in ends
                   ) or (e["kind"] == "router_down" and e["router"] in routers)
            if hit:
                self.found = {"wall": time.time(), "source": source, "kind": e["kind"],
                              "router": e["router"], "interface": e["interface"]}
                return

    async def _main(self) -> None:
        from controller.lab.daemons import TRAP_PORT
        from controller.lab.network import controller_address
        from controller.services.impact import ImpactMapper
        from controller.services.monitor.app import Monitor
        from controller.southbound.snmp.inventory import load_inventory
        from controller.southbound.snmp.traps import TrapReceiver

        monitor = receiver = None
        try:  # the drill goes on without the monitor; the reason is reported
            targets, _ = load_inventory(Path(self.state.dir) / "inventory")
            # the topology maps OSPF neighbour traps to links (and events to their impact)
            monitor = Monitor(targets, Store(self.workdir / "monitor.db"), ImpactMapper(self.topo),
                              interval=self.PAUSE_S)
            receiver = TrapReceiver(targets, lambda t: self._check(monitor.on_trap(t), "trap"),
                                    str(controller_address(self.topo).ip), TRAP_PORT)
            try:
                receiver.start()
            except OSError as exc:
                receiver = None
                self.notes.append(f"trap port {TRAP_PORT} not available ({exc.strerror}): "
                                  "polls only")
            while not self.stopping.is_set():
                report = await monitor.cycle()
                self.cycles += 1
                self.ready.set()
                self._check(report["events"], "poll")
                await asyncio.sleep(self.PAUSE_S)
        except Exception as exc:
            self.notes.append(f"monitor stopped: {exc}")
        finally:
            self.ready.set()
            if receiver:
                receiver.close()
            if monitor:
                monitor.close()
