"""The NETCONF push path against a real netconfd (yuma123) behind sshd in a namespace of its own.

One server per xdist worker (session fixture; the namespace name carries the worker id). Checks
read the device independently of the code under test: raw get-config parsed with lxml here.
"""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lxml import etree
from ncclient import manager
from ncclient.transport import session as ncsession

from controller.lab import netconf_server as lab
from controller.model.load import load_topology
from controller.credentials import Login
from controller.southbound.netconf import (Payload, Target, cancel_commit, confirm_commit, push,
                                           render_interfaces)

pytestmark = pytest.mark.integration

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
IF = "urn:ietf:params:xml:ns:yang:ietf-interfaces"
IP = "urn:ietf:params:xml:ns:yang:ietf-ip"
ROUTER = "osl-cr1"


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    reason = lab.unavailable_reason()
    if reason:
        pytest.skip(f"netconfd lab unavailable: {reason}")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    srv = lab.start(tmp_path_factory.mktemp("netconfd"), worker)
    tick, ncsession.TICK = ncsession.TICK, 0.01  # 10x fewer idle polls per RPC; same protocol
    yield srv
    ncsession.TICK = tick
    lab.stop(srv)


@pytest.fixture(scope="session")
def topo():
    return load_topology()


@pytest.fixture
def creds(server) -> Login:
    return Login(server.username, key_file=server.user_key, known_hosts=server.known_hosts)


@pytest.fixture
def target(server) -> Target:
    return Target(ROUTER, server.host, server.port, timeout=15)


def session(server) -> manager.Manager:
    return manager.connect(host=server.host, port=server.port, username=server.username,
                           key_filename=server.user_key, hostkey_verify=False,
                           allow_agent=False, look_for_keys=False, timeout=15)


@pytest.fixture(autouse=True)
def empty_interfaces(server):
    """Every test starts from a device with no interfaces configured."""
    with session(server) as s:
        s.lock("candidate")
        s.discard_changes()
        s.edit_config(target="candidate", default_operation="none", config=(
            f'<config xmlns="{NC}" xmlns:nc="{NC}"><interfaces xmlns="{IF}" '
            'nc:operation="remove"/></config>'))
        s.commit()
        s.unlock("candidate")
        assert "interface" not in s.get_config("running").data_xml


def interfaces(server, source: str = "running") -> dict[str, dict]:
    """name -> {description, enabled, addresses} straight from the device."""
    with session(server) as s:
        data = etree.fromstring(s.get_config(source).data_xml.encode())
    out = {}
    for i in data.iter(f"{{{IF}}}interface"):
        out[i.findtext(f"{{{IF}}}name")] = {
            "description": i.findtext(f"{{{IF}}}description"),
            "enabled": i.findtext(f"{{{IF}}}enabled"),
            "addresses": sorted((a.findtext(f"{{{IP}}}ip"), a.findtext(f"{{{IP}}}prefix-length"))
                                for a in i.iter(f"{{{IP}}}address"))}
    return out


def expected(topo, router: str) -> dict[str, dict]:
    """What the topology says the router's interfaces are (computed here, not by the payload)."""
    r = topo.routers[router]
    out = {"lo": {"description": f"ngk loopback of {router}", "enabled": "true",
                  "addresses": [(str(r.loopback.ip), str(r.loopback.network.prefixlen))]}}
    for link in topo.links.values():
        for mine, peer in ((link.a, link.b), (link.b, link.a)):
            if mine.router == router:
                out[mine.interface] = {
                    "description": f"ngk link {link.id} to {peer.router} {peer.interface}",
                    "enabled": "true",
                    "addresses": [(str(mine.address.ip), str(mine.address.network.prefixlen))]}
    return out


def edited(payload: Payload, old: str, new: str) -> Payload:
    assert old in payload.xml
    return dataclasses.replace(payload, xml=payload.xml.replace(old, new, 1))


def assert_unlocked(server) -> None:
    with session(server) as s:
        s.lock("candidate")
        s.unlock("candidate")


def wait_idle_for_rollback(server, before: dict, limit: float) -> dict:
    """Poll rarely: netconfd runs its confirm timer only after 1 s without traffic."""
    deadline = time.monotonic() + limit
    now = interfaces(server)
    while now != before and time.monotonic() < deadline:
        time.sleep(2.5)
        now = interfaces(server)
    return now


def test_dry_run_then_commit_then_no_diff(server, topo, target, creds):
    payload = render_interfaces(topo, ROUTER)
    dry = push(target, payload, creds)
    assert dry.status == "dry-run" and dry.changed and dry.error is None
    want = expected(topo, ROUTER)
    for name, intf in want.items():
        assert f"+ /ietf-interfaces:interfaces/interface[name='{name}']/description = " \
               f"{intf['description']!r}" in dry.diff.splitlines()
    # per interface: entry, description, type, enabled, address entry, prefix-length
    assert len(dry.diff.splitlines()) == 6 * len(want)
    assert interfaces(server) == {}  # dry-run changed nothing

    done = push(target, payload, creds, commit=True, confirm_timeout=30)
    assert (done.status, done.error) == ("committed", None)
    assert {k: v for k, v in interfaces(server).items() if k in want} == want
    assert_unlocked(server)

    again = push(target, payload, creds, commit=True)
    assert (again.status, again.changed, again.diff) == ("unchanged", False, "")


def test_diff_names_each_changed_element(server, topo, target, creds):
    payload = render_interfaces(topo, ROUTER)
    assert push(target, payload, creds, commit=True).status == "committed"
    link = topo.links["osl-trd-1"]
    changed = edited(payload, f"ngk link {link.id} ", "ngk link renamed ")
    result = push(target, changed, creds)
    assert result.status == "dry-run"
    assert result.diff.splitlines() == [
        f"~ /ietf-interfaces:interfaces/interface[name='{link.a.interface}']/description: "
        f"'ngk link {link.id} to {link.b.router} {link.b.interface}' -> "
        f"'ngk link renamed to {link.b.router} {link.b.interface}'"]


@pytest.mark.parametrize("old,new,app_tag,leaf", [
    ("<prefix-length>31</prefix-length>", "<prefix-length>33</prefix-length>", "not-in-range",
     "prefix-length"),
    ("<ip>10.0.0.0</ip>", "<ip>10.0.0.300</ip>", "pattern-test-failed", "ip"),
])
def test_yang_rejects_edit_cleanly(server, topo, target, creds, old, new, app_tag, leaf):
    payload = render_interfaces(topo, ROUTER)
    bad = edited(edited(payload, "ngk loopback", "half-applied loopback"), old, new)
    before = interfaces(server)
    result = push(target, bad, creds, commit=True)
    assert result.status == "failed"
    assert result.error["kind"] == "rpc-error"
    (err,) = result.error["rpc_errors"]
    assert (err["tag"], err["app_tag"]) == ("invalid-value", app_tag)
    assert err["path"].endswith(f":{leaf}") and not err["path"].startswith("/nc:rpc")
    assert app_tag in result.error["message"] and "Traceback" not in result.error["message"]
    assert interfaces(server) == before
    assert interfaces(server, "candidate") == before  # candidate discarded
    assert_unlocked(server)


def test_unconfirmed_commit_rolls_back_by_itself(server, topo, target, creds):
    payload = edited(render_interfaces(topo, ROUTER), "ngk loopback", "pending loopback")
    before = interfaces(server)
    result = push(target, payload, creds, commit=True, confirm=False, confirm_timeout=4)
    assert result.status == "pending" and result.persist_id
    assert interfaces(server)["lo"]["description"] == f"pending loopback of {ROUTER}"
    # leave the server idle: the timer only runs after 1 s without traffic
    time.sleep(5.5)
    assert wait_idle_for_rollback(server, before, limit=20) == before


def test_pending_commit_confirmed_later_stays(server, topo, target, creds):
    payload = edited(render_interfaces(topo, ROUTER), "ngk loopback", "confirmed-later loopback")
    result = push(target, payload, creds, commit=True, confirm=False, confirm_timeout=4)
    assert result.status == "pending"
    confirm_commit(target, creds, result.persist_id)
    time.sleep(5.5)  # longer than the timeout, idle
    assert interfaces(server)["lo"]["description"] == f"confirmed-later loopback of {ROUTER}"


def test_cancel_commit_rolls_back_now(server, topo, target, creds):
    before = interfaces(server)
    payload = edited(render_interfaces(topo, ROUTER), "ngk loopback", "cancelled loopback")
    result = push(target, payload, creds, commit=True, confirm=False, confirm_timeout=120)
    assert result.status == "pending"
    cancel_commit(target, creds, result.persist_id)
    assert interfaces(server) == before


def test_failed_check_rolls_back(server, topo, target, creds):
    before = interfaces(server)
    payload = edited(render_interfaces(topo, ROUTER), "ngk loopback", "unverified loopback")
    seen = []

    def check(s: manager.Manager) -> str:
        seen.append(interfaces(server)["lo"]["description"])
        return "ospf neighbour trd-cr1 down"

    result = push(target, payload, creds, commit=True, check=check)
    assert seen == [f"unverified loopback of {ROUTER}"]  # the check saw the committed change
    assert result.status == "rolled-back" and result.error["kind"] == "verify"
    assert "ospf neighbour trd-cr1 down" in result.error["message"]
    assert result.cleanup_errors == []
    assert interfaces(server) == before
    assert_unlocked(server)


def test_session_lost_before_confirm_reverts(server, topo, target, creds):
    before = interfaces(server)
    payload = edited(render_interfaces(topo, ROUTER), "ngk loopback", "orphaned loopback")

    def management_plane_dies(s: manager.Manager) -> None:
        s._session._transport.close()  # the SSH connection drops after commit, before confirm

    result = push(target, payload, creds, commit=True, confirm_timeout=300,
                  check=management_plane_dies)
    assert result.status == "rolled-back" and result.error["kind"] == "unreachable"
    time.sleep(0.5)
    assert interfaces(server) == before
    assert_unlocked(server)


def test_lock_held_by_another_session(server, topo, target, creds):
    before = interfaces(server)
    payload = edited(render_interfaces(topo, ROUTER), "ngk loopback", "blocked loopback")
    with session(server) as other:
        other.lock("candidate")
        theirs = edited(render_interfaces(topo, ROUTER), "ngk loopback", "their loopback")
        other.edit_config(target="candidate", config=theirs.xml)
        result = push(target, payload, creds, commit=True)
        assert result.status == "failed" and result.error["kind"] == "lock"
        assert "locked by another session" in result.error["message"]
        assert interfaces(server) == before
        # their lock and their candidate edit are untouched
        assert interfaces(server, "candidate")["lo"]["description"].startswith("their")
        with pytest.raises(Exception, match="lock"):
            with session(server) as third:
                third.lock("candidate")
        other.discard_changes()
        other.unlock("candidate")


def _keygen(path: Path) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path.with_suffix(".pub").read_text().split()[1]


def test_wrong_key_is_refused(server, topo, target, creds, tmp_path):
    _keygen(tmp_path / "other")
    wrong = dataclasses.replace(creds, key_file=str(tmp_path / "other"))
    result = push(target, render_interfaces(topo, ROUTER), wrong)
    assert result.status == "failed" and result.error["kind"] == "authentication"


def test_wrong_password_is_refused_and_not_echoed(server, topo, target, creds):
    wrong = Login(server.username, password="hunter2-secret", known_hosts=server.known_hosts)
    result = push(target, render_interfaces(topo, ROUTER), wrong)
    assert result.error["kind"] == "authentication"
    assert "hunter2" not in str(result.as_dict()) and "hunter2" not in repr(wrong)


@pytest.mark.parametrize("where", ["closed-port", "silent-host"])
def test_unreachable_device(server, topo, creds, tmp_path, where):
    host, port = (server.host, 831) if where == "closed-port" else (server.unused_host, 830)
    known = tmp_path / "known_hosts"
    known.write_text(Path(server.known_hosts).read_text().replace(
        f"[{server.host}]:830", f"[{host}]:{port}"))
    start = time.monotonic()
    result = push(Target(ROUTER, host, port, timeout=2), render_interfaces(topo, ROUTER),
                  dataclasses.replace(creds, known_hosts=str(known)))
    assert result.status == "failed" and result.error["kind"] == "unreachable"
    assert time.monotonic() - start < 6


@pytest.mark.parametrize("case", ["missing", "different-key"])
def test_unknown_host_key(server, topo, target, creds, tmp_path, case):
    known = tmp_path / "known_hosts"
    lines = "" if case == "missing" else \
        f"[{server.host}]:830 ssh-ed25519 {_keygen(tmp_path / 'impostor')}\n"
    known.write_text(lines)
    result = push(target, render_interfaces(topo, ROUTER),
                  dataclasses.replace(creds, known_hosts=str(known)))
    assert result.status == "failed" and result.error["kind"] == "host-key"
    assert result.seconds.get("diff") is None  # nothing was read from an untrusted device


def netns() -> list[str]:
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()


def test_stale_instance_is_cleaned_up(server, tmp_path):
    """An instance whose owner died (kernel objects outlive it) is found and removed."""
    code = ("import os, sys; from controller.lab import netconf_server as lab; "
            f"s = lab.start({str(tmp_path)!r}, 'stale'); print(s.name, s.pgid, flush=True); "
            "os._exit(0)")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    name, pgid = out.stdout.split()
    assert name in netns() and (lab.STATE_DIR / f"{name}.json").exists()
    lab.cleanup_stale()
    assert name not in netns() and not (lab.STATE_DIR / f"{name}.json").exists()
    assert lab.group_members(int(pgid)) == []
