"""Issue-5 poll cycle against snmpsim with real device recordings: ngk, exporter, snmpbulkget.

P snmpsim-command-responder processes share E endpoints (127.0.0.10.. on one free UDP port; each
process serves E/P of them) and R recordings from the `snmpsim-data` package, one community per
recording (snmpsim 1.2.2 cannot serve different data per endpoint). Every (endpoint, community)
pair is one device: the default 200 endpoints x 5 recordings = 1,000 devices.

Headline, the issue's workload, the same for every poller: per device sysUpTime and ifOperStatus
of its first 10 interfaces (the first 10 ifIndexes of its recording), 11 values:
  - ngk: `poll_all(columns=("oper",), max_rows=10)`, one GETBULK per device (non-repeaters
    sysUpTime and sysName, repeater ifOperStatus, max-repetitions 10); CPU of this process;
  - prometheus-snmp-exporter 0.21: one module per recording whose `get` lists sysUpTime.0 and
    ifOperStatus.<its first 10 ifIndexes>, scraped by one `curl --parallel`; exporter CPU;
  - net-snmp: `snmpbulkget -Cn1 -Cr10 sysUpTime ifOperStatus` per device via `xargs -P`.
Every answer is checked against the .snmprec data; only devices answering every value right
count. One untimed ngk cycle first warms the agents (they load their data on first use).
`--full` adds ngk on the monitor's full workload (sysUpTime, sysName and six if-columns over all
interfaces). Agent CPU is printed per snmpsim process.
Usage: python benchmarks/bench_snmpsim.py [--endpoints 200] [--devices 1000] [--agent-procs 4]
"""
from __future__ import annotations

import argparse
import asyncio
import bz2
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import snmpsim_data

from controller.southbound.snmp.client import SnmpClient
from controller.credentials import SnmpCredentials
from controller.southbound.snmp.inventory import Target
from controller.southbound.snmp.oids import IF_COLUMNS, IF_OPER_STATUS, SYS_UPTIME, dotted
from controller.southbound.snmp.poller import DevicePoll, poll_all

RECORDINGS = ("network/router/juniper-mx960-13-3r9-13", "network/switch/cisco-c3560",
              "network/switch/cisco-c3750", "network/router/vyatta-unknown",
              "cloud/arista-dcs-7150s-52-cl")
# Only the subtrees polled are kept (system, interfaces, ifMIB): snmpsim indexes a file at start,
# which takes minutes for the big recordings; the answers to the polled OIDs are unchanged.
SUBTREES = ("1.3.6.1.2.1.1.", "1.3.6.1.2.1.2.", "1.3.6.1.2.1.31.")
FIRST_HOST = 10  # endpoints 127.0.0.10, 127.0.0.11, ...
IFS = 10  # interfaces per device in the workload
VALUES = 1 + IFS
TIMEOUT, RETRIES = 5.0, 1
UPTIME, OPER = dotted(SYS_UPTIME), dotted(IF_OPER_STATUS)
NET_SNMP_ENV = {**os.environ, "MIBS": "", "MIBDIRS": "/nonexistent"}


@dataclass(frozen=True)
class Recording:
    community: str
    uptime: int  # sysUpTime.0, TimeTicks
    opers: dict[int, int]  # ifIndex -> ifOperStatus, every interface
    full_values: int  # values per device of the full workload

    @property
    def first(self) -> dict[int, int]:
        return dict(sorted(self.opers.items())[:IFS])


def write_recordings(data: Path) -> list[Recording]:
    """Unpack each recording as DATA/<community>.snmprec and read what a poll must return."""
    base = Path(snmpsim_data.__path__[0]) / "data"
    prefixes = tuple(dotted(c) + "." for c in IF_COLUMNS.values())
    out = []
    for rec in RECORDINGS:
        community = rec.rsplit("/", 1)[1]
        text = bz2.decompress((base / f"{rec}.snmprec.bz2").read_bytes()).decode(errors="replace")
        lines = [ln for ln in text.splitlines() if ln.startswith(SUBTREES)]
        (data / f"{community}.snmprec").write_text("\n".join(lines) + "\n")
        rows = {oid: value for oid, _, value in (ln.split("|", 2) for ln in lines)}
        opers = {int(o.rsplit(".", 1)[1]): int(v) for o, v in rows.items()
                 if o.startswith(OPER + ".")}
        if f"{UPTIME}.0" not in rows or len(opers) < IFS:
            raise RuntimeError(f"{rec}: no sysUpTime.0 or fewer than {IFS} ifOperStatus rows")
        out.append(Recording(community, int(rows[f"{UPTIME}.0"]), opers,
                             2 + sum(o.startswith(prefixes) for o in rows)))
    return out


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


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_agents(tmp: Path, hosts: list[str], port: int, procs: int, community: str
                 ) -> list[subprocess.Popen]:
    """`procs` snmpsim processes, each serving a contiguous share of `hosts` (own index cache)."""
    agents = []
    for k in range(procs):
        share = hosts[k * len(hosts) // procs:(k + 1) * len(hosts) // procs]
        (tmp / f"cache{k}").mkdir()
        agents.append(subprocess.Popen(
            ["snmpsim-command-responder", f"--data-dir={tmp / 'data'}",
             f"--cache-dir={tmp / f'cache{k}'}", "--logging-method=null", "--max-var-binds=256",
             *(f"--agent-udpv4-endpoint={h}:{port}" for h in share)],
            env={**os.environ, "SNMPSIM_ALLOW_ROOT": "true"}, stdout=subprocess.DEVNULL,
            stderr=open(tmp / f"snmpsim{k}.log", "w"), start_new_session=True))
        probe = ["snmpget", "-v2c", "-c", community, "-t", "0.5", "-r", "0", "-On",
                 f"{share[-1]}:{port}", f"{UPTIME}.0"]
        for _ in range(90):  # ~70 s
            if agents[-1].poll() is not None:
                log = (tmp / f"snmpsim{k}.log").read_text()
                raise RuntimeError(f"snmpsim exited: {log[-2000:]}")
            if subprocess.run(probe, capture_output=True, env=NET_SNMP_ENV).returncode == 0:
                break
            time.sleep(0.5)
        else:
            raise RuntimeError(f"snmpsim process {k} did not answer within ~70 s")
    return agents


def stop_group(proc: subprocess.Popen) -> None:
    """End an agent's whole process group (it may write its index cache while exiting)."""
    for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(wait)
            os.killpg(proc.pid, 0)  # raises once no member of the group is left
            time.sleep(0.5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            if proc.poll() is not None:
                break


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


@dataclass
class Run:
    seconds: float
    poller_cpu: float
    agent_cpu: list[float]  # per snmpsim process
    answered: int = 0
    values: int = 0


class Meter:
    """Wall time, poller CPU (`cpu`) and each agent's CPU over a `with` block."""

    def __init__(self, agents: list[subprocess.Popen], cpu: Callable[[], float]) -> None:
        self.agents, self.cpu = agents, cpu

    def __enter__(self) -> Meter:
        self.a0 = [cpu_of(a.pid) for a in self.agents]
        self.c0, self.t0 = self.cpu(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.run = Run(time.perf_counter() - self.t0, self.cpu() - self.c0,
                       [cpu_of(a.pid) - a0 for a, a0 in zip(self.agents, self.a0)])


@dataclass
class Row:
    name: str
    runs: list[Run] = field(default_factory=list)

    def med(self, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in self.runs)

    def agent_cpu(self) -> list[float]:
        return [statistics.median(r.agent_cpu[k] for r in self.runs)
                for k in range(len(self.runs[0].agent_cpu))]


def ngk_correct(poll: DevicePoll, rec: Recording, full: bool) -> bool:
    opers = {i: f.oper for i, f in poll.interfaces.items()}
    want = {i: rec.opers.get(i) for i in opers} if full else rec.first
    return (poll.reachable and not poll.problems and poll.sys_uptime == rec.uptime
            and bool(opers) and opers == want)


async def ngk_cycles(targets: list[Target], recs: list[Recording], cycles: int, concurrency: int,
                     agents: list[subprocess.Popen], full: bool) -> Row:
    subset = {} if full else {"columns": ("oper",), "max_rows": IFS}
    row = Row(f"ngk poll_all{' full tables' if full else ''} (concurrency {concurrency})")
    client = await SnmpClient.create()
    try:
        for _ in range(cycles):
            with Meter(agents, cpu_self) as m:
                polls = await poll_all(client, targets, concurrency=concurrency, **subset)
            ok = [rec for p, rec in zip(polls, recs) if ngk_correct(p, rec, full)]
            m.run.answered = len(ok)
            m.run.values = sum(r.full_values for r in ok) if full else VALUES * len(ok)
            row.runs.append(m.run)
    finally:
        client.close()
    return row


EXPORTER_MODULE = """{c}:
  version: 2
  auth: {{community: {c}}}
  timeout: {t}s
  retries: {r}
  get: [{gets}]
  metrics:
  - {{name: sysUpTime, oid: {up}, type: gauge}}
  - {{name: ifOperStatus, oid: {oper}, type: gauge, indexes: [{{labelname: ifIndex, type: gauge}}]}}
"""
EXPORTER_OPER = re.compile(r'^ifOperStatus\{ifIndex="(\d+)"\} (\S+)$', re.M)
EXPORTER_UPTIME = re.compile(r"^sysUpTime (\S+)$", re.M)


def exporter_correct(body: str, rec: Recording) -> bool:
    uptime = EXPORTER_UPTIME.findall(body)
    opers = {int(i): float(v) for i, v in EXPORTER_OPER.findall(body)}
    return len(uptime) == 1 and float(uptime[0]) == rec.uptime and opers == rec.first


def exporter_cycles(tmp: Path, devices: list[tuple[str, Recording]], cycles: int, parallel: int,
                    agents: list[subprocess.Popen]) -> Row | None:
    """One module per recording (the exporter 0.21 has no per-target community)."""
    binary = shutil.which("prometheus-snmp-exporter")
    if not binary or not shutil.which("curl"):
        return None
    conf = tmp / "snmp.yml"
    conf.write_text("".join(
        EXPORTER_MODULE.format(c=r.community, t=int(TIMEOUT), r=RETRIES, up=UPTIME, oper=OPER,
                               gets=", ".join([f"{UPTIME}.0", *(f"{OPER}.{i}" for i in r.first)]))
        for r in {r.community: r for _, r in devices}.values()))
    port = free_tcp_port()
    proc = subprocess.Popen([binary, f"--config.file={conf}",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = tmp / "scrapes"
    out.mkdir()
    (tmp / "curl.conf").write_text("".join(
        f'url = "http://127.0.0.1:{port}/snmp?module={r.community}&target={a}"\n'
        f'output = "{out}/{i}"\n' for i, (a, r) in enumerate(devices)))
    curl = ["curl", "-s", "--parallel", "--parallel-max", str(parallel),
            "-K", str(tmp / "curl.conf")]
    row = Row(f"prometheus-snmp-exporter (curl --parallel {parallel})")
    try:
        time.sleep(1.0)
        for _ in range(cycles):
            for f in out.iterdir():
                f.unlink()
            with Meter(agents, lambda: cpu_of(proc.pid)) as m:
                subprocess.run(curl, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            files = [out / str(i) for i in range(len(devices))]
            m.run.answered = sum(f.exists() and exporter_correct(f.read_text(), r)
                                 for f, (_, r) in zip(files, devices))
            m.run.values = VALUES * m.run.answered
            row.runs.append(m.run)
    finally:
        proc.terminate()
        proc.wait(5)
    return row


def netsnmp_cycles(devices: list[tuple[str, Recording]], cycles: int, parallel: int,
                   agents: list[subprocess.Popen]) -> Row:
    """`snmpbulkget` per device. Its output carries no target, so the answers are split into
    blocks (one per device, one write each) and every block must equal its recording's answer;
    each recording must be answered by as many blocks as it has devices."""
    row = Row(f"net-snmp snmpbulkget -Cn1 -Cr{IFS} (xargs -P{parallel})")
    cmd = ["xargs", "-P", str(parallel), "-L", "1", "snmpbulkget", "-v2c", "-Cn1", f"-Cr{IFS}",
           "-t", str(int(TIMEOUT)), "-r", str(RETRIES), "-On", "-Oqt"]
    lines = "\n".join(f"-c {r.community} {a} {UPTIME} {OPER}" for a, r in devices)
    expect = {r.community: "".join([f".{UPTIME}.0 {r.uptime}\n",
                                    *(f".{OPER}.{i} {v}\n" for i, v in r.first.items())])
              for _, r in devices}
    wanted = Counter(r.community for _, r in devices)
    for _ in range(cycles):
        with Meter(agents, cpu_children) as m:
            res = subprocess.run(cmd, input=lines, capture_output=True, text=True, env=NET_SNMP_ENV)
        blocks = Counter(re.split(rf"(?m)^(?=\.{re.escape(UPTIME)}\.0 )", res.stdout))
        m.run.answered = sum(min(blocks[expect[c]], n) for c, n in wanted.items())
        m.run.values = VALUES * m.run.answered
        row.runs.append(m.run)
    return row


def report(rows: list[Row], n: int, recs: list[Recording], args: argparse.Namespace) -> None:
    print(f"snmpsim: {args.endpoints} endpoints in {args.agent_procs} processes x {len(recs)} "
          f"recordings (one community each) = {n} devices; median of {args.cycles} cycle(s)")
    for r in recs:
        print(f"  {r.community}: {len(r.opers)} interfaces, polled ifIndexes "
              f"{','.join(map(str, r.first))}")
    print(f"workload (issue 5): sysUpTime + ifOperStatus of 10 interfaces = {VALUES} values/device,"
          f" {VALUES * n:,} per cycle (ngk's one GETBULK also carries sysName, not counted)")
    print(f"{'poller':48} {'cycle s':>8} {'values/s':>9} {'poller CPU s':>12} {'agent CPU s':>11}"
          f" {'answered':>10}")
    for r in rows:
        t = r.med("seconds")
        print(f"{r.name:48} {t:8.3f} {r.med('values') / t:9,.0f} {r.med('poller_cpu'):12.3f}"
              f" {sum(r.agent_cpu()):11.3f} {r.med('answered'):5.0f}/{n}")
    for r in rows:
        print(f"agent CPU per snmpsim process, {r.name}: "
              f"{' '.join(f'{c:.2f}' for c in r.agent_cpu())} s")
    head = rows[0]
    t, cpu = head.med("seconds"), head.med("poller_cpu")
    for r in rows[1:]:
        if "full tables" not in r.name:
            print(f"ratio {r.name} / ngk: cycle {r.med('seconds') / t:.2f}x, "
                  f"poller CPU {r.med('poller_cpu') / cpu:.2f}x (>1: ngk better)")
    scale = 1000 / n
    print(f"issue-5 target, 1,000-device cycle <= 10 s on one core: ngk {t * scale:.3f} s wall, "
          f"{cpu * scale:.3f} s poller CPU -> {'met' if t * scale <= 10 else 'MISSED'}")
    print(f"during ngk's cycle: agents busy {sum(head.agent_cpu()) / t:.2f} cores, poller "
          f"{cpu / t:.2f} cores, of {os.cpu_count()}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoints", type=int, default=200)
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--agent-procs", type=int, default=4)
    ap.add_argument("--cycles", type=int, default=1)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--parallel", type=int, default=50, help="curls / net-snmp processes in flight")
    ap.add_argument("--full", action="store_true", help="also ngk on the full-table workload")
    args = ap.parse_args()
    if (not 1 <= args.agent_procs <= args.endpoints <= 240
            or args.devices > args.endpoints * len(RECORDINGS)):
        raise SystemExit(f"need 1 <= agent-procs <= endpoints <= 240 and "
                         f"devices <= endpoints x {len(RECORDINGS)}")
    hosts = [f"127.0.0.{FIRST_HOST + i}" for i in range(args.endpoints)]
    tmp = Path(tempfile.mkdtemp(prefix="ngk-bench-snmpsim-"))
    agents: list[subprocess.Popen] = []
    try:
        (tmp / "data").mkdir()
        recs = write_recordings(tmp / "data")
        port = free_udp_port(hosts)
        agents = start_agents(tmp, hosts, port, args.agent_procs, recs[0].community)
        devices = [(f"{hosts[i % len(hosts)]}:{port}", recs[i // len(hosts)])
                   for i in range(args.devices)]
        targets = [Target(f"d{i}", a.split(":")[0], port,
                          SnmpCredentials("2c", community=r.community), TIMEOUT, RETRIES)
                   for i, (a, r) in enumerate(devices)]
        on = [r for _, r in devices]
        asyncio.run(ngk_cycles(targets, on, 1, args.concurrency, agents, False))  # warm the agents
        rows = [asyncio.run(ngk_cycles(targets, on, args.cycles, args.concurrency, agents, False))]
        exporter = exporter_cycles(tmp, devices, args.cycles, args.parallel, agents)
        rows += [exporter] if exporter else []
        rows.append(netsnmp_cycles(devices, args.cycles, args.parallel, agents))
        if args.full:
            rows.append(asyncio.run(ngk_cycles(targets, on, args.cycles, args.concurrency, agents,
                                               True)))
    finally:
        for agent in agents:
            stop_group(agent)
        shutil.rmtree(tmp, ignore_errors=True)
    report(rows, len(devices), recs, args)
    if args.full:
        full = sum(r.full_values for r in on)
        print(f"full-table row: sysUpTime, sysName and 6 if-columns over all interfaces, "
              f"{full:,} values per cycle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
