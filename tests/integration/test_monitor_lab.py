"""The SNMP monitor against the live netns lab: one `ngk monitor --once --json` cycle agrees with
the kernel and the agents' processes; a light cut of a span is seen by trap and by poll with the
right links, spans, SRLGs and datacentre reroutes — by trap both as net-snmp's linkDown and as
FRR ospfd's ospfNbrStateChange (`ospf_neighbor_down`, latency printed); the restore closes it;
and `ngk uptime` over the window reports the downtime that happened. The lab is restored even when
a test fails."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import networkx as nx
import pytest
from typer.testing import CliRunner

from controller.cli.main import app
from controller.lab.daemons import TRAP_PORT
from controller.lab.faults import lab_cut, lab_restore
from controller.model.layers import outage, resolve_element
from controller.model.topology import Topology
from controller.services.impact import ImpactMapper
from controller.services.monitor.app import Monitor
from controller.southbound.snmp.inventory import load_inventory
from controller.southbound.snmp.traps import TrapReceiver
from controller.store import Store

pytestmark = pytest.mark.integration
SPAN = "osl-ham-rail"  # carries osl-ham-2 and osl-trd-2 (the Oslo-Trondheim link the IGP prefers)
INTERVAL_S = 1.0  # poll interval of the cut test
HOLD_S = 3.0  # the cut lasts at least this long
DETECT_TIMEOUT_S = 15.0
# Linux applies carrier changes to a device's operstate (what ifOperStatus reports) in linkwatch
# batches at most once a second: when several links come up together, all but the first show UP
# ~1 s after the `ip link set up` (measured: 0.01 s, then 1.01-1.03 s for the rest)
KERNEL_LINKWATCH_S = 1.0
OSPF_BACK_S = 3.0  # adjacency full again after a silent cut's restore (hello 1 s; seen 1.03 s)


def inventory(lab) -> Path:
    return Path(lab.state.dir) / "inventory"


def cli_run(*args: str) -> dict:
    res = CliRunner().invoke(app, [*args, "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def process_age_s(pid: int) -> float:
    """Seconds since the process started (/proc/PID/stat field 22, clock ticks since boot)."""
    start_ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    boot_s = float(Path("/proc/uptime").read_text().split()[0])
    return boot_s - start_ticks / os.sysconf("SC_CLK_TCK")


def kernel_links(netns: str) -> dict[str, str]:
    """ifname -> "up"/"down" as the kernel sees it inside the router's netns (lo left out)."""
    out = subprocess.run(["ip", "-n", netns, "-j", "link", "show"], capture_output=True,
                         text=True, check=True).stdout
    return {x["ifname"]: "up" if x["operstate"] == "UP" else "down" for x in json.loads(out)
            if x["ifname"] != "lo"}


def test_once_json_matches_kernel_and_agents(lab_shared, tmp_path) -> None:
    lab = lab_shared
    report = cli_run("monitor", "--once", "--inventory", str(inventory(lab)),
                     "--db", str(tmp_path / "m.db"), "-t", lab.state.topology)
    rows = {r["router"]: r for r in report["routers"]}
    assert set(rows) == set(lab.topo.routers)
    ends = {(e.router, e.interface) for lk in lab.topo.links.values() for e in (lk.a, lk.b)}
    for router, row in rows.items():
        rs = lab.state.routers[router]
        assert row["reachable"] and row["error"] is None and row["problems"] == [], row
        assert row["sys_name"] == router
        assert abs(row["sys_uptime"] - process_age_s(rs.pids["snmpd"])) < 2.0, row
        kernel = kernel_links(rs.netns)
        snmp = {k: v for k, v in row["interfaces"].items() if k != "lo"}
        # net-snmp keeps an interface that was deleted (another test's extra cable) in ifTable,
        # down (RFC 2863 keeps ifIndex stable); every interface the kernel has must agree
        assert {k: snmp.get(k) for k in kernel} == kernel, router
        assert all(v == "down" for k, v in snmp.items() if k not in kernel), router
        assert {i for r, i in ends if r == router} <= {i for i, v in kernel.items() if v == "up"}
    assert [e for e in report["events"] if e["kind"] != "poll_error"] == []


@dataclass
class CutRun:
    """What the two monitors saw of one cut: events by trap and by poll, the (start, end) of
    every poll cycle, and wall-clock times: the kernel change happens between `cut_at` and
    `cut_done` (and `restored_at`, `restore_done`)."""

    trap_events: list[dict] = field(default_factory=list)
    poll_events: list[dict] = field(default_factory=list)
    cycles: list[tuple[float, float]] = field(default_factory=list)
    cut_at: float = 0.0
    cut_done: float = 0.0
    restored_at: float = 0.0
    restore_done: float = 0.0
    since: float = 0.0
    until: float = 0.0

    def first_cycle_end_after(self, t: float) -> float:
        """When the first poll cycle that started after `t` ended."""
        return min(end for start, end in self.cycles if start >= t)

    def effective_interval(self) -> float:
        """The longest gap between poll cycle starts (the interval, stretched by any load)."""
        starts = [start for start, _ in self.cycles]
        return max(b - a for a, b in zip(starts, starts[1:]))


def endpoints(topo: Topology, links: list[str]) -> set[tuple[str, str]]:
    return {(e.router, e.interface) for lid in links
            for e in (topo.links[lid].a, topo.links[lid].b)}


def seen(events: list[dict], kind: str) -> set[tuple[str, str]]:
    return {(e["router"], e["interface"]) for e in events if e["kind"] == kind}


async def wait_for(check, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


LIGHT_DOWN = (("trap", "linkDown"), ("trap", "ospf_neighbor_down"), ("poll", "link_down"))
LIGHT_UP = (("trap", "linkUp"), ("trap", "ospf_neighbor_up"), ("poll", "link_up"))


async def cut_and_restore(lab, tmp_path: Path, links: list[str], mode: str = "light",
                          adjacency_every: int = 0, down=LIGHT_DOWN, up=LIGHT_UP,
                          settle_s: float = 0.0) -> CutRun:
    """Two monitors side by side through a `mode` cut of SPAN: one only receives traps (on the
    lab's trap address; <mode>-trap.db), one only polls every INTERVAL_S (<mode>-poll.db; walking
    the ospfNbrTable every `adjacency_every` cycles, 0 = never). Cut until each (source, kind) of
    `down` named every end of `links` (at least HOLD_S), restore, wait the same for `up`, then
    until `settle_s` after the restore and two intervals more."""
    targets, problems = load_inventory(inventory(lab))
    assert not problems and targets
    impact = ImpactMapper(lab.topo)
    poller = Monitor(targets, Store(tmp_path / f"{mode}-poll.db"), impact,
                     adjacency_every=adjacency_every, interval=INTERVAL_S)
    # traps only: its one poll stands for the whole run (`ngk uptime` counts observed time only)
    trapped = Monitor(targets, Store(tmp_path / f"{mode}-trap.db"), impact, interval=3600.0)
    run, want = CutRun(), endpoints(lab.topo, links)
    events = {"trap": run.trap_events, "poll": run.poll_events}
    receiver = TrapReceiver(targets, lambda t: run.trap_events.extend(trapped.on_trap(t)),
                            str(next(lab.topo.mgmt_subnet.hosts())), TRAP_PORT)
    stop = asyncio.Event()
    await trapped.cycle()  # learns ifIndex -> name, so traps name interfaces
    receiver.start()
    run.since = time.time()

    async def polling() -> None:
        while not stop.is_set():
            began, wall = time.monotonic(), time.time()
            run.poll_events.extend((await poller.cycle())["events"])
            run.cycles.append((wall, time.time()))
            await asyncio.sleep(max(0.0, INTERVAL_S - (time.monotonic() - began)))

    def saw(kinds) -> bool:
        return all(want <= seen(events[source], kind) for source, kind in kinds)

    task = asyncio.create_task(polling())
    try:
        await asyncio.sleep(2 * INTERVAL_S)
        run.cut_at = time.time()
        await asyncio.to_thread(lab_cut, SPAN, mode, lab.name)
        run.cut_done = time.time()
        await wait_for(lambda: saw(down), DETECT_TIMEOUT_S)
        await asyncio.sleep(max(0.0, run.cut_at + HOLD_S - time.time()))
    finally:
        run.restored_at = time.time()
        await asyncio.to_thread(lab_restore, [], lab.name)
        run.restore_done = time.time()
    try:
        await wait_for(lambda: saw(up), DETECT_TIMEOUT_S)
        await asyncio.sleep(max(0.0, run.restore_done + settle_s - time.time()) + 2 * INTERVAL_S)
        run.until = time.time()
    finally:
        stop.set()
        await task
        receiver.close()
        poller.close()
        trapped.close()
    return run


def expected_impact(topo: Topology, links: set[str]) -> dict:
    """Spans, SRLGs, disconnected datacentre pairs (plain networkx site graph) and the IGP cost
    of each rerouted pair of datacentre routers (plain networkx router graph)."""
    spans = {s for lid in links for s in topo.links[lid].route}
    g, routers = nx.MultiGraph(), nx.MultiGraph()
    for lk in topo.links.values():
        a, b = topo.routers[lk.a.router].site, topo.routers[lk.b.router].site
        if lk.id not in links:
            g.add_edge(a, b, key=lk.id, w=lk.metric)
            routers.add_edge(lk.a.router, lk.b.router, key=lk.id, w=lk.metric)
    pairs = list(combinations(sorted(topo.datacentres()), 2))
    dc_routers = [(ra.id, rb.id) for a, b in pairs for ra in topo.routers_at(a)
                  for rb in topo.routers_at(b)]
    return {"spans": sorted(spans),
            "srlgs": sorted({x for s in spans for x in topo.spans[s].srlgs}),
            "disconnected": sorted(["-".join(p) for p in pairs if not nx.has_path(g, *p)]),
            "costs": {p: nx.shortest_path_length(routers, *p, weight="w") for p in dc_routers
                      if nx.has_path(routers, *p)}}


def check_impact(topo: Topology, impact: dict, links: set[str]) -> None:
    want = expected_impact(topo, links)
    assert set(impact["links_down"]) == links
    assert impact["spans"] == want["spans"] and impact["srlgs"] == want["srlgs"]
    assert SPAN in impact["suspected_spans"]
    assert sorted("-".join(p) for p in impact["datacentre_pairs_disconnected"]) == \
        want["disconnected"]
    assert ["osl", "trd"] in [r["pair"] for r in impact["reroutes"]]
    for r in impact["reroutes"]:
        assert links.isdisjoint(r["via_links"]), r
        cost = sum(topo.links[lid].metric for lid in r["via_links"])
        assert cost == want["costs"][tuple(r["routers"])], r


def check_events(topo: Topology, events: list[dict], down: str, up: str, source: str,
                 links: set[str], closers: tuple[str, ...] = ()) -> None:
    """`down`/`up` events name every end of `links` with the impact; the last of the `up` (and
    `closers`) events closes the outage."""
    by_end = {(e.router, e.interface): lk.id for lk in topo.links.values() for e in (lk.a, lk.b)}
    downs = [e for e in events if e["kind"] == down and (e["router"], e["interface"]) in by_end]
    ups = [e for e in events if e["kind"] == up and (e["router"], e["interface"]) in by_end]
    assert {by_end[(e["router"], e["interface"])] for e in downs} == links
    assert {(e["router"], e["interface"]) for e in downs} == endpoints(topo, sorted(links))
    for e in downs + ups:
        assert e["source"] == source and "impact" in e["detail"], e
    for e in downs:  # each event names its own link among those down
        assert by_end[(e["router"], e["interface"])] in e["detail"]["impact"]["links_down"]
    complete = [e for e in downs if set(e["detail"]["impact"]["links_down"]) == links]
    assert complete, "no event carries the impact of the whole cut"
    check_impact(topo, complete[0]["detail"]["impact"], links)
    # events come in the order the monitor processed them (one poll cycle's devices answer in
    # any order, so their observation times need not be sorted)
    last_up = [e for e in events if e["kind"] in (up, *closers)
               and (e["router"], e["interface"]) in by_end][-1]
    assert last_up["detail"]["impact"]["elements"] == [], last_up  # the event is closed
    assert min(e["ts"] for e in ups) > max(e["ts"] for e in downs)


def check_ospf(topo: Topology, run: CutRun, links: set[str]) -> dict[str, float]:
    """ospf_neighbor_down/up name the router's end and its link (by the far end's /31 address);
    returns seconds from the cut to the first ospf_neighbor_down per link."""
    by_end = {(e.router, e.interface): lk.id for lk in topo.links.values() for e in (lk.a, lk.b)}
    ospf = [e for e in run.trap_events if e["kind"] in ("ospf_neighbor_down", "ospf_neighbor_up")]
    for e in ospf:
        assert e["detail"]["link"] == by_end[(e["router"], e["interface"])], e
        lk = topo.links[e["detail"]["link"]]
        far = lk.b if (lk.a.router, lk.a.interface) == (e["router"], e["interface"]) else lk.a
        assert e["detail"]["neighbor_address"] == str(far.address.ip), e
    check_events(topo, run.trap_events, "ospf_neighbor_down", "ospf_neighbor_up", "trap", links,
                 ("linkUp",))
    return {lid: min(e["ts"] for e in ospf if e["kind"] == "ospf_neighbor_down"
                     and e["detail"]["link"] == lid) - run.cut_at for lid in sorted(links)}


def test_cut_seen_by_trap_and_poll_and_uptime(lab_exclusive, tmp_path, record_property) -> None:
    lab = lab_exclusive
    links = sorted(outage(lab.topo, [resolve_element(lab.topo, SPAN)]).links)
    assert set(links) == {"osl-ham-2", "osl-trd-2"}
    run = asyncio.run(cut_and_restore(lab, tmp_path, links))
    check_events(lab.topo, run.trap_events, "linkDown", "linkUp", "trap", set(links),
                 ("ospf_neighbor_up",))
    latency = check_ospf(lab.topo, run, set(links))
    record_property("ospf_neighbor_down_after_cut_s", latency)
    print(f"cut -> ospf_neighbor_down: {', '.join(f'{k} {v:.3f} s' for k, v in latency.items())}")
    check_events(lab.topo, run.poll_events, "link_down", "link_up", "poll", set(links))

    report = cli_run("uptime", "--since", repr(run.since), "--until", repr(run.until),
                     "--db", str(tmp_path / "light-poll.db"), "-t", lab.state.topology)
    actual = run.restored_at - run.cut_at
    # the kernel's operstate changes within [cut_at, cut_done + linkwatch], likewise for restore
    uncertainty = (run.cut_done - run.cut_at) + (run.restore_done - run.restored_at) \
        + 2 * KERNEL_LINKWATCH_S
    interval = run.effective_interval()
    print(f"poll interval {INTERVAL_S} s, effective {interval:.2f} s")
    by_link = {x["link"]: x for x in report["links"]}
    for lid in links:
        x = by_link[lid]
        assert x["outages"] == 1, x
        (start, end), = x["down_intervals"]
        # the agent shows the kernel's state at once (the lab sets its ifTable cache timeout to
        # 0), so each edge is recorded by the first poll cycle that starts after the kernel shows it
        settled_cut = run.cut_done + KERNEL_LINKWATCH_S
        settled_restore = run.restore_done + KERNEL_LINKWATCH_S
        assert run.cut_at <= start <= run.first_cycle_end_after(settled_cut), (x, run.cycles)
        assert run.restored_at <= end <= run.first_cycle_end_after(settled_restore), x
        assert abs(x["downtime_s"] - actual) <= interval + uncertainty, (x, actual)
    assert all(x["downtime_s"] == 0 for lid, x in by_link.items() if lid not in links)
    assert all(x["downtime_s"] == 0 and x["availability_pct"] == 100 for x in report["routers"])
    disconnected = expected_impact(lab.topo, set(links))["disconnected"]
    assert [x["pair"] for x in report["datacentre_pairs"] if x["downtime_s"]] == disconnected


def test_silent_cut_counts_as_downtime(lab_exclusive, tmp_path) -> None:
    """Interfaces stay up in a silent failure; the links are down all the same, and `ngk uptime`
    says so from the OSPF adjacencies recorded by trap, and by polling alone."""
    lab = lab_exclusive
    links = sorted(outage(lab.topo, [resolve_element(lab.topo, SPAN)]).links)
    ospf = (("trap", "ospf_neighbor_down"), ("poll", "ospf_neighbor_down"))
    run = asyncio.run(cut_and_restore(
        lab, tmp_path, links, "silent", adjacency_every=1, down=ospf,
        up=tuple((source, "ospf_neighbor_up") for source, _ in ospf), settle_s=OSPF_BACK_S))
    assert seen(run.trap_events, "linkDown") | seen(run.poll_events, "link_down") == set()
    # BFD (50 ms x 3) declares the neighbour down; OSPF (hello 1 s) needs ~1 s to come back
    settled_cut, settled_restore = run.cut_done + 0.5, run.restore_done + OSPF_BACK_S
    for db, last_down, last_up in (
            ("silent-trap.db", settled_cut, settled_restore),
            ("silent-poll.db", run.first_cycle_end_after(settled_cut),
             run.first_cycle_end_after(settled_restore))):
        report = cli_run("uptime", "--since", repr(run.since), "--until", repr(run.until),
                         "--db", str(tmp_path / db), "-t", lab.state.topology)
        by_link = {x["link"]: x for x in report["links"]}
        for lid in links:
            x = by_link[lid]
            (start, end), = x["down_intervals"]
            assert run.cut_at <= start <= last_down, (db, x)
            assert run.restored_at <= end <= last_up, (db, x)
        assert all(x["downtime_s"] == 0 for lid, x in by_link.items() if lid not in links), db
        disconnected = expected_impact(lab.topo, set(links))["disconnected"]
        assert [x["pair"] for x in report["datacentre_pairs"] if x["downtime_s"]] == disconnected
