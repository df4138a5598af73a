"""The measured-traffic loop on the live lab: known UDP flows between router loopbacks ->
the monitor's counters -> `ngk traffic estimate` -> the estimated matrix against the true one,
and the capacity engine's loads from that matrix against the counters (docs/traffic.md).

The flows are chosen where link loads can tell them apart: every source sends to one
destination, no router both sends and receives, and each flow has one shortest path (a single
UDP flow is hashed onto one ECMP branch; the model splits it equally). The test checks that
choice first: the model's own loads of the true matrix give it back, and the lab's FIBs forward
every flow on the model's path."""
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

from controller.analysis.capacity import analyse
from controller.analysis.traffic import estimate, routing
from controller.cli.main import app
from controller.lab.flows import Flow, offered_gbps
from controller.model.demands import load_demands
from controller.services.forwarding import lab_fib, links_between, walk
from controller.services.monitor.app import Monitor
from controller.southbound.snmp.inventory import load_inventory
from controller.store import Store

pytestmark = pytest.mark.integration
FLOWS = [("ahus-ce1", "ham-pe1", 4.0), ("amk-ce1", "trd-cr2", 8.0), ("krs-ce1", "osl-cr1", 12.0),
         ("brg-pe1", "trd-cr1", 16.0)]  # Mbit/s
DURATION_S = 24.0  # the flows' bound
WARM_S, COOL_S = 3.0, 2.0  # left out of the window at the start and end of the flows
INTERVAL_S = 1.0  # monitor poll interval
MATRIX_TOL = 0.10  # total |estimated - true| over the offered load
LINK_TOL = 0.05  # predicted vs measured load per loaded link


def model_links(rt, pair: tuple[str, str]) -> set[str]:
    col = rt.R[:, rt.pairs.index(pair)]
    assert set(np.unique(col)) <= {0.0, 1.0}, f"{pair} is split by ECMP in the model"
    return {rt.arcs[i][0] for i in np.flatnonzero(col)}


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
    fib = lab_fib(lab.state, sorted(topo.routers))
    for s, d, _ in FLOWS:
        paths = walk(topo, fib, s, d)["paths"]
        assert len(paths) == 1, (s, d, paths)
        used = {lid for hop in links_between(topo, paths[0]) for lid in hop}
        assert used == model_links(rt, (s, d)), (s, d, paths[0])


async def measure(lab, db: Path, out: Path) -> tuple[float, float]:
    """Run the flows and poll every INTERVAL_S meanwhile; returns the flows' start and end."""
    targets, problems = load_inventory(Path(lab.state.dir) / "inventory")
    assert targets and not problems
    monitor = Monitor(targets, Store(db), None, interval=INTERVAL_S)
    flows = [Flow(lab.state.routers[s].netns, str(lab.topo.routers[s].loopback.ip),
                  lab.state.routers[d].netns, str(lab.topo.routers[d].loopback.ip), mbps)
             for s, d, mbps in FLOWS]
    proc = subprocess.Popen([sys.executable, "-m", "controller.lab.flows", "--duration",
                             str(DURATION_S), "--out", str(out),
                             *[a for f in flows for a in ("--flow", f.arg())]],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout and proc.stdout.readline().strip() == "ready"
        started = time.time()
        while time.time() < started + DURATION_S:
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
    return started, started + DURATION_S


def test_estimated_matrix_and_predicted_loads_match_the_counters(lab_shared, tmp_path) -> None:
    lab = lab_shared
    check_flows_fit_the_method(lab)
    db, record_path, demands_path = tmp_path / "m.db", tmp_path / "flows.json", tmp_path / "d.yaml"
    t0, t1 = asyncio.run(measure(lab, db, record_path))
    since, until = t0 + WARM_S, t1 - COOL_S
    res = CliRunner().invoke(app, ["traffic", "estimate", "--store", str(db), "-t",
                                   lab.state.topology, "--since", str(since), "--until",
                                   str(until), "--out", str(demands_path), "--json"])
    assert res.exit_code == 0, res.output
    result = json.loads(res.stdout)
    record = json.loads(record_path.read_text())
    assert not any(record["refused"]), record["refused"]
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

    # the capacity engine routes the written demands file; per link (busier direction) vs counters
    predicted = {x["id"]: x["load_gbps"]
                 for x in analyse(lab.topo, load_demands(demands_path, lab.topo), 0)["links"]}
    measured: dict[str, float] = {}
    for x in result["links"]:
        measured[x["link"]] = max(measured.get(x["link"], 0.0), x["measured_gbps"] or 0.0)
    floor = 0.5 * min(offered)
    worst = 0.0
    print("link         measured Mbit/s  predicted Mbit/s  diff")
    for lid in sorted(measured):
        m, p = measured[lid], predicted[lid]
        rel = (p - m) / m if m >= floor else None
        print(f"{lid:<12} {m * 1000:15.3f} {p * 1000:17.3f}  "
              f"{'%.2f%%' % (100 * rel) if rel is not None else '(idle)'}")
        if rel is not None:
            worst = max(worst, abs(rel))
        else:
            assert abs(p - m) <= LINK_TOL * floor, (lid, m, p)
    print(f"worst loaded-link difference: {worst:.2%}")
    assert err <= MATRIX_TOL * total
    assert worst <= LINK_TOL
