"""A Ctrl-C sent to ngk's process group in the instant a lab step forks loses no command.

Between fork and its setsid() a child of `system.run` is still in ngk's process group, so the
terminal's SIGINT (or `kill -INT -PGID`) kills it before exec: the command never runs. Under load
this window is wide; `ngk lab down` lost its `ip -j link` (teardown aborted) or its `ip netns
list` / `ip netns del` (three netns left, success reported) this way. Here a real child process
runs commands under `deferred_interrupts` while its group gets SIGINT every 10 ms: plain
`subprocess.run` (the control) must lose some, `run` none.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import json, os, subprocess
from controller.lab.interrupt import deferred_interrupts
from controller.lab.system import run
lost = {"control": 0, "run": 0}
with deferred_interrupts():
    print("ready", flush=True)
    for _ in range(%d):
        plain = subprocess.run(["true"], start_new_session=True, capture_output=True)
        lost["control"] += plain.returncode != 0
        lost["run"] += run(["true"], check=False).returncode != 0
    print(json.dumps(lost), flush=True)
    os._exit(0)  # before the default SIGINT handler is back
"""


def test_a_ctrl_c_while_a_step_forks_does_not_lose_the_command() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD % 400], cwd=ROOT, start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline() == "ready\n"
    sent = 0
    while child.poll() is None:
        try:
            os.killpg(child.pid, signal.SIGINT)
            sent += 1
        except ProcessLookupError:
            break
        time.sleep(0.01)
    lost = json.loads(child.stdout.read())
    assert child.returncode == 0 and sent > 50
    assert lost["control"] > 0, f"no plain child lost in {sent} SIGINTs: the test proves nothing"
    assert lost["run"] == 0, lost
