"""Issue-5 poll cycle against snmpsim serving real device recordings: ngk vs exporter vs snmpbulkget.

One snmpsim-command-responder process answers on E endpoints (127.0.0.10.. on one free UDP
port) with R recordings from the `snmpsim-data` package, one community per recording (snmpsim
1.2.2 cannot serve different data per endpoint). Every (endpoint, community) pair is one device,
so the default 200 endpoints x 5 recordings = 1,000 devices of 19..61 interfaces each.

Every poller does the same work per device, the work ngk's poller does: sysUpTime + sysName
(GET) and a walk of ifDescr, ifName, ifAdminStatus, ifOperStatus, ifHCIn/OutOctets over all
interfaces (a superset of the issue's sysUpTime + ifOperStatus of 10 interfaces). Timed:
  - ngk: `poll_all` (hand-built v2c BER, one socket), CPU of this process;
  - prometheus-snmp-exporter 0.21: one module, scraped with parallel curls;
  - net-snmp: one `snmpget` + one `snmpbulkwalk` per device via `xargs -P`.
The agent is one Python process, so its speed bounds every poller; its CPU is printed too.
Usage: python benchmarks/bench_snmpsim.py [--endpoints 200] [--devices 1000] [--cycles 1]
"""
from __future__ import annotations

import argparse
import asyncio
import bz2
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import snmpsim_data

from controller.southbound.snmp.client import Clients
from controller.southbound.snmp.inventory import Credentials, Target
from controller.southbound.snmp.oids import IF_COLUMNS, IF_OPER_STATUS, SYS_UPTIME, dotted
from controller.southbound.snmp.poller import poll_all

RECORDINGS = ("network/router/juniper-mx960-13-3r9-13", "network/switch/cisco-c3560",
              "network/switch/cisco-c3750", "network/router/vyatta-unknown",
              "cloud/arista-dcs-7150s-52-cl")
# Only the subtrees polled are kept (system, interfaces, ifMIB): snmpsim indexes a file at start,
# which takes minutes for the big recordings; the answers to the polled OIDs are unchanged.
SUBTREES = ("1.3.6.1.2.1.1.", "1.3.6.1.2.1.2.", "1.3.6.1.2.1.31.")
FIRST_HOST = 10  # endpoints 127.0.0.10, 127.0.0.11, ...
TIMEOUT, RETRIES = 5.0, 1


def free_udp_port(hosts: list[str]) -> int:
    """A port that is free on every endpoint address."""
    for port in range(21000, 30000, 7):
        socks = []
        try:
            for host in hosts:
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind((host, port))
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free UDP port on the endpoint addresses")


def write_recordings(data: Path) -> dict[str, tuple[int, int]]:
    """Unpack each recording as DATA/<community>.snmprec; community -> (interfaces, values/device)."""
    base = Path(snmpsim_data.__path__[0]) / "data"
    out = {}
    for rec in RECORDINGS:
        community = rec.rsplit("/", 1)[1]
        text = bz2.decompress((base / f"{rec}.snmprec.bz2").read_bytes()).decode(errors="replace")
        lines = [ln for ln in text.splitlines() if ln.startswith(SUBTREES)]
        (data / f"{community}.snmprec").write_text("\n".join(lines) + "\n")
        rows = [line.split("|", 1)[0] for line in lines]
        prefixes = {dotted(c) + "." for c in IF_COLUMNS.values()}
        per_col = sum(1 for r in rows for p in prefixes if r.startswith(p))
        ifs = sum(1 for r in rows if r.startswith(dotted(IF_OPER_STATUS) + "."))
        if f"{dotted(SYS_UPTIME)}.0" not in rows or ifs < 10:
            raise RuntimeError(f"{rec}: no sysUpTime.0 or fewer than 10 ifOperStatus rows")
        out[community] = (ifs, 2 + per_col)
    return out


def start_agent(tmp: Path, hosts: list[str], port: int) -> subprocess.Popen:
    args = [f"--agent-udpv4-endpoint={h}:{port}" for h in hosts]
    proc = subprocess.Popen(
        ["snmpsim-command-responder", f"--data-dir={tmp / 'data'}", f"--cache-dir={tmp / 'cache'}",
         "--logging-method=null", "--max-var-binds=256", *args],
        env={**os.environ, "SNMPSIM_ALLOW_ROOT": "true"}, stdout=subprocess.DEVNULL,
        stderr=open(tmp / "snmpsim.log", "w"), start_new_session=True)
    probe = ["snmpget", "-v2c", "-c", RECORDINGS[0].rsplit("/", 1)[1], "-t", "0.5", "-r", "0", "-On",
             f"{hosts[-1]}:{port}", f"{dotted(SYS_UPTIME)}.0"]
    for _ in range(60):  # ~45 s
        if proc.poll() is not None:
            raise RuntimeError(f"snmpsim exited: {(tmp / 'snmpsim.log').read_text()[-2000:]}")
        if subprocess.run(probe, capture_output=True, env=NET_SNMP_ENV).returncode == 0:
            return proc
        time.sleep(0.5)
    raise RuntimeError("snmpsim did not answer within ~45 s")


NET_SNMP_ENV = {**os.environ, "MIBS": "", "MIBDIRS": "/nonexistent"}


def cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def cpu_of(pid: int) -> float:
    """utime + stime of a running process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Row:
    def __init__(self, name: str) -> None:
        self.name, self.runs = name, []  # (seconds, poller CPU, agent CPU, answered, values)

    def med(self, i: int) -> float:
        return statistics.median(r[i] for r in self.runs)


async def ngk_cycles(targets: list[Target], per_device: list[int], cycles: int, concurrency: int,
                     agent: int) -> Row:
    """A device counts as answered when reachable with no problems; it then carries the values
    its recording holds (`per_device`)."""
    row = Row(f"ngk poll_all (concurrency {concurrency})")
    clients = await Clients.open()
    try:
        for _ in range(cycles):
            a0, c0, t0 = cpu_of(agent), cpu_self(), time.perf_counter()
            polls = await poll_all(clients, targets, concurrency=concurrency)
            dt = time.perf_counter() - t0
            ok = [i for i, p in enumerate(polls)
                  if p.reachable and not p.problems and p.sys_uptime is not None]
            row.runs.append((dt, cpu_self() - c0, cpu_of(agent) - a0, len(ok),
                             sum(per_device[i] for i in ok)))
    finally:
        clients.close()
    return row


EXPORTER_CONF = """ngk:
  version: 2
  auth: {community: %s}
  max_repetitions: 16
  timeout: %ds
  retries: %d
  get: [1.3.6.1.2.1.1.3.0, 1.3.6.1.2.1.1.5.0]
  walk: [%s]
  metrics:
  - {name: sysUpTime, oid: 1.3.6.1.2.1.1.3, type: gauge}
  - {name: sysName, oid: 1.3.6.1.2.1.1.5, type: DisplayString}
%s
"""


def exporter_cycles(tmp: Path, devices: list[tuple[str, str]], cycles: int, parallel: int,
                    agent: int) -> Row | None:
    """One module per community (the exporter 0.21 has no per-target community)."""
    binary = shutil.which("prometheus-snmp-exporter")
    if not binary or not shutil.which("curl"):
        return None
    cols = ", ".join(dotted(c) for c in IF_COLUMNS.values())
    metrics = "\n".join(
        f"  - {{name: if_{n}, oid: {dotted(c)}, type: "
        f"{'DisplayString' if n in ('descr', 'name') else 'gauge'}, "
        f"indexes: [{{labelname: ifIndex, type: gauge}}]}}" for n, c in IF_COLUMNS.items())
    communities = sorted({c for _, c in devices})
    conf = tmp / "snmp.yml"
    conf.write_text("".join(
        (EXPORTER_CONF % (c, TIMEOUT, RETRIES, cols, metrics)).replace("ngk:", f"{c}:", 1)
        for c in communities))
    port = free_tcp_port()
    proc = subprocess.Popen([binary, f"--config.file={conf}", f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    row = Row(f"prometheus-snmp-exporter ({parallel} curls)")
    urls = "\n".join(f"http://127.0.0.1:{port}/snmp?module={c}&target={a}" for a, c in devices)
    try:
        time.sleep(1.0)
        for _ in range(cycles):
            e0, a0, t0 = cpu_of(proc.pid), cpu_of(agent), time.perf_counter()
            res = subprocess.run(["xargs", "-P", str(parallel), "-n", "1", "curl", "-s"], input=urls,
                                 capture_output=True, text=True)
            dt = time.perf_counter() - t0
            body = res.stdout
            values = sum(body.count(f"\n{m}{{") for m in
                         ("if_descr", "if_name", "if_admin", "if_oper", "if_in_octets", "if_out_octets"))
            answered = body.count("\nsysUpTime ")
            row.runs.append((dt, cpu_of(proc.pid) - e0, cpu_of(agent) - a0, answered,
                             values + 2 * answered))
    finally:
        proc.terminate()
        proc.wait(5)
    return row


def netsnmp_cycles(devices: list[tuple[str, str]], cycles: int, parallel: int, agent: int) -> Row:
    """Per device: snmpget sysUpTime.0 sysName.0, then snmpbulkwalk of the six columns (-Cr16)."""
    row = Row(f"net-snmp snmpget+snmpbulkwalk (xargs -P{parallel})")
    get = f"{dotted(SYS_UPTIME)}.0 1.3.6.1.2.1.1.5.0"
    walks = " ".join(dotted(c) for c in IF_COLUMNS.values())
    script = ("snmpget -v2c -c $2 -t %d -r %d -On -Oq $1 %s && "
              "for o in %s; do snmpbulkwalk -v2c -c $2 -t %d -r %d -Cr16 -On -Oq $1 $o; done"
              % (TIMEOUT, RETRIES, get, walks, TIMEOUT, RETRIES))
    lines = "\n".join(f"{a} {c}" for a, c in devices)
    for _ in range(cycles):
        k0, a0, t0 = cpu_children(), cpu_of(agent), time.perf_counter()
        res = subprocess.run(["xargs", "-P", str(parallel), "-L", "1", "sh", "-c", script, "poll"],
                             input=lines, capture_output=True, text=True, env=NET_SNMP_ENV)
        dt = time.perf_counter() - t0
        out = res.stdout.splitlines()
        answered = sum(1 for ln in out if ln.startswith(f".{dotted(SYS_UPTIME)}.0 "))
        values = sum(1 for ln in out if ln.startswith(".1.3.6.1."))
        row.runs.append((dt, cpu_children() - k0, cpu_of(agent) - a0, answered, values))
    return row


def stop_group(proc: subprocess.Popen) -> None:
    """End the agent's whole process group (it may write its index cache while exiting)."""
    for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(wait)
            os.killpg(proc.pid, 0)  # raises once no member of the group is left
            time.sleep(0.5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            if proc.poll() is not None:
                break


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoints", type=int, default=200)
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--cycles", type=int, default=1)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--parallel", type=int, default=50, help="curls / net-snmp processes in flight")
    args = ap.parse_args()
    hosts = [f"127.0.0.{FIRST_HOST + i}" for i in range(args.endpoints)]
    if not 1 <= args.endpoints <= 240 or args.devices > args.endpoints * len(RECORDINGS):
        raise SystemExit(f"need 1..240 endpoints and devices <= endpoints x {len(RECORDINGS)}")
    tmp = Path(tempfile.mkdtemp(prefix="ngk-bench-snmpsim-"))
    agent: subprocess.Popen | None = None
    try:
        (tmp / "data").mkdir()
        (tmp / "cache").mkdir()
        recs = write_recordings(tmp / "data")
        port = free_udp_port(hosts)
        agent = start_agent(tmp, hosts, port)
        communities = list(recs)
        devices = [(f"{hosts[i % len(hosts)]}:{port}", communities[i // len(hosts)])
                   for i in range(args.devices)]
        targets = [Target(f"d{i}", a.split(":")[0], port, Credentials("2c", community=c),
                          TIMEOUT, RETRIES) for i, (a, c) in enumerate(devices)]
        per_device = [recs[c][1] for _, c in devices]
        rows = [asyncio.run(ngk_cycles(targets, per_device, args.cycles, args.concurrency, agent.pid))]
        ex = exporter_cycles(tmp, devices, args.cycles, args.parallel, agent.pid)
        rows += [ex] if ex else []
        rows.append(netsnmp_cycles(devices, args.cycles, args.parallel, agent.pid))
    finally:
        if agent:
            stop_group(agent)
        shutil.rmtree(tmp, ignore_errors=True)
    n = len(devices)
    expect = sum(recs[c][1] for _, c in devices)
    print(f"snmpsim: {args.endpoints} endpoints x {len(recs)} recordings (one community each) = "
          f"{n} devices; median of {args.cycles} cycle(s)")
    for c, (ifs, vals) in recs.items():
        print(f"  {c}: {ifs} interfaces, {vals} values/device")
    print(f"values per cycle when every device answers: {expect:,} "
          f"(sysUpTime, sysName, 6 if-columns)")
    print(f"{'poller':44} {'cycle s':>8} {'values/s':>9} {'poller CPU s':>12} {'agent CPU s':>11}"
          f" {'answered':>9} {'values':>8}")
    for r in rows:
        t = r.med(0)
        print(f"{r.name:44} {t:8.3f} {r.med(4) / t:9,.0f} {r.med(1):12.3f} {r.med(2):11.3f}"
              f" {r.med(3):5.0f}/{n} {r.med(4):8.0f}")
    ngk = rows[0].med(0)
    for r in rows[1:]:
        print(f"ratio {r.name} / ngk cycle time: {r.med(0) / ngk:.2f}x (>1: ngk faster)")
    print(f"issue-5 target: 1,000-device cycle <= 10 s on one core: ngk {ngk * 1000 / n:.3f} s "
          f"(poller CPU {rows[0].med(1) * 1000 / n:.3f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
