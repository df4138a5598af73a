"""The BER client's SNMPv3 authPriv (USM) against a real net-snmp agent on loopback: every
auth protocol (SHA, SHA-224/256/384/512) with every AES key size (128/192/256), discovery, the
values the kernel shows, each kind of wrong credential reported by name, an agent restart (new
boots, time reset) re-synchronised, hundreds of requests in flight at once; net-snmp's snmptrap
and snmpinform against the trap receiver; and the lab's own snmpd (SHA-512/AES-256)."""
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

from controller.credentials import SnmpCredentials
from controller.lab.creds import SNMP_PROTOCOLS
from controller.lab.system import read_pid
from controller.southbound.snmp import usm
from controller.southbound.snmp.client import SnmpClient
from controller.southbound.snmp.inventory import Target, load_inventory
from controller.southbound.snmp.poller import DevicePoll, poll_device, poll_once
from controller.southbound.snmp.traps import TrapReceiver

pytestmark = pytest.mark.integration
ENGINE_ID = "80001f88046e676b2d7633"  # net-snmp enterprise, text "ngk-v3"
PROTOCOLS = [(a, p) for a in usm.AUTH_PROTOCOLS for p in usm.PRIV_PROTOCOLS]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Agent:
    """snmpd on 127.0.0.1 with an authPriv user per protocol pair. net-snmp 5.9.3 never counts
    engine boots here: a restart brings a new engine ID, or with `exact_engine` the same ID with
    boots 1 and time 0 again."""

    def __init__(self, base: Path, exact_engine: bool = False) -> None:
        self.base, self.port = base, free_port()
        self.creds = SnmpCredentials("3", user="ngkv3", auth_key=secrets.token_urlsafe(12),
                                     priv_key=secrets.token_urlsafe(12), engine_id=ENGINE_ID)
        (base / "persist").mkdir(mode=0o700)
        conf = base / "snmpd.conf"
        users = [f'createUser ngkv3 SHA "{self.creds.auth_key}" AES "{self.creds.priv_key}"',
                 "rouser ngkv3 priv"]
        for auth, priv in PROTOCOLS:  # one user per protocol pair, same passphrases
            a, p = usm.NET_SNMP_NAMES[auth], usm.NET_SNMP_NAMES[priv]
            users += [f'createUser {auth}-{priv} {a} "{self.creds.auth_key}" '
                      f'{p} "{self.creds.priv_key}"', f"rouser {auth}-{priv} priv"]
        if exact_engine:
            users.append(f"exactEngineID 0x{ENGINE_ID}")
        conf.write_text(f"agentAddress udp:127.0.0.1:{self.port}\n" + "\n".join(users) + "\n")
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


@pytest.fixture(params=[False])
def own_agent(tmp_path, request):
    """An agent of the test's own, as the test restarts it."""
    a = Agent(tmp_path, exact_engine=request.param)
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


@pytest.mark.parametrize("auth, priv", PROTOCOLS)
def test_every_auth_and_priv_protocol_polls_net_snmp(agent, auth, priv):
    poll, = poll_once([agent.target(user=f"{auth}-{priv}", auth_protocol=auth,
                                    priv_protocol=priv)])
    assert poll.reachable and poll.error is None and poll.problems == [], poll
    assert poll.sys_name == socket.gethostname()


@pytest.mark.parametrize("auth, priv", [("sha512", "aes"), ("sha", "aes256")])
def test_a_protocol_other_than_the_users_fails_cleanly(agent, auth, priv):
    """The sha512-aes256 user asked with another auth or priv protocol: refused, never polled."""
    poll, = poll_once([agent.target(user="sha512-aes256", auth_protocol=auth,
                                    priv_protocol=priv)])
    assert not poll.reachable and poll.error


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
    """A restarted agent (a new engine ID: unknownEngineID) and a manager whose estimate of the
    agent's time is 1,000 s off (notInTimeWindow) are both followed. RFC 3414 3.2 takes an
    authenticated time only when it is newer than the latest received, so the drifted poll waits
    until the agent's clock has moved on (1 s granularity)."""
    async def scenario() -> list[tuple[DevicePoll, usm.Engine]]:
        client = await SnmpClient.create()
        engines = client.engines
        addr = ("127.0.0.1", own_agent.port)
        try:
            seen = [(await poll_device(client, own_agent.target()), replace(engines[addr]))]
            own_agent.stop()
            own_agent.start()
            seen.append((await poll_device(client, own_agent.target()), replace(engines[addr])))
            await asyncio.sleep(1.1)
            engines[addr].time += 1000
            seen.append((await poll_device(client, own_agent.target()), replace(engines[addr])))
            return seen
        finally:
            client.close()

    seen = asyncio.run(scenario())
    assert [p.error for p, _ in seen] == [None, None, None]
    (_, started), (_, restarted), (_, resynced) = seen
    assert restarted.engine_id != started.engine_id
    assert restarted.time < 30 and resynced.time < 30  # the agent's clock, not our drifted one
    assert abs(resynced.now() - restarted.now()) <= 1


@pytest.mark.parametrize("own_agent", [True], indirect=True)
def test_an_agent_whose_time_went_back_in_the_same_boot_is_refused(own_agent):
    """After 1,000 s of (simulated) uptime the agent restarts with the same engine ID and boots
    but its time back at 0 (net-snmp with exactEngineID): its replies are what a replay looks
    like, so they are refused and counted (RFC 3414 3.2 7b), never taken as the agent's state."""
    async def scenario() -> tuple[DevicePoll, DevicePoll, dict]:
        client = await SnmpClient.create()
        addr = ("127.0.0.1", own_agent.port)
        try:
            first = await poll_device(client, own_agent.target())
            engine = client.engines[addr]
            engine.time, engine.latest = engine.time + 1000, engine.latest + 1000
            own_agent.stop()
            own_agent.start()
            return first, await poll_device(client, own_agent.target()), dict(client.errors)
        finally:
            client.close()

    first, after, errors = asyncio.run(scenario())
    assert first.error is None and not after.reachable
    assert "time window" in after.error and errors == {"notInTimeWindow": 1}


def test_hundreds_of_requests_in_flight(agent):
    """One agent, 400 devices polled at once (each a separate request stream): none lost."""
    results = poll_once([replace(agent.target(), router=f"d{i}") for i in range(400)],
                        concurrency=400)
    lost = [p.error for p in results if not p.reachable]
    assert lost == [], lost[:3]
    assert len({len(p.interfaces) for p in results}) == 1


def net_snmp_notify(command: str, agent: Agent, port: int, user: str, auth: str, priv: str,
                    auth_key: str | None = None, level: str = "authPriv") -> int:
    """snmptrap/snmpinform -v3 from 127.0.0.1 (as the agent's engine for traps): a linkDown."""
    args = [command, "-v3", "-u", user, "-l", level, "-a", usm.NET_SNMP_NAMES[auth],
            "-A", auth_key or agent.creds.auth_key, "-x", usm.NET_SNMP_NAMES[priv],
            "-X", agent.creds.priv_key, "-r", "0", "-t", "1"]
    if command == "snmptrap":
        args += ["-e", f"0x{ENGINE_ID}"]
    args += [f"127.0.0.1:{port}", "", "1.3.6.1.6.3.1.1.5.3", "1.3.6.1.2.1.2.2.1.1.3", "i", "3"]
    return subprocess.run(args, env={"MIBS": "", "PATH": "/usr/bin:/bin"}, capture_output=True,
                          timeout=10).returncode


def test_net_snmp_v3_traps_and_informs_reach_the_receiver(agent):
    """authPriv traps (engine ID from the inventory) and informs (discovery, then an authPriv
    Response: snmpinform exits 0 only when it got it) with SHA/AES and SHA-512/AES-256; a wrong
    auth key and authNoPriv are counted and never recorded."""
    pairs = [("sha", "aes"), ("sha224", "aes192"), ("sha512", "aes256")]
    targets = [agent.target(user=f"{a}-{p}", auth_protocol=a, priv_protocol=p)
               for a, p in pairs]
    targets = [replace(t, router=t.credentials.user) for t in targets]
    got, port = [], free_port()

    async def scenario() -> tuple[list[int], TrapReceiver]:
        receiver = TrapReceiver(targets, got.append, port=port)
        receiver.start()
        codes = []
        try:
            for auth, priv in pairs:
                for command in ("snmptrap", "snmpinform"):
                    codes.append(await asyncio.to_thread(
                        net_snmp_notify, command, agent, port, f"{auth}-{priv}", auth, priv))
            codes.append(await asyncio.to_thread(net_snmp_notify, "snmptrap", agent, port,
                                                 "sha-aes", "sha", "aes", "wrong-auth-key"))
            codes.append(await asyncio.to_thread(net_snmp_notify, "snmptrap", agent, port,
                                                 "sha-aes", "sha", "aes", None, "authNoPriv"))
            await asyncio.sleep(0.3)
        finally:
            receiver.close()
        return codes, receiver

    codes, receiver = asyncio.run(scenario())
    assert receiver.host == "127.0.0.1"
    assert codes[:6] == [0] * 6, codes  # every inform was answered
    assert sorted((t.router, t.kind, t.if_index) for t in got) == sorted(
        (f"{a}-{p}", "linkDown", 3) for a, p in pairs for _ in range(2))
    assert receiver.rejected == {"unauthentic": 1, "unsupported_security_level": 1}


def test_the_labs_snmpd_answers_its_sha512_aes256_user(lab_shared):
    """The lab's inventory (credentials.json) polls every router with SHA-512 / AES-256."""
    targets, problems = load_inventory(Path(lab_shared.state.dir) / "inventory")
    assert not problems and targets
    assert {(t.credentials.auth_protocol, t.credentials.priv_protocol) for t in targets} == \
        {tuple(SNMP_PROTOCOLS.values())} == {("sha512", "aes256")}
    polls = poll_once(targets)
    assert [p.error for p in polls if not p.reachable] == []
    assert {p.router for p in polls} == {t.router for t in targets}
    sha1 = [replace(t, credentials=replace(t.credentials, auth_protocol="sha",
                                           priv_protocol="aes")) for t in targets[:1]]
    assert not poll_once(sha1)[0].reachable  # the lab has no SHA-1 user any more
