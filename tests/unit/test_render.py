"""Intended FRR config: golden files captured from a real FRR 8.4.4, properties of every router."""
from __future__ import annotations

import dataclasses
import functools
import ipaddress
import shutil
import subprocess
from pathlib import Path

import pytest

from controller.config.render import PLATFORMS, POLICY, canonical, if_order, render_config
from controller.model.load import load_topology
from controller.model.source import InputError

GOLDEN = Path(__file__).parent / "golden" / "frr"
TOPO = load_topology()
# What `vtysh -c 'show running-config'` prints before the config itself (FRR 8.4.4).
RUNNING_HEADER = "Building configuration...\n\nCurrent configuration:\n!\n"


def blocks(text: str) -> dict[str, list[str]]:
    """Top-level block header -> its indented lines (one level of `exit`-terminated blocks)."""
    out: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith(" ") and current is not None:
            out[current].append(line.strip())
        elif line in ("exit", "!", "end"):
            current = None
        else:
            current = line
            out[line] = []
    return out


@pytest.mark.parametrize("router", ["osl-cr1", "bod-pe1", "amk-ce1"])
def test_full_config_is_what_frr_prints(router):
    # the golden files are `show running-config` of FRR 8.4.4 running the rendered config
    assert render_config(TOPO, router) == (GOLDEN / f"{router}.conf").read_text()


def test_bare_day0_is_what_frr_prints():
    bare = render_config(TOPO, "amk-ce1", routing=False)
    assert bare == (GOLDEN / "amk-ce1.bare.conf").read_text()
    assert "ospf" not in bare and "bfd" not in bare and "work-queue" not in bare


def test_values_equal_to_frr_defaults_are_left_out():
    defaults = PLATFORMS["frr"]["defaults"]
    text = render_config(TOPO, "osl-cr1", policy=defaults)
    assert text == (GOLDEN / "osl-cr1.frr-defaults.conf").read_text()
    for word in ("hello-interval", "dead-interval", "retransmit-interval", "timers throttle",
                 "min-arrival", "work-queue", "transmit-interval", "receive-interval",
                 "detect-multiplier"):
        assert word not in text
    slow = render_config(TOPO, "osl-cr1", policy=dataclasses.replace(POLICY, bfd_multiplier=5))
    assert blocks(slow)["bfd"] == ["profile core", "detect-multiplier 5", "transmit-interval 50",
                                   "receive-interval 50", "exit", "!"]


def test_canonical_drops_only_form():
    golden = (GOLDEN / "osl-cr1.conf").read_text()
    running = RUNNING_HEADER + golden.replace("\n", "  \n", 3) + "\n"
    assert canonical(running) == canonical(render_config(TOPO, "osl-cr1"))
    assert not any(line.strip() in ("", "!") for line in canonical(golden).splitlines())
    assert canonical(golden).count("\n") == sum(
        1 for line in golden.splitlines() if line.strip() not in ("", "!"))
    changed = golden.replace("ip ospf cost 290", "ip ospf cost 291")
    assert canonical(changed) != canonical(golden)


def test_interface_name_order_matches_frr():
    # FRR's own examples (lib/if.c) and an order observed on FRR 8.4.4 show running-config
    key = functools.cmp_to_key(if_order)
    for ordered in (["de0", "de1"], ["de100", "fxp0", "xl0"], ["devpty", "devpty0"],
                    ["de0", "del0"],
                    ["Ab1", "ab0", "eth1", "eth1.2", "eth2", "eth10", "lo", "x-1.5"]):
        assert sorted(reversed(ordered), key=key) == ordered
        assert sorted(ordered[::2] + ordered[1::2], key=key) == ordered
    assert if_order("eth01", "eth1") == 0 and if_order("eth1", "eth1") == 0


@pytest.mark.parametrize("router", sorted(TOPO.routers))
def test_every_router_carries_its_links(router):
    text = render_config(TOPO, router)
    got = blocks(text)
    r = TOPO.routers[router]
    ends = {end.interface: (link, end) for link in TOPO.links.values()
            for end in (link.a, link.b) if end.router == router}
    assert {h.split()[1] for h in got if h.startswith("interface ")} == set(ends) | {"lo"}
    for name, (link, end) in ends.items():
        lines = got[f"interface {name}"]
        assert lines == sorted(lines)  # vtysh sorts lines inside an interface block
        net = ipaddress.ip_network(f"{link.a.address.ip}/31", strict=False)
        address = ipaddress.ip_interface(next(x.split()[2] for x in lines if "ip address" in x))
        assert address.network == net and address == end.address
        for line in (f"ip ospf cost {link.metric}", "ip ospf bfd", "ip ospf bfd profile core",
                     "ip ospf network point-to-point", "ip ospf area 0",
                     "ip ospf hello-interval 1", "ip ospf dead-interval 4"):
            assert line in lines, (name, line)
    assert got["interface lo"] == [f"ip address {r.loopback}", "ip ospf area 0", "ip ospf passive"]
    assert got["router ospf"][0] == f"ospf router-id {r.loopback.ip}"
    # fast failover (docs/lab.md "Failover tuning"): short SPF hold, every newer LSA accepted,
    # routes installed without zebra's batching delay
    assert got["router ospf"][1:3] == ["timers throttle spf 0 10 1000", "timers lsa min-arrival 0"]
    assert "zebra work-queue 0" in got
    assert got["bfd"][:3] == ["profile core", "transmit-interval 50", "receive-interval 50"]
    assert f"hostname {router}" in text.splitlines()
    names = [h.split()[1] for h in got if h.startswith("interface ")]
    assert names == sorted(names, key=functools.cmp_to_key(if_order))


@pytest.mark.parametrize("routing", [True, False])
def test_vtysh_accepts_every_rendered_config(tmp_path, routing):
    if shutil.which("vtysh") is None:
        pytest.fail("vtysh (FRR) is not installed: run scripts/bootstrap --test")
    (tmp_path / "vtysh.conf").write_text("")
    for router in TOPO.routers:
        conf = tmp_path / f"{router}.conf"
        conf.write_text(render_config(TOPO, router, routing=routing))
        done = subprocess.run(["vtysh", "--config_dir", str(tmp_path), "-C", "-f", str(conf)],
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, (router, done.stdout, done.stderr)


def test_bad_references_are_user_errors():
    with pytest.raises(InputError, match="unknown router"):
        render_config(TOPO, "nope")
    junos = dataclasses.replace(TOPO.routers["osl-cr1"], platform="iosxr")
    topo = dataclasses.replace(TOPO, routers={**TOPO.routers, "osl-cr1": junos})
    with pytest.raises(InputError, match="platform 'iosxr'"):
        render_config(topo, "osl-cr1")
    zero = dataclasses.replace(TOPO.links["osl-dc"], metric=0)
    topo = dataclasses.replace(TOPO, links={**TOPO.links, "osl-dc": zero})
    with pytest.raises(InputError, match="links.osl-dc.metric: 0 is outside"):
        render_config(topo, "osl-cr2")
