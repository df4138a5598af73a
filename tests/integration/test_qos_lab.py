"""Class of service in the lab (docs/qos.md): `lab up` gives every IP-link interface the Linux
rendering of the policy (controller/config/cos.py, HTB + u32 DSCP matches) at its link's modelled
rate. Then a congested link: one router's interface re-shaped to RATE_KBIT, known UDP flows from a
neighbour through it. The priority class (EF) under its share loses nothing while best-effort,
offered well over the link, loses heavily; priority over its share is held to its share and
best-effort still gets the rest. Losses are the qdisc's own per-class counters at the congested
interface, checked against the sender's packet counts; the modelled-rate policy is put back."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from controller.config.cos import COS
from controller.lab import qos, rtnl
from controller.lab.flows import Flow
from controller.lab.status import lab_status
from controller.lab.system import in_netns, run
from conftest import Lab

pytestmark = pytest.mark.integration
RATE_KBIT = 20_000
DURATION_S = 6.0
SETTLE_S = 0.5  # the queues drain before the counters are read
EF = COS.by_name("priority").dscp[0]
SHARE_MBPS = RATE_KBIT / 1000 * COS.by_name("priority").percent / 100
UNIT_KBIT = {"bit": 1e-3, "Kbit": 1, "Mbit": 1e3, "Gbit": 1e6, "Tbit": 1e9}


def root_rate_kbit(netns: str, dev: str) -> float:
    """The rate of the HTB root class on `dev`, as tc prints it (rounded down to its unit)."""
    text = run(["tc", "-n", netns, "class", "show", "dev", dev]).stdout
    m = re.search(r"^class htb 1:1 root rate ([\d.]+)(\w+) ", text, re.M)
    assert m, text
    return float(m[1]) * UNIT_KBIT[m[2]]


def assert_modelled_policy(lab: Lab, router: str, dev: str) -> None:
    """`dev` carries the policy (every class, counted) at its link's modelled rate."""
    netns = lab.state.routers[router].netns
    assert qos.present(netns, [dev]) == {dev: True}
    assert set(qos.class_counters(netns, dev)) == {c.name for c in COS.classes}
    assert root_rate_kbit(netns, dev) == pytest.approx(qos.link_rates(lab.topo)[router][dev],
                                                       rel=1e-3)


def test_lab_up_gives_every_link_interface_the_policy(lab_shared) -> None:
    lab = lab_shared
    ends = [(e.router, e.interface, lk.capacity_gbps) for lk in lab.topo.links.values()
            for e in (lk.a, lk.b)]
    for router, dev, _ in ends:
        assert_modelled_policy(lab, router, dev)
    print(f"{len(ends)} interfaces, rates (Gbit/s): "
          + ", ".join(f"{g:g} x{sum(1 for *_, x in ends if x == g)}"
                      for g in sorted({g for *_, g in ends})))
    for rs in lab.state.routers.values():  # status reads them in-process: tc is the reference
        ref = json.loads(run(["tc", "-n", rs.netns, "-j", "qdisc", "show"]).stdout)
        assert {(q.dev, q.kind, q.handle, q.parent) for q in rtnl.qdiscs(rs.netns)} == \
            {(q["dev"], q["kind"], q["handle"], q.get("parent", "root")) for q in ref}
    rows = lab_status(lab.name, management=False)["routers"]
    assert {(r["router"], dev) for r in rows for dev, on in r["qos"].items() if on} == \
        {(router, dev) for router, dev, _ in ends}


def route_dev(lab: Lab, router: str, dst: str, src: str | None = None) -> str:
    args = ["ip", "-j", "route", "get", dst] + (["from", src] if src else [])
    return json.loads(run(in_netns(lab.state.routers[router].netns, args)).stdout)[0]["dev"]


def pick_path(lab: Lab) -> tuple[str, str, str, str, str]:
    """(sender S, router A, A's interface towards B, B, B's address on that link) such that S
    forwards to that address through A: the congested hop is forwarded, not sent locally (a
    local sender would be held back by its socket buffer instead of losing packets)."""
    topo = lab.topo
    for link in sorted(topo.links.values(), key=lambda x: x.id):
        for a, b in ((link.a, link.b), (link.b, link.a)):
            for other in sorted(topo.router_links(a.router), key=lambda x: x.id):
                if other.id == link.id:
                    continue
                s_end = other.b if other.a.router == a.router else other.a
                dst, src = str(b.address.ip), str(topo.routers[s_end.router].loopback.ip)
                if (route_dev(lab, s_end.router, dst, src) == s_end.interface
                        and route_dev(lab, a.router, dst) == a.interface):
                    return s_end.router, a.router, a.interface, b.router, dst
    raise AssertionError("no router pair forwards through a neighbour")


def run_flows(lab: Lab, path: tuple[str, str, str, str, str], mbps: dict[int, float],
              out: Path) -> dict[int, int]:
    """Send one flow per DSCP through the path for DURATION_S; packets sent per DSCP."""
    s, _, _, b, dst = path
    flows = [Flow(lab.state.routers[s].netns, str(lab.topo.routers[s].loopback.ip),
                  lab.state.routers[b].netns, dst, rate, dscp) for dscp, rate in mbps.items()]
    proc = subprocess.run([sys.executable, "-m", "controller.lab.flows", "--duration",
                           str(DURATION_S), "--out", str(out),
                           *[a for f in flows for a in ("--flow", f.arg())]],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    last = json.loads(out.read_text())["checkpoints"][-1][1]
    return dict(zip(mbps, last))


def measure(lab: Lab, path, mbps: dict[int, float], out: Path) -> dict[str, dict[str, float]]:
    _, a, dev, _, _ = path
    netns = lab.state.routers[a].netns
    qos.apply(netns, dev, RATE_KBIT)
    try:
        sent = run_flows(lab, path, mbps, out)
        time.sleep(SETTLE_S)
        counters = qos.class_counters(netns, dev)
    finally:
        qos.apply(netns, dev, qos.link_rates(lab.topo)[a][dev])  # what `lab up` gave it
    cls = {46: "priority", 0: "best-effort"}
    print(f"{a} {dev} shaped to {RATE_KBIT / 1000:g} Mbit/s, {DURATION_S:g} s; offered "
          + ", ".join(f"{cls[d]} {m:g} Mbit/s" for d, m in mbps.items()))
    print("class         sent by sender  arrived at qdisc  dropped there  forwarded  loss    "
          "offered x (1 - loss), Mbit/s")
    out_figures = {}
    for dscp, name in cls.items():
        c = counters[name]
        arrived = c["packets"] + c["drops"] + c["backlog"]
        # end to end through the congested hop: what the sender sent and the link forwarded
        # (best-effort also holds the link's little other traffic, e.g. ARP)
        loss = max(0.0, 1 - c["packets"] / sent[dscp])
        rate = mbps[dscp] * (1 - loss)
        print(f"{name:<13} {sent[dscp]:14d} {arrived:17d} {c['drops']:14d} {c['packets']:10d}  "
              f"{loss:7.3%} {rate:8.3f}")
        out_figures[name] = {"loss": loss, "mbps": rate, "qdisc_drops": c["drops"]}
    nc = counters["network-control"]
    print(f"network-control (OSPF/BFD, CS6): {nc['packets']} packets, {nc['drops']} dropped")
    assert nc["packets"] > 0 and nc["drops"] == 0
    return out_figures


def test_priority_class_keeps_its_share_on_a_congested_link(lab_exclusive, tmp_path) -> None:
    lab = lab_exclusive
    path = pick_path(lab)
    s, a, dev, b, dst = path
    print(f"path: {s} > {a} ({dev}, congested) > {b} {dst}; priority share "
          f"{SHARE_MBPS:g} Mbit/s")
    under = measure(lab, path, {EF: 0.75 * SHARE_MBPS, 0: 2 * RATE_KBIT / 1000},
                    tmp_path / "under.json")
    assert under["priority"]["qdisc_drops"] == 0  # none dropped at the congested link
    assert under["priority"]["loss"] <= 0.001  # end to end: loss-free (< 0.1 %)
    assert under["best-effort"]["loss"] >= 0.4  # offered 2x the link: well over half dropped
    over = measure(lab, path, {EF: 2 * SHARE_MBPS, 0: 2 * RATE_KBIT / 1000},
                   tmp_path / "over.json")
    # over its share the priority class is held to it (shaped: the excess is dropped) and
    # best-effort is not starved: it gets the link minus that share
    assert over["priority"]["loss"] >= 0.4
    assert abs(over["priority"]["mbps"] - SHARE_MBPS) <= 0.1 * SHARE_MBPS
    assert over["best-effort"]["mbps"] >= 0.8 * (RATE_KBIT / 1000 - SHARE_MBPS)
    # the adjacencies rode out the congestion: the path is unchanged
    assert route_dev(lab, a, dst) == dev
    assert_modelled_policy(lab, a, dev)
