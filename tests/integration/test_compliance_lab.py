"""Compliance against the live netns lab: a hand-made change (vtysh) and a rule violation are
found with the right router, feature and line; --fix --commit restores compliance; the reports
parse; an unreachable router is "unknown". The router's config is restored even on failure."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from controller.cli.main import app
from controller.cli import compliance as cli
from controller.services.deploy import deploy, intended
from controller.southbound.nornir_setup import build_nornir

pytestmark = pytest.mark.integration
ROUTER = "amk-ce1"  # a member-site CE with one link: changes here disturb little
DESCRIPTION = "description hand-made change"
ROUTE = "ip route 0.0.0.0/0 Null0"


def inventory(lab) -> Path:
    return Path(lab.state.dir) / "inventory"


def vtysh(lab, router: str, *commands: str) -> str:
    """vtysh inside the router's UTS namespace (so its hostname is the router's)."""
    rs = lab.state.routers[router]
    args = ["nsenter", f"--uts={rs.uts}", "vtysh", "-N", rs.netns]
    for cmd in commands:
        args += ["-c", cmd]
    out = subprocess.run(args, capture_output=True, text=True, timeout=20, check=True)
    return out.stdout


def line_of(text: str, line: str) -> int:
    """1-based number of the first line whose stripped text is `line`."""
    return [ln.strip() for ln in text.splitlines()].index(line) + 1


def cli_run(*args: str) -> tuple[int, dict]:
    res = CliRunner().invoke(app, [*args, "--json"])
    assert res.stdout.strip(), res.stderr
    return res.exit_code, json.loads(res.stdout)


@pytest.fixture
def lab_router(lab_exclusive) -> Iterator:
    """The exclusive lab; ROUTER's intended config is pushed back afterwards, pass or fail."""
    yield lab_exclusive
    topo = lab_exclusive.topo
    report = deploy(topo, build_nornir(inventory(lab_exclusive)), intended(topo, [ROUTER]),
                    commit=True)
    assert report.ok, report.as_dict()


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_drift_and_violation_found_then_fixed(lab_router, tmp_path: Path) -> None:
    lab = lab_router
    common = ["-t", lab.state.topology, "-i", str(inventory(lab)), "--db", str(tmp_path / "h.db"),
              "--limit", f"{ROUTER},bod-pe1"]
    code, before = cli_run("compliance", *common)
    assert code == 0, before
    assert [r["compliant"] for r in before["routers"]] == [True, True]
    link = next(e.interface for link in lab.topo.links.values() for e in (link.a, link.b)
                if e.router == ROUTER)
    vtysh(lab, ROUTER, "configure terminal", f"interface {link}", DESCRIPTION, "exit", ROUTE)
    running = vtysh(lab, ROUTER, "show running-config")
    html, junit = tmp_path / "r.html", tmp_path / "r.xml"
    code, out = cli_run("compliance", *common, "--html", str(html), "--junit", str(junit))
    assert code == cli.EXIT_VIOLATION
    routers = {r["router"]: r for r in out["routers"]}
    assert routers["bod-pe1"]["compliant"] is True
    bad = routers[ROUTER]
    assert bad["compliant"] is False
    assert [(v["rule"], v["feature"], v["line"]) for v in bad["violations"]] == [
        ("no-static-default", "igp", line_of(running, ROUTE))]
    drift = {(d["op"], d["block"], d["feature"], d["line"], d["text"]) for d in bad["diff"]}
    assert ("-", f"interface {link}", "interfaces", line_of(running, DESCRIPTION),
            DESCRIPTION) in drift
    assert ("-", None, "igp", line_of(running, ROUTE), ROUTE) in drift
    assert {d[2] for d in drift} == {"interfaces", "igp"}
    root = ET.parse(junit).getroot()
    failed = {(s.get("name"), c.get("name")) for s in root.iter("testsuite") for c in s
              if c.find("failure") is not None}
    assert failed == {(ROUTER, "rule no-static-default"), (ROUTER, "drift interfaces"),
                      (ROUTER, "drift igp")}
    parser = _Parser()
    parser.feed(html.read_text())
    parser.close()
    assert ROUTE in "".join(parser.text) and DESCRIPTION in "".join(parser.text)

    code, fixed = cli_run("compliance", *common, "--fix", "--commit")
    assert code == 0, fixed
    assert [(r["router"], r["status"]) for r in fixed["fix"]["routers"]] == [(ROUTER, "confirmed")]
    assert all(r["compliant"] for r in fixed["routers"])
    code, after = cli_run("compliance", *common)
    assert code == 0 and all(r["compliant"] for r in after["routers"])
    code, hist = cli_run("compliance", "history", "--db", str(tmp_path / "h.db"))
    assert [t["non_compliant"] for t in hist["trend"]] == [0, 1, 1, 0, 0]
    assert hist["drifts"] == []


def test_unreachable_router_is_unknown(lab_exclusive, tmp_path: Path) -> None:
    lab = lab_exclusive
    pid = lab.state.routers["unn-ce1"].pids["sshd"]
    os.kill(pid, signal.SIGSTOP)
    try:
        code, out = cli_run("compliance", "-t", lab.state.topology, "-i", str(inventory(lab)),
                            "--no-history", "--limit", "unn-ce1,krs-ce1")
    finally:
        os.kill(pid, signal.SIGCONT)
    status = {r["router"]: (r["compliant"], r["status"]) for r in out["routers"]}
    assert status == {"unn-ce1": (None, "unknown"), "krs-ce1": (True, "compliant")}
    assert code == cli.EXIT_UNKNOWN and out["summary"]["unknown"] == 1
