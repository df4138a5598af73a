"""The shipped systemd units (deploy/systemd/): `systemd-analyze verify` accepts them, and every
option they pass to ngk exists (the instance name is the --ha/--shard flag)."""
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from controller.cli.monitor import monitor

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
ANALYZE = shutil.which("systemd-analyze")


def monitor_options() -> set[str]:
    app = typer.Typer()
    app.command()(monitor)
    return {o for p in typer.main.get_command(app).params for o in p.opts}


@pytest.mark.parametrize("instance", ["shard", "ha"])
def test_monitor_unit_verifies(tmp_path, instance):
    if ANALYZE is None:
        pytest.fail("systemd-analyze is missing (Debian's systemd package)")
    ngk = Path(sys.executable).with_name("ngk")  # the unit's /opt/ngk/.venv/bin/ngk, here
    unit = (DEPLOY / "ngk-monitor@.service").read_text()
    (tmp_path / "ngk-monitor@.service").write_text(unit.replace("/opt/ngk/.venv/bin/ngk",
                                                                str(ngk)))
    res = subprocess.run([ANALYZE, "verify", f"ngk-monitor@{instance}.service"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert res.returncode == 0 and res.stderr == "", res.stderr
    assert f"--{instance}" in monitor_options()


def test_example_settings_are_monitor_options():
    env = dict(line.split("=", 1) for line in (DEPLOY / "monitor.env.example").read_text()
               .splitlines() if line and not line.startswith("#"))
    flags = {a for a in shlex.split(env["NGK_MONITOR_ARGS"]) if a.startswith("--")}
    assert flags and flags <= monitor_options()
    assert env["NGK_STORE"].startswith("postgresql://")
