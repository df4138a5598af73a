"""Compliance reports: table rows, JUnit XML (for CI systems) and a single-file HTML report.

JUnit: one <testsuite> per router, one <testcase> per rule and per feature ("drift <feature>");
a violation or a drift is a <failure>, a rule that does not apply or an unknown router's checks
are <skipped>. HTML: one self-contained file (inline CSS, no scripts) with the summary, the
rules, and per router its violations and diff grouped by feature plus the unified diff.
"""
from __future__ import annotations

import html
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from controller.config.features import FEATURES
from controller.services.compliance import RANK, ComplianceReport, RouterResult


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def router_rows(report: ComplianceReport) -> list[list[Any]]:
    """router, status, violations (worst severity), drifted features, error."""
    rows = []
    for r in report.routers:
        worst = max((v.severity for v in r.violations), key=RANK.__getitem__, default="")
        count = "" if r.compliant is None else str(len(r.violations))
        rows.append([r.router, r.status, f"{count} ({worst})" if worst else count,
                     ", ".join(r.drifted), r.error])
    return rows


def finding_rows(report: ComplianceReport) -> list[list[Any]]:
    """router, kind (rule id or diff op), feature, severity, where (block), line, detail."""
    rows = []
    for r in report.routers:
        rows += [[r.router, v.rule, v.feature, v.severity,
                  f"interface {v.interface}" if v.interface else "", v.line, v.message]
                 for v in r.violations]
        rows += [[r.router, "missing" if d.op == "+" else "extra", d.feature, "", d.block or "",
                  d.line, d.text] for d in r.diff]
    return rows


def history_rows(hist: dict[str, Any]) -> tuple[list[list[Any]], list[list[Any]]]:
    """(trend rows, open drift rows) for `ngk compliance history`."""
    trend = [[_when(t["time"]), t["score"], t["routers"], t["compliant"], t["non_compliant"],
              t["unknown"]] for t in hist["trend"]]
    drifts = [[d["router"], d["feature"], d["severity"], _when(d["since"]), d["finding"]]
              for d in hist["drifts"]]
    return trend, drifts


def _testcase(suite: ET.Element, router: str, name: str) -> ET.Element:
    return ET.SubElement(suite, "testcase", classname=f"ngk.compliance.{router}", name=name,
                         time="0")


def _suite(root: ET.Element, r: RouterResult, report: ComplianceReport) -> None:
    suite = ET.SubElement(root, "testsuite", name=r.router, timestamp=time.strftime(
        "%Y-%m-%dT%H:%M:%S", time.localtime(report.time)))
    failures = skipped = tests = 0
    for rule in report.rules:
        case, tests = _testcase(suite, r.router, f"rule {rule.id}"), tests + 1
        state = r.rules.get(rule.id)
        if r.compliant is None or state == "n/a":
            skipped += 1
            ET.SubElement(case, "skipped", message=f"unknown: {r.error}" if r.compliant is None
                          else "rule does not apply to this router")
        elif state == "fail":
            failures += 1
            found = [v for v in r.violations if v.rule == rule.id]
            failure = ET.SubElement(case, "failure", type=rule.severity,
                                    message=f"{rule.severity}: {found[0].message}")
            failure.text = "\n".join(
                f"line {v.line}: {v.message}" if v.line else v.message for v in found
            ) + f"\n{rule.explanation}"
    for feature in FEATURES:
        case, tests = _testcase(suite, r.router, f"drift {feature}"), tests + 1
        lines = [d for d in r.diff if d.feature == feature]
        if r.compliant is None:
            skipped += 1
            ET.SubElement(case, "skipped", message=f"unknown: {r.error}")
        elif lines:
            failures += 1
            failure = ET.SubElement(case, "failure", type="drift",
                                    message=f"{len(lines)} line(s) differ from intended")
            failure.text = "\n".join(f"{d.op} {d.block + ': ' if d.block else ''}{d.text} "
                                     f"(line {d.line})" for d in lines)
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("skipped", str(skipped))
    suite.set("errors", "0")


def junit_xml(report: ComplianceReport) -> str:
    """The report as JUnit XML text."""
    root = ET.Element("testsuites", name="ngk compliance")
    for r in report.routers:
        _suite(root, r, report)
    for key in ("tests", "failures", "skipped"):
        root.set(key, str(sum(int(s.get(key, 0)) for s in root)))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


CSS = """body{font:14px system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;
text-align:left;vertical-align:top}.compliant{color:#1b5e20}.non-compliant{color:#b71c1c}
.unknown{color:#6d6d6d}pre{background:#f6f6f6;padding:.5em;overflow-x:auto}
.add{color:#1b5e20}.del{color:#b71c1c}details{margin:.5em 0}summary{cursor:pointer}"""


def html_table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape('' if c is None else str(c))}</td>"
                                    for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _router_html(r: RouterResult) -> str:
    e = html.escape
    parts = [f'<details{" open" if r.compliant is False else ""}><summary><b>{e(r.router)}'
             f'</b> <span class="{r.status}">{r.status}</span></summary>']
    if r.compliant is None:
        parts.append(f"<p>Running config not read: {e(r.error)}</p></details>")
        return "".join(parts)
    if r.violations:
        parts.append("<h4>Rule violations</h4>" + html_table(
            ["rule", "severity", "feature", "interface", "line", "message", "why"],
            [[v.rule, v.severity, v.feature, v.interface, v.line, v.message, v.explanation]
             for v in r.violations]))
    for feature in r.drifted:
        lines = "".join(
            f'<span class="{"add" if d.op == "+" else "del"}">{e(d.op)} '
            f'{e(d.block + ": ") if d.block else ""}{e(d.text)}  (line {d.line})</span>\n'
            for d in r.diff if d.feature == feature)
        parts.append(f"<h4>Drift: {e(feature)}</h4><pre>{lines}</pre>")
    if r.unified_diff:
        parts.append(f"<h4>Unified diff</h4><pre>{e(r.unified_diff)}</pre>")
    if r.compliant:
        parts.append("<p>Running config equals the intended config; every rule passes.</p>")
    return "".join(parts) + "</details>"


def html_report(report: ComplianceReport) -> str:
    """The report as one self-contained HTML page."""
    data = report.as_dict()
    s, e = data["summary"], html.escape
    rules = html_table(["rule", "severity", "feature", "passed", "failed", "failed on", "why"],
                   [[r["id"], r["severity"], r["feature"], r["passed"], r["failed"],
                     ", ".join(r["failed_on"]), r["explanation"]] for r in data["rules"]])
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>ngk compliance {e(_when(report.time))}</title><style>{CSS}</style></head>"
        f"<body><h1>ngk compliance</h1><p>Run {e(report.run)} at {e(_when(report.time))}; "
        f"score <b>{'n/a' if report.score is None else f'{report.score:g} %'}</b>; "
        f"{s['compliant']} compliant, {s['non_compliant']} non-compliant, {s['unknown']} "
        f"unknown of {s['routers']} routers; {s['failing_at_threshold']} violation(s) at or "
        f"above {e(report.threshold)}.</p><h2>Routers</h2>"
        + html_table(["router", "status", "violations", "drifted features", "error"],
                 router_rows(report))
        + f"<h2>Rules</h2>{rules}<h2>Details</h2>"
        + "".join(_router_html(r) for r in report.routers) + "</body></html>\n")


def write(path: Path, text: str) -> None:
    """Write a report file atomically (a reader never sees half a report)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
