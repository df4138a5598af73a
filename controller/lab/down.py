"""Tear a lab down from its recorded state only: idempotent, and safe after a crash.

Processes go first: the recorded PIDs, then, until none is left, every process marked as the
lab's (interrupt.owned_by) or running in one of its netns (found by inode, so also after the
netns lost its name). Then the recorded resources in reverse order of creation. Nothing that is
not recorded or marked is touched. Ctrl-C during `down` waits until it has finished.
A step that fails does not stop the others; the state dir goes last, and only when no recorded
netns, root interface, mount or path is left: otherwise LabError names what is, and the state
stays for another `lab down`.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from controller.lab.interrupt import deferred_interrupts
from controller.lab.state import DEFAULT_LAB, LabError, LabState, check_name, lock_path, locked
from controller.lab.system import (
    ip_batch, lab_processes, mounts_under, netns_inode, netns_list, run, terminate, unmount_all)

SWEEPS = 5  # rounds of "find the lab's processes, end them" (a dying sshd may fork once more)


def lab_down(name: str = DEFAULT_LAB) -> dict[str, object]:
    """Remove lab `name`; a lab that is not there is not an error (returns removed=False)."""
    start = time.monotonic()
    with locked(check_name(name)), deferred_interrupts():
        state = LabState.load(name)
        if state is not None:
            teardown(state)
        else:  # no state (it never got written): still end whatever carries the lab's mark
            terminate(lab_processes(name), grace=0.5)
        lock_path(name).unlink(missing_ok=True)
    return {"lab": name, "removed": state is not None,
            "seconds": round(time.monotonic() - start, 2)}


def teardown(state: LabState) -> None:
    netns = [r for r in state.resources if r["kind"] == "netns"]
    existing = netns_list()
    inodes = {int(i) for r in netns for i in (r.get("inode"), netns_inode(r["name"])) if i}
    terminate([pid for rs in state.routers.values() for pid in rs.pids.values()])
    leftovers = lab_processes(state.lab, inodes)
    for _ in range(SWEEPS):
        if not leftovers:
            break
        terminate(leftovers, grace=0.5)
        leftovers = lab_processes(state.lab, inodes)
    if leftovers:
        raise LabError(f"processes {leftovers} of lab {state.lab!r} survived SIGKILL")
    recorded_ns = {r["name"] for r in netns}
    errors = []
    base = {"kind": "path", "path": state.dir}  # holds state.json: removed last
    for kind, group in _runs([r for r in reversed(state.resources) if r != base]):
        try:
            _remove(kind, group, recorded_ns, existing)
        except LabError as exc:
            errors.append(str(exc))
    left = remaining(state)
    if left:
        raise LabError(f"lab {state.lab!r} not fully removed, left: {', '.join(left)}"
                       + "".join(f"; {e}" for e in errors)
                       + f" (state kept in {state.dir}: `ngk lab down --name {state.lab}` again)")
    if base in state.resources:
        _remove("path", [base], recorded_ns, existing)


def remaining(state: LabState) -> list[str]:
    """Recorded netns, root-namespace interfaces, mounts and paths (but the state dir) that
    still exist; what is inside a netns goes with it."""
    namespaces = netns_list()
    links = {i["ifname"] for i in json.loads(run(["ip", "-j", "link"]).stdout)}
    left = []
    for res in state.resources:
        kind = res["kind"]
        if (kind == "netns" and res["name"] in namespaces
                or kind == "link" and res["name"] in links):
            left.append(f"{kind} {res['name']}")
        elif kind == "mount" and mounts_under(res["target"]):
            left.append(f"mount {res['target']}")
        elif kind == "path" and res["path"] != state.dir and os.path.lexists(res["path"]):
            left.append(f"path {res['path']}")
    return left


def _runs(resources: list[dict[str, str]]) -> list[tuple[str, list[dict[str, str]]]]:
    """Consecutive resources of one kind, so each kind is removed in one batch."""
    out: list[tuple[str, list[dict[str, str]]]] = []
    for res in resources:
        if out and out[-1][0] == res["kind"]:
            out[-1][1].append(res)
        else:
            out.append((res["kind"], [res]))
    return out


def _remove(kind: str, group: list[dict[str, str]], recorded_ns: set[str],
            existing_ns: set[str]) -> None:
    if kind in ("veth", "nft"):
        # objects inside a recorded netns die with it; others are removed one by one
        for res in group:
            if res["netns"] not in recorded_ns and res["netns"] in existing_ns:
                if kind == "veth":
                    ip_batch([f"link del {res['name']}"], netns=res["netns"], check=False)
                else:
                    run(["ip", "netns", "exec", res["netns"], "nft", "delete", "table",
                         res["family"], res["name"]], check=False)
    elif kind == "link":
        present = {i["ifname"] for i in json.loads(run(["ip", "-j", "link"]).stdout)}
        ip_batch([f"link del {r['name']}" for r in group if r["name"] in present], check=False)
    elif kind == "mount":
        for res in group:
            unmount_all(res["target"])
    elif kind == "netns":
        ip_batch([f"netns del {r['name']}" for r in group if r["name"] in existing_ns],
                 check=False)
    elif kind == "path":
        for res in group:
            path = Path(res["path"])
            if not path.is_symlink():
                unmount_all(path)  # also what was mounted there and never recorded
            if path.is_symlink() or path.is_file():
                path.unlink()
            elif path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
