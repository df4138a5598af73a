"""`ngk store migrate|export|import`: the store's schema and moving it between backends."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from controller.cli.common import JsonOption, StoreOption, emit, table
from controller.store import Store

app = typer.Typer(help="The store: schema migrations, export and import.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    """Add the `store` sub-app to the top-level app."""
    root.add_typer(app, name="store")


def _rows(report: dict[str, Any]) -> None:
    table(f"{report['store']} <-> {report['file']}", ["table", "rows"],
          [[t, n] for t, n in report["rows"].items()])


@app.command()
def migrate(store: str | None = StoreOption, as_json: bool = JsonOption) -> None:
    """Create or update every component's tables (forward-only, versioned)."""
    from controller.services.storage import migrate as run

    report = run(Store(store))
    emit(report, as_json, lambda r: table(
        f"Schema of {r['store']}", ["component", "version before", "version"],
        [[c, r["before"].get(c, 0), v] for c, v in r["after"].items()]))


@app.command("export")
def export(out: Path = typer.Option(..., "--out", help="Dump file (JSON lines, mode 0600)."),
           store: str | None = StoreOption, as_json: bool = JsonOption) -> None:
    """Write every table of the store to a dump file."""
    from controller.services.storage import export as run

    emit(run(Store(store), out), as_json, _rows)


@app.command("import")
def import_(dump: Path = typer.Argument(..., help="A dump written by `ngk store export`."),
            store: str | None = StoreOption, as_json: bool = JsonOption) -> None:
    """Load a dump into an empty store (e.g. a new PostgreSQL database), then migrate it."""
    from controller.services.storage import import_ as run

    emit(run(Store(store), dump), as_json, _rows)
