"""Deploy, verify, confirm, roll back and back up against the live netns lab."""
from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from controller.cli.main import app
from controller.config.render import render_config
from controller.model.load import load_topology
from controller.services.audit import AuditLog
from controller.services.backup import backup
from controller.services.deploy import deploy, intended
from controller.southbound.nornir_setup import build_nornir

pytestmark = pytest.mark.integration
LINK = "amk-1"  # amk-ce1 eth1 <-> bod-pe1 eth6


def inventory(lab) -> Path:
    return Path(lab.state.dir) / "inventory"


def running(nr, names: list[str]) -> dict[str, str]:
    from controller.southbound.nornir_run import run_each
    out, errors = run_each(nr, names, lambda task: task.host.get_connection(
        "napalm", task.nornir.config).get_config(retrieve="running")["running"])
    nr.close_connections(on_failed=True)
    assert not errors
    return out


def with_metric(lab, tmp_path: Path, metric: int) -> Path:
    data = yaml.safe_load(Path(lab.state.topology).read_text())
    next(link for link in data["links"] if link["id"] == LINK)["metric"] = metric
    path = tmp_path / "topo.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def with_cost(config: str, cost: int) -> str:
    """The config with its first OSPF cost set to `cost`."""
    return re.sub(r" ip ospf cost \d+", f" ip ospf cost {cost}", config, count=1)


def cli(*args: str) -> tuple[int, dict]:
    res = CliRunner().invoke(app, [*args, "--json"])
    return res.exit_code, json.loads(res.stdout)


@contextmanager
def sshd_stopped(lab, router: str) -> Iterator[None]:
    pid = lab.state.routers[router].pids["sshd"]
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def test_noop_dry_run(lab_shared, tmp_path: Path) -> None:
    code, out = cli("deploy", "-t", lab_shared.state.topology, "-i", str(inventory(lab_shared)),
                    "--audit-log", str(tmp_path / "audit.log"))
    assert code == 0 and not out["committed"]
    assert {r["status"] for r in out["routers"]} == {"no-change"}
    assert not (tmp_path / "audit.log").exists()


def test_cost_change_applied_verified_confirmed(lab_exclusive, tmp_path: Path) -> None:
    lab, audit = lab_exclusive, tmp_path / "audit.log"
    common = ["-i", str(inventory(lab)), "--audit-log", str(audit), "--limit", "amk-ce1,bod-pe1"]
    changed = str(with_metric(lab, tmp_path, 77))
    try:
        code, out = cli("deploy", "-t", changed, *common)
        assert code == 0 and all("+ ip ospf cost 77" in r["diff"] for r in out["routers"])
        code, out = cli("deploy", "-t", changed, *common, "--commit", "--confirm-timeout", "90")
        assert code == 0, out
        assert {r["status"] for r in out["routers"]} == {"confirmed"}
        assert out["problems"] == []
        code, out = cli("deploy", "-t", changed, *common)
        assert {r["status"] for r in out["routers"]} == {"no-change"}
        entries = AuditLog(audit).entries()
        assert {e["router"] for e in entries} == {"amk-ce1", "bod-pe1"}
        assert all(e["outcome"] == "confirmed" and "cost 77" in e["diff"] for e in entries)
    finally:
        code, out = cli("deploy", "-t", lab.state.topology, *common, "--commit")
        assert code == 0, out


def test_breaking_change_reverts_everywhere_atomic(lab_exclusive) -> None:
    lab = lab_exclusive
    topo = load_topology(lab.state.topology)
    nr = build_nornir(inventory(lab))
    names = ["amk-ce1", "krs-ce1"]
    before = running(nr, names)
    configs = intended(topo, names)
    configs["krs-ce1"] = with_cost(configs["krs-ce1"], 3)
    configs["amk-ce1"] = configs["amk-ce1"].replace("interface eth1\n",
                                                    "interface eth1\n shutdown\n")
    report = deploy(topo, nr, configs, commit=True, confirm_timeout=60, verify_timeout=10)
    assert not report.ok
    assert {r.router: r.status for r in report.routers} == {
        "amk-ce1": "rolled-back", "krs-ce1": "rolled-back"}
    assert any(p.check == "ospf" and "amk-ce1" in p.routers for p in report.problems)
    assert running(nr, names) == before


@pytest.mark.parametrize("policy,others", [("atomic", "not-committed"),
                                           ("per-device", "confirmed")])
def test_unreachable_router_fails_cleanly(lab_exclusive, policy: str, others: str) -> None:
    lab = lab_exclusive
    topo = load_topology(lab.state.topology)
    nr = build_nornir(inventory(lab))
    names = ["amk-ce1", "krs-ce1", "unn-ce1"]
    before = running(nr, names)
    configs = {n: with_cost(render_config(topo, n), 4) for n in names}
    try:
        with sshd_stopped(lab, "unn-ce1"):
            report = deploy(topo, nr, configs, commit=True, confirm_timeout=60,
                            verify_timeout=20, policy=policy)
        status = {r.router: r.status for r in report.routers}
        assert status.pop("unn-ce1") == "failed" and set(status.values()) == {others}
        assert not report.ok
        assert "unn-ce1" not in {p.routers[0] for p in report.problems}
    finally:
        deploy(topo, nr, intended(topo, names), commit=True)
    assert running(nr, names) == before


def test_backup(lab_shared, tmp_path: Path) -> None:
    nr = build_nornir(inventory(lab_shared))
    first = backup(nr, tmp_path)
    assert first.ok and first.commit and set(first.routers.values()) == {"new"}
    assert "new " in first.message
    assert set(p.stem for p in tmp_path.glob("*.conf")) == set(lab_shared.topo.routers)
    again = backup(build_nornir(inventory(lab_shared)), tmp_path)
    assert again.commit is None and set(again.routers.values()) == {"unchanged"}
