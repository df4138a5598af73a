"""Test doubles shared by unit tests of services that run tasks per router through Nornir."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any


def fake_run_each(nr: Any, names: Any, fn: Any, **kwargs: Any):
    """`controller.southbound.nornir_run.run_each` over `nr.devices` (name -> fake device), no
    SSH."""
    ok, errors = {}, {}
    for name in sorted(set(names)):
        task = SimpleNamespace(host=SimpleNamespace(
            name=name, get_connection=lambda *_a, d=nr.devices[name]: d), nornir=nr)
        try:
            ok[name] = fn(task, **kwargs)
        except Exception as exc:  # noqa: BLE001 - mirrors Nornir's per-host failure
            errors[name] = str(exc)
    return ok, errors
