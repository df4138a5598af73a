"""Append-only audit log of config changes: one JSON line per router and action (who, when,
what diff, outcome). Secrets are redacted from every diff and message before they are written."""
from __future__ import annotations

import getpass
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from controller.redact import redact
from controller.paths import state_path


def who() -> str:
    """The human behind the change (sudo's caller if any) and the controller host."""
    user = os.environ.get("SUDO_USER") or getpass.getuser()
    return f"{user}@{socket.gethostname()}"


class AuditLog:
    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path or os.environ.get("NGK_AUDIT_LOG") or state_path("audit.log"))

    def record(self, action: str, router: str, outcome: str, *, diff: str = "",
               detail: str = "", run: str = "", **extra: Any) -> None:
        """Append one entry (a single write of one line, so concurrent writers do not mix)."""
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "who": who(), "run": run,
                 "action": action, "router": router, "outcome": outcome,
                 "diff": redact(diff), "detail": redact(detail), **extra}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        with os.fdopen(fd, "a") as f:
            f.write(json.dumps(entry, sort_keys=False) + "\n")

    def entries(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]
