"""The measured-traffic loop on the live lab: known UDP flows between router loopbacks ->
the monitor's counters -> `ngk traffic estimate` -> the estimated matrix against the true one,
and the capacity engine's loads from that matrix against the counters; then a span cut: the
loads the engine predicts for that failure (from the matrix estimated before it, and the
worst case of `ngk capacity --depth 1`) against the counters during the cut (docs/traffic.md).

The flows are chosen where link loads can tell them apart: every source sends to one
destination, no router both sends and receives, and each flow has one shortest path (a single
UDP flow is hashed onto one ECMP branch; the model splits it equally). The test checks that
choice first: the model's own loads of the true matrix give it back, and the lab's FIBs forward
every flow on the model's path, before and after the cut."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from controller.analysis.capacity import CapacityModel, analyse
from controller.analysis.traffic import estimate, routing
from controller.cli.main import app
from controller.lab.faults import lab_cut
from controller.lab.flows import Flow, offered_gbps
from controller.lab.state import LabState
from controller.model.demands import Demand, Demands, endpoint, load_demands
from controller.model.layers import Element
from controller.model.topology import Topology
from controller.services.forwarding import lab_fib, links_between, walk
from controller.services.monitor.app import Monitor
from controller.services.traffic import arc_loads, interface_rates
from controller.southbound.snmp.inventory import load_inventory
from controller.store import Store
from conftest import wait_for

pytestmark = pytest.mark.integration
FLOWS = [("ahus-ce1", "ham-pe1", 4.0), ("amk-ce1", "trd-cr2", 8.0), ("krs-ce1", "osl-cr1", 12.0),
         ("brg-pe1", "trd-cr1", 16.0)]  # Mbit/s
DURATION_S = 24.0  # the flows' bound (intact network)
CUT_DURATION_S = 14.0  # the flows' bound during the cut
SPAN = "brg-aal"  # carries brg-aal: brg-pe1 > trd-cr1 (16 Mbit/s) moves to osl-brg and osl-trd
WARM_S, COOL_S = 3.0, 2.0  # left out of the window at the start and end of the flows
INTERVAL_S = 1.0  # monitor poll interval
MATRIX_TOL = 0.10  # total |estimated - true| over the offered load
LINK_TOL = 0.05  # predicted vs measured load per loaded link


def check_flows_fit_the_method(lab) -> None:
    """Identifiable from the model's loads, and forwarded by the lab as the model routes them."""
    topo, rt = lab.topo, routing(lab.topo)
    truth = {(s, d): mbps / 1000 for s, d, mbps in FLOWS}
    x = np.array([truth.get(p, 0.0) for p in rt.pairs])
    got = estimate(topo, {a: float(v) for a, v in zip(rt.arcs, rt.R @ x)})
    est = {(d["src"], d["dst"]): d["gbps"] for d in got["demands"]}
    err = sum(abs(est.get(p, 0.0) - truth.get(p, 0.0)) for p in {*est, *truth})
    print(f"model-level recovery: total error {err / sum(truth.values()):.4%} of the offered load")
    assert err <= 0.02 * sum(truth.values())
    assert forwarded_as_modelled(topo, lab.state)


def engine_paths(topo: Topology, span: str | None) -> dict[tuple[str, str], set[str] | None]:
    """Per flow, the links the capacity engine routes all of it on (None: split or unrouted),
    on the intact network or with `span` cut."""
    demands = Demands(tuple(Demand(endpoint(topo, f"router:{s}"), endpoint(topo, f"router:{d}"),
                                   mbps / 1000, "best-effort") for s, d, mbps in FLOWS))
    model = CapacityModel(topo, demands)
    flows = dict(enumerate(model.flows))
    if span:
        flows.update(model.single((Element("span", span),)).flows)
    return {(s, d): {model.net.links[a // 2] for a in flows[r].arcs.tolist()}
            if flows[r].routed and set(flows[r].fracs.tolist()) == {1.0} else None
            for (s, d, _), r in zip(FLOWS, model.demand_route)}


def forwarded_as_modelled(topo: Topology, state: LabState, span: str | None = None) -> bool:
    """Every flow on one path in the lab's FIBs, the capacity engine's (with `span` cut)."""
    fib = lab_fib(state, sorted(topo.routers))
    lab = {}
    for s, d, _ in FLOWS:
        paths = walk(topo, fib, s, d)["paths"]
        lab[(s, d)] = {lid for hop in links_between(topo, paths[0]) for lid in hop} \
            if len(paths) == 1 else None
    model = engine_paths(topo, span)
    print(f"paths ({span or 'intact'}): lab {lab}, engine {model}")
    return None not in model.values() and lab == model


async def measure(lab, db: Path, out: Path, duration: float) -> tuple[float, float]:
    """Run the flows and poll every INTERVAL_S meanwhile; returns the flows' start and end."""
    targets, problems = load_inventory(Path(lab.state.dir) / "inventory")
    assert targets and not problems
    monitor = Monitor(targets, Store(db), None, interval=INTERVAL_S)
    flows = [Flow(lab.state.routers[s].netns, str(lab.topo.routers[s].loopback.ip),
                  lab.state.routers[d].netns, str(lab.topo.routers[d].loopback.ip), mbps)
             for s, d, mbps in FLOWS]
    proc = subprocess.Popen([sys.executable, "-m", "controller.lab.flows", "--duration",
                             str(duration), "--out", str(out),
                             *[a for f in flows for a in ("--flow", f.arg())]],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout and proc.stdout.readline().strip() == "ready"
        started = time.time()
        while time.time() < started + duration:
            began = time.monotonic()
            report = await monitor.cycle()
            assert all(r["reachable"] for r in report["routers"]), report["routers"]
            await asyncio.sleep(max(0.0, INTERVAL_S - (time.monotonic() - began)))
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)
        monitor.close()
    return started, started + duration


def scenario_loads(topo: Topology, demands: Demands, span: str) -> dict[str, float]:
    """Per link, the busier direction's Gbps the capacity engine routes with `span` cut."""
    model = CapacityModel(topo, demands)
    state = model.single((Element("span", span),))
    arcs = model.L0.sum(0) + model.delta(state, state.flows, {}).sum(0)
    return {lid: float(max(arcs[2 * i], arcs[2 * i + 1])) for i, lid in enumerate(model.net.links)}


def compare(measured: dict[str, float], predicted: dict[str, float], floor: float) -> float:
    """Print both per link; links idle on both sides within LINK_TOL * floor (asserted); returns
    the worst relative difference over the loaded links (measured >= floor)."""
    worst = 0.0
    print("link         measured Mbit/s  predicted Mbit/s  diff")
    for lid in sorted(predicted):
        m, p = measured.get(lid, 0.0), predicted[lid]
        rel = (p - m) / m if m >= floor else None
        print(f"{lid:<12} {m * 1000:15.3f} {p * 1000:17.3f}  "
              f"{'%.2f%%' % (100 * rel) if rel is not None else '(idle)'}")
        if rel is None:
            assert abs(p - m) <= LINK_TOL * floor, (lid, m, p)
        else:
            worst = max(worst, abs(rel))
    print(f"worst loaded-link difference: {worst:.2%}")
    return worst


def busier(loads: dict[tuple[str, str, str], float]) -> dict[str, float]:
    out: dict[str, float] = {}
    for (lid, _, _), gbps in loads.items():
        out[lid] = max(out.get(lid, 0.0), gbps)
    return out


def test_estimated_matrix_and_predicted_loads_match_the_counters(lab_exclusive, tmp_path) -> None:
    lab = lab_exclusive
    check_flows_fit_the_method(lab)
    db, record_path, demands_path = tmp_path / "m.db", tmp_path / "flows.json", tmp_path / "d.yaml"
    t0, t1 = asyncio.run(measure(lab, db, record_path, DURATION_S))
    since, until = t0 + WARM_S, t1 - COOL_S
    res = CliRunner().invoke(app, ["traffic", "estimate", "--store", str(db), "-t",
                                   lab.state.topology, "--since", str(since), "--until",
                                   str(until), "--out", str(demands_path), "--json"])
    assert res.exit_code == 0, res.output
    result = json.loads(res.stdout)
    print("ngk traffic estimate --json:", json.dumps(
        {k: result[k] for k in ("summary", "window")} | {"demands[0]": result["demands"][0],
                                                          "links[0]": result["links"][0]}))
    record = json.loads(record_path.read_text())
    print(f"sends deferred by this host's buffers (retried, not counted as sent): "
          f"{record['refused']}")
    offered = offered_gbps(record, since, until)
    truth = {(s, d): g for (s, d, _), g in zip(FLOWS, offered)}
    est = {(d["src"], d["dst"]): d["gbps"] for d in result["demands"]}
    total = sum(truth.values())
    print(f"window {until - since:.1f} s; offered {total * 1000:.3f} Mbit/s; estimated total "
          f"{result['summary']['total_gbps'] * 1000:.3f} Mbit/s; fit residual max "
          f"{result['summary']['residual_max_gbps'] * 1e6:.1f} kbit/s, "
          f"{result['summary']['residual_relative']:.3%} of the measured load")
    print("flow                      offered Mbit/s  estimated Mbit/s  error")
    for (s, d), g in truth.items():
        e = est.get((s, d), 0.0)
        print(f"{s:>9} > {d:<12} {g * 1000:14.3f} {e * 1000:17.3f} {(e - g) / g:7.2%}")
    extra = {p: g for p, g in est.items() if p not in truth}
    print(f"other estimated demands: {len(extra)}, {sum(extra.values()) * 1000:.3f} Mbit/s "
          f"(largest {max(extra.values(), default=0.0) * 1000:.3f})")
    err = sum(abs(est.get(p, 0.0) - truth.get(p, 0.0)) for p in {*est, *truth})
    print(f"matrix total error: {err * 1000:.3f} Mbit/s = {err / total:.2%} of the offered load")
    assert err <= MATRIX_TOL * total

    # the capacity engine routes the written demands file; per link (busier direction) vs counters
    demands = load_demands(demands_path, lab.topo)
    intact = {x["id"]: x["load_gbps"] for x in analyse(lab.topo, demands, 0)["links"]}
    measured = {x["link"]: 0.0 for x in result["links"]}
    for x in result["links"]:
        measured[x["link"]] = max(measured[x["link"]], x["measured_gbps"] or 0.0)
    floor = 0.5 * min(offered)
    print("intact network:")
    assert compare(measured, intact, floor) <= LINK_TOL

    # cut the span: the engine's loads for that failure, from the matrix estimated before it
    worst = {x["id"]: x for x in analyse(lab.topo, demands, 1, ["span"])["links"]}
    lab_cut(f"span:{SPAN}", "light", lab.name)
    wait_for(lambda: forwarded_as_modelled(lab.topo, lab.state, SPAN), 30, 0.5,
             f"the lab forwarding every flow on the model's path with {SPAN} cut")
    cut_record = tmp_path / "flows-cut.json"
    t2, t3 = asyncio.run(measure(lab, db, cut_record, CUT_DURATION_S))
    window = (t2 + WARM_S, t3 - COOL_S)
    after = busier(arc_loads(lab.topo, interface_rates(Store(db), *window)))
    sent = sum(offered_gbps(json.loads(cut_record.read_text()), *window))
    print(f"span {SPAN} cut, offered {sent * 1000:.3f} Mbit/s:")
    assert compare(after, scenario_loads(lab.topo, demands, SPAN), floor) <= LINK_TOL
    # where this cut is a link's worst single span failure, its worst case is what was measured
    hit = {lid: x["worst_utilisation"] * x["capacity_gbps"] for lid, x in worst.items()
           if x["worst_failure"] == [{"kind": "span", "id": SPAN}] and after[lid] >= floor}
    print(f"links whose worst span failure is {SPAN}: "
          + ", ".join(f"{lid} worst {g * 1000:.3f} vs measured {after[lid] * 1000:.3f} Mbit/s"
                      for lid, g in sorted(hit.items())))
    assert hit and all(abs(g - after[lid]) <= LINK_TOL * after[lid] for lid, g in hit.items())
