"""Writing output files: clear errors for bad destinations, owner-only modes for secrets."""
from __future__ import annotations

import os
from pathlib import Path

from controller.errors import InputError

PRIVATE = 0o600  # files that can carry config text, keys or reports


def check_writable(path: Path) -> Path:
    """`path` if a file can be written there; InputError naming what is wrong otherwise."""
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"cannot write {path}: directory {parent} does not exist")
    if path.is_dir():
        raise InputError(f"cannot write {path}: it is a directory")
    if not os.access(parent, os.W_OK):
        raise InputError(f"cannot write {path}: directory {parent} is not writable")
    return path


def write_private(path: Path, data: str | bytes) -> None:
    """Write a file readable by its owner only (created 0600, never briefly wider)."""
    check_writable(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
    os.fchmod(fd, PRIVATE)  # an existing file keeps its mode on O_CREAT: narrow it
    with os.fdopen(fd, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
