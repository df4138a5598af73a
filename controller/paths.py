"""Where ngk keeps its state: one directory, `$NGK_STATE_DIR` (default /var/lib/ngk), for the
store, the audit log, backups, drill records and playbook runs. Read at each call, so a test (or
an operator) that sets the variable moves all of them."""
from __future__ import annotations

import os
from pathlib import Path

DEFAULT_STATE_DIR = Path("/var/lib/ngk")


def state_dir() -> Path:
    return Path(os.environ.get("NGK_STATE_DIR") or DEFAULT_STATE_DIR)


def state_path(name: str) -> Path:
    """A file or folder in the state directory: `ngk.db`, `audit.log`, `backups`, `drills`,
    `playbook-runs.jsonl`."""
    return state_dir() / name
