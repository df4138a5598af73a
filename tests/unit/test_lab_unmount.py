"""Teardown unmounts what an interrupted `lab up` left: a UTS namespace bind-mounted twice on one
file (stacked), in a directory whose name needs mountinfo's escapes, and a mount never recorded."""
from __future__ import annotations

import subprocess
from pathlib import Path

from controller.lab.system import mounts_under, unmount_all


def _uts_mount(file: Path) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    if not file.exists():
        file.touch()
    subprocess.run(["unshare", f"--uts={file}", "true"], check=True)


def test_stacked_and_unrecorded_mounts_are_all_unmounted(tmp_path):
    lab = tmp_path / "lab dir\tx"
    uts = lab / "routers" / "r1" / "uts"
    other = lab / "routers" / "r2" / "uts"
    try:
        _uts_mount(uts)
        _uts_mount(uts)  # stacked: one umount leaves the lower one
        _uts_mount(other)
        assert mounts_under(lab) == [str(uts), str(uts), str(other)]
        assert mounts_under(lab / "routers" / "r1") == [str(uts), str(uts)]
        assert mounts_under(tmp_path / "lab") == []  # a sibling prefix is not below
        unmount_all(lab)
        assert mounts_under(lab) == []
    finally:
        for point in mounts_under(tmp_path):
            subprocess.run(["umount", point], check=False)
