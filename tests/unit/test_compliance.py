"""Compliance service, history, reports and CLI on rendered configs and hand-made mutations;
fake drivers stand in for routers in the --fix path."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

from controller.cli.main import app
from controller.errors import InputError
from controller.cli import compliance as cli
from controller.config.features import FEATURES
from controller.config.render import render_config
from controller.config.rules import SEVERITIES, load_rules
from controller.model.load import load_topology
from controller.redact import redact
from controller.services import compliance as service
from controller.services import deploy as deploy_service
from controller.services import reports
from controller.southbound import nornir_run
from controller.services.verify import VerifyResult
from controller.store import Store

from fakes import fake_run_each

TOPO = load_topology()
RULES = load_rules()
INTENDED = {r: render_config(TOPO, r) for r in sorted(TOPO.routers)}


def insert_after(text: str, anchor: str, new: str) -> tuple[str, int]:
    """`text` with `new` inserted after the first line equal to `anchor`; its 1-based number."""
    lines = text.splitlines()
    at = lines.index(anchor) + 1
    return "\n".join(lines[:at] + [new] + lines[at:]) + "\n", at + 1


def drop_line(text: str, line: str, block: str) -> tuple[str, int]:
    """`text` without the first `line` inside `block`; its number in `text`."""
    lines = text.splitlines()
    at = lines.index(line, lines.index(block))
    return "\n".join(lines[:at] + lines[at + 1:]) + "\n", at + 1


def first_link_interface(router: str) -> str:
    return sorted(service.link_interfaces(TOPO)[router])[0]


def test_intended_configs_are_compliant_with_full_score(tmp_path: Path) -> None:
    for name, text in INTENDED.items():
        (tmp_path / f"{name}.conf").write_text(text)
    running, errors = service.recorded(tmp_path, sorted(TOPO.routers))
    report = service.assess(TOPO, running, errors, RULES)
    assert errors == {} and report.score == 100.0 and report.ok
    assert {r.status for r in report.routers} == {"compliant"}
    assert all(set(r.rules.values()) == {"pass"} for r in report.routers)


CASES = [  # router, mutation kind, expected rule ids
    ("ham-pe1", "drop-bfd", {"bfd-on-core-links"}),
    ("osl-cr1", "add-static-default", {"no-static-default"}),
    ("tos-cr2", "add-public-community", {"no-snmp-public-community"}),
    ("krs-ce1", "shutdown-link", {"link-interfaces-enabled"}),
    ("trd-cr1", "change-cost", set()),
]


def mutate(router: str, kind: str) -> tuple[str, tuple[str, str | None, str, int, str]]:
    """A mutated running config and the diff line it must produce (op, block, feature, line,
    text), computed from the text itself."""
    text, iface = INTENDED[router], first_link_interface(router)
    block = f"interface {iface}"
    if kind == "drop-bfd":
        _, line = drop_line(text, " ip ospf bfd", block)
        return drop_line(text, " ip ospf bfd", block)[0], ("+", block, "bfd", line,
                                                           "ip ospf bfd")
    if kind == "add-static-default":
        out, line = insert_after(text, "service integrated-vtysh-config", "ip route 0.0.0.0/0 "
                                 "10.9.9.9")
        return out, ("-", None, "igp", line, "ip route 0.0.0.0/0 10.9.9.9")
    if kind == "add-public-community":
        out, line = insert_after(text, f"hostname {router}", "snmp-server community public RO")
        return out, ("-", None, "security", line, "snmp-server community public RO")
    if kind == "shutdown-link":
        out, line = insert_after(text, block, " shutdown")
        return out, ("-", block, "interfaces", line, "shutdown")
    cost = next(ln for ln in text.splitlines()[text.splitlines().index(block):]
                if ln.startswith(" ip ospf cost"))
    out = text.replace(f"{block}\n", "\0", 1).replace(cost, " ip ospf cost 999", 1).replace(
        "\0", f"{block}\n", 1)
    return out, ("-", block, "igp", out.splitlines().index(" ip ospf cost 999") + 1,
                 "ip ospf cost 999")


@pytest.mark.parametrize("router,kind,rules", CASES)
def test_mutation_found_with_router_feature_and_line(router: str, kind: str,
                                                     rules: set[str]) -> None:
    running, (op, block, feature, line, text) = mutate(router, kind)
    report = service.assess(TOPO, {**INTENDED, router: running}, {}, RULES)
    by_router = {r.router: r for r in report.routers}
    bad = by_router.pop(router)
    assert all(r.compliant for r in by_router.values())
    assert bad.compliant is False and feature in bad.drifted
    assert (op, block, feature, line, redact(text)) in {
        (d.op, d.block, d.feature, d.line, d.text) for d in bad.diff}  # secrets redacted
    assert {v.rule for v in bad.violations} == rules
    assert all(bad.rules[r] == "fail" for r in rules)
    assert all(v.line is not None for v in bad.violations)
    if kind in ("add-static-default", "add-public-community"):
        assert [v.line for v in bad.violations] == [line]  # the forbidden line itself
    data = json.loads(json.dumps(report.as_dict()))
    entry = next(r for r in data["routers"] if r["router"] == router)
    assert entry["compliant"] is False and entry["features"][feature] == "drift"
    assert {"op": op, "text": redact(text), "block": block, "feature": feature,
            "line": line} in entry["diff"]


def test_unknown_router_is_neither_compliant_nor_failing() -> None:
    running = dict(INTENDED)
    del running["bod-pe1"]
    report = service.assess(TOPO, running, {"bod-pe1": "timed out"}, RULES)
    entry = next(r for r in report.as_dict()["routers"] if r["router"] == "bod-pe1")
    assert entry["compliant"] is None and entry["status"] == "unknown"
    assert entry["violations"] == [] and entry["error"] == "timed out"
    assert set(entry["features"].values()) == {None}
    assert report.ok and report.score == 100.0 and report.count("unknown") == 1
    assert all("bod-pe1" not in r["failed_on"] for r in report.as_dict()["rules"])


def test_score_counts_rules_and_features() -> None:
    running, _ = mutate("ham-pe1", "drop-bfd")
    report = service.assess(TOPO, {**INTENDED, "ham-pe1": running}, {}, RULES)
    per_router = len(RULES) + len(FEATURES)
    total = per_router * len(TOPO.routers)
    assert report.score == round(100 * (total - 2) / total, 2)  # one rule, one feature


@pytest.mark.parametrize("threshold", SEVERITIES)
def test_threshold_gates_on_severity(threshold: str) -> None:
    running = {**INTENDED, "osl-cr1": mutate("osl-cr1", "add-static-default")[0],
               "tos-cr2": mutate("tos-cr2", "add-public-community")[0],
               "ham-pe1": INTENDED["ham-pe1"].replace(" ip ospf passive\n", "")}
    report = service.assess(TOPO, running, {}, RULES, threshold)
    found = {(r.router, v.rule): v.severity for r in report.routers for v in r.violations}
    assert set(found.values()) == {"high", "critical", "low"}
    expected = {k for k, sev in found.items()
                if SEVERITIES.index(sev) >= SEVERITIES.index(threshold)}
    assert {(router, v.rule) for router, v in report.failing()} == expected
    assert report.ok == (not expected)


def test_bad_threshold_and_unknown_router_are_input_errors() -> None:
    with pytest.raises(InputError, match="threshold"):
        service.assess(TOPO, INTENDED, {}, RULES, "severe")
    with pytest.raises(InputError, match="not in the topology: zz-cr9"):
        service.assess(TOPO, {"zz-cr9": ""}, {}, RULES)


def report_at(ts: float, running: dict[str, str], errors: dict[str, str] | None = None
              ) -> service.ComplianceReport:
    report = service.assess(TOPO, running, errors or {}, RULES)
    report.time = ts
    return report


def test_history_trend_and_drift_start(tmp_path: Path) -> None:
    store = Store(tmp_path / "h.db")
    drifted = mutate("osl-cr1", "add-static-default")[0]
    no_bfd = mutate("ham-pe1", "drop-bfd")[0]
    timeline = [  # ts, running overrides, unreachable
        (100.0, {}, {}),
        (200.0, {"osl-cr1": drifted, "ham-pe1": no_bfd}, {}),
        (300.0, {"ham-pe1": no_bfd}, {"osl-cr1": "timeout"}),  # unknown keeps the streak
        (400.0, {"osl-cr1": drifted}, {"tos-cr1": "timeout"}),  # ham-pe1 fixed
        (500.0, {"osl-cr1": drifted, "ham-pe1": no_bfd}, {"tos-cr1": "timeout"}),  # back
    ]
    for ts, over, down in timeline:
        running = {k: v for k, v in {**INTENDED, **over}.items() if k not in down}
        assert service.record(store, report_at(ts, running, down))
    hist = service.history(store, runs=3)
    assert [t["time"] for t in hist["trend"]] == [300.0, 400.0, 500.0]
    assert [(t["compliant"], t["non_compliant"], t["unknown"]) for t in hist["trend"]] == [
        (len(TOPO.routers) - 2, 1, 1), (len(TOPO.routers) - 2, 1, 1),
        (len(TOPO.routers) - 3, 2, 1)]
    since = {(d["router"], d["finding"].split(":")[0].split(" (")[0]): d["since"]
             for d in hist["drifts"]}
    assert since[("osl-cr1", "rule no-static-default")] == 200.0
    assert since[("ham-pe1", "rule bfd-on-core-links")] == 500.0
    assert since[("tos-cr1", "unreachable")] == 400.0
    assert {r for r, _ in since} == {"osl-cr1", "ham-pe1", "tos-cr1"}
    only = service.history(store, router="osl-cr1")
    assert {d["router"] for d in only["drifts"]} == {"osl-cr1"} and len(only["trend"]) == 5


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_junit_and_html_reports() -> None:
    evil = "description <script>alert(1)</script> & co"
    running = {**INTENDED, "osl-cr1": mutate("osl-cr1", "add-static-default")[0],
               "ham-pe1": insert_after(INTENDED["ham-pe1"], "interface lo", f" {evil}")[0]}
    del running["tos-cr1"]
    report = service.assess(TOPO, running, {"tos-cr1": "timeout"}, RULES)
    root = ET.fromstring(reports.junit_xml(report).encode())
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == set(TOPO.routers)
    per_router = len(RULES) + len(FEATURES)
    assert int(root.get("tests")) == per_router * len(TOPO.routers)
    failures = {(s.get("name"), c.get("name")) for s in suites.values() for c in s
                if c.find("failure") is not None}
    assert failures == {("osl-cr1", "rule no-static-default"), ("osl-cr1", "drift igp"),
                        ("ham-pe1", "drift interfaces")}
    assert int(root.get("failures")) == 3
    assert int(suites["tos-cr1"].get("skipped")) == per_router
    parser = _Tags()
    parser.feed(reports.html_report(report))
    parser.close()
    text = "".join(parser.text)
    assert "script" not in parser.tags and evil in text
    assert all(r in text for r in TOPO.routers) and "ip route 0.0.0.0/0 10.9.9.9" in text


class FakeRouter:
    def __init__(self, running: str, reachable: bool = True) -> None:
        self.running, self.reachable, self.candidate = running, reachable, None
        self.commits = 0

    def get_config(self, retrieve: str) -> dict[str, str]:
        if not self.reachable:
            raise ConnectionError("ssh: timed out")
        return {"running": self.running}

    def load_replace_candidate(self, config: str) -> None:
        self.candidate = config

    def compare_config(self) -> str:
        return "" if self.candidate == self.running else "changes"

    def discard_config(self) -> None:
        self.candidate = None

    def commit_config(self, message: str, revert_in: int) -> None:
        self.running, self.commits = self.candidate, self.commits + 1

    def confirm_commit(self) -> None:
        pass


@pytest.fixture
def fleet(monkeypatch: pytest.MonkeyPatch):
    devices = {r: FakeRouter(t) for r, t in INTENDED.items()}
    devices["osl-cr1"].running = mutate("osl-cr1", "add-static-default")[0]
    devices["ham-pe1"].running = mutate("ham-pe1", "drop-bfd")[0]
    devices["tos-cr1"].reachable = False
    for module in (nornir_run, deploy_service):  # compliance reads through nornir_run.read_each
        monkeypatch.setattr(module, "run_each", fake_run_each)
    monkeypatch.setattr(deploy_service, "verify", lambda *a, **k: VerifyResult(True))
    return SimpleNamespace(devices=devices, inventory=SimpleNamespace(hosts=devices),
                           config=None, close_connections=lambda on_failed=False: None)


@pytest.mark.parametrize("commit", [False, True])
def test_fix_hands_drifted_routers_to_deploy(fleet, commit: bool, tmp_path: Path) -> None:
    store = Store(tmp_path / "h.db")
    report = service.compliance(TOPO, sorted(TOPO.routers), RULES, nr=fleet, store=store,
                                fix=True, commit=commit)
    assert [r["router"] for r in report.fix["routers"]] == ["ham-pe1", "osl-cr1"]
    assert report.fix["committed"] is commit
    commits = {n for n, d in fleet.devices.items() if d.commits}
    status = {r.router: r.status for r in report.routers}
    assert status.pop("tos-cr1") == "unknown"
    if commit:
        assert commits == {"ham-pe1", "osl-cr1"} and set(status.values()) == {"compliant"}
        assert len(service.history(store)["trend"]) == 2  # before and after the fix
    else:
        assert not commits and status["osl-cr1"] == status["ham-pe1"] == "non-compliant"
        assert len(service.history(store)["trend"]) == 1


def run_cli(*args: str):
    return CliRunner().invoke(app, list(args))


def test_cli_exit_codes_and_report_files(tmp_path: Path) -> None:
    configs = tmp_path / "configs"
    configs.mkdir()
    for name, text in INTENDED.items():
        (configs / f"{name}.conf").write_text(text)
    common = ["compliance", "--from", str(configs), "--db", str(tmp_path / "h.db")]
    res = run_cli(*common, "--json")
    assert res.exit_code == 0 and json.loads(res.stdout)["score"] == 100.0
    (configs / "osl-cr1.conf").write_text(mutate("osl-cr1", "add-static-default")[0])
    res = run_cli(*common, "--severity-threshold", "critical", "--json")
    assert res.exit_code == 0  # the static default is "high"
    res = run_cli(*common, "--junit", str(tmp_path / "r.xml"), "--html", str(tmp_path / "r.html"))
    assert res.exit_code == cli.EXIT_VIOLATION
    assert ET.parse(tmp_path / "r.xml").getroot().get("failures") == "2"
    assert "osl-cr1" in (tmp_path / "r.html").read_text()
    (configs / "osl-cr1.conf").write_text(INTENDED["osl-cr1"])
    (configs / "tos-cr1.conf").unlink()
    res = run_cli(*common, "--json")
    assert res.exit_code == cli.EXIT_UNKNOWN
    res = run_cli("compliance", "history", "--db", str(tmp_path / "h.db"), "--json")
    data = json.loads(res.stdout)
    assert res.exit_code == 0 and len(data["trend"]) == 4
    assert [d["router"] for d in data["drifts"]] == ["tos-cr1"]


@pytest.mark.parametrize("args,fragment", [
    (["--commit"], "--commit only goes with --fix"),
    (["--fix"], "--fix needs live routers"),
    (["--severity-threshold", "severe"], "severity threshold must be one of"),
    (["--limit", "nope*"], "matches no router"),
])
def test_cli_bad_input_exits_2(tmp_path: Path, args: list[str], fragment: str) -> None:
    res = run_cli("compliance", "--from", str(tmp_path), "--no-history", *args)
    assert res.exit_code == 2 and fragment in res.stderr.replace("\n", " ")


def test_cli_malformed_rules_file_names_rule_and_field(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - {id: a, severity: high, feature: igp, explanation: e, "
                     "must_contain: [x]}\n  - {id: b, severity: high, feature: igp, "
                     "explanation: e, must_not_contain: ['[']}\n")
    res = run_cli("compliance", "--from", str(tmp_path), "--no-history", "--rules", str(rules))
    err = res.stderr.replace("\n", " ")
    assert res.exit_code == 2 and "rules[1].must_not_contain[0]" in err and ":3" in err
    assert "rule 'b': invalid regular expression" in err
