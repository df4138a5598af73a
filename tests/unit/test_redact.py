"""The one redactor: each platform's secret-bearing lines lose their value and keep their
keywords; compliance output (JSON, JUnit, HTML, the store's history) carries no secret."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from controller.config.render import render_config
from controller.config.rules import load_rules
from controller.model.load import load_topology
from controller.redact import MASK, redact
from controller.services import compliance as service
from controller.services import reports
from controller.store import Store

# (line with the secret "S3cr3t-value", what must remain of it)
CASES = [
    ('set system root-authentication encrypted-password "S3cr3t-value"',
     'encrypted-password "<redacted>"'),
    ('    authentication-key "S3cr3t-value"; ## SECRET-DATA', 'authentication-key "<redacted>";'),
    ('        authentication-password "S3cr3t-value";', 'authentication-password "<redacted>";'),
    ('        privacy-password "S3cr3t-value";', 'privacy-password "<redacted>";'),
    ("username admin privilege 15 secret sha512 S3cr3t-value", "secret sha512 <redacted>"),
    ("username admin secret 0 S3cr3t-value", "secret 0 <redacted>"),
    ("snmp-server user ngk g v3 localized 0011 auth sha S3cr3t-value priv aes S3cr3t-value",
     "auth sha <redacted> priv aes <redacted>"),
    ("snmp-server user ngk g v3 auth sha512 S3cr3t-value priv aes256 S3cr3t-value",
     "auth sha512 <redacted> priv aes256 <redacted>"),
    ("tacacs-server host 10.0.0.1 key 7 S3cr3t-value", "key 7 <redacted>"),
    ("radius-server key S3cr3t-value", "radius-server key <redacted>"),
    ("snmp-server community S3cr3t-value ro", "community <redacted> ro"),
    ("rocommunity S3cr3t-value 10.0.0.0/8", "rocommunity <redacted> 10.0.0.0/8"),
    ("    community S3cr3t-value {", "community <redacted> {"),
    ('createUser ngk SHA-512 "S3cr3t-value" AES-256 "S3cr3t-value"',
     'SHA-512 "<redacted>" AES-256 "<redacted>"'),
    (" ip ospf message-digest-key 1 md5 S3cr3t-value", "md5 <redacted>"),
    (" ip ospf authentication-key S3cr3t-value", "authentication-key <redacted>"),
    ("password S3cr3t-value", "password <redacted>"),
]


@pytest.mark.parametrize("line,kept", CASES, ids=[c[0].strip()[:40] for c in CASES])
def test_each_secret_is_masked_and_its_keywords_kept(line, kept):
    out = redact(line)
    assert "S3cr3t-value" not in out and kept in out
    assert redact(out) == out  # idempotent: redacting a redacted text changes nothing


def test_plain_config_passes_unchanged():
    text = render_config(load_topology(), "trd-cr1")
    plain = "\n".join(x for x in text.splitlines() if MASK not in redact(x))
    assert redact(plain) == plain and len(plain.splitlines()) > 20


def test_compliance_outputs_carry_no_secret(tmp_path: Path):
    topo = load_topology()
    router = sorted(topo.routers)[0]
    leaked = ["snmp-server community LEAK-1 ro", "username x secret sha512 LEAK-2",
              "tacacs-server host 192.0.2.1 key 7 LEAK-3", 'authentication-key "LEAK-4";']
    running = {r: render_config(topo, r) for r in topo.routers}
    running[router] += "\n".join(leaked) + "\n"
    report = service.assess(topo, running, {}, load_rules())
    store = Store(tmp_path / "h.db")
    assert service.record(store, report)
    store.flush()
    outputs = {"json": json.dumps(report.as_dict()), "junit": reports.junit_xml(report),
               "html": reports.html_report(report),
               "store": "\n".join(str(row) for table in ("compliance_runs",)
                                  for row in sqlite3.connect(tmp_path / "h.db").execute(
                                      f"SELECT * FROM {table}"))}
    assert MASK in outputs["json"]  # the drift is reported, its value is not
    for name, text in outputs.items():
        assert "LEAK-" not in text, name
