"""Deploy policy, verification, selection, audit and backup without devices: fake drivers stand in
for routers; verification is checked against observations synthesised from the model."""
from __future__ import annotations

import copy
import subprocess
from pathlib import Path
from types import SimpleNamespace

import networkx as nx
import pytest

from controller.errors import InputError
from controller.model.load import load_topology
from controller.model.layers import ip_graph
from controller.model.select import select_limit
from controller.services import backup as backup_service
from controller.services import deploy as deploy_service
from controller.redact import redact
from controller.services.audit import AuditLog
from controller.services.verify import Observed, Problem, VerifyResult, evaluate

from fakes import fake_run_each

TOPO = load_topology()


class FakeDriver:
    def __init__(self, name: str, running: str, fail: str = "") -> None:
        self.name, self.running, self.fail = name, running, fail
        self.candidate: str | None = None
        self.calls: list[str] = []

    def _step(self, step: str) -> None:
        self.calls.append(step)
        if step == self.fail:
            raise ConnectionError(f"{self.name}: {step} failed")

    def load_replace_candidate(self, config: str) -> None:
        self._step("load")
        self.candidate = config

    def compare_config(self) -> str:
        self._step("compare")
        return "" if self.candidate == self.running else f"-{self.running}\n+{self.candidate}\n"

    def discard_config(self) -> None:
        self._step("discard")
        self.candidate = None

    def commit_config(self, message: str, revert_in: int) -> None:
        self._step("commit")
        self.before, self.running = self.running, self.candidate

    def confirm_commit(self) -> None:
        self._step("confirm")

    def rollback(self) -> None:
        self._step("rollback")
        self.running = self.before


class FakeNornir:
    def __init__(self, devices: dict[str, FakeDriver]) -> None:
        self.devices = devices
        self.inventory = SimpleNamespace(hosts=devices)
        self.config = None

    def close_connections(self, on_failed: bool = False) -> None:
        pass


@pytest.fixture
def fleet(monkeypatch: pytest.MonkeyPatch):
    def make(problems: list[Problem] = (), fail: dict[str, str] | None = None,
             same: tuple[str, ...] = ()):
        routers = ["osl-cr1", "osl-cr2", "trd-cr1"]
        configs = {r: f"hostname {r} new" for r in routers}
        devices = {r: FakeDriver(r, configs[r] if r in same else f"hostname {r} old",
                                 (fail or {}).get(r, "")) for r in routers}
        monkeypatch.setattr(deploy_service, "run_each", fake_run_each)
        monkeypatch.setattr(deploy_service, "verify", lambda *a, **k: VerifyResult(
            not problems, list(problems)))
        return FakeNornir(devices), configs, devices
    return make


def test_dry_run_changes_nothing(fleet) -> None:
    nr, configs, devices = fleet(same=("trd-cr1",))
    report = deploy_service.deploy(TOPO, nr, configs)
    assert report.ok and not report.committed
    assert {r.router: (r.changed, r.status) for r in report.routers} == {
        "osl-cr1": (True, "would-change"), "osl-cr2": (True, "would-change"),
        "trd-cr1": (False, "no-change")}
    assert all("commit" not in d.calls and d.calls[-1] == "discard" for d in devices.values())


def test_commit_verify_confirm(fleet, tmp_path: Path) -> None:
    nr, configs, devices = fleet(same=("trd-cr1",))
    audit = AuditLog(tmp_path / "audit.log")
    report = deploy_service.deploy(TOPO, nr, configs, commit=True, audit=audit)
    assert report.ok
    assert [d.calls for d in devices.values()] == [
        ["load", "compare", "commit", "confirm"]] * 2 + [["load", "compare", "discard"]]
    entries = audit.entries()
    assert [(e["router"], e["outcome"]) for e in entries] == [
        ("osl-cr1", "confirmed"), ("osl-cr2", "confirmed")]
    assert all(e["diff"] and e["who"] and e["time"] for e in entries)


def test_atomic_verification_failure_rolls_back_every_changed_router(fleet) -> None:
    nr, configs, devices = fleet(problems=[Problem("ospf", ("osl-cr1", "ham-pe1"), "down")])
    report = deploy_service.deploy(TOPO, nr, configs, commit=True)
    assert not report.ok
    assert {r.status for r in report.routers} == {"rolled-back"}
    assert all(d.running.endswith("old") and "confirm" not in d.calls for d in devices.values())


def test_per_device_rolls_back_only_the_blamed_router(fleet) -> None:
    nr, configs, devices = fleet(problems=[Problem("ospf", ("osl-cr1", "ham-pe1"), "down")])
    report = deploy_service.deploy(TOPO, nr, configs, commit=True, policy="per-device")
    assert {r.router: r.status for r in report.routers} == {
        "osl-cr1": "rolled-back", "osl-cr2": "confirmed", "trd-cr1": "confirmed"}
    assert not report.ok


@pytest.mark.parametrize("policy,others", [("atomic", "not-committed"),
                                           ("per-device", "confirmed")])
def test_unreachable_router_fails_cleanly(fleet, policy: str, others: str) -> None:
    nr, configs, devices = fleet(fail={"osl-cr2": "load"})
    report = deploy_service.deploy(TOPO, nr, configs, commit=True, policy=policy)
    status = {r.router: r.status for r in report.routers}
    assert status.pop("osl-cr2") == "failed" and set(status.values()) == {others}
    assert "osl-cr2: load failed" in next(r.error for r in report.routers if r.router == "osl-cr2")
    assert not report.ok


def test_rejected_commit_under_atomic_rolls_back_the_rest(fleet) -> None:
    nr, configs, devices = fleet(fail={"trd-cr1": "commit"})
    report = deploy_service.deploy(TOPO, nr, configs, commit=True)
    status = {r.router: r.status for r in report.routers}
    assert status == {"osl-cr1": "rolled-back", "osl-cr2": "rolled-back",
                      "trd-cr1": "commit-failed"}


def test_confirm_timeout_must_exceed_verification(fleet) -> None:
    nr, configs, _ = fleet()
    with pytest.raises(InputError):
        deploy_service.deploy(TOPO, nr, configs, commit=True, confirm_timeout=10,
                              verify_timeout=30)


@pytest.mark.parametrize("limit,expected", [
    (None, sorted(TOPO.routers)),
    ("osl-*", ["osl-cr1", "osl-cr2"]),
    ("role=ce", sorted(r.id for r in TOPO.routers.values() if r.role == "ce")),
    ("site=trd,bod-pe1", ["bod-pe1", "trd-cr1", "trd-cr2"]),
])
def test_select(limit: str | None, expected: list[str]) -> None:
    assert select_limit(TOPO, limit) == expected


@pytest.mark.parametrize("limit", ["nope", "colour=red", "site=xyz"])
def test_select_rejects_what_matches_nothing(limit: str) -> None:
    with pytest.raises(InputError):
        select_limit(TOPO, limit)


def healthy() -> dict[str, Observed]:
    """What every router would report in the converged network the model describes."""
    seen = {r: Observed({"neighbors": {}}, [], {}) for r in TOPO.routers}
    for link in TOPO.links.values():
        for near, far in ((link.a, link.b), (link.b, link.a)):
            rid = str(TOPO.routers[far.router].loopback.ip)
            seen[near.router].ospf["neighbors"].setdefault(rid, []).append(
                {"nbrState": "Full/-", "ifaceName": f"{near.interface}:{near.address.ip}"})
            seen[near.router].bfd.append({"interface": near.interface,
                                          "peer": str(far.address.ip), "status": "up"})
    for state in seen.values():
        state.routes = {str(r.loopback.network): [{}] for r in TOPO.routers.values()}
    return seen


def test_healthy_network_has_no_problems() -> None:
    assert evaluate(TOPO, healthy()) == []


def test_a_down_link_is_blamed_on_both_ends() -> None:
    seen = healthy()
    link = TOPO.links["osl-trd-1"]
    seen[link.a.router].ospf["neighbors"].pop(str(TOPO.routers[link.b.router].loopback.ip))
    seen[link.a.router].bfd = [p for p in seen[link.a.router].bfd
                               if p["interface"] != link.a.interface]
    problems = evaluate(TOPO, seen)
    assert {(p.check, p.routers) for p in problems} == {
        ("ospf", (link.a.router, link.b.router)), ("bfd", (link.a.router, link.b.router))}


def test_isolated_member_breaks_its_services() -> None:
    seen = copy.deepcopy(healthy())
    member_routers = {r.id for r in TOPO.routers_at("amk-bod")}
    for link in TOPO.links.values():  # every link of the member site's routers goes down
        for near, far in ((link.a, link.b), (link.b, link.a)):
            if far.router in member_routers:
                seen[near.router].ospf["neighbors"].pop(str(TOPO.routers[far.router].loopback.ip))
    broken = {p.detail.split(":")[0] for p in evaluate(TOPO, seen) if p.check == "service"}
    g = nx.Graph(ip_graph(TOPO))  # independent: the model's IP graph minus the member's links
    g.remove_edges_from([e for e in list(g.edges) if set(e) & member_routers])
    expected = {f"service {s.id}" for s in TOPO.services.values()
                if any(not any(nx.has_path(g, r.id, d.id) for r in TOPO.routers_at(m)
                               for dc in s.datacentres for d in TOPO.routers_at(dc))
                       for m in s.members if TOPO.routers_at(m))}
    assert broken == expected and expected


def test_unobserved_routers_are_not_blamed_for_missing_state() -> None:
    seen = {k: v for k, v in healthy().items() if k != "osl-cr1"}
    assert evaluate(TOPO, seen) == []


def test_missing_loopback_route() -> None:
    seen = healthy()
    seen["krs-ce1"].routes.pop("10.255.0.1/32")
    assert [(p.check, p.routers) for p in evaluate(TOPO, seen)] == [
        ("loopback", ("krs-ce1", "osl-cr1"))]


@pytest.mark.parametrize("line", ["+ ip ospf authentication-key s3cr3t",
                                  "- ip ospf message-digest-key 1 md5 s3cr3t",
                                  "+ neighbor 10.0.0.1 password s3cr3t",
                                  "snmp community s3cr3t"])
def test_redact(line: str) -> None:
    assert "s3cr3t" not in redact(line) and "<redacted>" in redact(line)


def test_backup_commits_once_per_run_naming_changes(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    configs = {"a": "hostname a\n", "b": "hostname b\n"}
    errors: dict[str, str] = {}
    monkeypatch.setattr(backup_service, "run_each", lambda nr, names, fn: (dict(configs),
                                                                           dict(errors)))
    nr = FakeNornir({})
    first = backup_service.backup(nr, tmp_path)
    assert first.routers == {"a": "new", "b": "new"} and first.commit
    assert backup_service.backup(nr, tmp_path).commit is None  # nothing changed: no commit
    configs["b"] = "hostname b2\n"
    del configs["a"]
    errors["a"] = "unreachable"
    third = backup_service.backup(nr, tmp_path)
    assert third.routers == {"b": "changed", "a": "failed: unreachable"} and not third.ok
    log = subprocess.run(["git", "-C", str(tmp_path), "log", "--format=%s"], text=True,
                         capture_output=True, check=True).stdout.splitlines()
    assert len(log) == 2 and "changed b" in log[0] and "failed a" in log[0]
    assert (tmp_path / "a.conf").read_text() == "hostname a\n"  # last good copy kept
