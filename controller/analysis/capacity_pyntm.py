"""The capacity model as a pyNTM model (the open-source peer tool): the second oracle of
tests/unit/test_capacity.py and the baseline of benchmarks/bench_capacity.py.

pyNTM routes node to node, so only router-to-router demands translate; its per-interface costs
carry ngk's routing policy (a CE router's links cost `STUB_COST` outwards). pyNTM is a test
dependency (scripts/bootstrap --test), imported here only when a model is built.
"""
from __future__ import annotations

import io
from contextlib import redirect_stdout
from typing import Any, Iterable

from controller.model.demands import Demands
from controller.model.layers import Element, outage
from controller.model.topology import STUB_COST, Topology


class PyntmModel:
    """One pyNTM FlexModel of a topology and its demands, failed and restored per scenario."""

    def __init__(self, topo: Topology, demands: Demands):
        import pyNTM
        if any(d.src.kind != "router" or d.dst.kind != "router" for d in demands.demands):
            raise ValueError("pyNTM takes router-to-router demands only")
        self.topo = topo
        self.model = model = pyNTM.FlexModel(set(), set(), set(), set())
        rows = []
        for i, link in enumerate(sorted(topo.links.values(), key=lambda lk: lk.id)):
            for near, far in ((link.a, link.b), (link.b, link.a)):
                rows.append({"name": near.interface, "node": near.router,
                             "remote_node": far.router, "capacity": link.capacity_gbps,
                             "cost": STUB_COST if topo.routers[near.router].stub
                             else link.metric, "circuit_id": i + 1, "failed": False})
        model.add_network_interfaces_from_list(rows)
        # the demands at once (add_demand validates the whole model per demand: quadratic)
        nodes = {n.name: n for n in model.node_objects}
        model.demand_objects = {pyNTM.Demand(nodes[d.src.id], nodes[d.dst.id], d.gbps, f"d{k}")
                                for k, d in enumerate(demands.demands)}
        model.validate_model()
        self.names = {(e.router, e.interface): lk.id for lk in topo.links.values()
                      for e in (lk.a, lk.b)}

    def loads(self, els: Iterable[Element] = ()) -> dict[tuple[str, str], float]:
        """(link id, sending router) -> Gbps with `els` failed (as `ngk failures` means them),
        by pyNTM's simulation; the model is restored afterwards."""
        down = outage(self.topo, list(els))
        for lid in down.links:
            end = self.topo.links[lid].a
            self.model.fail_interface(end.interface, end.router)
        for r in down.routers:
            self.model.fail_node(r)
        try:
            with redirect_stdout(io.StringIO()):  # pyNTM prints its progress
                self.model.update_simulation()
            return {(self.names[(i.node_object.name, i.name)], i.node_object.name):
                    _gbps(i.traffic) for i in self.model.interface_objects if not i.failed}
        finally:
            for r in down.routers:
                self.model.unfail_node(r)
            for lid in down.links:
                end = self.topo.links[lid].a
                self.model.unfail_interface(end.interface, end.router)


def _gbps(traffic: Any) -> float:
    return 0.0 if traffic == "Down" else float(traffic)
