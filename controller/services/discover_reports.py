"""Discover reports in the formats compliance writes: JUnit XML (for CI systems) and one
self-contained HTML file (docs/discover.md).

JUnit: one <testsuite name="ngk discover">, one <testcase> per kind of difference (a <failure>
listing each difference of that kind, or a pass) and one per router of the model ("reachable":
an <error> when it could not be read). HTML: the summary and the differences, every value escaped.
"""
from __future__ import annotations

import html
import time
import xml.etree.ElementTree as ET

from controller.services.discover import KINDS, DiscoverReport
from controller.services.reports import CSS, html_table


def _line(d: dict) -> str:
    return (f"{d['where']}: model {d['model']!r}, device {d['device']!r}"
            + (f" ({d['detail']})" if d.get("detail") else ""))


def junit_xml(report: DiscoverReport, routers: list[str]) -> str:
    """`routers`: the model's routers, each a "reachable" test case."""
    data = report.as_dict()
    diffs = data["differences"]
    suite = ET.Element("testsuite", name="ngk discover", time=f"{report.seconds:.3f}",
                       timestamp=time.strftime("%Y-%m-%dT%H:%M:%S"))
    failures = errors = 0
    for kind in KINDS:
        if kind == "unreachable-router":
            continue
        case = ET.SubElement(suite, "testcase", classname="discover", name=kind)
        found = [d for d in diffs if d["kind"] == kind]
        if found:
            failures += 1
            fail = ET.SubElement(case, "failure", message=f"{len(found)} {kind} difference(s)",
                                 type=kind)
            fail.text = "\n".join(_line(d) for d in found)
    for router in routers:
        case = ET.SubElement(suite, "testcase", classname=f"discover.{router}", name="reachable")
        if router in report.errors:
            errors += 1
            ET.SubElement(case, "error", message="not read", type="unreachable-router").text = \
                report.errors[router]
    suite.set("tests", str(len(suite)))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def html_report(report: DiscoverReport) -> str:
    data = report.as_dict()
    s, e = data["summary"], html.escape
    verdict = "as modelled" if data["ok"] else f"{s['differences']} difference(s)"
    return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>ngk discover</title>"
            f"<style>{CSS}</style></head><body><h1>ngk discover: {e(verdict)}</h1>"
            f"<p>{s['read']} of {s['routers']} routers read, {s['unreachable']} unreachable, "
            f"{s['links_seen']} links seen by LLDP, {s['seconds']} s.</p><h2>By kind</h2>"
            + html_table(["kind", "differences"], [[k, n] for k, n in s["by_kind"].items()])
            + "<h2>Differences</h2>"
            + html_table(["kind", "where", "model", "device", "detail"],
                         [[d["kind"], d["where"], d["model"], d["device"], d["detail"]]
                          for d in data["differences"]])
            + "</body></html>\n")
