"""Ctrl-C that never leaves half a lab: interrupts are checked at safe points, cleanup runs whole.

While `deferred_interrupts` is active, SIGINT and SIGTERM only set a flag; building code calls
`checkpoint()` between steps (and every parallel task does before it starts), which raises
KeyboardInterrupt there. Nothing is ever interrupted half-way, so the teardown that follows a
first Ctrl-C always finishes, however often the user presses it again. Lab commands also run in
their own session (system.run), so the terminal's SIGINT never kills them mid-step.

`owned_by(lab)` marks every process started meanwhile with NGK_LAB_OWNER=<lab> in its
environment (inherited through every fork and exec, fixed from the moment it exists), so `lab
down` finds what a lab started even when its PID was never recorded (system.lab_processes).
"""
from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

OWNER_ENV = "NGK_LAB_OWNER"
INTERRUPTED = threading.Event()
SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def deferred_interrupts() -> Iterator[None]:
    """SIGINT/SIGTERM set INTERRUPTED instead of raising (main thread only; else a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    INTERRUPTED.clear()
    old = {s: signal.signal(s, lambda *_: INTERRUPTED.set()) for s in SIGNALS}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        INTERRUPTED.clear()


def checkpoint() -> None:
    """A safe point: raise KeyboardInterrupt if an interrupt arrived."""
    if INTERRUPTED.is_set():
        raise KeyboardInterrupt


@contextmanager
def owned_by(lab: str) -> Iterator[None]:
    """Processes started inside carry OWNER_ENV=lab."""
    old = os.environ.get(OWNER_ENV)
    os.environ[OWNER_ENV] = lab
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(OWNER_ENV, None)
        else:
            os.environ[OWNER_ENV] = old
