"""The one generic Nornir runner: a task on named hosts in parallel, results and errors apart."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from nornir.core import Nornir


def run_each(nr: Nornir, names: Iterable[str], fn: Callable[..., Any],
             **kwargs: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """Run a task on the named hosts in parallel: (results, errors) keyed by host; an error is
    the first line of the exception's message (a device fault never raises here)."""
    names = set(names)
    if not names:
        return {}, {}
    res = nr.filter(filter_func=lambda h: h.name in names).run(task=fn, on_failed=True, **kwargs)
    ok, errors = {}, {}
    for host, multi in res.items():
        if multi.failed:
            exc = multi[0].exception
            errors[host] = (str(exc).strip().splitlines() or [type(exc).__name__])[0] \
                if exc is not None else "failed"
        else:
            ok[host] = multi[0].result
    return ok, errors


def read_each(nr: Nornir, names: Iterable[str], fn: Callable[..., Any]
              ) -> tuple[dict[str, Any], dict[str, str]]:
    """`run_each` for a read from named routers: one not in the inventory is an error ("not in
    the inventory"), and the connections are closed afterwards, whatever happened."""
    names = list(names)
    missing = {n: "not in the inventory" for n in names if n not in nr.inventory.hosts}
    try:
        ok, errors = run_each(nr, [n for n in names if n not in missing], fn)
    finally:
        nr.close_connections(on_failed=True)
    return ok, errors | missing
