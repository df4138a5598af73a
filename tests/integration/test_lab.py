"""Integration tests against the live netns lab (root, FRR, sshd, snmpd). See conftest.py."""
from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import networkx as nx
import pytest
import yaml

from controller.lab import mgmt
from controller.lab.daemons import tune_snmpd
from controller.lab.down import lab_down
from controller.lab.faults import lab_cut
from controller.lab.state import STATE_ROOT, LabError, LabState, lab_dir
from controller.lab.status import SHOW, lab_status, vtysh_json
from controller.lab.system import alive, netns_list
from controller.lab.up import lab_up, new_state
from controller.lab.vty import vty_command, vty_json
from controller.model.layers import Element, ip_graph, outage
from controller.model.load import load_topology
from controller.model.topology import Topology
from controller.southbound.snmp.client import SnmpError, snmp_set
from controller.credentials import SnmpCredentials
from controller.southbound.snmp.inventory import Target, load_inventory
from controller.southbound.snmp.oids import IFTABLE_CACHE_TIMEOUT, SYS_NAME, dotted
from controller.southbound.snmp.poller import poll_once

from conftest import LAB, Lab, require_lab, tiny_topology, wait_for

pytestmark = pytest.mark.integration
SYS_NAME_0 = f"{dotted(SYS_NAME)}.0"


# --- independent expectations from the model -------------------------------------------------
def graph_without(topo: Topology, down_links: frozenset[str] = frozenset()) -> nx.DiGraph:
    """Routers joined by the cheapest up link between them (weight = OSPF cost in the direction
    of travel: 65535 leaving a CE router, which advertises max-metric, RFC 6987)."""
    g = nx.DiGraph()
    g.add_nodes_from(topo.routers)
    for a, b, key, data in ip_graph(topo).edges(keys=True, data=True):
        if key in down_links:
            continue
        for u, v in ((a, b), (b, a)):
            cost = 65535 if topo.routers[u].role == "ce" else data["metric"]
            if not g.has_edge(u, v) or cost < g[u][v]["metric"]:
                g.add_edge(u, v, metric=cost, link=key)
    return g


def unique_next_hop(g: nx.DiGraph, src: str, dst: str) -> str | None:
    paths = list(itertools.islice(nx.all_shortest_paths(g, src, dst, weight="metric"), 2))
    return paths[0][1] if len(paths) == 1 else None


def gateway_toward(topo: Topology, g: nx.DiGraph, src: str, nxt: str) -> str:
    link = topo.links[g[src][nxt]["link"]]
    far = link.b if link.a.router == src else link.a
    return str(far.address.ip)


def fib_gateway(lab: Lab, router: str, dest: str) -> str | None:
    out = subprocess.run(["ip", "-n", lab.state.routers[router].netns, "-j", "route", "get", dest],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)[0].get("gateway")


def lab_targets(lab: Lab) -> dict[str, Target]:
    """The SNMP targets of the inventory the lab wrote (v3 authPriv from its credentials)."""
    targets, problems = load_inventory(Path(lab.state.dir) / "inventory")
    assert problems == []
    return {t.router: t for t in targets}


def oper_status(lab: Lab, router: str, interface: str) -> int | None:
    """ifOperStatus of one interface, read by SNMP from the router's agent."""
    poll, = poll_once([lab_targets(lab)[router]])
    return next((i.oper for i in poll.interfaces.values() if i.name == interface), None)


def ngk(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The CLI as a user runs it, from this interpreter (not whatever `ngk` is on PATH)."""
    return subprocess.run([sys.executable, "-m", "controller.cli", *args], capture_output=True,
                          text=True, timeout=120, env=env)


# --- the shared reference lab ----------------------------------------------------------------
def test_adjacencies_and_route_costs_match_the_model(lab_shared: Lab) -> None:
    topo = lab_shared.topo
    g = graph_without(topo)
    degree = {r: sum(1 for lk in topo.links.values() if r in (lk.a.router, lk.b.router))
              for r in topo.routers}
    for router, rs in lab_shared.state.routers.items():
        nbrs, routes = vtysh_json(rs.netns, "show ip ospf neighbor json", "show ip route ospf json")
        full = [n for ns in nbrs["neighbors"].values() for n in ns
                if n["nbrState"].startswith("Full")]
        assert len(full) == degree[router]
        dist = nx.single_source_dijkstra_path_length(g, router, weight="metric")
        for other, cost in dist.items():
            if other != router:
                prefix = f"{topo.routers[other].loopback.ip}/32"
                assert routes[prefix][0]["metric"] == cost, (router, other)
    status = lab_status(LAB, management=False)
    assert status["converged"] is True
    assert all(r["bfd_up"] == degree[r["router"]] for r in status["routers"])


def test_vty_sockets_answer_what_vtysh_answers(lab_shared: Lab) -> None:
    """lab status reads the daemons' vty sockets directly; vtysh is the reference."""
    for rs in lab_shared.state.routers.values():
        nbrs, bfd, routes = (vty_json(rs.netns, d, c) for d, c in SHOW)
        ref = vtysh_json(rs.netns, *(c for _, c in SHOW))
        assert set(nbrs["neighbors"]) == set(ref[0]["neighbors"]) != set()
        assert {p["peer"] for p in bfd} == {p["peer"] for p in ref[1]} != set()
        assert set(routes) == set(ref[2]) != set()
    with pytest.raises(OSError, match="Unknown command|failed"):
        vty_command(rs.netns, "ospfd", "show no such thing")


def test_ssh_runs_vtysh_on_each_router(lab_shared: Lab) -> None:
    for router in lab_shared.topo.routers.values():
        out = mgmt.ssh_command(lab_shared.creds, str(router.mgmt.ip), "vtysh -c 'show version'")
        assert "FRRouting 8" in out and f"({router.id})" in out


def test_ssh_rejects_a_wrong_host_key(lab_shared: Lab, tmp_path: Path) -> None:
    routers = list(lab_shared.topo.routers.values())
    keys = Path(lab_shared.creds.known_hosts).read_text().splitlines()
    swapped = [f"{line.split()[0]} {keys[(i + 1) % len(keys)].split(' ', 1)[1]}"
               for i, line in enumerate(keys)]
    (tmp_path / "known_hosts").write_text("\n".join(swapped) + "\n")
    creds = dataclasses.replace(lab_shared.creds, known_hosts=str(tmp_path / "known_hosts"))
    with pytest.raises(ConnectionError, match="verification failed|Host key"):
        mgmt.ssh_command(creds, str(routers[0].mgmt.ip), "true")


def test_snmp_system_and_interfaces(lab_shared: Lab) -> None:
    topo = lab_shared.topo
    targets = lab_targets(lab_shared)
    assert {t.host for t in targets.values()} == {str(r.mgmt.ip) for r in topo.routers.values()}
    assert {t.credentials.version for t in targets.values()} == {"3"}
    for poll in poll_once(list(targets.values())):
        assert poll.error is None and poll.problems == [], poll
        assert poll.sys_name == poll.router and poll.sys_uptime > 0
        by_name = {i.name: i.oper for i in poll.interfaces.values()}
        ifaces = {e.interface for lk in topo.links.values() for e in (lk.a, lk.b)
                  if e.router == poll.router}
        assert ifaces | {"mgmt0", "lo"} <= set(by_name), poll.router
        assert all(by_name[i] == 1 for i in ifaces | {"mgmt0"}), poll.router
        # anything else is an interface another test added and removed: net-snmp keeps it, down
        assert all(v != 1 for i, v in by_name.items() if i not in ifaces | {"mgmt0", "lo"})


def test_status_sees_every_router_over_ssh_and_snmp(lab_shared: Lab) -> None:
    rows = lab_status(LAB)["routers"]
    assert {r["router"] for r in rows} == set(lab_shared.topo.routers)
    assert all(r["ssh"] is True and r["snmp"] is True for r in rows), rows


def test_snmp_v2c_community_only_from_the_management_subnet(lab_shared: Lab) -> None:
    creds, topo = lab_shared.creds, lab_shared.topo
    src, dst = list(topo.routers)[:2]
    args = ["snmpget", "-v2c", "-c", creds.snmp_community, "-t", "1", "-r", "0", "-On"]
    ok = subprocess.run(args + [str(topo.routers[dst].mgmt.ip), SYS_NAME_0],
                        capture_output=True, text=True, env={**os.environ, "MIBS": ""})
    assert dst in ok.stdout
    # the same request from an address outside the management subnet is filtered
    far = subprocess.run(["ip", "netns", "exec", lab_shared.state.routers[src].netns] + args
                         + [f"--clientaddr={topo.routers[src].loopback.ip}",
                            str(topo.routers[dst].mgmt.ip), SYS_NAME_0],
                         capture_output=True, text=True, env={**os.environ, "MIBS": ""})
    assert dst not in far.stdout


def test_agents_read_the_kernel_and_the_tuning_community_writes_nothing_else(
        lab_shared: Lab) -> None:
    """The lab set every agent's ifTable cache timeout to 0; its write community may set only
    that object (and, by the nftables filter, only from the management subnet)."""
    creds, topo = lab_shared.creds, lab_shared.topo
    get = ["snmpget", "-v2c", "-c", creds.snmp_community, "-t", "1", "-r", "0", "-On", "-Oqv"]
    for router in topo.routers.values():
        out = subprocess.run(get + [str(router.mgmt.ip), dotted(IFTABLE_CACHE_TIMEOUT)],
                             capture_output=True, text=True, env={**os.environ, "MIBS": ""})
        assert out.stdout.strip() == "0", (router.id, out.stdout, out.stderr)
    router = next(iter(topo.routers.values()))
    tune = Target(router.id, str(router.mgmt.ip), 161,
                  SnmpCredentials("2c", community=creds.snmp_tune), 1.0, 0)
    sys_contact = (1, 3, 6, 1, 2, 1, 1, 4, 0)
    with pytest.raises(SnmpError, match="agent error"):
        asyncio.run(snmp_set(tune, [(sys_contact, b"someone else")]))
    tune_snmpd(router, creds)  # setting the one object again is accepted


def _reroute_case(topo: Topology) -> tuple[str, str, str, str, str]:
    """A span, a router on it and a destination whose unique next hop the cut changes."""
    before = graph_without(topo)
    for span in sorted(topo.spans):
        down = outage(topo, [Element("span", span)])
        after = graph_without(topo, down.links)
        for lid in sorted(down.links):
            src = topo.links[lid].a.router
            for dst in sorted(topo.routers):
                if dst == src or not nx.has_path(after, src, dst):
                    continue
                old, new = unique_next_hop(before, src, dst), unique_next_hop(after, src, dst)
                if old and new and old != new and before[src][old]["link"] == lid:
                    return (span, src, dst, gateway_toward(topo, before, src, old),
                            gateway_toward(topo, after, src, new))
    raise AssertionError("the topology has no span whose cut changes a unique next hop")


def test_cut_reroutes_and_restore_brings_the_path_back(lab_exclusive: Lab) -> None:
    topo = lab_exclusive.topo
    span, src, dst, old_gw, new_gw = _reroute_case(topo)
    lo = str(topo.routers[dst].loopback.ip)
    assert fib_gateway(lab_exclusive, src, lo) == old_gw
    link = next(lk for lk in topo.links.values()
                if span in lk.route and src in (lk.a.router, lk.b.router))
    iface = link.a.interface if link.a.router == src else link.b.interface
    assert oper_status(lab_exclusive, src, iface) == 1

    result = lab_cut(span, "light", LAB)
    assert set(result["links"]) == set(outage(topo, [Element("span", span)]).links)
    assert wait_for(lambda: fib_gateway(lab_exclusive, src, lo) == new_gw, 10)
    assert wait_for(lambda: oper_status(lab_exclusive, src, iface) == 2, 10)
    assert lab_status(LAB, management=False)["failures"] == [f"span:{span}"]

    assert ngk("lab", "restore", f"span:{span}", "--name", LAB).returncode == 0
    assert wait_for(lambda: fib_gateway(lab_exclusive, src, lo) == old_gw, 20)


def test_silent_cut_drops_packets_and_bfd_takes_the_adjacency_down(lab_exclusive: Lab) -> None:
    topo, state = lab_exclusive.topo, lab_exclusive.state
    dcs = set(topo.datacentres())
    link = next(lk for lk in sorted(topo.links.values(), key=lambda lk: lk.id)
                if len(set(topo.link_sites(lk)) & dcs) == 2 and len(set(topo.link_sites(lk))) == 2)
    a_ns, peer = state.routers[link.a.router].netns, str(link.b.address.ip)
    peer_rid = str(topo.routers[link.b.router].loopback.ip)

    def adjacent() -> bool:
        return peer_rid in vtysh_json(a_ns, "show ip ospf neighbor json")[0]["neighbors"]

    assert adjacent()
    start = time.monotonic()
    lab_cut(f"link:{link.id}", "silent", LAB)
    assert wait_for(lambda: not adjacent(), 10, step=0.02)
    took = time.monotonic() - start
    assert took < 2.0, f"adjacency lasted {took:.2f} s: BFD (50 ms x 3) should beat dead 4 s"
    info = json.loads(subprocess.run(["ip", "-n", a_ns, "-j", "link", "show", link.a.interface],
                                     capture_output=True, text=True, check=True).stdout)[0]
    assert info["operstate"] == "UP" and "LOWER_UP" in info["flags"]
    ping = subprocess.run(["ip", "netns", "exec", a_ns, "ping", "-c", "3", "-i", "0.2", "-W", "1",
                           peer], capture_output=True, text=True)
    assert ping.returncode != 0 and " 0 received" in ping.stdout
    bfd = vtysh_json(a_ns, "show bfd peers json")[0]
    assert "up" not in [p["status"] for p in bfd if p["peer"] == peer]  # down, or deregistered


def test_bad_input_is_a_clear_error(lab_shared: Lab) -> None:
    unknown = ngk("lab", "cut", "no-such-span", "--name", LAB)
    assert unknown.returncode == 2 and "no-such-span" in unknown.stderr
    bad_mode = ngk("lab", "fail", next(iter(lab_shared.topo.spans)), "--name", LAB)
    assert bad_mode.returncode == 2 and "takes router or site" in bad_mode.stderr
    again = ngk("lab", "up", "--name", LAB)
    assert again.returncode == 2 and "already up" in again.stderr
    missing = ngk("lab", "status", "--name", "nolab")
    assert missing.returncode == 2 and "not up" in missing.stderr
    assert "Traceback" not in unknown.stderr + again.stderr + missing.stderr


def test_nornir_inventory_points_at_the_lab(lab_shared: Lab) -> None:
    from nornir import InitNornir
    inv = Path(lab_shared.state.dir) / "inventory"
    nr = InitNornir(runner={"plugin": "serial"}, logging={"enabled": False}, inventory={
        "plugin": "SimpleInventory", "options": {
            "host_file": str(inv / "hosts.yaml"), "group_file": str(inv / "groups.yaml"),
            "defaults_file": str(inv / "defaults.yaml")}})
    topo = lab_shared.topo
    assert set(nr.inventory.hosts) == set(topo.routers)
    for rid, host in nr.inventory.hosts.items():
        r = topo.routers[rid]
        assert (host.hostname, host.platform, host["site"], host["role"]) == (
            str(r.mgmt.ip), "frr", r.site, r.role)
        assert host.username == "root" and Path(host["ssh_key_file"]).exists()
    text = "".join((inv / f).read_text() for f in ("hosts.yaml", "groups.yaml", "defaults.yaml"))
    assert lab_shared.creds.snmp_community not in text and lab_shared.creds.snmp_auth not in text
    assert oct(Path(lab_shared.creds.ssh_key).stat().st_mode & 0o777) == "0o600"


# --- a second, tiny lab of its own ------------------------------------------------------------


def tiny_lab(tmp_path: Path, subnet: str) -> tuple[Path, str]:
    require_lab()
    path = tiny_topology(tmp_path / "tiny.yaml", subnet)
    return path, f"t{os.getpid() % 100000}{subnet.split('.')[2][-1]}"


def leftovers(name: str, state: LabState) -> list[str]:
    """Everything of a lab that still exists in the kernel or on disk."""
    found = sorted(rs.netns for rs in state.routers.values() if rs.netns in netns_list())
    found += [f"pid {p}" for rs in state.routers.values() for p in rs.pids.values() if alive(p)]
    links = json.loads(subprocess.run(["ip", "-j", "link"], capture_output=True, text=True).stdout)
    found += [i["ifname"] for i in links if i["ifname"].startswith(f"{name}-")]
    mounts = Path("/proc/self/mountinfo").read_text()
    found += [f"mount under {state.dir}"] if state.dir in mounts else []
    found += [str(p) for p in (Path("/etc/frr"), Path("/var/run/frr"))
              for p in p.glob(f"{name}-*")]
    found += [state.dir] if Path(state.dir).exists() else []
    return found


def test_tiny_lab_up_down_leaves_nothing_and_is_idempotent(tmp_path: Path) -> None:
    path, name = tiny_lab(tmp_path, "172.31.251.0/24")
    try:
        result = lab_up(path, name)
        assert result["routers"] == 3 and result["links"] == 3
        state = LabState.load(name)
        assert state.phase == "up" and len(state.routers) == 3
        assert {r["kind"] for r in state.resources} >= {"netns", "link", "veth", "mount", "path"}
        again = ngk("lab", "up", "--topology", str(path), "--name", name)
        assert again.returncode == 2 and "already up" in again.stderr
        cut = ngk("lab", "cut", "no-such-span", "--name", name)
        assert cut.returncode == 2 and "Traceback" not in cut.stderr
        down = ngk("lab", "down", "--name", name, "--json")
        assert down.returncode == 0 and json.loads(down.stdout)["removed"] is True
        assert leftovers(name, state) == []
        again = ngk("lab", "down", "--name", name, "--json")
        assert again.returncode == 0 and json.loads(again.stdout)["removed"] is False
        gone = ngk("lab", "status", "--name", name)
        assert gone.returncode == 2 and "not up" in gone.stderr
    finally:
        lab_down(name)


def test_monitor_right_after_lab_up_just_works(tmp_path: Path) -> None:
    """`ngk lab up` then `ngk monitor --once --json` with no --inventory: the running lab's."""
    path, name = tiny_lab(tmp_path, "172.31.253.0/24")
    env = {k: v for k, v in os.environ.items() if k != "NGK_INVENTORY"} | {"NGK_LAB": name}
    try:
        up = ngk("lab", "up", "--topology", str(path), "--name", name, env=env)
        assert up.returncode == 0, up.stderr
        mon = ngk("monitor", "--once", "--json", "--topology", str(path),
                  "--db", str(tmp_path / "ngk.db"), env=env)
        assert mon.returncode == 0, mon.stderr
        routers = json.loads(mon.stdout)["routers"]
        assert sorted(r["router"] for r in routers) == sorted(load_topology(path).routers)
        assert all(r["reachable"] and r["error"] is None for r in routers), routers
    finally:
        lab_down(name)


def test_tiny_lab_stale_state_is_cleaned_before_up(tmp_path: Path) -> None:
    path, name = tiny_lab(tmp_path, "172.31.252.0/24")
    try:
        lab_up(path, name, bare=True)
        crashed = LabState.load(name)
        for rs in crashed.routers.values():  # a crash: every daemon gone, kernel objects left
            for pid in rs.pids.values():
                os.kill(pid, 9)
        assert wait_for(lambda: not any(alive(p) for rs in crashed.routers.values()
                                        for p in rs.pids.values()), 5)
        result = lab_up(path, name, bare=True)
        assert result["bare"] is True
        fresh = LabState.load(name)
        assert all(alive(p) for rs in fresh.routers.values() for p in rs.pids.values())
        assert not any(alive(p) for rs in crashed.routers.values() for p in rs.pids.values())
        ospf = vtysh_json(fresh.routers["ra"].netns, "show ip ospf neighbor json")[0]
        assert ospf.get("neighbors", {}) == {}  # --bare: addresses only, no routing
    finally:
        lab_down(name)
    assert leftovers(name, fresh) == []
    assert not (STATE_ROOT / name).exists() and not lab_dir(name).exists()


def test_a_link_tc_refuses_fails_the_build_and_leaves_nothing(tmp_path: Path) -> None:
    """`lab up` gives every link the class-of-service policy at its modelled rate; a rate tc
    cannot take (10^12 Gbit/s: beyond its 64-bit rate) fails the build like any other step."""
    path, name = tiny_lab(tmp_path, "172.31.250.0/24")
    doc = yaml.safe_load(path.read_text())
    doc["links"][1]["capacity_gbps"] = 1e12
    path.write_text(yaml.safe_dump(doc))
    try:
        with pytest.raises(LabError, match="^tc -n "):
            lab_up(path, name)
        assert leftovers(name, new_state(load_topology(path), name, False)) == []
    finally:
        lab_down(name)  # only if the build's own teardown left something
