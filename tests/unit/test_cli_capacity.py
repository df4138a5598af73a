"""`ngk capacity` through the real root app: a triangle whose loads are computed by hand below,
the reference topology with the gravity model, the picture, bad input and the exit status."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from controller.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data" / "capacity"
TRIANGLE = ["-t", str(DATA / "triangle.yaml"), "-d", str(DATA / "triangle-demands.yaml"),
            "--kinds", "link"]
LINK_FIELDS = {"id", "capacity_gbps", "load_gbps", "utilisation", "worst_utilisation",
               "worst_failure", "by_class"}
DEMAND_FIELDS = {"src", "dst", "class", "gbps", "routed_gbps", "worst_failure",
                 "cut_off_failure"}
SUMMARY_FIELDS = {"max_utilisation", "scenarios", "congested_scenarios",
                  "priority_at_risk_scenarios", "unrouted_gbps", "cut_off_gbps"}


def run(*args: str):
    return CliRunner().invoke(app, ["capacity", *args])


def as_json(*args: str) -> tuple[int, dict]:
    res = run(*args, "--json")
    assert "Traceback" not in res.output
    return res.exit_code, json.loads(res.stdout)


# Triangle a-b (10 Gbps), b-c (10), a-c (5), metrics 10; demands a->c 4 clinical, a->b 2
# priority, c->a 1 best-effort; priority share 0.3.
#   intact:      a->c on ac (4 of 5), a->b on ab (2), c->a on ac backwards (1)
#   ab fails:    a->b goes a-c-b: ac carries 4 + 2 = 6 of 5 (congested), priority 2 > 0.3 x 5
#   ac fails:    a->c goes a-b-c: ab 2 + 4 = 6, bc 4; c->a goes c-b-a: 1 the other way
#   bc fails:    nothing moves
HAND = {  # link: (load, worst load, worst failure, by_class worst)
    "ac": (4.0, 6.0, [{"kind": "link", "id": "ab"}],
           {"priority": 2.0, "clinical": 4.0, "best-effort": 1.0}),
    "ab": (2.0, 6.0, [{"kind": "link", "id": "ac"}],
           {"priority": 2.0, "clinical": 4.0, "best-effort": 1.0}),
    "bc": (0.0, 4.0, [{"kind": "link", "id": "ac"}],
           {"priority": 2.0, "clinical": 4.0, "best-effort": 1.0}),
}


def test_triangle_loads_match_the_hand_computation() -> None:
    code, data = as_json(*TRIANGLE)
    assert code == 1  # ac goes over 100 % when ab fails
    assert {lk["id"] for lk in data["links"]} == set(HAND)
    for lk in data["links"]:
        assert set(lk) == LINK_FIELDS
        load, worst, failure, by_class = HAND[lk["id"]]
        assert lk["load_gbps"] == pytest.approx(load)
        assert lk["utilisation"] == pytest.approx(load / lk["capacity_gbps"])
        assert lk["worst_utilisation"] == pytest.approx(worst / lk["capacity_gbps"])
        assert lk["worst_failure"] == failure
        assert lk["by_class"] == pytest.approx(by_class)
    assert data["summary"] == pytest.approx({
        "max_utilisation": 1.2, "scenarios": 4, "congested_scenarios": 1,
        "priority_at_risk_scenarios": 1, "unrouted_gbps": 0.0, "cut_off_gbps": 0.0})
    assert [(d["src"], d["dst"], d["class"], d["gbps"], d["routed_gbps"], d["worst_failure"])
            for d in data["demands"]] == [
        ("router:a", "router:c", "clinical", 4.0, 4.0, []),
        ("router:a", "router:b", "priority", 2.0, 2.0, []),
        ("router:c", "router:a", "best-effort", 1.0, 1.0, [])]
    assert all(set(d) == DEMAND_FIELDS for d in data["demands"])
    assert data["demands_source"].endswith("triangle-demands.yaml")


@pytest.mark.parametrize(("args", "code", "scenarios"), [
    (("--depth", "0"), 0, 1),                       # intact: ac at 80 %
    (("--depth", "0", "--threshold", "0.7"), 1, 1),  # ... over a 70 % threshold
    (("--depth", "1", "--threshold", "2"), 1, 4),    # priority over its share when ab fails
])
def test_exit_status(args: tuple[str, ...], code: int, scenarios: int) -> None:
    got, data = as_json(*TRIANGLE, *args)
    assert got == code
    assert data["summary"]["scenarios"] == scenarios


def test_table_is_worst_first_with_units_and_fits_80_columns() -> None:
    res = run(*TRIANGLE)
    assert res.exit_code == 1
    lines = res.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), res.stdout
    rows = [line.split()[0] for line in lines if re.match(r"^ (ab|bc|ac) ", line)]
    assert rows == ["ac", "ab", "bc"]
    assert "(Gbps)" in res.stdout and "(%)" in res.stdout
    assert re.search(r"ac\s+5\s+80\s+120\s+link:ab\s+2", res.stdout)
    assert "from " in res.stdout and "triangle-demands.yaml" in res.stdout


def test_reference_with_the_gravity_model() -> None:
    code, data = as_json("--depth", "1")
    assert code == 0
    assert data["demands_source"] == "gravity"
    assert set(data["summary"]) == SUMMARY_FIELDS
    assert data["summary"]["scenarios"] > 1 and data["demands"]
    for lk in data["links"]:
        assert set(lk) == LINK_FIELDS
        assert lk["worst_utilisation"] >= lk["utilisation"] - 1e-9
        assert lk["utilisation"] == pytest.approx(lk["load_gbps"] / lk["capacity_gbps"])
    assert data["summary"]["max_utilisation"] == pytest.approx(
        max(lk["worst_utilisation"] for lk in data["links"]))
    # every member loses its traffic when its own site fails, but only some are cut off while
    # up: Haukeland's two links share a duct (an SRLG), AMK has one link; Ahus has two apart
    cut = {d["src"]: d["cut_off_failure"] for d in data["demands"]}
    assert cut["site:hauk"] == [{"kind": "srlg", "id": "duct-haukeland-campus"}]
    assert cut["site:amk-bod"] == [{"kind": "span", "id": "amk-bod"}]
    assert cut["site:ahus"] == []
    assert all(d["routed_gbps"] == 0.0 for d in data["demands"])
    text = run("--top", "5").stdout
    assert "gravity model" in text
    assert "the 5 most loaded of 25 links" in " ".join(text.split())


def test_bad_demands_file_is_one_line_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "demands.yaml"
    bad.write_text("demands:\n  - {src: a, dst: c, gbps: 4}\n  - {src: a, dst: nowhere, gbps: 1}\n")
    res = subprocess.run([sys.executable, "-m", "controller.cli", "capacity", "-t",
                          str(DATA / "triangle.yaml"), "-d", str(bad)],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr and res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith(f"{bad}:3: error:") and "nowhere" in lines[0]


@pytest.mark.parametrize("args", [("--kinds", "comet"), ("--depth", "3"),
                                  ("--draw", "/nonexistent/x.png"), ("--draw", "x.gif")])
def test_bad_arguments_exit_2_without_traceback(args: tuple[str, ...]) -> None:
    res = run(*TRIANGLE[:4], *args)
    assert res.exit_code == 2 and "Traceback" not in res.output


def _stroke(svg: str, gid: str) -> tuple[int, int, int]:
    """The stroke colour (r, g, b) of the SVG group `gid`."""
    group = re.search(rf'<g id="{gid}">(.*?)</g>', svg, re.S)
    assert group, gid
    found = re.search(r"stroke: #([0-9a-f]{6})", group.group(1))
    assert found, group.group(1)
    return tuple(int(found.group(1)[i:i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]


def test_picture_colours_a_congested_link_apart_from_a_quiet_one(tmp_path: Path) -> None:
    svg, png = tmp_path / "cap.svg", tmp_path / "cap.png"
    code, data = as_json(*TRIANGLE, "--draw", str(svg))
    assert code == 1 and data["picture"] == str(svg)
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    congested, quiet = _stroke(text, "link-ac"), _stroke(text, "link-bc")  # 120 % vs 40 %
    assert congested[0] > 150 > congested[1]  # red at and over 100 %
    assert quiet[1] > quiet[0]  # green below half
    assert 'id="bar-ac"' in text
    assert run(*TRIANGLE, "--draw", str(png)).exit_code == 1
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


# --- the plan ------------------------------------------------------------------------------
def plan_json(*args: str) -> dict:
    res = CliRunner().invoke(app, ["capacity", "plan", *args, "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_plan_on_the_triangle_by_hand(tmp_path: Path) -> None:
    # threshold 0.8: ac must carry 6 Gbps (ab failed) at <= 80 %: 7.5 Gbps; one more 5 Gbps
    # circuit. ab: 6 of 10 = 60 %, bc 40 %: nothing.
    data = plan_json(*TRIANGLE)
    assert [(u["id"], u["new_capacity_gbps"], u["steps"], u["cost"]) for u in data["upgrades"]] \
        == [("ac", 10.0, 1, 1.0)]
    assert data["summary"]["max_utilisation_after"] == pytest.approx(0.6)
    # threshold 0.5, steps of 1 Gbps at cost 2, ab in 100 Gbps steps at cost 50:
    # ac needs 6 / 0.5 = 12 Gbps: 7 steps, cost 14; ab needs 12: one 100 Gbps step, cost 50;
    # bc needs max(4 / 0.5, priority 2 / 0.3) = 8 <= 10
    steps = tmp_path / "steps.yaml"
    steps.write_text("default: {step_gbps: 1, cost: 2}\nlinks:\n  ab: {step_gbps: 100, cost: 50}\n")
    data = plan_json(*TRIANGLE, "--threshold", "0.5", "--steps", str(steps))
    assert [(u["id"], u["new_capacity_gbps"], u["steps"], u["cost"]) for u in data["upgrades"]] \
        == [("ab", 110.0, 1, 50.0), ("ac", 12.0, 7, 14.0)]
    assert data["summary"]["total_cost"] == 64.0 and data["summary"]["added_gbps"] == 107.0
    assert data["summary"]["max_utilisation_after"] == pytest.approx(0.5)


def test_plan_guarantee_holds_and_no_step_is_spare(tmp_path: Path) -> None:
    """Re-analyse the reference with the planned capacities: no single failure loads a link
    over the threshold or priority over its share; one step fewer on any upgraded link would."""
    threshold, kinds = 0.04, "span,srlg,site,router"
    data = plan_json("--threshold", str(threshold), "--kinds", kinds)
    assert data["upgrades"]
    doc = yaml.safe_load((ROOT / "topology" / "ngk.yaml").read_text())
    new = {u["id"]: u["new_capacity_gbps"] for u in data["upgrades"]}
    for link in doc["links"]:
        link["capacity_gbps"] = new.get(link["id"], link.get("capacity_gbps"))
        if link["capacity_gbps"] is None:
            del link["capacity_gbps"]
    path = tmp_path / "upgraded.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    code, after = as_json("-t", str(path), "--kinds", kinds, "--threshold", str(threshold))
    assert code == 0
    assert after["summary"]["max_utilisation"] <= threshold + 1e-9
    assert after["summary"]["priority_at_risk_scenarios"] == 0
    worst = {lk["id"]: lk for lk in after["links"]}
    for u in data["upgrades"]:
        lk = worst[u["id"]]
        load = lk["worst_utilisation"] * lk["capacity_gbps"]
        assert load == pytest.approx(u["worst_utilisation"] * u["capacity_gbps"])  # same routes
        less = u["new_capacity_gbps"] - u["step_gbps"]
        assert load > threshold * less + 1e-9 or \
            lk["by_class"]["priority"] > after["priority_share"] * less + 1e-9, u["id"]


def test_bad_steps_file_is_reported_with_its_line(tmp_path: Path) -> None:
    steps = tmp_path / "steps.yaml"
    steps.write_text("default: {step_gbps: 10}\nlinks:\n  zz: {cost: 1}\n  ab: {cost: -1}\n")
    res = CliRunner().invoke(app, ["capacity", "plan", *TRIANGLE, "--steps", str(steps)])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert f"{steps}:3: error: links.zz: unknown link 'zz'" in res.stderr
    assert f"{steps}:4: error: links.ab.cost: must be a number > 0, got -1" in res.stderr


METRICS_FIELDS = {"status", "guarantee", "changes", "max_utilisation_after", "evaluations",
                  "latency", "stopped", "impossible_failure", "rejected_for_latency"}
SQUARE = ["-t", str(DATA / "square.yaml"), "-d", str(DATA / "square-demands.yaml"),
          "--kinds", "link"]


def test_plan_metrics_replace_four_circuits() -> None:
    """The square (tests/unit/test_capacity_metrics.py): a-d at metric 20 instead of four
    circuits."""
    data = plan_json(*SQUARE)
    assert data["summary"]["links_upgraded"] == 4
    metrics = data["metrics"]
    assert set(metrics) == METRICS_FIELDS and metrics["status"] == "found"
    assert metrics["changes"] == [{"id": "ad", "metric": 30, "new_metric": 20}]
    table = CliRunner().invoke(app, ["capacity", "plan", *SQUARE]).output
    assert "IGP metrics instead of hardware: ad 30 -> 20; worst utilisation then 45.0 %" in table
    assert "metrics" not in plan_json(*SQUARE, "--no-metrics")


@pytest.mark.parametrize("topo, demands", [
    (DATA / "square.yaml", DATA / "square-demands.yaml"),
    (ROOT / "topology" / "ngk.yaml", DATA / "reference-core-demands.yaml")])
def test_plan_metrics_hold_when_applied(tmp_path: Path, topo: Path, demands: Path) -> None:
    """The topology with the plan's metrics passes `ngk capacity --threshold 0.8` (every single
    failure of the kinds), and the topology as it is does not."""
    kinds = ["--kinds", "link,span,srlg,site"]
    metrics = plan_json("-t", str(topo), "-d", str(demands), *kinds)["metrics"]
    assert metrics["status"] == "found" and metrics["changes"]
    doc = yaml.safe_load(topo.read_text())
    new = {c["id"]: c["new_metric"] for c in metrics["changes"]}
    for link in doc["links"]:
        if link["id"] in new:
            link["metric"] = new[link["id"]]
    path = tmp_path / "with-metrics.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    check = ["-d", str(demands), *kinds, "--threshold", "0.8"]
    assert run("-t", str(topo), *check).exit_code == 1
    code, after = as_json("-t", str(path), *check)
    assert code == 0
    assert after["summary"]["max_utilisation"] == pytest.approx(metrics["max_utilisation_after"])


def test_plan_metrics_impossible_names_the_scenario() -> None:
    data = plan_json(*TRIANGLE)
    assert data["metrics"]["status"] == "impossible"
    assert data["metrics"]["impossible_failure"] == [{"kind": "link", "id": "ab"}]
    table = CliRunner().invoke(app, ["capacity", "plan", *TRIANGLE]).output
    assert "in the scenario link:ab no routing at all keeps every link within the limits" in \
        " ".join(table.split())
