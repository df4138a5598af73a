"""Shared CLI plumbing: topology option, JSON vs table output, clean errors (never a traceback)."""
from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from controller.model.load import load_topology

from controller.model.topology import Topology

console = Console(emoji=False, highlight=False)  # user text never turns into emoji or colours
err_console = Console(stderr=True, emoji=False, highlight=False)

TopologyOption = typer.Option(
    None, "--topology", "-t", envvar="NGK_TOPOLOGY",
    help="Topology YAML (default: $NGK_TOPOLOGY, else the reference topology/ngk.yaml).")
JsonOption = typer.Option(False, "--json", help="Machine-readable JSON on stdout.")
InventoryOption = typer.Option(
    None, "--inventory", "-i", show_default=False,
    help="Nornir inventory directory (default: $NGK_INVENTORY, else the running lab's, else the "
         "production inventory/).")
StoreOption = typer.Option(
    None, "--store", "--db", envvar=["NGK_STORE", "NGK_DB"],
    help="Store: a SQLite file or a postgresql:// URL (default $NGK_STATE_DIR/ngk.db).")


def fail(message: str, code: int = 2) -> NoReturn:
    """Print an error on stderr and exit non-zero."""
    err_console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def inventory(path: Path | None) -> Path:
    """The inventory to use: one rule for every command (controller.lab.state.inventory_dir)."""
    from controller.lab.state import inventory_dir
    return inventory_dir(path)


def topology(path: Path | None) -> Topology:
    return load_topology(path)


def emit(data: Any, as_json: bool, render: Callable[[Any], None]) -> None:
    """Print JSON (stable field names, documented in docs/) or a human-readable rendering."""
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    else:
        render(data)


class Col(NamedTuple):
    """A table column: its header (units in it, e.g. "gap (ms)"), shown only in the `--wide` view
    when `wide`, right-aligned when `right` (numbers)."""

    header: str
    wide: bool = False
    right: bool = False


WideOption = typer.Option(False, "--wide", help="All columns (the default view fits 80 columns).")


def cell(value: Any) -> str:
    """One table cell: None -> "-" (no value: not applicable or not measured), booleans yes/no,
    floats without float noise; everything else as text (never markup)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if value == value else "nan"
    return str(value)


def table(title: str, columns: Sequence[str | Col], rows: Sequence[Sequence[Any]],
          wide: bool = False) -> None:
    """Print rows as a table that stays readable at 80 columns and when piped: cells are plain
    text (no markup, no emoji), long cells wrap at spaces and fold (ids are never cut short with
    an ellipsis), and `Col(wide=True)` columns are left out unless `wide` (then lines are as
    long as the table needs), saying so."""
    cols = [c if isinstance(c, Col) else Col(c) for c in columns]
    keep = [i for i, c in enumerate(cols) if wide or not c.wide]
    t = Table(title=Text(title), title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
              collapse_padding=True,
              title_style="bold")
    cells = [[cell(row[i]) for i in keep] for row in rows]
    for n, i in enumerate(keep):
        # numbers take their own width (the header wraps at spaces); text gets the rest
        narrow = max([len(w) for w in cols[i].header.split()] + [len(r[n]) for r in cells]) \
            if cols[i].right else None
        t.add_column(Text(cols[i].header), overflow="fold", max_width=narrow,
                     justify="right" if cols[i].right else "left")
    for row in cells:
        t.add_row(*(Text(c) for c in row))
    # --wide: full lines whatever the terminal (as `-o wide` elsewhere); else the terminal, or
    # 80 columns when piped
    out = console
    if wide:
        need = console.measure(t, options=console.options.update(width=10_000)).maximum
        out = Console(width=max(console.width, need), emoji=False, highlight=False,
                      file=console.file)
    out.print(t)
    hidden = [cols[i].header for i in range(len(cols)) if i not in keep]
    if hidden and rows:
        console.print(Text(f"(--wide adds: {', '.join(hidden)})"))
