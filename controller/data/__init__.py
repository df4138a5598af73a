"""The data ngk ships with, read as package data (importlib.resources), never from the checkout.

This package holds one copy of each file: the reference topology (`topology/ngk.yaml`), the
compliance rules (`rules/compliance.yaml`), the playbooks (`playbooks/*.yaml`) and the production
Nornir inventory (`inventory/`, written by `ngk inventory build`). In a checkout, the top-level
`topology/`, `rules/`, `playbooks/` and `inventory/` are symlinks to these directories, so the
same files serve a clone, an editable install and a wheel (docs/packaging.md).
"""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def resource(package: str, *parts: str) -> Path:
    """A file or directory shipped in `package` (ngk installs as files, never zipped)."""
    found = files(package).joinpath(*parts)
    if not isinstance(found, Path):
        raise RuntimeError(f"ngk package data must be installed as files, not {found!r}")
    return found


def path(*parts: str) -> Path:
    """A file or directory of this data package, e.g. path("topology", "ngk.yaml")."""
    return resource(__name__, *parts)

