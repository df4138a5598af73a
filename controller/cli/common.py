"""Shared CLI plumbing: topology option, JSON vs table output, clean errors (never a traceback)."""
from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from controller.model.load import load_topology

from controller.model.topology import Topology

console = Console()
err_console = Console(stderr=True)

TopologyOption = typer.Option(
    None, "--topology", "-t", envvar="NGK_TOPOLOGY",
    help="Topology YAML (default: $NGK_TOPOLOGY, else the reference topology/ngk.yaml).")
JsonOption = typer.Option(False, "--json", help="Machine-readable JSON on stdout.")


def fail(message: str, code: int = 2) -> NoReturn:
    """Print an error on stderr and exit non-zero."""
    err_console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Transitional: user errors now propagate to the root group (controller/cli/main.py)."""
    yield


def topology(path: Path | None) -> Topology:
    with user_errors():
        return load_topology(path)


def emit(data: Any, as_json: bool, render: Callable[[Any], None]) -> None:
    """Print JSON (stable field names, documented in docs/) or a human-readable rendering."""
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    else:
        render(data)


def table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    t = Table(title=title, title_justify="left")
    for col in columns:
        t.add_column(col)
    for row in rows:
        t.add_row(*("" if v is None else str(v) for v in row))
    console.print(t)
