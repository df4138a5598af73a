"""napalm_frr against the live netns lab: every getter and config method on one router."""
from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from napalm import get_network_driver
from napalm.base.exceptions import ConnectAuthError, ConnectionException, ReplaceConfigException

from controller.config.render import canonical, render_config
from napalm_frr import FRRDriver

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("lab")]
ROUTER = "amk-ce1"  # a member-site CE with one link: changes here disturb little


def driver(lab, router: str = ROUTER, **extra) -> FRRDriver:
    args = {"use_keys": True, "key_file": lab.creds.ssh_key, "allow_agent": False,
            "ssh_strict": True, "system_host_keys": False, "alt_host_keys": True,
            "alt_key_file": lab.creds.known_hosts, "conn_timeout": 5, **extra}
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
    assert dev.get_lldp_neighbors() == {}  # no lldpd in the lab
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
