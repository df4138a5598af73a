"""Deploy under faults, against the live netns lab: none leaves a router half-configured.

Each test snapshots the running configs through the driver before the fault and compares after,
and checks that the report names the failing router and the cause. Already covered elsewhere and
not repeated here: an unreachable router and an atomic verification failure
(test_deploy_lab.py), the driver alone rejecting a config or a key (test_napalm_frr_lab.py).
"""
from __future__ import annotations

import copy
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from nornir.core import Nornir
from nornir.core.inventory import ConnectionOptions

from controller.config.render import canonical, render_config
from controller.lab import creds as credentials, mgmt
from controller.lab.creds import keypair
from controller.lab.down import lab_down
from controller.lab.state import LabState
from controller.lab.up import lab_up
from controller.model.load import load_topology
from controller.services.deploy import DeployReport, deploy, intended
from controller.southbound.nornir_run import run_each
from controller.southbound.nornir_setup import build_nornir

from conftest import Lab, require_lab, tiny_topology, wait_for

pytestmark = pytest.mark.integration
NAMES = ["amk-ce1", "krs-ce1", "unn-ce1"]  # member-site CEs: changes here disturb little
VICTIM = "krs-ce1"
TIMEOUT = 10  # per SSH operation: a frozen session fails after this
TINY_SUBNET = "172.31.244.0/24"


# --- helpers ----------------------------------------------------------------------------------
def inventory(lab: Lab | LabState) -> Path:
    return Path(getattr(lab, "state", lab).dir) / "inventory"


def nornir(lab: Lab) -> Nornir:
    return build_nornir(inventory(lab), timeout=TIMEOUT)


def running(nr: Nornir, names: list[str], close: bool = True) -> dict[str, str]:
    """Running configs read through the NAPALM driver (sessions left open unless `close`)."""
    out, errors = run_each(nr, names, lambda task: task.host.get_connection(
        "napalm", task.nornir.config).get_config(retrieve="running")["running"])
    if close:
        nr.close_connections(on_failed=True)
    assert not errors, errors
    return {n: canonical(text) for n, text in out.items()}


def pending(nr: Nornir, names: list[str]) -> dict[str, bool]:
    out, errors = run_each(nr, names, lambda task: task.host.get_connection(
        "napalm", task.nornir.config).has_pending_commit())
    nr.close_connections(on_failed=True)
    assert not errors, errors
    return out


def with_cost(config: str, cost: int) -> str:
    """The config with every OSPF cost set to `cost`."""
    return "".join(f" ip ospf cost {cost}\n" if line.startswith(" ip ospf cost ") else line + "\n"
                   for line in config.splitlines())


def changed_configs(lab: Lab, cost: int = 4) -> dict[str, str]:
    configs = {n: with_cost(render_config(lab.topo, n), cost) for n in NAMES}
    assert all(configs[n] != render_config(lab.topo, n) for n in NAMES)
    return configs


def status(report: DeployReport) -> dict[str, str]:
    return {r.router: r.status for r in report.routers}


def error(report: DeployReport, router: str) -> str:
    return next(r.error for r in report.routers if r.router == router)


def in_netns_running(lab: Lab, router: str) -> str:
    """The running config read through the router's vtysh socket, bypassing management."""
    out = subprocess.run(["vtysh", "-N", lab.state.routers[router].netns, "-c",
                          "show running-config"], capture_output=True, text=True, timeout=10)
    return canonical(out.stdout)


def restore_intended(lab: Lab) -> None:
    report = deploy(lab.topo, nornir(lab), intended(lab.topo, NAMES), commit=True,
                    confirm_timeout=60, verify_timeout=20)
    assert report.ok, report.as_dict()


class MgmtCut:
    """Silently drop a router's management traffic both ways (nft netdev ingress drop on both
    ends of its management veth): sessions already open freeze, new ones time out."""

    def __init__(self, lab: Lab, router: str) -> None:
        rs = lab.state.routers[router]
        self.ends = [(["ip", "netns", "exec", rs.netns], "mgmt0"), ([], rs.mgmt_veth)]
        self.active = False

    @staticmethod
    def _table(dev: str) -> str:
        return "ngk_dfault_" + dev.replace("-", "_").replace(".", "_")

    def cut(self) -> None:
        for prefix, dev in self.ends:
            script = (f"table netdev {self._table(dev)} {{\n  chain cut {{\n    type filter hook "
                      f'ingress device "{dev}" priority -500; policy drop;\n  }}\n}}\n')
            subprocess.run([*prefix, "nft", "-f", "-"], input=script, text=True, check=True)
        self.active = True

    def restore(self) -> None:
        for prefix, dev in self.ends:
            subprocess.run([*prefix, "nft", "delete", "table", "netdev", self._table(dev)],
                           capture_output=True)
        self.active = False


@contextmanager
def mgmt_cut(lab: Lab, router: str) -> Iterator[MgmtCut]:
    cut = MgmtCut(lab, router)
    try:
        yield cut
    finally:
        cut.restore()


def cut_at(cut: MgmtCut, router: str, phase: str) -> Callable[[str, str], None]:
    """A deploy progress callback that cuts `router`'s management when `phase` starts for it."""
    def progress(name: str, message: str) -> None:
        if name == router and message == phase and not cut.active:
            cut.cut()
    return progress


# --- a fresh bare lab of our own --------------------------------------------------------------
@pytest.fixture
def bare_lab(tmp_path: Path) -> Iterator[LabState]:
    require_lab()
    path = tiny_topology(tmp_path / "tiny.yaml", TINY_SUBNET)
    name = f"df{os.getpid() % 100000}"
    lab_down(name)
    try:
        lab_up(path, name, bare=True)
        yield LabState.load(name)
    finally:
        lab_down(name)


def test_bare_lab_brought_to_intended_state(bare_lab: LabState) -> None:
    topo = load_topology(bare_lab.topology)
    names = sorted(topo.routers)
    configs = intended(topo, names)
    dry = deploy(topo, build_nornir(inventory(bare_lab)), configs)
    assert status(dry) == dict.fromkeys(names, "would-change")
    assert all("router ospf" in r.diff for r in dry.routers)
    report = deploy(topo, build_nornir(inventory(bare_lab)), configs, commit=True,
                    confirm_timeout=90, verify_timeout=60)
    assert report.ok and status(report) == dict.fromkeys(names, "confirmed"), report.as_dict()
    assert {"prepare", "commit", "verify", "confirm"} <= set(report.phases)
    nr = build_nornir(inventory(bare_lab))
    assert running(nr, names) == {n: canonical(configs[n]) for n in names}
    again = deploy(topo, build_nornir(inventory(bare_lab)), configs)
    assert status(again) == dict.fromkeys(names, "no-change")
    assert all(r.diff == "" for r in again.routers)
    # a hand-made change on one router shows up as a diff and deploy reverts it
    creds = credentials.load(bare_lab.dir)
    mgmt.ssh_command(creds, str(topo.routers["ra"].mgmt.ip),
                     "vtysh -c 'conf t' -c 'interface eth1' -c 'ip ospf cost 55'")
    drift = deploy(topo, build_nornir(inventory(bare_lab)), configs)
    assert status(drift) == {"ra": "would-change", "rb": "no-change", "rc": "no-change"}
    assert "- ip ospf cost 55" in drift.routers[0].diff
    fixed = deploy(topo, build_nornir(inventory(bare_lab)), configs, commit=True,
                   confirm_timeout=90, verify_timeout=60)
    assert fixed.ok and status(fixed)["ra"] == "confirmed"
    assert running(build_nornir(inventory(bare_lab)), ["ra"])["ra"] == canonical(configs["ra"])


# --- faults against the shared lab ------------------------------------------------------------
def test_wrong_credentials_on_one_router(lab_exclusive: Lab, tmp_path: Path) -> None:
    lab = lab_exclusive
    before = running(nornir(lab), NAMES)
    keypair(tmp_path / "wrong", "not-authorised")
    nr = nornir(lab)
    opts = copy.deepcopy(nr.inventory.defaults.connection_options["napalm"].extras)
    opts["optional_args"]["key_file"] = str(tmp_path / "wrong")
    nr.inventory.hosts[VICTIM].connection_options["napalm"] = ConnectionOptions(extras=opts)
    report = deploy(lab.topo, nr, changed_configs(lab), commit=True, confirm_timeout=60,
                    verify_timeout=20)
    assert not report.ok
    assert status(report) == {"amk-ce1": "not-committed", VICTIM: "failed",
                              "unn-ce1": "not-committed"}
    assert "authentication failed" in error(report, VICTIM)
    assert str(tmp_path) not in error(report, VICTIM)
    assert running(nornir(lab), NAMES) == before
    assert not any(pending(nornir(lab), NAMES).values())


def test_rejected_config_changes_nothing(lab_exclusive: Lab) -> None:
    lab = lab_exclusive
    nr = nornir(lab)
    before = running(nr, NAMES)
    configs = changed_configs(lab)
    configs[VICTIM] += "interface eth1\n no-such-command 1\nexit\n"
    report = deploy(lab.topo, nr, configs, commit=True, confirm_timeout=60, verify_timeout=20)
    assert not report.ok
    assert status(report) == {"amk-ce1": "not-committed", VICTIM: "failed",
                              "unn-ce1": "not-committed"}
    assert "rejects the config" in error(report, VICTIM)
    assert "Unknown command" in error(report, VICTIM) or "no-such-command" in error(report, VICTIM)
    assert "commit" not in report.phases
    assert running(nornir(lab), NAMES) == before
    assert not any(pending(nornir(lab), NAMES).values())


def test_timeout_mid_session_at_commit(lab_exclusive: Lab) -> None:
    """The victim's session is open (it was read and prepared over) and freezes as the commit
    starts: atomic policy rolls every other router back, the victim never applied anything."""
    lab = lab_exclusive
    nr = nornir(lab)
    before = running(nr, NAMES)
    with mgmt_cut(lab, VICTIM) as cut:
        report = deploy(lab.topo, nr, changed_configs(lab), commit=True, confirm_timeout=60,
                        verify_timeout=20, progress=cut_at(cut, VICTIM, "commit"))
        assert cut.active
    assert not report.ok
    assert status(report) == {"amk-ce1": "rolled-back", VICTIM: "commit-failed",
                              "unn-ce1": "rolled-back"}
    assert any(w in error(report, VICTIM).lower() for w in ("timed out", "timeout")), \
        error(report, VICTIM)
    # the victim may hold a pending commit if the script got through: it reverts by itself
    assert wait_for(lambda: not any(pending(nornir(lab), NAMES).values()), 70, step=3)
    assert running(nornir(lab), NAMES) == before


def test_management_dies_after_commit_reverts_by_itself(lab_exclusive: Lab) -> None:
    """Commit and verification pass, then the victim's management plane dies before its confirm:
    the report names it, and it goes back to its old config by itself within revert_in."""
    lab, revert_in = lab_exclusive, 40
    nr = nornir(lab)
    before = running(nr, NAMES)
    old = in_netns_running(lab, VICTIM)
    try:
        with mgmt_cut(lab, VICTIM) as cut:
            start = time.monotonic()
            report = deploy(lab.topo, nr, changed_configs(lab), commit=True,
                            confirm_timeout=revert_in, verify_timeout=30,
                            progress=cut_at(cut, VICTIM, "confirm"))
            assert cut.active and time.monotonic() - start < revert_in, report.as_dict()
            assert status(report) == {"amk-ce1": "confirmed", VICTIM: "failed",
                                      "unn-ce1": "confirmed"}
            assert not report.ok and error(report, VICTIM).startswith("confirm failed")
            assert "ip ospf cost 4" in in_netns_running(lab, VICTIM)  # committed, unconfirmed
            assert wait_for(lambda: in_netns_running(lab, VICTIM) == old,
                            revert_in + 20 - (time.monotonic() - start))
        after = running(nornir(lab), NAMES)
        assert after[VICTIM] == before[VICTIM]
        assert all("ip ospf cost 4" in after[n] for n in NAMES if n != VICTIM)
        assert not pending(nornir(lab), NAMES)[VICTIM]
    finally:
        restore_intended(lab)
    assert running(nornir(lab), NAMES) == before


def test_wrong_key_is_one_line_per_router_on_stderr(lab_exclusive: Lab, tmp_path: Path) -> None:
    """The whole CLI with a key the routers refuse: each router fails with one line, no
    traceback (Nornir logs failed tasks with theirs), exit 1."""
    keypair(tmp_path / "wrong", "not-authorised")
    env = {**os.environ, "NGK_SSH_KEY": str(tmp_path / "wrong")}
    proc = subprocess.run([sys.executable, "-m", "controller.cli", "deploy", "--inventory",
                           str(inventory(lab_exclusive)), "--limit", "osl-cr1,trd-cr1"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert [x for x in proc.stderr.splitlines() if "authentication failed" in x] == [
        f"{r} failed: {lab_exclusive.topo.routers[r].mgmt.ip}: authentication failed"
        for r in ("osl-cr1", "trd-cr1")]
