"""Playbooks: validation with file/line errors, on_failure semantics, targets, what-if asserts."""
from __future__ import annotations

from pathlib import Path

import pytest

from controller import data
from controller.model.load import load_topology
from controller.model.select import select_targets
from controller.model.source import InputError
from controller.playbook.model import load_playbook
from controller.playbook.registry import (
    ACTIONS, ActionAlreadyRegistered, Context, Outcome, Registry)
from controller.playbook.runner import run_playbook

TOPO = load_topology()
PLAYBOOKS = sorted(data.path("playbooks").glob("*.yaml"))
CALLS: list[str] = []


LOCAL = Registry(ACTIONS)  # the built-in actions plus this test's own
action = LOCAL.action


@action("test-ok", optional=("label",))
def _ok(ctx, targets, args):
    CALLS.append(f"ok:{args.get('label')}:{len(targets)}")
    ctx.undo.append((f"undo {args.get('label')}",
                     lambda: CALLS.append(f"undo:{args.get('label')}")))
    return Outcome(True, "fine", changed=True)


@action("test-fail")
def _fail(ctx, targets, args):
    CALLS.append("fail")
    return Outcome(False, "broken")


@action("test-interrupt")
def _interrupt(ctx, targets, args):
    raise KeyboardInterrupt


@action("test-undo-fails")
def _undo_fails(ctx, targets, args):
    ctx.undo.append(("undrain",
                     lambda: Outcome(False, "2 problems", {"problems": ["r1: timeout"]})))
    return Outcome(True, "drained", changed=True)


def book(tmp_path: Path, body: str):
    path = tmp_path / "p.yaml"
    path.write_text(body)
    return path


@pytest.mark.parametrize("path", PLAYBOOKS, ids=[p.stem for p in PLAYBOOKS])
def test_shipped_playbooks_validate(path):
    pb = load_playbook(path)
    assert pb.steps and all(s.action in ACTIONS for s in pb.steps)


@pytest.mark.parametrize("body,line,path,fragment", [
    ("steps:\n  - name: a\n    action: nope\n", 3, "steps[0].action", "unknown action 'nope'"),
    ("steps:\n  - name: a\n    action: test-ok\n    targets: {colour: red}\n", 4,
     "steps[0].targets.colour", "unknown target filter"),
    ("steps:\n  - name: a\n    action: lab-cut\n", 2, "steps[0].args", "needs argument 'element'"),
    ("steps:\n  - name: a\n    action: test-ok\n    args: {size: 3}\n", 4, "steps[0].args",
     "has no argument 'size'"),
    ("steps:\n  - name: a\n    action: test-ok\n    on_failure: panic\n", 4,
     "steps[0].on_failure", "on_failure must be one of"),
    ("steps:\n  - name: a\n    action: test-ok\n    targets: {site: '{{ where }}'}\n", 2,
     "steps[0]", "undefined variable 'where'"),
    ("steps:\n  - {name: a, action: test-ok}\n  - {name: a, action: test-ok}\n", 3,
     "steps[1].name", "duplicate step name"),
    ("steps: []\n", 1, "", "non-empty list 'steps'"),
])
def test_bad_playbooks_are_rejected_before_running(tmp_path, body, line, path, fragment):
    with pytest.raises(InputError) as exc:
        load_playbook(book(tmp_path, body), actions=LOCAL)
    match = [d for d in exc.value.diagnostics if fragment in d.message]
    assert match and match[0].line == line and match[0].path == path


def run(tmp_path, body, **kw):
    CALLS.clear()
    report = run_playbook(load_playbook(book(tmp_path, body), actions=LOCAL), Context(TOPO, **kw),
                          log_file=tmp_path / "runs.jsonl")
    return report, [s["status"] for s in report["steps"]]


def test_stop_continue_rollback(tmp_path):
    report, statuses = run(tmp_path, "steps:\n  - {name: a, action: test-ok, args: {label: a}}\n"
                           "  - {name: b, action: test-fail, on_failure: continue}\n"
                           "  - {name: c, action: test-ok, args: {label: c}}\n"
                           "  - {name: d, action: test-fail}\n  - {name: e, action: test-ok}\n")
    assert statuses == ["ok", "failed", "ok", "failed", "skipped"] and not report["ok"]
    assert CALLS == ["ok:a:15", "fail", "ok:c:15", "fail"]  # stop: no undo
    report, statuses = run(tmp_path, "steps:\n  - {name: a, action: test-ok, args: {label: a}}\n"
                           "  - {name: b, action: test-ok, args: {label: b}}\n"
                           "  - {name: c, action: test-fail, on_failure: rollback}\n"
                           "  - {name: d, action: test-ok}\n")
    assert CALLS == ["ok:a:15", "ok:b:15", "fail", "undo:b", "undo:a"]
    assert report["rolled_back"] and statuses == ["ok", "ok", "failed", "ok", "ok", "skipped"]
    assert (tmp_path / "runs.jsonl").read_text().count("\n") == 2


def test_interrupt_restores_what_was_done(tmp_path):
    report, _ = run(tmp_path, "steps:\n  - {name: a, action: test-ok, args: {label: a}}\n"
                    "  - {name: b, action: test-interrupt}\n  - {name: c, action: test-ok}\n")
    assert report["interrupted"] and report["rolled_back"] and CALLS == ["ok:a:15", "undo:a"]


def test_targets_and_variables(tmp_path):
    assert select_targets(TOPO, {"site": ["Oslo"]}) == ["osl-cr1", "osl-cr2"]
    assert select_targets(TOPO, {"role": ["core"], "site": ["trd"]}) == ["trd-cr1", "trd-cr2"]
    assert select_targets(TOPO, {"kind": ["member"]}, limit=["unn-ce1", "osl-cr1"]) == ["unn-ce1"]
    assert select_targets(TOPO, {"group": ["region_north"], "role": ["pe"]}) == ["bod-pe1"]
    pb = load_playbook(PLAYBOOKS[[p.stem for p in PLAYBOOKS].index("drain-site")], {"site": "brg"})
    assert pb.steps[2].targets == {"site": ["brg"]}
    assert pb.steps[0].args["failure"] == pb.steps[1].args["failure"] == ["site:brg"]


def test_what_if_asserts_on_the_reference(tmp_path):
    body = ("steps:\n  - {name: a, action: assert, args: {condition: %s, failure: [%s]}}\n")
    assert run(tmp_path, body % ("services-connected", "'site:tos'"))[0]["ok"]
    assert run(tmp_path, body % ("no-member-isolated", "'site:tos'"))[0]["ok"]
    # Trondheim is the north's only way south: without it Oslo loses Tromsø
    report, _ = run(tmp_path, body % ("no-datacentre-pair-lost", "'site:trd'"))
    assert not report["ok"] and "violated: [['osl', 'tos']]" in report["steps"][0]["summary"]
    report, _ = run(tmp_path, body % ("no-member-isolated", "'span:amk-bod'"))
    assert not report["ok"] and "amk-bod" in report["steps"][0]["summary"]


@pytest.mark.parametrize("limit, message", [
    ("nosuch-*", "--limit 'nosuch-*' matches no router"),
    ("colour=red", "--limit 'colour=red': use site="),
])
def test_play_rejects_a_bad_limit_before_running(limit, message):
    from typer.testing import CliRunner

    from controller.cli.main import app
    book = next(p for p in PLAYBOOKS if p.name == "compliance.yaml")
    result = CliRunner().invoke(app, ["play", str(book), "--dry-run",
                                      "--limit", limit, "--json"])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert result.stdout.strip() == ""  # no run report: nothing ran


def test_shipped_playbooks_by_name(tmp_path: Path, monkeypatch) -> None:
    from controller.cli.play import shipped
    monkeypatch.chdir(tmp_path)  # outside the checkout, as after a wheel install
    assert shipped(Path("failover-drill")) == data.path("playbooks", "failover-drill.yaml")
    assert shipped(Path("failover-drill")).is_file()
    assert shipped(Path("mine.yaml")) == Path("mine.yaml")  # a file path stays a file path
    (tmp_path / "drain-site").write_text("steps: []\n")
    assert shipped(Path("drain-site")) == Path("drain-site")  # an existing file wins


def test_a_second_action_under_one_name_is_refused():
    with pytest.raises(ActionAlreadyRegistered, match="'test-ok'"):
        action("test-ok")(_ok)
    assert "test-ok" not in ACTIONS  # test actions stay out of the built-in registry


def test_an_undo_that_returns_failures_is_not_reported_as_undone(tmp_path):
    report, statuses = run(tmp_path, "steps:\n  - {name: a, action: test-undo-fails}\n"
                                     "  - {name: b, action: test-fail, on_failure: rollback}\n")
    assert statuses == ["ok", "failed", "failed"] and report["rolled_back"] is False
    assert report["steps"][-1]["summary"] == "NOT undone: 2 problems"


def test_a_variable_naming_nothing_fails_validation_not_the_run():
    drain = PLAYBOOKS[[p.stem for p in PLAYBOOKS].index("drain-site")]
    with pytest.raises(InputError) as exc:
        load_playbook(drain, {"site": "nowhere"}, TOPO)
    assert {d.path for d in exc.value.diagnostics} == {
        "steps[0].args.failure", "steps[1].args.failure", "steps[2].targets.site",
        "steps[5].targets.site"}
    assert load_playbook(drain, {"site": "brg"}, TOPO).vars["site"] == "brg"


def test_capacity_assert_on_the_reference(tmp_path):
    """With Hamar out, the gravity model's traffic still fits (at most 50 % on a link, also
    under any further single failure); against a 10 % threshold the busiest links are named,
    with the further failure that loads them most."""
    body = ("steps:\n  - {name: a, action: assert, args: {condition: capacity-within, "
            "failure: ['site:ham'], %s}}\n")
    report, _ = run(tmp_path, body % "threshold: 0.8, depth: 1")
    assert report["ok"], report["steps"][0]["summary"]
    report, _ = run(tmp_path, body % "threshold: 0.1")
    summary = report["steps"][0]["summary"]
    assert not report["ok"] and "capacity-within with site:ham failed: violated" in summary
    assert "amk-1 at 50%" in summary
    report, _ = run(tmp_path, body % "threshold: 0.1, depth: 1")
    assert " with " in report["steps"][0]["summary"]
    report, _ = run(tmp_path, body % "threshold: lots")
    assert not report["ok"] and "threshold must be a number" in report["steps"][0]["summary"]
