"""SNMP poll cycle: ngk's poller vs prometheus-snmp-exporter, same agents, same values, same run.

Runs inside a private network namespace (ngkm-bench-PID: lo plus one veth pair, so every agent
has 3 interfaces and a device is 2 + 6 x 3 = 20 values). Starts N net-snmp agents on 127.0.0.1
(each answering on P ports, so N*P "devices"; a VACM view would be leaner but net-snmp 5.9 answers
GETBULK across a view end with genErr), then times full cycles:
  - ngk v2c, ngk v3 authPriv (SHA, AES-128) and v3 authPriv (SHA-512, AES-256), all hand-built
    BER on one socket;
  - prometheus-snmp-exporter 0.21 (one GET + walks), scraped with 50 parallel curls.
Usage: python benchmarks/bench_snmp.py [--agents 200] [--ports 5] [--cycles 3]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from controller.credentials import SnmpCredentials
from controller.southbound.snmp.client import SnmpClient
from controller.southbound.snmp.inventory import Target
from controller.southbound.snmp.oids import IF_COLUMNS, dotted
from controller.southbound.snmp.poller import poll_all

COMMUNITY = "bench"
V3 = SnmpCredentials("3", user="benchv3", auth_key="authpass-123", priv_key="privpass-123")
V3_SHA512 = SnmpCredentials("3", user="benchv3s", auth_key="authpass-123",
                            priv_key="privpass-123", auth_protocol="sha512",
                            priv_protocol="aes256")
BASE_PORT = 20000


def start_agents(tmp: Path, agents: int, ports: int) -> list[subprocess.Popen]:
    procs = []
    for a in range(agents):
        d = tmp / f"a{a}"
        d.mkdir()
        addrs = ",".join(f"udp:127.0.0.1:{BASE_PORT + a * ports + p}" for p in range(ports))
        (d / "snmpd.conf").write_text(
            f"agentAddress {addrs}\nrocommunity {COMMUNITY} 127.0.0.1\n"
            f"createUser {V3.user} SHA {V3.auth_key} AES {V3.priv_key}\nrouser {V3.user} priv\n"
            f"createUser {V3_SHA512.user} SHA-512 {V3.auth_key} AES-256 {V3.priv_key}\n"
            f"rouser {V3_SHA512.user} priv\n")
        procs.append(subprocess.Popen(
            ["snmpd", "-f", "-I", "-smux", "-C", "-c", str(d / "snmpd.conf"), "-Lf", "/dev/null",
             "-M", "/nonexistent"],
            env={**os.environ, "SNMP_PERSISTENT_DIR": str(d / "p"), "MIBS": ""},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    time.sleep(1.0 + agents / 200)
    return procs


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def ngk_cycles(targets: list[Target], cycles: int) -> list[tuple[float, float, int, int]]:
    client = await SnmpClient.create()
    out = []
    for _ in range(cycles + 1):  # the first cycle warms up (v3 engine discovery)
        c0, t0 = cpu(), time.perf_counter()
        polls = await poll_all(client, targets, concurrency=512)
        out.append((time.perf_counter() - t0, cpu() - c0, sum(p.reachable for p in polls),
                    sum(2 + 6 * len(p.interfaces) for p in polls if p.reachable)))
    client.close()
    return out[1:]


EXPORTER_CONF = """ngk:
  version: 2
  auth: {community: %s}
  max_repetitions: 16
  timeout: 2s
  retries: 1
  get: [1.3.6.1.2.1.1.3.0, 1.3.6.1.2.1.1.5.0]
  walk: [%s]
  metrics:
  - {name: sysUpTime, oid: 1.3.6.1.2.1.1.3, type: gauge}
  - {name: sysName, oid: 1.3.6.1.2.1.1.5, type: DisplayString}
%s
"""


def exporter_cycles(tmp: Path, devices: list[int], cycles: int) -> list[tuple[float, int]] | None:
    binary = shutil.which("prometheus-snmp-exporter")
    if not binary or not shutil.which("curl"):
        return None
    cols = ", ".join(dotted(c) for c in IF_COLUMNS.values())
    metrics = "\n".join(
        f"  - {{name: if_{n}, oid: {dotted(c)}, "
        f"type: {'DisplayString' if n in ('descr', 'name') else 'gauge'}, "
        f"indexes: [{{labelname: ifIndex, type: gauge}}]}}" for n, c in IF_COLUMNS.items())
    conf = tmp / "snmp.yml"
    conf.write_text(EXPORTER_CONF % (COMMUNITY, cols, metrics))
    port = 19116
    proc = subprocess.Popen([binary, f"--config.file={conf}",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    urls = "\n".join(f"http://127.0.0.1:{port}/snmp?module=ngk&target=127.0.0.1:{d}"
                     for d in devices)
    out = []
    try:
        for _ in range(cycles + 1):
            t0 = time.perf_counter()
            res = subprocess.run(["xargs", "-P", "50", "-n", "1", "curl", "-s"], input=urls,
                                 capture_output=True, text=True)
            dt = time.perf_counter() - t0
            out.append((dt, res.stdout.count("\nsysUpTime ")))
    finally:
        proc.terminate()
        proc.wait(5)
    return out[1:]


def in_private_netns() -> int:
    """Re-run this script inside a fresh ngkm-bench-* namespace; returns its exit code."""
    ns = f"ngkm-bench-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        for cmd in (["ip", "link", "set", "lo", "up"],
                    ["ip", "link", "add", "bench0", "type", "veth", "peer", "name", "bench1"],
                    ["ip", "link", "set", "bench0", "up"], ["ip", "link", "set", "bench1", "up"]):
            subprocess.run(["ip", "netns", "exec", ns, *cmd], check=True)
        return subprocess.run(["ip", "netns", "exec", ns, sys.executable, *sys.argv],
                              env={**os.environ, "NGK_BENCH_NETNS": ns}).returncode
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


def main() -> int:
    if "NGK_BENCH_NETNS" not in os.environ:
        return in_private_netns()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=200)
    ap.add_argument("--ports", type=int, default=5)
    ap.add_argument("--cycles", type=int, default=3)
    ap.add_argument("--v3-devices", type=int, default=None, help="default: every device")
    args = ap.parse_args()
    devices = [BASE_PORT + i for i in range(args.agents * args.ports)]
    tmp = Path(tempfile.mkdtemp(prefix="ngk-bench-snmp-"))
    procs = start_agents(tmp, args.agents, args.ports)
    try:
        v2 = [Target(f"d{p}", "127.0.0.1", p, SnmpCredentials("2c", community=COMMUNITY), 2.0, 1)
              for p in devices]
        v3 = [Target(f"v{p}", "127.0.0.1", p, V3, 2.0, 1)
              for p in devices[:args.v3_devices or None]]
        r2 = asyncio.run(ngk_cycles(v2, args.cycles))
        r3 = asyncio.run(ngk_cycles(v3, args.cycles))
        r3s = asyncio.run(ngk_cycles([replace(t, credentials=V3_SHA512) for t in v3], args.cycles))
        ex = exporter_cycles(tmp, devices, args.cycles)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(5)
        shutil.rmtree(tmp, ignore_errors=True)
    n = len(devices)
    med = lambda rows, i: statistics.median(r[i] for r in rows)  # noqa: E731
    per = med(r2, 3) / max(1, med(r2, 2))
    print(f"{args.agents} snmpd agents x {args.ports} ports = {n} devices, {per:.0f} values each "
          f"(sysUpTime, sysName, 6 if-columns x 3 interfaces), median of {args.cycles} cycles")
    t2, c2 = med(r2, 0), med(r2, 1)
    print(f"ngk v2c (BER, 1 socket):      cycle {t2:.3f} s, CPU {c2:.3f} s, "
          f"{med(r2, 2):.0f}/{n} reachable, {med(r2, 3) / t2:,.0f} values/s")
    t3, n3 = med(r3, 0), len(v3)
    print(f"ngk v3 authPriv (BER+USM):   cycle {t3:.3f} s, CPU {med(r3, 1):.3f} s, "
          f"{med(r3, 2):.0f}/{n3} reachable, {med(r3, 3) / t3:,.0f} values/s; "
          f"1,000 devices (scaled) {t3 * 1000 / n3:.2f} s")
    t3s = med(r3s, 0)
    print(f"ngk v3 SHA-512/AES-256:      cycle {t3s:.3f} s, CPU {med(r3s, 1):.3f} s, "
          f"{med(r3s, 2):.0f}/{n3} reachable, {med(r3s, 3) / t3s:,.0f} values/s; "
          f"{t3s / t3:.2f}x the SHA/AES-128 cycle")
    if ex:
        te = statistics.median(r[0] for r in ex)
        print(f"prometheus-snmp-exporter:     cycle {te:.3f} s, "
              f"{statistics.median(r[1] for r in ex):.0f}"
              f"/{n} answered, {per * n / te:,.0f} values/s (50 parallel curls)")
        print(f"ratio exporter/ngk-v2c cycle time: {te / t2:.2f}x (>1: ngk faster)")
    print(f"1,000-device v2c cycle (scaled): {t2 * 1000 / n:.3f} s (target <= 10 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
