"""Two Ctrl-Cs at random moments during a real `ngk lab up` or `ngk lab down` leave nothing behind.

Each run starts the CLI in a process group of its own and sends SIGINT to the whole group twice
(what a terminal does on Ctrl-C), at random moments. After an interrupted `up` that did not
finish building, nothing of the lab may remain; an interrupted `down` leaves nothing either,
or (interrupted before it began) the lab untouched, every daemon running. A plain `down` then
must remove it all. "Nothing" is checked independently of the lab's own records: no process whose
command line names the lab's state dir or netns, no netns, no interface with the lab's prefix in
the root namespace, no FRR pathspace, no state dir. The runs use a 3-router lab of their own.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from controller.lab.down import lab_down
from controller.lab.state import LabState, lab_dir
from controller.lab.system import netns_list
from controller.lab.up import is_alive

from conftest import require_lab, tiny_topology

pytestmark = pytest.mark.integration
LAB = "ngk-sig"
SUBNET = "172.31.238.0/24"
RUNS = int(os.environ.get("NGK_INTERRUPT_RUNS", "20"))
NGK = [sys.executable, "-c", "from controller.cli.main import app; app()"]


def leftovers() -> list[str]:
    marks = (f"{lab_dir(LAB)}/".encode(), f"{LAB}-r".encode())
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if any(m in cmd for m in marks):
                found.append(f"pid {proc.name}: " + cmd.replace(b"\0", b" ").decode()[:120])
    found += sorted(ns for ns in netns_list() if ns.startswith(f"{LAB}-"))
    links = json.loads(subprocess.run(["ip", "-j", "link"], capture_output=True, text=True).stdout)
    found += [i["ifname"] for i in links if i["ifname"].startswith(f"{LAB}-")]
    found += [str(p) for d in (Path("/etc/frr"), Path("/var/run/frr")) for p in d.glob(f"{LAB}-*")]
    found += [str(lab_dir(LAB))] if lab_dir(LAB).exists() else []
    return found


def interrupted(args: list[str], t1: float, t2: float) -> None:
    """Run `ngk ARGS`, SIGINT its process group after t1 s and again t2 s later."""
    proc = subprocess.Popen(NGK + args, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for delay in (t1, t2):
        time.sleep(delay)
        try:
            os.killpg(proc.pid, signal.SIGINT)
        except ProcessLookupError:
            break
    proc.wait(timeout=120)


def timed(args: list[str]) -> float:
    start = time.monotonic()
    assert subprocess.run(NGK + args, capture_output=True).returncode == 0
    return time.monotonic() - start


def built() -> bool:
    state = LabState.load(LAB)
    return state is not None and state.phase == "up"


def test_two_ctrl_cs_at_random_moments_leave_nothing(tmp_path: Path) -> None:
    require_lab()
    topo = str(tiny_topology(tmp_path / "tiny.yaml", SUBNET))
    up = ["lab", "up", "--topology", topo, "--name", LAB]
    down = ["lab", "down", "--name", LAB]
    lab_down(LAB)
    assert leftovers() == []
    rng = random.Random(int(os.environ.get("NGK_INTERRUPT_SEED", time.time())))
    outcomes = []
    try:  # the first Ctrl-C falls anywhere in a whole command, the second soon after it
        span = {"up": timed(up), "down": timed(down)}
        for run in range(RUNS):
            t2 = rng.uniform(0.0, 0.5)
            if run % 2 == 0:
                interrupted(up, t1 := rng.uniform(0.0, span["up"]), t2)
                kind = "up finished" if built() else "up interrupted"
                if not built():
                    assert leftovers() == [], f"run {run}: {kind} at {t1:.2f}+{t2:.2f} s"
            else:
                assert subprocess.run(NGK + up, capture_output=True).returncode == 0
                interrupted(down, t1 := rng.uniform(0.0, span["down"]), t2)
                state = LabState.load(LAB)
                kind = "down finished" if state is None else "down interrupted before it began"
                where = f"run {run}: {kind} at {t1:.2f}+{t2:.2f} s"
                assert leftovers() == [] if state is None else is_alive(state), where
            assert subprocess.run(NGK + down, capture_output=True).returncode == 0
            assert leftovers() == [], f"run {run}: after a plain down ({kind})"
            outcomes.append(kind)
    finally:
        lab_down(LAB)
    print(f"whole commands: up {span['up']:.1f} s, down {span['down']:.1f} s;",
          {k: outcomes.count(k) for k in sorted(set(outcomes))})
    assert len(outcomes) == RUNS


def test_a_down_that_cannot_remove_a_netns_fails_and_keeps_the_state() -> None:
    """`ip netns del` that fails (here: the netns file mounted twice, EBUSY) makes `lab down`
    exit 1 naming the netns, with the state kept; once it can, `lab down` removes it all."""
    require_lab()
    lab, down = "ngk-hon", NGK + ["lab", "down", "--name", "ngk-hon"]
    netns, base = f"{lab}-ra", lab_dir(lab)
    lab_down(lab)
    state = LabState(lab=lab, dir=str(base), topology=str(base / "topology.yaml"), bare=True)
    base.mkdir(parents=True)
    state.record("path", path=str(base))
    state.record("netns", name=netns)
    subprocess.run(["ip", "netns", "add", netns], check=True)
    nsfile = f"/run/netns/{netns}"
    subprocess.run(["mount", "--bind", nsfile, nsfile], check=True)
    try:
        failed = subprocess.run(down, capture_output=True, text=True)
        assert failed.returncode == 1 and f"netns {netns}" in failed.stderr, failed.stderr
        assert netns in netns_list() and LabState.load(lab) is not None
        subprocess.run(["umount", nsfile], check=True)
        assert subprocess.run(down, capture_output=True).returncode == 0
        assert netns not in netns_list() and not base.exists()
    finally:
        subprocess.run(["umount", nsfile], capture_output=True)
        subprocess.run(["ip", "netns", "del", netns], capture_output=True)
        lab_down(lab)
