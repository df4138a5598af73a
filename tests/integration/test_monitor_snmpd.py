"""The monitor against real net-snmp agents started here: snmpd on 127.0.0.1 (v2c and a v3
authPriv user), and one in a private network namespace (ngkm-*) where a veth goes down."""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from controller.cli.main import app
from controller.services.metrics import serve_metrics
from controller.services.monitor.app import Monitor
from controller.southbound.snmp.inventory import load_inventory
from controller.southbound.snmp.traps import TrapReceiver
from controller.store import Store

pytestmark = pytest.mark.integration
V3 = {"user": "ngkv3", "auth_key": "authpass-123", "priv_key": "privpass-123"}
ENGINE_ID = "80001f8804" + "6e676b2d74657374"  # enterprise net-snmp, text "ngk-test"
LINK_OIDS = ".1.3.6.1.2.1.2.2.1.1 .1.3.6.1.2.1.2.2.1.7 .1.3.6.1.2.1.2.2.1.8"


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def snmpd_conf(community: str, trap_port: int | None = None, link_traps: bool = False) -> str:
    """The agent's configuration; its listening addresses go on the command line (Agent)."""
    lines = [f"rocommunity {community} 127.0.0.1",
             f"createUser {V3['user']} SHA {V3['auth_key']} AES {V3['priv_key']}",
             f"rouser {V3['user']} priv", "sysName ngk-test-agent",
             f"exactEngineID 0x{ENGINE_ID}"]
    if trap_port:
        lines.append(f"trap2sink 127.0.0.1:{trap_port} {community}")
    if link_traps:  # linkUpDownNotifications polls every 60 s; check every second instead
        lines += ["createUser ngkiq", "rouser ngkiq noauth", "iquerySecName ngkiq",
                  f"notificationEvent ngkDown .1.3.6.1.6.3.1.1.5.3 {LINK_OIDS}",
                  f"notificationEvent ngkUp .1.3.6.1.6.3.1.1.5.4 {LINK_OIDS}",
                  "monitor -r 1 -e ngkDown ngkdown .1.3.6.1.2.1.2.2.1.8 == 2",
                  "monitor -r 1 -e ngkUp ngkup .1.3.6.1.2.1.2.2.1.8 != 2"]
    return "\n".join(lines) + "\n"


class Agent:
    """One snmpd in the foreground with its own config, persistent dir and log; listening on
    `addresses` (loopback ones: one agent can stand in for many devices)."""

    def __init__(self, tmp: Path, port: int, community: str = "ngk-it",
                 trap_port: int | None = None, netns: str | None = None, link_traps: bool = False,
                 addresses: tuple[str, ...] = ("127.0.0.1",)):
        self.dir, self.port, self.community, self.netns = tmp, port, community, netns
        self.addresses = addresses
        tmp.mkdir(parents=True, exist_ok=True)
        (tmp / "snmpd.conf").write_text(snmpd_conf(community, trap_port, link_traps))
        self.proc: subprocess.Popen | None = None

    def start(self) -> Agent:
        if shutil.which("snmpd") is None:
            pytest.fail("net-snmp snmpd is not installed: run scripts/bootstrap --test")
        cmd = ["snmpd", "-f", "-I", "-smux", "-C", "-c", str(self.dir / "snmpd.conf"),
               "-p", str(self.dir / "pid"), "-Lf", str(self.dir / "log"), "-M", "/nonexistent",
               # on the command line: snmpd truncates a long agentAddress list in its config
               ",".join(f"udp:{a}:{self.port}" for a in self.addresses)]
        if self.netns:
            cmd = ["ip", "netns", "exec", self.netns, *cmd]
        env = {**os.environ, "SNMP_PERSISTENT_DIR": str(self.dir / "persist"), "MIBS": ""}
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.answers():
                return self
            time.sleep(0.1)
        raise RuntimeError(f"snmpd did not start: {(self.dir / 'log').read_text()}")

    def answers(self) -> bool:
        cmd = ["snmpget", "-v2c", "-c", self.community, "-t", "0.3", "-r", "0",
               f"{self.addresses[-1]}:{self.port}", ".1.3.6.1.2.1.1.3.0"]
        if self.netns:
            cmd = ["ip", "netns", "exec", self.netns, *cmd]
        env = {**os.environ, "MIBS": ""}
        return subprocess.run(cmd, capture_output=True, env=env).returncode == 0

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)


def write_inventory(path: Path, hosts: dict[str, dict]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "hosts.yaml").write_text(json.dumps(hosts))
    return path


def host(port: int, hostname: str = "127.0.0.1", **snmp) -> dict:
    return {"hostname": hostname, "data": {"snmp": {"port": port, "timeout": 0.3,
                                                    "retries": 1, **snmp}}}


@pytest.fixture
def agent(tmp_path):
    a = Agent(tmp_path / "agent", free_port()).start()
    yield a
    a.stop()


def test_once_json_v2c_v3_and_faults(tmp_path, agent):
    secrets = tmp_path / "secrets.yaml"
    secrets.touch(mode=0o600)
    secrets.write_text(json.dumps({"snmp": {"version": "3", **V3}}))
    inv = write_inventory(tmp_path / "inv", {
        "v2c": host(agent.port, community=agent.community),
        "v3": host(agent.port, secrets_file=str(secrets)),
        "wrong-community": host(agent.port, community="nope"),
        "wrong-v3-key": host(agent.port, version="3", **{**V3, "priv_key": "wrongwrong"}),
        "dead": host(free_port(), community="x"),
        "broken": {"hostname": "127.0.0.1", "data": {"snmp": {"version": "1"}}}})
    res = CliRunner().invoke(app, ["monitor", "--once", "--json", "--inventory", str(inv),
                                   "--db", str(tmp_path / "m.db")])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    by = {r["router"]: r for r in out["routers"]}
    assert set(by) == {"v2c", "v3", "wrong-community", "wrong-v3-key", "dead"}
    uptime = float(subprocess.run(
        ["snmpget", "-v2c", "-c", agent.community, "-Oqvt", f"127.0.0.1:{agent.port}",
         ".1.3.6.1.2.1.1.3.0"], capture_output=True, text=True).stdout) / 100
    for name in ("v2c", "v3"):
        r = by[name]
        assert r["reachable"] and abs(r["sys_uptime"] - uptime) < 5
        assert r["sys_name"] == "ngk-test-agent" and r["interfaces"]["lo"] == "up"
    assert "timeout" in by["wrong-community"]["error"] and "timeout" in by["dead"]["error"]
    # net-snmp drops what it cannot decrypt: a wrong priv key looks like a dead agent
    assert "timeout" in by["wrong-v3-key"]["error"] and "credentials" in by["wrong-v3-key"]["error"]
    downs = {e["router"] for e in out["events"] if e["kind"] == "router_down"}
    assert downs == {"wrong-community", "wrong-v3-key", "dead"}
    assert "broken" in res.stderr and "hosts.yaml" in res.stderr


def test_agent_dies_and_comes_back(tmp_path, agent):
    inv = write_inventory(tmp_path / "inv", {"r": host(agent.port, community=agent.community)})
    targets, _ = load_inventory(inv)
    mon = Monitor(targets, Store(tmp_path / "m.db"))

    async def cycles():
        first = await mon.cycle()
        agent.stop()
        down = await mon.cycle()
        agent.start()
        up = await mon.cycle()
        mon.close()
        return first, down, up

    first, down, up = asyncio.run(cycles())
    assert first["routers"][0]["reachable"] and not down["routers"][0]["reachable"]
    assert [e["kind"] for e in down["events"]] == ["router_down"]
    kinds = [e["kind"] for e in up["events"]]
    assert "router_up" in kinds and "reboot" in kinds  # sysUpTime restarted with the agent
    states = mon.store.query("SELECT state FROM state_changes WHERE interface = '' ORDER BY ts")
    assert [s for (s,) in states] == ["up", "down", "up"]


def test_prometheus_and_coldstart_trap(tmp_path):
    port, trap_port, metrics_port = free_port(), free_port(), free_port(socket.SOCK_STREAM)
    inv = write_inventory(tmp_path / "inv", {"r1": host(port, community="ngk-it")})
    targets, _ = load_inventory(inv)
    mon = Monitor(targets, Store(tmp_path / "m.db"))
    server = serve_metrics(mon.snapshot, metrics_port)
    agent = Agent(tmp_path / "agent", port, trap_port=trap_port)

    async def run():
        receiver = TrapReceiver(targets, mon.on_trap, "127.0.0.1", trap_port)
        receiver.start()
        agent.start()  # snmpd sends coldStart to its trap2sink when it starts
        await mon.cycle()
        deadline = time.time() + 5
        while not mon.event_counts.get("coldStart") and time.time() < deadline:
            await asyncio.sleep(0.05)
        receiver.close()
        mon.close()

    try:
        asyncio.run(run())
        url = f"http://127.0.0.1:{metrics_port}/metrics"
        body = urllib.request.urlopen(url, timeout=5).read().decode()
    finally:
        server.shutdown()
        agent.stop()
    assert 'ngk_snmp_up{router="r1"} 1.0' in body
    assert 'ngk_snmp_if_oper_up{interface="lo",router="r1"} 1.0' in body
    assert "ngk_snmp_sys_uptime_seconds" in body and "ngk_snmp_if_in_octets_total" in body
    assert "ngk_snmp_poll_duration_seconds" in body
    events = mon.store.query("SELECT kind, router, source FROM events WHERE source = 'trap'")
    assert ("coldStart", "r1", "trap") in events


def test_spoofed_and_wrong_community_traps_never_become_state(tmp_path, caplog):
    """net-snmp's snmptrap: the inventory router's trap community from its address is recorded;
    a wrong community, and the right one from an address outside the inventory, are counted and
    logged (no community in the log) and leave no event or state behind."""
    port = free_port()
    inv = write_inventory(tmp_path / "inv", {"r1": host(161, community="ro-it",
                                                        trap_community="trap-it")})
    targets, _ = load_inventory(inv)
    mon = Monitor(targets, Store(tmp_path / "m.db"))

    def snmptrap(community: str, source: str) -> None:
        subprocess.run(["snmptrap", "-v2c", "-c", community, f"--clientaddr={source}",
                        f"127.0.0.1:{port}", "", "1.3.6.1.6.3.1.1.5.3",
                        "1.3.6.1.2.1.2.2.1.1.2", "i", "2", "1.3.6.1.2.1.2.2.1.8.2", "i", "2"],
                       env={**os.environ, "MIBS": ""}, check=True, capture_output=True)

    async def run() -> TrapReceiver:
        receiver = TrapReceiver(targets, mon.on_trap, port=port)  # the management address
        receiver.start()
        try:
            for community, source in (("wrong-it", "127.0.0.1"), ("ro-it", "127.0.0.1"),
                                      ("trap-it", "127.0.0.9"), ("trap-it", "127.0.0.1")):
                await asyncio.to_thread(snmptrap, community, source)
            deadline = time.time() + 5
            while receiver.received + sum(receiver.rejected.values()) < 4 and \
                    time.time() < deadline:
                await asyncio.sleep(0.05)
        finally:
            receiver.close()
            mon.close()
        return receiver

    receiver = asyncio.run(run())
    assert receiver.host == "127.0.0.1"
    assert receiver.received == 1 and receiver.rejected == {"wrong_community": 2,
                                                            "unknown_source": 1}
    events = mon.store.query("SELECT kind, router, source FROM events")
    assert events == [("linkDown", "r1", "trap")]
    assert [r for (r,) in mon.store.query("SELECT DISTINCT router FROM state_changes")] in \
        ([], ["r1"])
    assert "127.0.0.9" in caplog.text and "unknown_source" in caplog.text
    assert "trap-it" not in caplog.text and "wrong-it" not in caplog.text and "ro-it" not in \
        caplog.text


def test_link_down_in_own_netns(tmp_path):
    """osl-cr1's eth1 (osl-trd-1 in the reference topology) is a veth in a private netns: take
    its peer down and see ifOperStatus down(2) by poll, a linkDown trap, and the impact."""
    ns = f"ngkm-{os.getpid()}-{time.monotonic_ns() % 100000}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    agent = proc = None
    try:
        def nsx(*cmd):
            subprocess.run(["ip", "netns", "exec", ns, *cmd], check=True)
        nsx("ip", "link", "set", "lo", "up")
        nsx("ip", "link", "add", "eth1", "type", "veth", "peer", "name", "peer1")
        nsx("ip", "link", "set", "eth1", "up")
        nsx("ip", "link", "set", "peer1", "up")
        port, trap_port = 16100, 16162  # inside the namespace: nothing else listens there
        agent = Agent(tmp_path / "agent", port, trap_port=trap_port, netns=ns,
                      link_traps=True).start()
        inv = write_inventory(tmp_path / "inv", {"osl-cr1": host(port, community="ngk-it")})
        db = tmp_path / "m.db"
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, sys.executable, "-c",
             "from controller.cli.main import app; app()", "monitor", "--interval", "0.5",
             "--inventory", str(inv), "--db", str(db), "--trap-port", str(trap_port),
             "--trap-addr", "127.0.0.1"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

        def query(sql):
            try:
                with sqlite3.connect(db, timeout=1) as c:
                    return c.execute(sql).fetchall()
            except sqlite3.Error:
                return []

        def wait(sql, seconds=15):
            deadline = time.time() + seconds
            while time.time() < deadline:
                rows = query(sql)
                if rows:
                    return rows
                time.sleep(0.2)
            raise AssertionError(f"timed out waiting for: {sql}")

        wait("SELECT 1 FROM state_changes WHERE interface = 'eth1' AND state = 'up'")
        cut = time.time()
        nsx("ip", "link", "set", "peer1", "down")
        wait(f"SELECT 1 FROM if_samples WHERE name = 'eth1' AND oper = 2 AND ts > {cut}")
        trap = wait("SELECT detail FROM events WHERE kind = 'linkDown' AND source = 'trap'")
        detail = json.loads(trap[0][0])
        poll_or_trap = wait("SELECT detail FROM events WHERE kind IN ('link_down', 'linkDown') "
                            "AND detail LIKE '%impact%'")
        impact = json.loads(poll_or_trap[0][0])["impact"]
        assert "link:osl-trd-1" in impact["elements"]
        assert set(impact["spans"]) == {"osl-ham-e6", "ham-dombas", "dombas-trd"}
        assert impact["datacentre_pairs_disconnected"] == []
        assert all("osl-trd-1" not in (r["via_links"] or []) for r in impact["reroutes"])
        assert detail["if_index"] is not None
    finally:
        if proc:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if agent:
            agent.stop()
        subprocess.run(["ip", "netns", "del", ns], check=False)
