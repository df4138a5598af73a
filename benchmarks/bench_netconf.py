"""NETCONF push timings against a real netconfd (needs root): per-phase seconds, median of N.

Compares ncclient's default session poll (TICK 0.1 s) with 0.01 s. Usage:
    python benchmarks/bench_netconf.py [--runs 3] [--router osl-cr1]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from ncclient.transport import session as ncsession

from controller.lab import netconf_server as lab
from controller.model.load import load_topology
from controller.southbound.netconf import Credentials, Target, push, render_interfaces


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--router", default="osl-cr1")
    args = parser.parse_args()
    reason = lab.unavailable_reason()
    if reason:
        raise SystemExit(f"cannot run: {reason}")
    payload = render_interfaces(load_topology(), args.router)
    server = lab.start(Path(tempfile.mkdtemp(prefix="ngk-bench-netconf-")), "bench")
    try:
        target = Target(args.router, server.host, server.port)
        creds = Credentials(server.username, key_file=server.user_key,
                            known_hosts=server.known_hosts)
        totals: dict[float, dict[str, float]] = {}
        for tick in (0.1, 0.01):
            ncsession.TICK = tick
            runs: dict[str, list[float]] = {}
            for i in range(args.runs):
                # alternate the description so every commit run really changes something
                body = payload.xml.replace("ngk link", f"ngk link r{i}") if i % 2 else payload.xml
                for label, kw in (("dry-run", {}), ("commit", {"commit": True}),
                                  ("unchanged", {"commit": True})):
                    variant = type(payload)(payload.router, body, payload.keys)
                    start = time.perf_counter()
                    result = push(target, variant, creds, **kw)
                    runs.setdefault(label, []).append(time.perf_counter() - start)
                    assert result.error is None, (tick, i, label, result.error)
                    if label == "commit":
                        phases = result.seconds
            totals[tick] = {k: statistics.median(v) for k, v in runs.items()}
            print(f"TICK {tick}: " + ", ".join(f"{k} {v:.3f} s" for k, v in totals[tick].items()))
            print("  commit phases: " + ", ".join(f"{k} {v:.3f}" for k, v in phases.items()))
        for label in totals[0.1]:
            print(f"{label}: TICK 0.1 / 0.01 = {totals[0.1][label] / totals[0.01][label]:.1f}x")
    finally:
        ncsession.TICK = 0.1
        lab.stop(server)


if __name__ == "__main__":
    main()
