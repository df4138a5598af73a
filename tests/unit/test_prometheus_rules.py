"""The shipped Prometheus rules, configuration and Grafana dashboard, checked with Debian's real
promtool: syntax (`check rules`, `check config`), behaviour (`test rules` on
tests/prometheus/ngk-rules-test.yml, where every alert must fire at least once), and every
metric they name is one the monitor exports or a rule records."""
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from controller.model.load import load_topology
from controller.services.impact import ImpactMapper
from controller.services.metrics import MetricsCollector
from controller.services.monitor.app import Monitor
from controller.credentials import SnmpCredentials
from controller.southbound.snmp.inventory import Target
from controller.southbound.snmp.poller import DevicePoll, Interface
from controller.store import Store

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "prometheus" / "ngk-rules.yml"
CONFIG = ROOT / "prometheus" / "prometheus.yml"
DASHBOARD = ROOT / "prometheus" / "grafana-dashboard.json"
RULE_TESTS = ROOT / "tests" / "prometheus" / "ngk-rules-test.yml"
PROMTOOL = shutil.which("promtool")
NAME = re.compile(r"\b(ngk[_:][a-z0-9_:]+|up)\b(?!\s*\()")  # metric names, not functions


def promtool(*args: str) -> subprocess.CompletedProcess:
    if PROMTOOL is None:  # bootstrap installs it: a missing tool fails, it is not skipped
        pytest.fail("promtool is not installed: run scripts/bootstrap --test (Debian prometheus)")
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=120)


def rules() -> list[dict]:
    return [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]


def dashboard_exprs() -> list[str]:
    return [t["expr"] for p in json.loads(DASHBOARD.read_text())["panels"] for t in p["targets"]]


def test_promtool_checks_rules_and_config():
    for args in (("check", "rules", str(RULES)), ("check", "config", str(CONFIG))):
        res = promtool(*args)
        assert res.returncode == 0, res.stdout + res.stderr


def test_promtool_unit_tests_pass():
    res = promtool("test", "rules", str(RULE_TESTS))
    assert res.returncode == 0 and "SUCCESS" in res.stdout, res.stdout + res.stderr


def test_promtool_rejects_a_broken_rule(tmp_path):
    """The check above can fail: a rule with a PromQL error does not pass."""
    broken = tmp_path / "broken.yml"
    broken.write_text(RULES.read_text().replace("ngk:snmp_up:active == 0", "ngk:snmp_up:active =="))
    assert promtool("check", "rules", str(broken)).returncode != 0


def test_every_alert_is_exercised_firing_and_quiet():
    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    cases = [c for t in tests for c in t.get("alert_rule_test", [])]
    alerts = {r["alert"] for r in rules() if "alert" in r}
    assert alerts == {"NgkDeviceUnreachable", "NgkLinkDown", "NgkDatacentrePairOnePath",
                      "NgkDatacentrePairDisconnected", "NgkSpofAppeared", "NgkStoreLag",
                      "NgkStoreDroppingHistory", "NgkNoActiveMonitor", "NgkMonitorStalled",
                      "NgkPollingIncomplete", "NgkMonitorDown"}
    assert {c["alertname"] for c in cases if c["exp_alerts"]} == alerts
    assert {c["alertname"] for c in cases if not c["exp_alerts"]} == alerts


def exported_names(tmp_path: Path) -> set[str]:
    """Every sample name a monitor with a topology, an unreachable router and a failed store write
    exports (counters with their _total)."""
    topo = load_topology()
    targets = [Target(r, "192.0.2.1", 161, SnmpCredentials("2c", community="c"))
               for r in topo.routers]
    blocker = tmp_path / "file"
    blocker.write_text("")
    mon = Monitor(targets, Store(blocker / "m.db"), ImpactMapper(topo))
    dead, alive = targets[0].router, targets[1].router
    mon.apply(DevicePoll(dead, 1.0, False, error="timeout"))
    mon.apply(DevicePoll(alive, 1.0, True, sys_uptime=100, sys_name=alive,
                         interfaces={1: Interface(1, "eth1", 1, 1, 10, 20)}, duration=0.01))
    mon.store.flush()  # fails: the path is under a file
    mon.event_counts["router_down"] = 1
    registry = CollectorRegistry()
    registry.register(MetricsCollector(mon.snapshot))
    text = generate_latest(registry).decode()
    return {s.name for f in text_string_to_metric_families(text) for s in f.samples}


def test_rules_and_dashboard_name_only_metrics_that_exist(tmp_path):
    exported = exported_names(tmp_path) | {"up"}
    recorded = {r["record"] for r in rules() if "record" in r}
    named = {n for r in rules() for n in NAME.findall(r["expr"])}
    named |= {n for e in dashboard_exprs() for n in NAME.findall(e)}
    assert named - exported - recorded == set()
    assert recorded <= named  # every recording rule is used by an alert or the dashboard


def test_dashboard_queries_parse(tmp_path):
    """Each dashboard query, wrapped as a recording rule, passes `promtool check rules`."""
    exprs = dashboard_exprs()
    assert exprs and json.loads(DASHBOARD.read_text())["uid"] == "ngk-core"
    check = tmp_path / "dashboard-exprs.yml"
    check.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:q{i}", "expr": e} for i, e in enumerate(exprs)]}]}))
    res = promtool("check", "rules", str(check))
    assert res.returncode == 0, res.stdout + res.stderr
