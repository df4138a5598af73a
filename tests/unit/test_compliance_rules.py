"""Compliance rules and per-feature diffs on rendered and hand-modified configs."""
from __future__ import annotations

import pytest

from controller.config.features import feature_diff, parse
from controller.config.render import render_config
from controller.config.rules import check, load_rules
from controller.model.load import load_topology
from controller.model.source import InputError

TOPO = load_topology()
RULES = {r.id: r for r in load_rules()}


def link_interfaces(router: str) -> set[str]:
    return {e.interface for link in TOPO.links.values() for e in (link.a, link.b)
            if e.router == router}


@pytest.mark.parametrize("router", sorted(TOPO.routers))
def test_intended_configs_pass_every_rule(router):
    config = render_config(TOPO, router)
    assert [v for r in RULES.values() for v in check(r, config, link_interfaces(router))] == []
    assert feature_diff(config, config) == []


def test_missing_bfd_is_found_with_router_line_and_interface():
    config = render_config(TOPO, "osl-cr1")
    lines = config.splitlines()
    victim = next(i for i, ln in enumerate(lines) if ln == " ip ospf bfd")
    iface = next(ln.split()[1] for ln in reversed(lines[:victim]) if ln.startswith("interface "))
    running = "\n".join(lines[:victim] + lines[victim + 1:]) + "\n"
    found = check(RULES["bfd-on-core-links"], running, link_interfaces("osl-cr1"))
    assert [(v.interface, v.feature) for v in found] == [(iface, "bfd")]
    diff = feature_diff(config, running)
    assert [(d.op, d.text, d.block, d.feature, d.line) for d in diff] == [
        ("+", "ip ospf bfd", f"interface {iface}", "bfd", victim + 1)]


def test_drift_and_forbidden_lines():
    config = render_config(TOPO, "bod-pe1")
    running = config.replace("hostname bod-pe1\n", "hostname bod-pe1\nip route 0.0.0.0/0 10.9.9.9\n"
                             "snmp-server community public RO\n")
    ids = {v.rule: v for r in RULES.values() for v in check(r, running, link_interfaces("bod-pe1"))}
    assert set(ids) == {"no-static-default", "no-snmp-public-community"}
    assert ids["no-static-default"].line == 4
    drift = feature_diff(config, running)
    assert {(d.op, d.feature) for d in drift} == {("-", "igp"), ("-", "security")}


def test_parse_assigns_blocks_and_features():
    lines = parse("interface eth1\n ip address 10.0.0.0/31\n ip ospf cost 5\n ip ospf bfd\nexit\n"
                  "router ospf\n ospf router-id 1.1.1.1\nexit\nbfd\n profile core\n  "
                  "transmit-interval 50\n exit\nexit\nhostname r1\n")
    assert [(ln.text, ln.block, ln.feature) for ln in lines] == [
        ("interface eth1", None, "interfaces"),
        ("ip address 10.0.0.0/31", "interface eth1", "interfaces"),
        ("ip ospf cost 5", "interface eth1", "igp"),
        ("ip ospf bfd", "interface eth1", "bfd"),
        ("router ospf", None, "igp"),
        ("ospf router-id 1.1.1.1", "router ospf", "igp"),
        ("bfd", None, "bfd"), ("profile core", "bfd", "bfd"),
        ("transmit-interval 50", "bfd", "bfd"),
        ("hostname r1", None, "management")]


@pytest.mark.parametrize("body,fragment,line", [
    ("rules:\n  - {id: x, severity: high, feature: igp, explanation: e, must_contain: ['(']}\n",
     "invalid regular expression", 2),
    ("rules:\n  - {id: x, severity: high, feature: igp, explanation: e, must_contain: ['.*']}\n",
     "matches everything", 2),
    ("rules:\n  - {id: x, severity: huge, feature: igp, explanation: e, must_contain: [a]}\n",
     "severity must be one of", 2),
    ("rules:\n  - {id: x, severity: high, feature: igp, explanation: e}\n", "has no check", 2),
    ("rules:\n  - {id: x, severity: high, feature: bgp, explanation: e, must_contain: [a]}\n",
     "feature must be one of", 2),
    ("rules:\n  - {id: x, severity: high, feature: igp, explanation: e, must_contain: [a]}\n"
     "  - {id: x, severity: high, feature: igp, explanation: e, must_contain: [b]}\n",
     "duplicate rule id", 3),
])
def test_bad_rules_are_rejected_at_load(tmp_path, body, fragment, line):
    path = tmp_path / "rules.yaml"
    path.write_text(body)
    with pytest.raises(InputError) as exc:
        load_rules(path)
    match = [d for d in exc.value.diagnostics if fragment in d.message]
    assert match and match[0].line == line and match[0].path.startswith("rules[")
