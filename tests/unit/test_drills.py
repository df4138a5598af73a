"""Drills without a lab: gap/loss figures from recorded probe data, FIB walks and the model
mapping, the report's JSON shape and targets, storage and history, the prober on 127/8, and the
CLI refusing when the lab is down. Expected values are computed independently (brute force)."""
from __future__ import annotations

import json
import random
import socket
from itertools import combinations
from pathlib import Path

import networkx as nx
import pytest
from typer.testing import CliRunner

from controller.cli.main import app
from controller.model.layers import Element, outage
from controller.model.load import load_topology
from controller.services import drill_store, drills
from controller.services.drill_watch import MonitorWatch
from controller.services import forwarding as fwd
from controller.services.probes import FlowRecord, Member, ProbeSet, flow_stats
from controller.store import Store

MS = 1_000_000
TOPO = load_topology()


# --- gap and loss from recorded probe data ---------------------------------------------------
def record(n: int, lost: set[int], delay_ms: float = 0.1, jitter: dict[int, float] | None = None,
           step_ms: float = 5.0) -> FlowRecord:
    """n probes every step_ms from t=1 s; replies delay_ms later (+jitter[seq]) unless lost."""
    jitter = jitter or {}
    sent = [int(1e9 + i * step_ms * MS) for i in range(n)]
    replies = [(i, sent[i] + 50_000, sent[i] + int((delay_ms + jitter.get(i, 0)) * MS))
               for i in range(n) if i not in lost]
    return FlowRecord("10.0.0.1", "10.0.0.2", sent, replies)


def naive(rec: FlowRecord, t0: int, t1: int, settle: int) -> tuple[float, int, float]:
    """(max gap ms, lost, outage ms) by direct definition, probe by probe."""
    times = sorted(r[2] for r in rec.replies)
    prev = t0
    for t in times:
        if t < t0:
            prev = t
    worst = 0
    for t in times + [t1]:
        if t0 <= t <= t1:
            worst = max(worst, t - prev)
            prev = t
    answered = {r[0] for r in rec.replies}
    lost = [i for i, t in enumerate(rec.sent) if t0 <= t <= t1 - settle and i not in answered]
    runs, outage_ns = [], 0
    for i in lost:
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    for run in runs:
        before = rec.sent[run[0] - 1] if run[0] else rec.sent[run[0]]
        after = rec.sent[run[-1] + 1] if run[-1] + 1 < len(rec.sent) and \
            rec.sent[run[-1] + 1] <= t1 - settle else t1
        outage_ns = max(outage_ns, after - before)
    return worst / MS, len(lost), outage_ns / MS


def test_one_outage_exact_figures():
    rec = record(400, set(range(100, 120)))
    t0, t1 = rec.sent[50], rec.sent[-1] + 5 * MS
    s = flow_stats(rec, t0, t1)
    assert s["lost"] == 20
    assert s["max_gap_ms"] == pytest.approx(21 * 5.0)  # reply 99 -> reply 120
    assert s["outage_ms"] == pytest.approx(21 * 5.0)
    assert s["outage_end_ms"] == pytest.approx((rec.sent[120] - t0) / MS)
    assert s["gap_at_ms"] == pytest.approx((rec.sent[99] + 0.1 * MS - t0) / MS)
    assert not s["ongoing"]
    assert s["sender_max_gap_ms"] == pytest.approx(5.0)


@pytest.mark.parametrize("seed", range(8))
def test_random_loss_and_jitter_match_brute_force(seed):
    rng = random.Random(seed)
    n = 600
    lost = set()
    for _ in range(rng.randint(0, 4)):
        start = rng.randrange(n)
        lost |= set(range(start, min(n, start + rng.randint(1, 60))))
    lost |= {rng.randrange(n) for _ in range(rng.randint(0, 10))}
    jitter = {rng.randrange(n): rng.uniform(0, 30) for _ in range(20)}
    rec = record(n, lost, jitter=jitter)
    t0 = rec.sent[rng.randrange(1, n // 3)]
    t1 = rec.sent[rng.randrange(n // 2, n - 1)]
    settle = int(0.2e9)
    s = flow_stats(rec, t0, t1, settle)
    gap, lost_n, outage_ms = naive(rec, t0, t1, settle)
    assert s["max_gap_ms"] == pytest.approx(gap, abs=1e-3)
    assert s["lost"] == lost_n
    assert s["outage_ms"] == pytest.approx(outage_ms, abs=1e-3)


def test_replies_that_never_resume_count_to_window_end():
    rec = record(300, set(range(150, 300)))
    t0, t1 = rec.sent[100], rec.sent[299]
    s = flow_stats(rec, t0, t1)
    assert s["ongoing"]
    assert s["max_gap_ms"] == pytest.approx((t1 - rec.replies[-1][2]) / MS)
    # probes sent in the last 200 ms may still be in flight: not counted as lost
    assert s["lost"] == sum(1 for i in range(150, 300) if rec.sent[i] <= t1 - 200 * MS)


def test_clean_flow_has_no_loss_and_interval_gaps():
    rec = record(200, set())
    s = flow_stats(rec, rec.sent[10], rec.sent[190])
    assert (s["lost"], s["outage_ms"]) == (0, 0)
    assert s["max_gap_ms"] == pytest.approx(5.0)


# --- FIB walk, prediction, model mapping -----------------------------------------------------
def arc_cost(topo, lk, u: str) -> int:
    """OSPF's cost of link `lk` leaving router u: a CE advertises max-metric (RFC 6987)."""
    return 65535 if topo.routers[u].role == "ce" else lk.metric


def fib_from_model(topo, down_links: set[str]) -> fwd.Fib:
    """Per router, per loopback: the interfaces on a least-cost path (Bellman-Ford by hand)."""
    links = [lk for lk in topo.links.values() if lk.id not in down_links]
    fib: fwd.Fib = {r: {} for r in topo.routers}
    for dst in topo.routers:
        dist = {r: float("inf") for r in topo.routers}
        dist[dst] = 0
        for _ in topo.routers:
            for lk in links:
                for u, v in ((lk.a.router, lk.b.router), (lk.b.router, lk.a.router)):
                    dist[u] = min(dist[u], dist[v] + arc_cost(topo, lk, u))
        prefix = f"{topo.routers[dst].loopback.ip}/32"
        for r in topo.routers:
            if r == dst:
                fib[r][prefix] = ["lo"]
                continue
            out = sorted(e.interface for lk in links for e, o in ((lk.a, lk.b), (lk.b, lk.a))
                         if e.router == r
                         and dist[r] == dist[o.router] + arc_cost(topo, lk, r) < float("inf"))
            if out:
                fib[r][prefix] = out
    return fib


def brute_force_paths(topo, down_links: set[str], src: str, dst: str) -> list[list[str]]:
    g = nx.DiGraph()
    g.add_nodes_from(topo.routers)
    for lk in topo.links.values():
        if lk.id not in down_links:
            for u, v in ((lk.a.router, lk.b.router), (lk.b.router, lk.a.router)):
                w = arc_cost(topo, lk, u)
                if g.has_edge(u, v):
                    w = min(w, g[u][v]["w"])
                g.add_edge(u, v, w=w)
    paths = list(nx.all_simple_paths(g, src, dst))
    if not paths:
        return []
    cost = [sum(g[a][b]["w"] for a, b in zip(p, p[1:])) for p in paths]
    return sorted(p for p, c in zip(paths, cost) if c == min(cost))


CASES = [("span", "osl-ham-rail"), ("span", "osl-ham-e6"), ("srlg", "subsea-breisundet"),
         ("span", "hauk-brg-a"), ("span", "bod-tos-sea")]
PAIRS = [("osl-cr1", "trd-cr1"), ("osl-cr2", "tos-cr1"), ("hauk-ce1", "trd-cr1"),
         ("krs-ce1", "tos-cr2"), ("amk-ce1", "osl-cr1"), ("unn-ce1", "osl-cr2")]


@pytest.mark.parametrize("kind,ident", CASES)
def test_walk_and_prediction_equal_brute_force(kind, ident):
    down = outage(TOPO, [Element(kind, ident)])
    fib = fib_from_model(TOPO, set(down.links))
    for src, dst in PAIRS:
        expected = brute_force_paths(TOPO, set(down.links), src, dst)
        assert fwd.walk(TOPO, fib, src, dst) == {"paths": expected, "broken": []}
        assert fwd.predicted(TOPO, down, src, dst) == expected


def test_failed_router_is_unreachable_in_prediction_and_walk():
    down = outage(TOPO, [Element("router", "trd-cr1")])
    fib = fib_from_model(TOPO, set(down.links))
    fib["trd-cr1"] = {}
    assert fwd.predicted(TOPO, down, "osl-cr1", "trd-cr1") == []
    walked = fwd.walk(TOPO, fib, "osl-cr1", "trd-cr1")
    assert walked["paths"] == [] and walked["broken"]


def test_walk_reports_loops_and_missing_routes():
    lo = f"{TOPO.routers['trd-cr1'].loopback.ip}/32"
    fib = {"osl-cr1": {lo: ["eth3"]}, "osl-cr2": {lo: ["eth4"]}}  # osl-dc both ways
    out = fwd.walk(TOPO, fib, "osl-cr1", "trd-cr1")
    assert out["paths"] == [] and any("loop" in b for b in out["broken"])
    out = fwd.walk(TOPO, {"osl-cr1": {lo: ["mgmt0"]}}, "osl-cr1", "trd-cr1")
    assert any("not a link of the model" in b for b in out["broken"])
    assert "no route" in fwd.walk(TOPO, {}, "osl-cr1", "trd-cr1")["broken"][0]


def test_parse_fib_keeps_selected_installed_fib_nexthops():
    routes = {"10.255.0.1/32": [
        {"protocol": "ospf", "selected": True, "installed": True, "nexthops": [
            {"fib": True, "interfaceName": "eth2"}, {"fib": True, "interfaceName": "eth1"},
            {"active": True, "interfaceName": "eth9"}]}],
        "10.255.0.2/32": [{"protocol": "ospf",
                           "nexthops": [{"fib": True, "interfaceName": "eth1"}]}]}
    assert fwd.parse_fib(routes) == {"10.255.0.1/32": ["eth1", "eth2"]}


def test_model_path_maps_hops_to_sites_and_links():
    p = fwd.model_path(TOPO, ["hauk-ce1", "brg-pe1", "osl-cr2", "osl-cr1"])
    assert p["sites"] == ["hauk", "brg", "osl"]
    assert p["links"] == ["hauk-1|hauk-2", "osl-brg", "osl-dc"]


def test_affected_means_a_failed_link_or_router_on_the_path():
    path = [["osl-cr1", "osl-cr2", "trd-cr2"]]
    assert fwd.uses(TOPO, path, outage(TOPO, [Element("span", "osl-ham-rail")]))
    assert not fwd.uses(TOPO, path, outage(TOPO, [Element("span", "osl-ham-e6")]))
    assert fwd.uses(TOPO, path, outage(TOPO, [Element("router", "osl-cr2")]))


def test_flows_cover_dc_pairs_and_members_to_each_dc():
    got = drills.flows(TOPO)
    dc_routers = [r for r in TOPO.routers.values() if TOPO.sites[r.site].kind == "datacentre"]
    members = [s for s in TOPO.sites.values() if s.kind == "member"]
    assert len(got) == len(list(combinations(dc_routers, 2))) + len(members) * 3
    assert len(set(got)) == len(got)
    assert ("hauk-ce1", "tos-cr1") in got


# --- the report ------------------------------------------------------------------------------
def fake_drill(tmp_path: Path, ref: str, mode: str) -> drills.Drill:
    d = object.__new__(drills.Drill)
    d.topo, d.element = TOPO, Element(*ref.split(":"))
    d.action, d.mode = "cut", mode
    d.opts = drills.DrillOptions(lab="unit", store=False, out_dir=tmp_path)
    d.down = outage(TOPO, [d.element])
    d.flows = drills.flows(TOPO)
    d.routers = sorted(TOPO.routers)
    d.dir = tmp_path
    d.marks = {"probes": 0, "inject": int(1.5e9), "injected": int(1.52e9), "confirmed": int(2e9),
               "restore": int(4e9), "end": int(6e9)}
    return d


def test_report_shape_and_targets(tmp_path):
    d = fake_drill(tmp_path, "span:osl-ham-rail", "light")
    before = {(s, t): fwd.walk(TOPO, fib_from_model(TOPO, set()), s, t) for s, t in d.flows}
    after = {(s, t): fwd.walk(TOPO, fib_from_model(TOPO, set(d.down.links)), s, t)
             for s, t in d.flows}
    records = []
    for s, t in d.flows:
        cut = set(range(310, 318)) if fwd.uses(TOPO, before[(s, t)]["paths"], d.down) else set()
        rec = record(1200, cut)
        records.append(FlowRecord(str(TOPO.routers[s].loopback.ip),
                                  str(TOPO.routers[t].loopback.ip), rec.sent, rec.replies))
    report = d.report(records, before, after, {"differences": [], "converged_ms": 1.0},
                      {"event_ms": 900.0}, {}, {})
    json.dumps(report)
    for key in ("flows", "restored", "failure", "mode", "igp_converged_ms", "monitor_event_ms",
                "targets"):
        assert key in report
    assert report["restored"] is True and report["failure"] == "span:osl-ham-rail"
    affected = [f for f in report["flows"] if f["affected"]]
    assert {(f["src"], f["dst"]) for f in affected} >= {("osl-cr1", "trd-cr1"),
                                                       ("osl-cr2", "trd-cr2")}
    for f in report["flows"]:
        for key in ("src", "dst", "affected", "max_gap_ms", "lost", "predicted_path",
                    "observed_path", "path_matches"):
            assert key in f
        assert f["path_matches"] is True
        assert f["lost"] == (8 if f["affected"] else 0)
    assert all(f["max_gap_ms"] == pytest.approx(45.0) for f in affected)
    targets = {t["id"]: t for t in report["targets"]}
    assert targets["light_cut_gap"]["met"] is True
    assert targets["light_cut_gap"]["measured"] == pytest.approx(45.0)
    assert targets["silent_gap"]["met"] is None
    assert targets["path_match"]["measured"] == 100.0 and targets["path_match"]["met"]
    assert targets["unaffected_loss"]["measured"] == 0 and targets["unaffected_loss"]["met"]


def test_target_fails_on_mismatch_and_unaffected_loss(tmp_path):
    d = fake_drill(tmp_path, "span:osl-ham-rail", "silent")
    before = {(s, t): fwd.walk(TOPO, fib_from_model(TOPO, set()), s, t) for s, t in d.flows}
    report = d.report([], before, before, {"differences": ["x"]}, {}, {}, {})
    targets = {t["id"]: t for t in report["targets"]}
    assert report["restored"] is False
    assert targets["path_match"]["met"] is False  # the paths never moved off the cut links
    assert targets["silent_gap"]["met"] is False  # nothing measured is not a pass
    assert targets["light_cut_gap"]["met"] is None


# --- storage and history ---------------------------------------------------------------------
@pytest.mark.parametrize("kind, on_failed_end, found", [
    ("ospf_neighbor_down", True, True),  # the only sign of a silent failure
    ("linkDown", True, True), ("link_down", True, True),
    ("ospf_neighbor_down", False, False), ("link_up", True, False)])
def test_monitor_watch_keeps_the_first_event_on_a_failed_link(tmp_path, kind, on_failed_end, found):
    down = outage(TOPO, [Element("span", "osl-ham-rail")])
    ends = {(e.router, e.interface) for i in down.links for e in (TOPO.links[i].a, TOPO.links[i].b)}
    other = next((e.router, e.interface) for lk in TOPO.links.values() for e in (lk.a, lk.b)
                 if (e.router, e.interface) not in ends)
    router, interface = sorted(ends)[0] if on_failed_end else other
    watch = MonitorWatch(None, TOPO, tmp_path)
    event = {"kind": kind, "router": router, "interface": interface}
    watch._check([event], "trap")
    assert watch.found is None  # not armed yet: the baseline is no failure
    watch.arm(down)
    watch._check([event], "trap")
    assert (watch.found is not None) == found
    if found:
        assert (watch.found["kind"], watch.found["source"], watch.found["router"]) == \
            (kind, "trap", router)


def test_store_and_history(tmp_path):
    store = Store(tmp_path / "ngk.db")
    base = {"lab": "x", "mode": "light", "restored": True, "igp_converged_ms": 10.0,
            "monitor_event_ms": None}
    gaps = {"span:a": [40.0, 55.5], "span:b": [12.0]}
    for failure, runs in gaps.items():
        for g in runs:
            flows = [{"affected": True, "max_gap_ms": g + 70, "net_gap_ms": g, "lost": 3,
                      "path_matches": True},  # a 70 ms prober stall inside: not stored
                     {"affected": False, "max_gap_ms": 99.0, "net_gap_ms": 99.0, "lost": 0,
                      "path_matches": True}]
            assert drill_store.store_report(store, {**base, "failure": failure, "flows": flows})
    store.close()
    hist = drill_store.drill_history(Store(tmp_path / "ngk.db"))
    got = {g["failure"]: [r["max_gap_ms"] for r in g["runs"]] for g in hist["failures"]}
    assert got == gaps
    a = next(g for g in hist["failures"] if g["failure"] == "span:a")
    assert (a["best_gap_ms"], a["worst_gap_ms"], a["last_gap_ms"]) == (40.0, 55.5, 55.5)
    assert drill_store.drill_history(Store(tmp_path / "ngk.db"), "span:b")["failures"][0][
        "runs"][0]["lost"] == 3


# --- the prober, on loopback addresses -------------------------------------------------------
def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_prober_echoes_and_records(tmp_path):
    import time

    probes = ProbeSet(tmp_path, interval=0.005, port=free_udp_port())
    probes.start([Member(None, "127.0.0.21", ("127.0.0.22",)), Member(None, "127.0.0.22", ())])
    time.sleep(0.4)
    records = probes.stop()
    assert [(r.src, r.dst) for r in records] == [("127.0.0.21", "127.0.0.22")]
    rec = records[0]
    assert len(rec.sent) >= 20
    assert len(rec.replies) >= len(rec.sent) - 3  # only the last few may be in flight
    assert all(rec.sent[seq] < echoed <= recv for seq, echoed, recv in rec.replies)


def test_prober_reports_bind_errors(tmp_path):
    with pytest.raises(RuntimeError, match="prober did not start"):
        ProbeSet(tmp_path, port=free_udp_port()).start([Member(None, "192.0.2.77", ())])


# --- CLI -------------------------------------------------------------------------------------
def test_cli_refuses_when_lab_is_down():
    result = CliRunner().invoke(app, ["drill", "cut", "osl-ham-rail", "--name", "nolab-u1"])
    assert result.exit_code == 2
    assert "not up" in result.output


# --- prober stalls and the one verdict -------------------------------------------------------
def stalled_record(src: str, dst: str, lost: set[int], stall: tuple[float, float] | None = None,
                   clock: tuple[float, float] | None = None) -> FlowRecord:
    """Probes every 5 ms from t=1 s. `stall` (ms from 1 s): the prober reads nothing then, so
    replies due in it arrive at its end. `clock`: the prober sends nothing then."""
    sent, t = [], 1e9
    while t < 7e9:
        if clock and 1e9 + clock[0] * MS <= t < 1e9 + clock[1] * MS:
            t = 1e9 + clock[1] * MS
        sent.append(int(t))
        t += 5 * MS
    replies = []
    for i, s in enumerate(sent):
        if i in lost:
            continue
        recv = s + int(0.1 * MS)
        if stall and 1e9 + stall[0] * MS <= recv < 1e9 + stall[1] * MS:
            recv = int(1e9 + stall[1] * MS) + i  # drained in one go when the prober runs again
        replies.append((i, s + 50_000, recv))
    return FlowRecord(src, dst, sent, replies)


def stalled_drill(tmp_path: Path, cut_ms: float, stall=None, clock=None
                  ) -> tuple[dict, list[FlowRecord]]:
    """A light cut of osl-ham-rail: affected flows lose `cut_ms` of probes 20 ms after the
    injection (at 1.5 s); a stall/clock pause hits every flow at once."""
    d = fake_drill(tmp_path, "span:osl-ham-rail", "light")
    before = {(s, t): fwd.walk(TOPO, fib_from_model(TOPO, set()), s, t) for s, t in d.flows}
    after = {(s, t): fwd.walk(TOPO, fib_from_model(TOPO, set(d.down.links)), s, t)
             for s, t in d.flows}
    first = int((500 + 20) / 5)
    records = []
    for s, t in d.flows:
        hit = fwd.uses(TOPO, before[(s, t)]["paths"], d.down)
        lost = set(range(first, first + int(cut_ms / 5))) if hit else set()
        records.append(stalled_record(str(TOPO.routers[s].loopback.ip),
                                      str(TOPO.routers[t].loopback.ip), lost, stall, clock))
    return d.report(records, before, after, {"differences": [], "converged_ms": 1.0},
                    {"event_ms": 900.0}, {}, {}), records


def stalled_report(tmp_path: Path, cut_ms: float, stall=None, clock=None) -> dict:
    return stalled_drill(tmp_path, cut_ms, stall, clock)[0]


def test_timeline_draws_stalls(tmp_path):
    from controller.analysis.drill_report import render_timeline
    report, records = stalled_drill(tmp_path, 20, stall=(2500, 2575))
    render_timeline(report, records, int(1.5e9), int(4e9), tmp_path / "t.png")
    assert (tmp_path / "t.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_gap_on_every_flow_at_once_is_a_prober_stall(tmp_path):
    """75 ms without replies on all flows 2 s after the cut: a stall, reported apart; the cut's
    own 20 ms interruption is what the target judges (the demo's 'NO' of issue 12)."""
    report = stalled_report(tmp_path, 20, stall=(2500, 2575))
    assert [w["source"] for w in report["stalls"]] == ["control flows"]
    assert report["stalls"][0]["ms"] == pytest.approx(75, abs=6)
    affected = [f for f in report["flows"] if f["affected"]]
    assert all(f["max_gap_ms"] >= 75 for f in affected)
    assert all(f["net_gap_ms"] <= 30 for f in affected)
    targets = {t["id"]: t for t in report["targets"]}
    assert targets["light_cut_gap"]["met"] is True and targets["light_cut_gap"]["max_gap_ms"] >= 75
    assert report["verdict"]["ok"] and report["verdict"]["notes"]


def test_prober_clock_pause_is_a_stall(tmp_path):
    report = stalled_report(tmp_path, 20, clock=(2000, 2080))
    assert [w["source"] for w in report["stalls"]][:1] == ["prober clock"]
    assert report["verdict"]["ok"]


def test_a_gap_on_affected_flows_only_is_the_network(tmp_path):
    report = stalled_report(tmp_path, 75)
    assert report["stalls"] == []
    v = report["verdict"]
    assert not v["ok"] and any(r.startswith("light_cut_gap") for r in v["reasons"])


def test_playbook_drill_step_applies_the_drill_verdict(tmp_path, monkeypatch):
    """The failover-drill playbook (and so `ngk demo`) and `ngk drill` judge with one function."""
    from controller.playbook.actions import drill_step
    from controller.playbook.registry import Context
    from controller.services import drills as drills_mod
    from controller.services.drill_targets import verdict
    for cut_ms, stall in ((20, (4500, 4575)), (75, None)):
        report = stalled_report(tmp_path, cut_ms, stall=stall)
        report["artifacts"] = {"report": "r.json", "timeline": "t.png"}
        monkeypatch.setattr(drills_mod, "run_drill", lambda *a, **k: report)
        out = drill_step(Context(TOPO, lab="unit"), [], {"element": "osl-ham-rail"})
        assert out.ok == verdict(report)["ok"] == report["verdict"]["ok"]
        assert out.details["reasons"] == report["verdict"]["reasons"]
        assert all(r in out.summary for r in report["verdict"]["reasons"])


def test_overlapping_stall_windows_count_once():
    """The clock check and the control flows often report one stall twice: its time counts once.
    Probes sent 1000-1060 ms are lost, the prober stalls 1000-1040 ms: the 65 ms reply gap holds
    25 ms the prober saw (the stall's 40 ms are unobserved)."""
    rec = stalled_record("a", "b", set(range(200, 212)), stall=(1000, 1040))
    t0, t1 = int(1.5e9), int(3e9)
    one = (int(1e9 + 1000 * MS), int(1e9 + 1040 * MS))
    twice = [one, (one[0] + 2 * MS, one[1] + 1 * MS)]
    assert flow_stats(rec, t0, t1)["net_gap_ms"] == pytest.approx(65, abs=1)
    assert flow_stats(rec, t0, t1, stall_windows=[one])["net_gap_ms"] == pytest.approx(25, abs=1)
    assert flow_stats(rec, t0, t1, stall_windows=twice)["net_gap_ms"] == pytest.approx(25, abs=2)


def test_loss_inside_a_stall_or_refused_by_the_host_is_a_prober_artefact():
    """Probes 300-309 are sent inside a stall window and never answered; 320-321 were refused by
    this host's full send buffer; 340 is lost in the network. Only 340 is network loss."""
    rec = record(600, set(range(300, 310)) | {320, 321, 340})
    rec.unsent = [320, 321]
    t0, t1 = rec.sent[100], rec.sent[599]
    window = (rec.sent[299], rec.sent[310])
    plain = flow_stats(rec, t0, t1)
    assert (plain["lost"], plain["prober_lost"]) == (11, 2)
    s = flow_stats(rec, t0, t1, stall_windows=[window])
    assert (s["lost"], s["prober_lost"]) == (1, 12)
    assert FlowRecord.from_json(rec.as_json()).unsent == [320, 321]


def test_unaffected_loss_in_the_restore_window_during_a_stall_is_not_counted(tmp_path):
    """Every flow loses the probes sent 4.6-4.7 s (after the restore at 4 s) at once: a stall
    (the control flows all went silent), so they are prober artefacts and the unaffected-loss
    target holds; the same loss on one unaffected flow only is network loss."""
    d = fake_drill(tmp_path, "span:osl-ham-rail", "light")
    before = {(s, t): fwd.walk(TOPO, fib_from_model(TOPO, set()), s, t) for s, t in d.flows}
    after = {(s, t): fwd.walk(TOPO, fib_from_model(TOPO, set(d.down.links)), s, t)
             for s, t in d.flows}
    window = set(range(int(3600 / 5), int(3700 / 5)))  # seqs: sends from 1 s every 5 ms

    def report(lossy: int | None) -> dict:
        records = [stalled_record(str(TOPO.routers[s].loopback.ip),
                                  str(TOPO.routers[t].loopback.ip),
                                  window if lossy is None or i == lossy else set())
                   for i, (s, t) in enumerate(d.flows)]
        return d.report(records, before, after, {"differences": [], "converged_ms": 1.0},
                        {"event_ms": 900.0}, {}, {})

    stalled = report(None)
    assert [w["source"] for w in stalled["stalls"]] == ["control flows"]
    loss = {t["id"]: t for t in stalled["targets"]}["unaffected_loss"]
    unaffected = sum(1 for f in stalled["flows"] if not f["affected"])
    assert (loss["met"], loss["measured"]) == (True, 0)
    assert loss["prober_lost"] == unaffected * len(window)
    assert stalled["verdict"]["ok"]
    assert any("prober stall" in n for n in stalled["verdict"]["notes"])
    control = next(i for i, f in enumerate(stalled["flows"]) if not f["affected"])
    one = report(control)
    assert one["stalls"] == []
    loss = {t["id"]: t for t in one["targets"]}["unaffected_loss"]
    assert (loss["met"], loss["measured"]) == (False, len(window))
