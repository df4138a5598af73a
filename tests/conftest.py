"""Every test run keeps ngk's state (store, audit log, backups, drill records, playbook runs) in a
temporary state directory of its own, never in the operator's /var/lib/ngk."""
from __future__ import annotations

import os
import shutil
import tempfile

import pytest

STATE_SETTINGS = ("NGK_DB", "NGK_STORE", "NGK_AUDIT_LOG")  # would point past NGK_STATE_DIR


def pytest_configure(config: pytest.Config) -> None:
    for name in STATE_SETTINGS:
        os.environ.pop(name, None)
    os.environ["NGK_STATE_DIR"] = tempfile.mkdtemp(prefix="ngk-test-state-")


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(os.environ.pop("NGK_STATE_DIR", ""), ignore_errors=True)
