"""The driver as published: drivers/napalm-frr builds (offline, from a copy of its tracked files)
into a wheel whose metadata carries its name, its version and its README, and ngk pins that
version."""
from __future__ import annotations

import email
import shutil
import subprocess
import sys
import tomllib
import zipfile
from email.message import Message
from pathlib import Path

import pytest

import napalm_frr

ROOT = Path(__file__).resolve().parents[2]
DRIVER = ROOT / "drivers" / "napalm-frr"
PACKAGE = DRIVER / "src" / "napalm_frr"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    tmp = tmp_path_factory.mktemp("napalm-frr")
    src = tmp / "src"
    shutil.copytree(DRIVER, src, ignore=shutil.ignore_patterns(
        "__pycache__", "*.egg-info", "build"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "--no-index", "-w", str(tmp / "dist"), str(src)],
                   check=True, capture_output=True, text=True)
    (path,) = (tmp / "dist").glob("*.whl")
    return zipfile.ZipFile(path)


def metadata(whl: zipfile.ZipFile) -> Message:
    (name,) = [n for n in whl.namelist() if n.endswith(".dist-info/METADATA")]
    return email.message_from_string(whl.read(name).decode())


def test_imported_driver_is_the_one_in_drivers() -> None:
    assert Path(napalm_frr.__file__).resolve().parent == PACKAGE


def test_wheel_name_version_and_readme(wheel: zipfile.ZipFile) -> None:
    meta = metadata(wheel)
    assert meta["Name"] == "napalm-frr"
    assert meta["Version"] == napalm_frr.__version__
    assert Path(wheel.filename or "").name.startswith(f"napalm_frr-{napalm_frr.__version__}-")
    assert meta["Description-Content-Type"] == "text/markdown"
    assert meta.get_payload().strip() == (DRIVER / "README.md").read_text().strip()
    assert any(r.startswith("napalm>=5") for r in meta.get_all("Requires-Dist"))


def test_wheel_holds_exactly_the_package_modules(wheel: zipfile.ZipFile) -> None:
    shipped = {n for n in wheel.namelist() if ".dist-info/" not in n}
    assert shipped == {f"napalm_frr/{p.name}" for p in PACKAGE.glob("*.py")}


def test_ngk_pins_the_driver_version() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert f"napalm-frr=={napalm_frr.__version__}" in [
        d.split(";")[0].replace(" ", "") for d in project["dependencies"]]
    assert "napalm_frr*" not in tomllib.loads((ROOT / "pyproject.toml").read_text())[
        "tool"]["setuptools"]["packages"]["find"]["include"]
