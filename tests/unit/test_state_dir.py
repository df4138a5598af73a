"""One state directory: the store, audit log, backups and playbook runs follow NGK_STATE_DIR, and
the test suite runs in one of its own."""
import os
from pathlib import Path

from controller.paths import DEFAULT_STATE_DIR, state_dir, state_path
from controller.services.audit import AuditLog
from controller.store import Store


def test_the_suite_never_uses_the_operators_state_dir():
    assert state_dir() != DEFAULT_STATE_DIR and state_dir().is_dir()
    assert Path(os.environ["NGK_STATE_DIR"]) == state_dir()


def test_every_default_follows_the_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("NGK_STATE_DIR", str(tmp_path))
    assert Store().path == tmp_path / "ngk.db"
    assert AuditLog().path == tmp_path / "audit.log"
    assert state_path("backups") == tmp_path / "backups"
    monkeypatch.delenv("NGK_STATE_DIR")
    assert Store().path == DEFAULT_STATE_DIR / "ngk.db"
