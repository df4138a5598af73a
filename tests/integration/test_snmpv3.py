"""The BER client's SNMPv3 authPriv (USM: SHA, AES) against a real net-snmp agent on loopback:
discovery, the values the kernel shows, each kind of wrong credential reported by name, an agent
restart (new boots, time reset) re-synchronised, and hundreds of requests in flight at once."""
from __future__ import annotations

import asyncio
import json
import secrets
import socket
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest

from controller.lab.system import read_pid
from controller.southbound.snmp import usm
from controller.southbound.snmp.client import SnmpClient
from controller.credentials import SnmpCredentials
from controller.southbound.snmp.inventory import Target
from controller.southbound.snmp.poller import DevicePoll, poll_device, poll_once

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Agent:
    """snmpd on 127.0.0.1 with one authPriv user; its engine ID persists across restarts."""

    def __init__(self, base: Path) -> None:
        self.base, self.port = base, free_port()
        self.creds = SnmpCredentials("3", user="ngkv3", auth_key=secrets.token_urlsafe(12),
                                 priv_key=secrets.token_urlsafe(12))
        (base / "persist").mkdir(mode=0o700)
        conf = base / "snmpd.conf"
        conf.write_text(f"agentAddress udp:127.0.0.1:{self.port}\n"
                        f'createUser ngkv3 SHA "{self.creds.auth_key}" AES "{self.creds.priv_key}"\n'
                        "rouser ngkv3 priv\n")
        conf.chmod(0o600)
        self.pid = 0

    def start(self) -> None:
        subprocess.run(["/usr/sbin/snmpd", "-I", "-smux", "-C", "-c", str(self.base / "snmpd.conf"),
                        "-p", str(self.base / "pid"), "-Lf", str(self.base / "log")],
                       env={"SNMP_PERSISTENT_DIR": str(self.base / "persist"), "MIBS": ""},
                       check=True)
        self.pid = read_pid(self.base / "pid")

    def stop(self) -> None:
        pidfile = self.base / "pid"
        if not self.pid and pidfile.exists():  # start() failed after the daemon forked
            self.pid = int(pidfile.read_text().split()[0])
        if not self.pid:
            return
        subprocess.run(["kill", str(self.pid)], check=False)
        for _ in range(100):
            if not Path(f"/proc/{self.pid}").exists():
                return
            time.sleep(0.05)
        subprocess.run(["kill", "-9", str(self.pid)], check=False)

    def target(self, **creds: str) -> Target:
        return Target("agent", "127.0.0.1", self.port, replace(self.creds, **creds), 1.0, 1)


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    a = Agent(tmp_path_factory.mktemp("snmpv3"))
    try:
        a.start()
        yield a
    finally:
        a.stop()


@pytest.fixture
def own_agent(tmp_path):
    """An agent of the test's own, as the test restarts it."""
    a = Agent(tmp_path)
    try:
        a.start()
        yield a
    finally:
        a.stop()


def kernel_links() -> dict[str, int]:
    """ifname -> IF-MIB ifOperStatus as net-snmp derives it (up when the link is up/unknown)."""
    links = json.loads(subprocess.run(["ip", "-j", "link", "show"], capture_output=True, text=True,
                                      check=True).stdout)
    return {x["ifname"]: 1 if x["operstate"] in ("UP", "UNKNOWN") and "UP" in x["flags"] else 2
            for x in links}


def test_authpriv_poll_reads_what_the_kernel_shows(agent):
    poll, = poll_once([agent.target()])
    assert poll.reachable and poll.error is None and poll.problems == [], poll
    assert poll.sys_name == socket.gethostname()
    assert 0 <= poll.sys_uptime < 6000  # TimeTicks: the agent started moments ago
    assert {i.name: i.oper for i in poll.interfaces.values()} == kernel_links()


@pytest.mark.parametrize("wrong, reason", [
    ({"auth_key": "not-the-auth-key"}, "wrongDigest"),
    ({"user": "nobody"}, "unknownUserName"),
    ({"priv_key": "not-the-priv-key"}, "timeout"),  # net-snmp drops what it cannot decrypt
])
def test_wrong_credentials_fail_by_name(agent, wrong, reason):
    poll, = poll_once([agent.target(**wrong)])
    assert not poll.reachable and reason in poll.error, poll.error
    assert agent.creds.auth_key not in poll.error and agent.creds.priv_key not in poll.error


def test_agent_restart_and_time_drift_are_resynchronised(own_agent):
    """A restarted agent (new engine: unknownEngineID, or boots/time reset) and a manager whose
    estimate of the agent's time is 1,000 s off (notInTimeWindow) are both followed."""
    async def scenario() -> list[tuple[DevicePoll, usm.Engine]]:
        client = await SnmpClient.create()
        engines = client.engines
        addr = ("127.0.0.1", own_agent.port)
        try:
            seen = [(await poll_device(client, own_agent.target()), replace(engines[addr]))]
            own_agent.stop()
            own_agent.start()
            seen.append((await poll_device(client, own_agent.target()), replace(engines[addr])))
            engines[addr].time += 1000
            seen.append((await poll_device(client, own_agent.target()), replace(engines[addr])))
            return seen
        finally:
            client.close()

    seen = asyncio.run(scenario())
    assert [p.error for p, _ in seen] == [None, None, None]
    (_, started), (_, restarted), (_, resynced) = seen
    assert restarted.time < 30 and resynced.time < 30  # the agent's clock, not our drifted one
    assert abs(resynced.now() - restarted.now()) <= 1


def test_hundreds_of_requests_in_flight(agent):
    """One agent, 400 devices polled at once (each a separate request stream): none lost."""
    results = poll_once([replace(agent.target(), router=f"d{i}") for i in range(400)],
                        concurrency=400)
    lost = [p.error for p in results if not p.reachable]
    assert lost == [], lost[:3]
    assert len({len(p.interfaces) for p in results}) == 1
