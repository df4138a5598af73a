"""Output people can read: tables at 80 columns when piped, ids whole, plain text (no markup, no
emoji), yes/no, units in headers; the commands' tables driven through the real root app."""
from __future__ import annotations

import io
import json
from pathlib import Path

import yaml
from rich.console import Console
from typer.testing import CliRunner

from controller.analysis import paths as analysis_paths
from controller.cli import common
from controller.cli import paths as cli_paths
from controller.cli.common import Col, cell, table
from controller.cli.main import app

REFERENCE = Path(__file__).resolve().parents[2] / "topology" / "ngk.yaml"


def render(width: int, *args, **kwargs) -> str:
    out = io.StringIO()
    saved = common.console
    common.console = Console(file=out, width=width, emoji=False, highlight=False)
    try:
        table(*args, **kwargs)
    finally:
        common.console = saved
    return out.getvalue()


def test_ids_are_never_cut_into_ambiguity() -> None:
    text = render(30, "routers", ["router", "site", Col("gap (ms)", right=True), "note"],
                  [["osl-cr1", "osl", 1.25, "a long note that has to wrap somewhere"],
                   ["osl-cr2", "osl", None, "short"]])
    assert "…" not in text
    assert "osl-cr1" in text and "osl-cr2" in text
    assert all(len(line) <= 30 for line in text.splitlines())


def test_cells_are_plain_text_with_yes_no_and_one_empty_mark() -> None:
    text = render(80, "t [bold]x[/bold] :100:", ["a", "b", "c", "d"],
                  [["file:100: bad", "[red]x[/red]", True, None],
                   ["", ":thumbs_up:", False, 0.1 + 0.2]])
    assert "file:100: bad" in text and "[red]x[/red]" in text and ":thumbs_up:" in text
    assert "t [bold]x[/bold] :100:" in text and "💯" not in text
    assert " yes " in text and " no " in text and "True" not in text
    assert "0.3 " in text and "0.30000000000000004" not in text
    assert (cell(None), cell(True), cell(False), cell(2.50), cell(3)) == \
        ("-", "yes", "no", "2.5", "3")


def test_wide_columns_drop_out_and_say_so() -> None:
    narrow = render(80, "t", ["a", Col("detail", wide=True)], [["x", "only wide"]])
    assert "only wide" not in narrow and "--wide adds: detail" in narrow
    assert "only wide" in render(80, "t", ["a", Col("detail", wide=True)], [["x", "only wide"]],
                                 wide=True)


def run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_depth2_table_worst_first_then_counts_at_80_columns() -> None:
    out = run("failures", "--depth", "2")
    assert all(len(line) <= 80 for line in out.splitlines()), out
    assert "the 20 worst of 1225" in out and out.index("worst of") < out.index("Counts")
    words = " ".join(out.split())
    assert "failed-site pairs" in words and "a site and its only router give the same" in words
    first = out.splitlines()[6]
    assert first.split()[0] == "site:bod"  # cuts two datacentre pairs and two members: worst
    assert "…" not in out


def test_site_and_router_counts_are_explained() -> None:
    site = json.loads(run("reroute", "site:aal", "--json"))
    router = json.loads(run("reroute", "router:aal-pe1", "--json"))
    assert site["disconnected_pairs"] + site["failed_site_pairs"] == \
        router["disconnected_pairs"] + router["failed_site_pairs"] == 11
    assert "failed-site pairs: 11" in run("reroute", "site:aal")


def test_reroute_table_names_routers_whole() -> None:
    out = run("reroute", "osl-ham-rail")
    assert all(len(line) <= 80 for line in out.splitlines()), out
    assert "osl-cr2" in out and "…" not in out and "True" not in out


def test_user_text_is_not_markup_or_emoji(tmp_path: Path) -> None:
    doc = yaml.safe_load(REFERENCE.read_text())
    for site in doc["sites"]:
        if site["id"] == "bod":
            site["name"] = "Bodø file:100: [red]hub[/red]"
    path = tmp_path / "odd.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    out = run("failures", "-t", str(path))
    assert "file:100:" in out and "[red]hub[/red]" in out and "💯" not in out


def test_cli_constants_are_the_analysis_ones() -> None:
    assert cli_paths.DIVERSITIES == analysis_paths.DIVERSITIES
    assert cli_paths.METRICS == tuple(analysis_paths.METRICS)
