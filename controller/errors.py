"""The errors ngk reports to its user: one small typed family.

The CLI catches `NgkError` and nothing else, so anything outside this family is a bug and shows
as one. Each error's `str()` is the one line the user sees; none of them carries a secret.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class NgkError(Exception):
    """Base of every user-facing error; `exit_code` is the CLI's exit status."""

    exit_code = 1


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding about an input file: where (file, line, path inside it) and what."""

    file: str
    line: int | None
    path: str
    message: str
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.severity}: {self.path or '<document>'}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "path": self.path,
                "message": self.message, "severity": self.severity}


class InputError(NgkError):
    """Bad input (a file, an argument, a reference): every finding at once, exit 2."""

    exit_code = 2

    def __init__(self, problem: str | list[Diagnostic]):
        self.diagnostics = [] if isinstance(problem, str) else list(problem)
        super().__init__(problem if isinstance(problem, str)
                         else "\n".join(str(d) for d in self.diagnostics))


class UnknownName(InputError):
    """A name that refers to nothing (site, router, span, failure, lab, playbook ...)."""


class SecretsError(InputError):
    """Secrets missing or unusable; the message names what to set, never a value."""


class DeviceError(NgkError):
    """A device could not be reached, refused us, timed out or rejected a change."""


class LabError(NgkError):
    """An operational problem with the local lab; `code` is the CLI exit status."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = self.exit_code = code


class StoreError(NgkError):
    """The history store cannot be opened, migrated or written."""
