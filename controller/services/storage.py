"""`ngk store`: bring a store's schema up to date, and move a whole store between backends through
a JSON-lines dump (SQLite -> PostgreSQL without losing a row). docs/store.md"""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from controller.errors import InputError, StoreError
from controller.store import Store

FORMAT = "ngk-store-dump"


def schemas() -> dict[str, list[str]]:
    """Every component's schema steps, by component (the order the store registers them)."""
    from controller.services.compliance import SCHEMA as COMPLIANCE
    from controller.services.discover_history import SCHEMA as DISCOVER
    from controller.services.drill_store import SCHEMA as DRILLS
    from controller.services.monitor.history import SCHEMA as MONITOR
    from controller.services.monitor.lease import SCHEMA as LEASE

    return {"monitor": MONITOR, "compliance": COMPLIANCE, "drills": DRILLS, "lease": LEASE,
            "discover": DISCOVER}


def versions(store: Store) -> dict[str, int]:
    return dict(store.query("SELECT component, version FROM schema_versions ORDER BY component"))


def migrate(store: Store) -> dict[str, Any]:
    """Apply every component's missing steps; returns the versions before and after."""
    store.connect()  # creates schema_versions
    before = versions(store)
    for component, steps in schemas().items():
        store.register(component, steps)
    store.connect()
    return {"store": store.name, "before": before, "after": versions(store)}


def _data_tables(store: Store) -> list[str]:
    return [t for t in store.tables() if t != "schema_versions"]


def export(store: Store, out: Path) -> dict[str, Any]:
    """Write the store as JSON lines: a header (format, schema versions), then per table a line
    with its columns followed by one JSON array per row. Floats round-trip exactly."""
    counts: dict[str, int] = {}
    try:
        with out.open("w", encoding="utf-8") as f:
            f.write(json.dumps({"format": FORMAT, "version": 1,
                                "schema_versions": versions(store)}) + "\n")
            for table in _data_tables(store):
                columns = store.columns(table)
                rows = store.query(f'SELECT * FROM "{table}"')
                f.write(json.dumps({"table": table, "columns": columns, "rows": len(rows)}) + "\n")
                for row in rows:
                    f.write(json.dumps(list(row)) + "\n")
                counts[table] = len(rows)
    except OSError as exc:
        raise StoreError(f"cannot write {out}: {exc.strerror}") from None
    out.chmod(0o600)  # configs in the history may hold what the redactor did not know
    return {"store": store.name, "file": str(out), "rows": counts}


def _read(src: Path) -> tuple[dict[str, int], Iterator[tuple[str, list[str], list[list]]]]:
    try:
        lines = src.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read {src}: {exc.strerror}") from None
    try:
        header = json.loads(lines[0]) if lines else {}
    except json.JSONDecodeError:
        header = {}
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise InputError(f"{src}:1: not an ngk store dump")

    def tables() -> Iterator[tuple[str, list[str], list[list]]]:
        i = 1
        while i < len(lines):
            try:
                head = json.loads(lines[i])
                n = head["rows"]
                rows = [json.loads(line) for line in lines[i + 1:i + 1 + n]]
            except (json.JSONDecodeError, KeyError, TypeError):
                raise InputError(f"{src}:{i + 1}: malformed dump line") from None
            if len(rows) != n:
                raise InputError(f"{src}: table {head['table']} is truncated")
            yield head["table"], head["columns"], rows
            i += 1 + n

    return header["schema_versions"], tables()


def import_(store: Store, src: Path) -> dict[str, Any]:
    """Load a dump into an empty store: its tables are created at the dump's schema versions,
    every row goes in in one transaction, then the schema is migrated forward."""
    dumped, tables = _read(src)
    known = schemas()
    unknown = sorted(set(dumped) - set(known))
    if unknown:
        raise InputError(f"{src}: components this ngk does not know: {', '.join(unknown)}")
    for component, version in dumped.items():
        if version > len(known[component]):
            raise InputError(f"{src}: {component} schema version {version} is newer than this "
                             f"ngk's ({len(known[component])})")
        store.register(component, known[component][:version])
    store.connect()
    busy = [t for t in _data_tables(store) if store.query(f'SELECT COUNT(*) FROM "{t}"')[0][0]]
    if busy:
        raise StoreError(f"{store.name} is not empty ({', '.join(busy)}): import needs an "
                         "empty store")
    counts: dict[str, int] = {}
    for table, columns, rows in tables:
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" for _ in columns)
        store.add(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', [tuple(r) for r in rows])
        counts[table] = len(rows)
    if not store.flush():
        raise StoreError(f"import into {store.name} failed: {store.errors[-1][1]}")
    if store.postgres:  # serial columns continue after the imported ids
        for table in counts:
            if "id" in store.columns(table):
                store.query(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f'COALESCE((SELECT MAX(id) FROM "{table}"), 0) + 1, false) '
                            f"WHERE pg_get_serial_sequence('{table}', 'id') IS NOT NULL")
    result = migrate(store)
    return {"store": store.name, "file": str(src), "rows": counts, "schema": result["after"]}
