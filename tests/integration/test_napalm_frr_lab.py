"""napalm_frr against the live netns lab: every getter and config method on one router."""
from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from napalm import get_network_driver
from napalm.base.exceptions import (
    CommandErrorException, ConnectAuthError, ConnectionException, ReplaceConfigException)

from controller.config.render import canonical, render_config
from napalm_frr import FRRDriver, check

pytestmark = pytest.mark.integration
ROUTER = "amk-ce1"  # a member-site CE with one link: changes here disturb little


def driver(lab, router: str = ROUTER, **extra) -> FRRDriver:
    rdir = Path(lab.state.routers[router].dir)
    args = {"use_keys": True, "key_file": lab.creds.ssh_key, "allow_agent": False,
            "ssh_strict": True, "system_host_keys": False, "alt_host_keys": True,
            "alt_key_file": lab.creds.known_hosts, "conn_timeout": 5,
            "lldp_socket": str(rdir / "lldp" / "lldpd.socket"),
            "snmpd_conf": str(rdir / "snmp" / "snmpd.conf"), "state_dir": str(rdir / "napalm"),
            **extra}
    return get_network_driver("frr")(str(lab.topo.routers[router].mgmt.ip), lab.creds.ssh_user,
                                     "", timeout=30, optional_args=args)


@pytest.fixture
def dev(lab_shared) -> Iterator[FRRDriver]:
    with driver(lab_shared) as d:
        yield d


@pytest.fixture
def mutable(lab_exclusive) -> Iterator[tuple[FRRDriver, str]]:
    """A connected driver and the router's intended config; the config is restored after."""
    intended = render_config(lab_exclusive.topo, ROUTER)
    with driver(lab_exclusive) as d:
        yield d, intended
        if d.has_pending_commit():
            d.confirm_commit()
        d.load_replace_candidate(config=intended)
        if d.compare_config():
            d.commit_config("test cleanup")
        else:
            d.discard_config()


def with_cost(config: str, cost: int) -> str:
    """The config with its first OSPF cost set to `cost`."""
    return re.sub(r" ip ospf cost \d+", f" ip ospf cost {cost}", config, count=1)


def running(d: FRRDriver) -> str:
    return canonical(d.get_config(retrieve="running")["running"])


def test_getters(dev: FRRDriver, lab_shared) -> None:
    topo, router = lab_shared.topo, lab_shared.topo.routers[ROUTER]
    facts = dev.get_facts()
    assert facts["hostname"] == ROUTER and facts["vendor"] == "FRRouting" and facts["uptime"] > 0
    ends = {e.interface: e for link in topo.links.values() for e in (link.a, link.b)
            if e.router == ROUTER}
    assert set(ends) | {"lo"} <= set(facts["interface_list"])
    ifs = dev.get_interfaces()
    assert all(ifs[i]["is_up"] and ifs[i]["is_enabled"] for i in ends)
    ips = dev.get_interfaces_ip()
    assert ips["lo"]["ipv4"][str(router.loopback.ip)]["prefix_length"] == 32
    for name, end in ends.items():
        prefix = ips[name]["ipv4"][str(end.address.ip)]["prefix_length"]
        assert prefix == end.address.network.prefixlen
    lldp = {i: [(n["hostname"], n["port"]) for n in ns] for i, ns in
            dev.get_lldp_neighbors().items()}
    assert lldp == {name: [(end_peer(topo, end.router, name))] for name, end in ends.items()}
    out = dev.cli(["show ip ospf neighbor json", "show bfd peers json"], encoding="json")
    peers = {r.id for link in topo.links.values() for e, r in
             ((link.a, topo.routers[link.b.router]), (link.b, topo.routers[link.a.router]))
             if e.router == ROUTER}
    assert set(out["show ip ospf neighbor json"]["neighbors"]) == {
        str(topo.routers[p].loopback.ip) for p in peers}
    assert {p["status"] for p in out["show bfd peers json"]} == {"up"}
    cfg = dev.get_config()
    assert canonical(cfg["running"]) == canonical(render_config(topo, ROUTER))
    assert cfg["candidate"] == ""
    assert "success" in dev.ping(str(router.loopback.ip), count=1)


def test_replace_compare_discard(dev: FRRDriver, lab_shared) -> None:
    intended = render_config(lab_shared.topo, ROUTER)
    dev.load_replace_candidate(config=intended)
    assert dev.compare_config() == ""  # converged lab: no diff
    dev.load_replace_candidate(config=with_cost(intended, 1))
    diff = dev.compare_config()
    assert diff.count("\n- ip ospf cost") == 1 and diff.count("\n+ ip ospf cost 1\n") == 1
    assert dev.get_config(retrieve="candidate")["candidate"].count("ip ospf cost 1\n") == 1
    dev.discard_config()
    assert dev.compare_config() == "" and dev.get_config(retrieve="candidate")["candidate"] == ""


def test_rejected_config(dev: FRRDriver) -> None:
    with pytest.raises(ReplaceConfigException, match="Unknown command"):
        dev.load_replace_candidate(config="interface eth1\n no-such-command 1\n")
    assert dev.compare_config() == ""


def test_commit_confirm_rollback(mutable) -> None:
    d, intended = mutable
    before = running(d)
    d.load_replace_candidate(config=with_cost(intended, 7))
    d.commit_config("cost change", revert_in=60)
    assert d.has_pending_commit() and "ip ospf cost 7\n" in running(d)
    d.confirm_commit()
    assert not d.has_pending_commit()
    assert "ip ospf cost 7\n" in d.get_config(retrieve="startup")["startup"]
    d.rollback()
    assert running(d) == before
    startup = canonical(d.get_config(retrieve="startup")["startup"])
    assert startup.removesuffix("end\n") == before.removesuffix("end\n")  # `write` omits end


def test_a_change_after_compare_still_commits_exactly_the_candidate(mutable) -> None:
    """The add-only delta (napalm_frr/delta.py) is kept only if it reaches the candidate: a
    line someone added between compare and commit sends the commit through frr-reload.py."""
    d, intended = mutable
    d.load_replace_candidate(config=with_cost(intended, 8))
    assert d.compare_config() and d._fast is not None and "ip ospf cost 8" in d._fast
    d._shell("vtysh -c 'configure terminal' -c 'interface lo' -c 'description drift'")
    d.commit_config("cost change over drift")
    assert "description drift" not in running(d) and "ip ospf cost 8\n" in running(d)
    d.load_replace_candidate(config=with_cost(intended, 8))
    assert d.compare_config() == ""
    d.discard_config()


def test_unconfirmed_commit_reverts_on_the_router_by_itself(mutable) -> None:
    d, intended = mutable
    before = running(d)
    d.load_replace_candidate(config=with_cost(intended, 9))
    d.commit_config("will revert", revert_in=3)
    d.close()  # the controller goes away before confirming
    time.sleep(8)
    d.open()
    assert not d.has_pending_commit()
    assert running(d) == before


def test_merge(mutable) -> None:
    d, _ = mutable
    d.load_merge_candidate(config="interface lo\n description merged by test\nexit\n")
    assert d.compare_config() == " interface lo\n+ description merged by test\n"
    d.commit_config()
    assert " description merged by test" in running(d)


def test_wrong_credentials(lab_shared, tmp_path: Path) -> None:
    from controller.lab.creds import keypair
    keypair(tmp_path / "other", "not-authorised")
    with pytest.raises(ConnectAuthError):
        driver(lab_shared, key_file=str(tmp_path / "other")).open()


def test_unknown_host_key_is_refused(lab_shared, tmp_path: Path) -> None:
    other = tmp_path / "known_hosts"
    lines = Path(lab_shared.creds.known_hosts).read_text().splitlines()
    mgmt = str(lab_shared.topo.routers[ROUTER].mgmt.ip)
    other.write_text("".join(f"{line}\n" for line in lines if not line.startswith(mgmt + " ")))
    with pytest.raises(ConnectionException):
        driver(lab_shared, alt_key_file=str(other)).open()


def end_peer(topo, router: str, interface: str) -> tuple[str, str]:
    """(router, interface) at the far end of a router's interface, as the model says."""
    for link in topo.links.values():
        for near, far in ((link.a, link.b), (link.b, link.a)):
            if (near.router, near.interface) == (router, interface):
                return far.router, far.interface
    raise AssertionError(f"{router} {interface} is not in the model")


CORE = "osl-cr1"
VALIDATE = Path(__file__).parents[1] / "unit/mocked_data/frr/test_compliance_report/normal"


@pytest.fixture
def core(lab_shared) -> Iterator[FRRDriver]:
    """osl-cr1 once its five iBGP sessions are up (they follow OSPF by a few seconds)."""
    with driver(lab_shared, CORE) as d:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            peers = d.get_bgp_neighbors().get("global", {}).get("peers", {})
            if len(peers) == 5 and all(p["is_up"] for p in peers.values()):
                break
            time.sleep(1)
        yield d


LIVE: dict[str, tuple[dict, object]] = {  # getter -> (kwargs, what must hold beyond the model)
    "get_interfaces_counters": ({}, lambda r, t: r["eth1"]["rx_octets"] > 0
                                and r["eth1"]["tx_unicast_packets"] > 0),
    "get_lldp_neighbors_detail": ({}, lambda r, t: {
        i: (n[0]["remote_system_name"], n[0]["remote_port_description"]) for i, n in r.items()}
        == {e.interface: end_peer(t, CORE, e.interface) for link in t.links.values()
            for e in (link.a, link.b) if e.router == CORE}),
    "get_arp_table": ({}, lambda r, t: {"eth1", "eth2", "eth3"} <= {e["interface"] for e in r}),
    "get_ipv6_neighbors_table": ({}, lambda r, t: isinstance(r, list)),
    "get_route_to": ({"destination": "10.255.0.5"}, lambda r, t: any(
        e["current_active"] and e["protocol"] == "ospf" for e in r["10.255.0.5/32"])),
    "get_bgp_neighbors": ({}, lambda r, t: r["global"]["router_id"] == "10.255.0.1" and all(
        p["is_up"] and p["address_family"]["ipv4"]["received_prefixes"] == 1
        for p in r["global"]["peers"].values()) and len(r["global"]["peers"]) == 5),
    "get_bgp_neighbors_detail": ({}, lambda r, t: len(r["global"][65000]) == 5 and all(
        n["up"] and n["local_address"] == "10.255.0.1" for n in r["global"][65000])),
    "get_bgp_config": ({}, lambda r, t: set(r) == {"core"}
                       and len(r["core"]["neighbors"]) == 5 and r["core"]["type"] == "internal"),
    "get_network_instances": ({}, lambda r, t: {"eth1", "lo", "mgmt0"}
                              <= set(r["default"]["interfaces"]["interface"])),
    "get_ntp_servers": ({}, lambda r, t: isinstance(r, dict)),
    "get_ntp_stats": ({}, lambda r, t: r == []),  # no NTP daemon in the lab
    "get_snmp_information": ({}, lambda r, t: r["location"] == "Oslo"
                             and {c["mode"] for c in r["community"].values()} == {"ro", "rw"}),
    "get_users": ({}, lambda r, t: r["root"]["level"] == 15 and r["root"]["password"] == ""),
    "get_environment": ({}, lambda r, t: len(r["cpu"]) >= 1
                        and 0 < r["memory"]["used_ram"] < r["memory"]["available_ram"]),
    "get_mac_address_table": ({}, lambda r, t: isinstance(r, list)),
    "get_vlans": ({}, lambda r, t: r == {}),  # no VLANs in the lab
    "get_optics": ({}, lambda r, t: r == {}),
    "traceroute": ({"destination": "10.255.0.5", "timeout": 1}, lambda r, t: list(
        r["success"].values())[-1]["probes"][1]["ip_address"] == "10.255.0.5"),
    "compliance_report": ({"validation_file": str(VALIDATE / "validate.yml")},
                          lambda r, t: r["complies"] is True),
}


@pytest.mark.parametrize("getter", sorted(LIVE))
def test_getter_live_fits_napalm_models(core: FRRDriver, lab_shared, getter: str) -> None:
    kwargs, holds = LIVE[getter]
    result = getattr(core, getter)(**kwargs)
    assert check.problems(getter, result) == []
    assert holds(result, lab_shared.topo), result


@pytest.mark.parametrize("getter", ["get_facts", "get_interfaces", "get_interfaces_ip",
                                    "get_lldp_neighbors", "get_config"])
def test_earlier_getters_live_fit_napalm_models(core: FRRDriver, getter: str) -> None:
    assert check.problems(getter, getattr(core, getter)()) == []


def test_ping_live_fits_napalm_models(core: FRRDriver) -> None:
    result = core.ping("10.255.0.5", count=1)
    assert check.problems("ping", result) == [] and result["success"]["packet_loss"] == 0


def test_state_dir_the_frr_user_can_write_is_refused(lab_shared, dev: FRRDriver) -> None:
    """The old default (/etc/frr/napalm) lies in a directory owned by frr: refused, untouched."""
    with driver(lab_shared, state_dir="/etc/frr/napalm") as d:
        with pytest.raises(CommandErrorException, match="refusing the state directory"):
            d.load_replace_candidate(config="hostname x\n")
    _, out, _ = dev._exec(f"ls -ld /etc/frr/napalm 2>&1; stat -c '%U %G %a' "
                          f"{lab_shared.state.routers[ROUTER].dir}/napalm")
    assert "No such file" in out and "root frr 2750" in out
