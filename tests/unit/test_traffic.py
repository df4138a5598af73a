"""`ngk traffic estimate`: tomogravity recovers a known matrix where the link loads identify it,
reproduces the link loads in general, reads loads from a real store, writes a demands file that
the capacity engine routes back to the same loads, and reports bad input as NgkError."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from controller.analysis.capacity import analyse
from controller.analysis.traffic import demands_yaml, estimate, routing
from controller.cli.main import app
from controller.errors import InputError
from controller.model.demands import load_demands
from controller.model.importer import write_topology_yaml
from controller.model.load import load_topology
from controller.model.topology import Topology
from controller.services.monitor.history import SCHEMA
from controller.services.traffic import estimate_from_store
from controller.store import Store

REFERENCE = Path(__file__).resolve().parents[2] / "topology" / "ngk.yaml"


def mesh(tmp_path: Path, n: int = 4) -> Topology:
    """A full mesh of equal metrics: every pair on its own direct link (identifiable)."""
    ports = [0] * n
    links = []
    for a in range(n):
        for b in range(a + 1, n):
            ports[a] += 1
            ports[b] += 1
            links.append({"id": f"l{a}{b}", "a": {"router": f"r{a}", "interface": f"eth{ports[a]}"},
                          "b": {"router": f"r{b}", "interface": f"eth{ports[b]}"}, "km": 10,
                          "capacity_gbps": 10})
    doc = {"name": "mesh", "addressing": {"p2p": "10.0.0.0/16", "loopbacks": "10.255.0.0/24",
                                          "mgmt": "172.31.0.0/24"},
           "sites": [{"id": f"s{i}", "name": f"S{i}", "kind": "pop"} for i in range(n)],
           "optical_nodes": [{"id": f"s{i}", "site": f"s{i}"} for i in range(n)], "spans": [],
           "routers": [{"id": f"r{i}", "site": f"s{i}", "role": "core"} for i in range(n)],
           "links": links}
    write_topology_yaml(doc, tmp_path / "mesh.yaml")
    return load_topology(tmp_path / "mesh.yaml")


def loads_of(topo: Topology, matrix: dict[tuple[str, str], float]) -> dict:
    rt = routing(topo)
    x = np.array([matrix.get(p, 0.0) for p in rt.pairs])
    return {arc: float(v) for arc, v in zip(rt.arcs, rt.R @ x)}


def matrix_of(result: dict) -> dict[tuple[str, str], float]:
    return {(d["src"], d["dst"]): d["gbps"] for d in result["demands"]}


def test_identifiable_matrix_is_recovered(tmp_path: Path) -> None:
    topo = mesh(tmp_path)
    rng = np.random.default_rng(7)
    truth = {(s, d): float(rng.uniform(0.5, 8.0)) for s in topo.routers for d in topo.routers
             if s != d and rng.random() < 0.7}
    got = matrix_of(estimate(topo, loads_of(topo, truth)))
    assert set(got) == set(truth)
    assert max(abs(got[p] - truth[p]) for p in truth) < 1e-6


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_link_loads_are_reproduced_on_the_reference(seed: int) -> None:
    """A dense random matrix (not identifiable from 50 arc loads): the estimate is non-negative
    and its routed loads equal the measured ones."""
    topo = load_topology(REFERENCE)
    rng = np.random.default_rng(seed)
    truth = {p: float(rng.uniform(0.0, 3.0)) for p in routing(topo).pairs}
    loads = loads_of(topo, truth)
    result = estimate(topo, loads)
    assert all(d["gbps"] >= 0 for d in result["demands"])
    for link in result["links"]:
        assert abs(link["fitted_gbps"] - link["measured_gbps"]) < 1e-6, link
    assert result["summary"]["residual_max_gbps"] < 1e-6
    assert abs(result["summary"]["total_gbps"] - sum(truth.values())) / sum(truth.values()) < 0.5


def test_edge_volumes_give_the_prior_its_shape() -> None:
    """A gravity-shaped matrix where every router sends and receives: the routers' net traffic
    says little, what enters and leaves at the edge gives the estimate its shape."""
    topo = load_topology(REFERENCE)
    rng = np.random.default_rng(4)
    size = {r: float(rng.lognormal(0.0, 1.0)) for r in topo.routers}
    truth = {(s, d): size[s] * size[d] for s, d in routing(topo).pairs}
    edge = {r: (sum(g for (s, _), g in truth.items() if s == r),
                sum(g for (_, d), g in truth.items() if d == r)) for r in topo.routers}
    total = sum(truth.values())

    def error(result: dict) -> float:
        got = matrix_of(result)
        return sum(abs(got.get(p, 0.0) - g) for p, g in truth.items()) / total

    with_edge = estimate(topo, loads_of(topo, truth), edge)
    assert with_edge["summary"]["prior"] == "edge"
    assert error(with_edge) < 0.06
    assert error(estimate(topo, loads_of(topo, truth))) > 0.3
    assert with_edge["summary"]["residual_max_gbps"] < 1e-6


def test_unmeasured_arcs_are_reported_and_left_out(tmp_path: Path) -> None:
    topo = mesh(tmp_path)
    loads = loads_of(topo, {("r0", "r1"): 2.0, ("r2", "r3"): 1.0})
    del loads[("l01", "r1", "r0")]
    result = estimate(topo, loads)
    assert result["summary"]["unmeasured_arcs"] == ["l01:r1>r0"]
    link = next(x for x in result["links"] if (x["link"], x["from"]) == ("l01", "r1"))
    assert link["measured_gbps"] is None and link["residual_gbps"] is None
    assert matrix_of(result) == pytest.approx({("r0", "r1"): 2.0, ("r2", "r3"): 1.0}, abs=1e-6)


def store_with_rates(path: Path, topo: Topology, matrix: dict, ts: list[float]) -> Store:
    """A monitor store whose interface samples at `ts` carry the arc loads of `matrix`."""
    store = Store(path)
    store.register("monitor", SCHEMA)
    loads = loads_of(topo, matrix)
    rates: dict[tuple[str, str], list] = {}  # (router, ifName) -> [in bps, out bps]
    for lid, link in topo.links.items():
        for near, far in ((link.a, link.b), (link.b, link.a)):
            bps = loads[(lid, near.router, far.router)] * 1e9
            rates.setdefault((near.router, near.interface), [0.0, 0.0])[1] = bps
            rates.setdefault((far.router, far.interface), [0.0, 0.0])[0] = bps
    rows = [(t, router, 1, name, 1, 1, 0, 0, *bps) for t in ts
            for (router, name), bps in rates.items()]
    store.add("INSERT INTO if_samples VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
    assert store.flush()
    return store


def test_store_to_demands_file_to_capacity_loads(tmp_path: Path) -> None:
    """Store rates -> estimate -> demands file -> `ngk capacity`'s engine: the same loads."""
    topo = mesh(tmp_path)
    truth = {("r0", "r1"): 0.004, ("r1", "r3"): 0.012, ("r2", "r0"): 0.007}
    store = store_with_rates(tmp_path / "m.db", topo, truth, [100.0, 110.0, 120.0])
    result = estimate_from_store(store, topo, 100.0, 120.0)
    assert matrix_of(result) == pytest.approx(truth, abs=1e-9)
    assert result["window"]["interfaces"] == 2 * len(topo.links)
    assert result["window"]["seconds_min"] == 20.0
    out = tmp_path / "d.yaml"
    out.write_text(demands_yaml(result, "clinical", store.name))
    demands = load_demands(out, topo)
    assert {d.cls for d in demands.demands} == {"clinical"}
    routed = {x["id"]: x["load_gbps"] for x in analyse(topo, demands, depth=0)["links"]}
    for x in result["links"]:
        assert routed[x["link"]] >= x["measured_gbps"] - 1e-9
    assert max(abs(routed[lid] - max(v for (k, _, _), v in loads_of(topo, truth).items()
                                      if k == lid)) for lid in routed) < 1e-9


def test_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    topo = mesh(tmp_path)
    with pytest.raises(InputError, match="no monitor store"):
        estimate_from_store(Store(tmp_path / "missing.db"), topo, 0.0, 1.0)
    empty = Store(tmp_path / "empty.db")
    empty.register("monitor", SCHEMA)
    empty.connect()  # creates the file and the monitor tables, no rows
    with pytest.raises(InputError, match="no interface rates"):
        estimate_from_store(empty, topo, 0.0, 1e12)
    store = store_with_rates(tmp_path / "m.db", topo, {("r0", "r1"): 1.0}, [100.0, 110.0])
    with pytest.raises(InputError, match="no interface rates"):
        estimate_from_store(store, topo, 200.0, 300.0)  # no samples in the window
    with pytest.raises(InputError, match="name no link"):
        estimate_from_store(store, load_topology(REFERENCE), 0.0, 1e12)
    with pytest.raises(InputError, match="no regular expression"):
        estimate_from_store(store, topo, 0.0, 1e12, edge="cust(")
    with pytest.raises(InputError, match="matches no measured interface"):
        estimate_from_store(store, topo, 0.0, 1e12, edge="eth1")  # a link end, never an edge


def test_edge_interfaces_from_the_store(tmp_path: Path) -> None:
    topo = mesh(tmp_path)
    store = store_with_rates(tmp_path / "m.db", topo, {("r0", "r1"): 0.004}, [100.0, 110.0])
    store.add("INSERT INTO if_samples VALUES (?,?,?,?,?,?,?,?,?,?)",
              [(t, r, 9, "cust0", 1, 1, 0, 0, bps_in, bps_out) for t in (100.0, 110.0)
               for r, bps_in, bps_out in (("r0", 4e6, 0.0), ("r1", 0.0, 4e6))])
    assert store.flush()
    result = estimate_from_store(store, topo, 0.0, 1e12, edge="cust[0-9]+")
    assert result["summary"]["prior"] == "edge"
    assert matrix_of(result) == pytest.approx({("r0", "r1"): 0.004}, abs=1e-9)
    assert result["demands"][0]["prior_gbps"] == pytest.approx(0.004)


def test_cli_json_table_and_errors(tmp_path: Path) -> None:
    topo_path = tmp_path / "mesh.yaml"
    topo = mesh(tmp_path)
    db = tmp_path / "m.db"
    store_with_rates(db, topo, {("r0", "r1"): 0.5}, [100.0, 110.0])
    args = ["traffic", "estimate", "--store", str(db), "-t", str(topo_path), "--since", "50",
            "--until", "200"]
    res = CliRunner().invoke(app, [*args, "--json", "--out", str(tmp_path / "d.yaml")])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["demands"] == [{"src": "r0", "dst": "r1", "gbps": 0.5, "prior_gbps": 0.5}]
    assert set(data["summary"]) >= {"total_gbps", "residual_max_gbps", "residual_rms_gbps",
                                    "residual_relative", "unmeasured_arcs"}
    assert len(load_demands(tmp_path / "d.yaml", topo).demands) == 1
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0 and "r0" in res.stdout and "residual" in res.stdout
    for bad, message in ((["--since", "300", "--until", "400"], "no interface rates"),
                         (["--store", str(tmp_path / "nope.db")], "no monitor store"),
                         (["--class", "gold"], "--class must be one of")):
        res = CliRunner().invoke(app, [*args, *bad])
        assert res.exit_code == 2 and message in res.output and "Traceback" not in res.output
