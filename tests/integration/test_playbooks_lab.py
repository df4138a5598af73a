"""Shipped playbooks run end to end against the live lab: the failover drill (deploy, a light and
a silent cut measured and restored) and drain-site (drain, converge, verify, undrain)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from controller import data
from controller.lab.status import lab_status
from controller.services.deploy import intended

pytestmark = pytest.mark.integration
PLAYBOOKS = data.path("playbooks")
NGK = [sys.executable, "-c", "from controller.cli.main import app; app()"]


def play(lab, name: str, *extra: str) -> tuple[int, dict]:
    proc = subprocess.run([*NGK, "play", str(PLAYBOOKS / name), "--lab", lab.name,
                           "--topology", lab.state.topology, "--json", *extra],
                          capture_output=True, text=True, timeout=600)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def running_configs(lab) -> dict[str, str]:
    from controller.southbound.nornir_setup import build_nornir
    from controller.services.backup import _running
    nr = build_nornir(Path(lab.state.dir) / "inventory")
    result = nr.run(task=_running)
    return {host: r[0].result for host, r in result.items()}


def test_failover_drill_playbook(lab_exclusive):
    code, report = play(lab_exclusive, "failover-drill.yaml")
    assert code == 0 and report["ok"], [(s["name"], s["summary"]) for s in report["steps"]]
    drills = [s for s in report["steps"] if s["action"] == "drill"]
    assert len(drills) == 2
    for step in drills:
        drill = json.loads(Path(step["details"]["report"]).read_text())
        assert drill["restored"] is True
        affected = [f for f in drill["flows"] if f["affected"]]
        assert affected and all(f["path_matches"] for f in affected)
        assert all(f["max_gap_ms"] and f["max_gap_ms"] > 0 for f in affected)
        assert all(not f["lost"] for f in drill["flows"] if not f["affected"])
        assert Path(step["details"]["timeline"]).stat().st_size > 1000
    assert lab_status(lab_exclusive.name, management=False)["converged"]


def test_drain_site_playbook_drains_and_undrains(lab_exclusive):
    before = running_configs(lab_exclusive)
    assert set(before) == set(lab_exclusive.topo.routers)  # every router readable
    code, report = play(lab_exclusive, "drain-site.yaml", "--var", "site=ham")
    assert code == 0 and report["ok"], [(s["name"], s["summary"]) for s in report["steps"]]
    drain = next(s for s in report["steps"] if s["action"] == "drain")
    assert drain["changed"] and drain["details"]["routers"] == {"ham-pe1": "confirmed"}
    after = running_configs(lab_exclusive)
    want = intended(lab_exclusive.topo, ["ham-pe1"])["ham-pe1"]
    assert "max-metric router-lsa administrative" not in after["ham-pe1"]
    assert after == before and "max-metric" not in want


def test_failed_step_rolls_back_the_drain(lab_exclusive, tmp_path):
    book = tmp_path / "drain-then-fail.yaml"
    book.write_text("name: drain-then-fail\nsteps:\n"
                    "  - {name: drain, action: drain, targets: {site: brg}, on_failure: rollback}\n"
                    "  - name: impossible\n    action: assert\n"
                    "    args: {condition: no-datacentre-pair-lost, failure: ['site:trd']}\n"
                    "    on_failure: rollback\n")
    before = running_configs(lab_exclusive)
    proc = subprocess.run([*NGK, "play", str(book), "--lab", lab_exclusive.name, "--topology",
                           lab_exclusive.state.topology, "--json"],
                          capture_output=True, text=True, timeout=600)
    report = json.loads(proc.stdout)
    assert proc.returncode == 1 and report["rolled_back"] is True
    assert [s["status"] for s in report["steps"]] == ["ok", "failed", "ok"]
    assert running_configs(lab_exclusive) == before
