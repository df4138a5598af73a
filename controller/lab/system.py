"""Thin wrappers over the host tools a lab needs: ip, nsenter, kill, a /proc sweep for what a
lab started, and a prerequisite check."""
from __future__ import annotations

import ctypes
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from controller.lab.interrupt import OWNER_ENV, checkpoint
from controller.lab.state import LabError

FRR_DIR = Path("/usr/lib/frr")
FRR_DAEMONS = ("zebra", "ospfd", "bgpd", "bfdd", "staticd")
TOOLS = ("ip", "nsenter", "unshare", "mount", "umount", "vtysh", "nft", "ssh", "ssh-keygen",
         "ping", "/usr/sbin/sshd", "/usr/sbin/snmpd", "/usr/sbin/lldpd")
CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")  # where `ip netns` names namespaces
SPAWN_TRIES = 20  # runs of a command whose child a Ctrl-C killed before exec (see `run`)
T = TypeVar("T")
R = TypeVar("R")


def preflight() -> None:
    """Root, FRR and the other tools must be there; LabError with what is missing otherwise."""
    if os.geteuid() != 0:
        raise LabError("the lab needs root (network namespaces, veths, mounts): run as root")
    missing = [f"{FRR_DIR}/{d}" for d in FRR_DAEMONS if not (FRR_DIR / d).exists()]
    missing += [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        raise LabError("missing: " + ", ".join(missing) + " (install frr frr-snmp snmpd snmp "
                       "openssh-server iputils-ping nftables lldpd)")


def run(args: list[str], *, check: bool = True, input: str | None = None,
        env: dict[str, str] | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    """Run a command; on failure raise LabError with its stderr (never its input).

    In a session of its own: the terminal's Ctrl-C reaches ngk, never a step half-way. Between
    fork and its setsid() the child is still in ngk's process group, so a Ctrl-C in that instant
    kills it before exec, the command not run at all (see `unstarted`): it is run again."""
    full_env = {**os.environ, "MIBS": "", **(env or {})}
    for _ in range(SPAWN_TRIES):
        proc = subprocess.run(args, input=input, capture_output=True, text=True, env=full_env,
                              timeout=timeout, start_new_session=True)
        if not unstarted(proc.returncode):
            break
    if check and proc.returncode != 0:
        raise LabError(f"{' '.join(args[:6])}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def unstarted(returncode: int) -> bool:
    """A child of `run` that died of SIGINT/SIGTERM got it before its setsid(): after it, nothing
    sent to ngk's process group reaches the child (and ngk signals no command it runs)."""
    return returncode in (-signal.SIGINT, -signal.SIGTERM)


def in_netns(netns: str, args: list[str], uts: str | None = None) -> list[str]:
    """argv that runs `args` inside a router's network (and UTS) namespace."""
    prefix = ["ip", "netns", "exec", netns]
    if uts:
        prefix += ["nsenter", f"--uts={uts}"]
    return prefix + args


def ip_batch(commands: list[str], netns: str | None = None, check: bool = True) -> None:
    """Many `ip` commands in one process (`-force` keeps going after an error when not checking)."""
    if not commands:
        return
    if any(ch in cmd for cmd in commands for ch in "\n\r\0"):
        raise LabError(f"refusing an ip command with a line break or NUL: {commands!r}"[:300], 2)
    args = ["ip"] + (["-n", netns] if netns else []) + (["-force"] if not check else [])
    run(args + ["-batch", "-"], input="\n".join(commands) + "\n", check=check)


@contextmanager
def thread_in_netns(netns: str) -> Iterator[None]:
    """This thread in `netns`'s network namespace for the block, then back in its own (sockets
    made inside stay in `netns`). OSError if either switch fails."""
    libc = ctypes.CDLL(None, use_errno=True)
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(NETNS_DIR / netns, os.O_RDONLY)
        try:
            if libc.setns(target, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"setns {netns}: {os.strerror(err)}")
        finally:
            os.close(target)
        try:
            yield
        finally:
            if libc.setns(own, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back to the own netns failed")
    finally:
        os.close(own)


def netns_list() -> set[str]:
    """Named network namespaces, as `ip netns list` shows them (read directly: no process that
    could fail and make every namespace look gone)."""
    try:
        return {entry.name for entry in os.scandir(NETNS_DIR)}
    except FileNotFoundError:
        return set()


def netns_inode(netns: str) -> int | None:
    """The inode that identifies a named network namespace (None if it has no name now)."""
    try:
        return os.stat(NETNS_DIR / netns).st_ino
    except OSError:
        return None


def lab_processes(lab: str, netns_inodes: Iterable[int] = ()) -> list[int]:
    """Live processes of a lab: marked OWNER_ENV=<lab> (interrupt.owned_by) or inside one of
    its network namespaces, also after the namespace lost its name. Never ngk itself or its
    ancestors."""
    tag = f"{OWNER_ENV}={lab}".encode()
    nets = {f"net:[{i}]" for i in netns_inodes}
    mine, pid = set(), os.getpid()
    while pid > 1 and pid not in mine:
        mine.add(pid)
        pid = _parent(pid)
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) in mine:
            continue
        try:
            if (nets and os.readlink(f"{entry.path}/ns/net") in nets) or \
                    tag in Path(f"{entry.path}/environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return [p for p in found if alive(p)]


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def terminate(pids: Iterable[int], grace: float = 1.5) -> None:
    """SIGTERM, wait up to `grace` seconds, then SIGKILL what is left."""
    pids = [p for p in pids if alive(p)]
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    for pid in pids:
        if alive(pid):
            _signal(pid, signal.SIGKILL)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def read_pid(path: Path, timeout: float = 5.0) -> int:
    """Wait for a daemon's pid file and return the pid."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pid = int(path.read_text().split()[0])
            if alive(pid):
                return pid
        except (OSError, ValueError, IndexError):
            pass
        time.sleep(0.02)
    raise LabError(f"no live process in {path} after {timeout:.0f} s")


def parallel(fn: Callable[[T], R], items: Iterable[T], workers: int = 8) -> list[R]:
    """Map over items in threads (subprocess-bound work); re-raises the first error. Each task
    starts at an interrupt checkpoint, so a Ctrl-C stops the rest from starting."""
    def task(item: T) -> R:
        checkpoint()
        return fn(item)

    items = list(items)
    pool = ThreadPoolExecutor(max_workers=max(1, min(workers, len(items))))
    try:
        return list(pool.map(task, items))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def mounts_under(path: str | Path) -> list[str]:
    """Mount points at or below `path` (this mount namespace), deepest first and each as often
    as it is stacked: what a teardown must unmount before it can remove `path`."""
    root = str(Path(path))
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        # mountinfo escapes space, tab, newline and backslash as \ooo
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), line.split(" ")[4])
        if point == root or point.startswith(root.rstrip("/") + "/"):
            found.append(point)
    return sorted(found, key=lambda m: (-m.count("/"), m))


def unmount_all(path: str | Path) -> None:
    """Unmount everything at or below `path`, stacked mounts included (a bind mount made twice
    by an interrupted run needs two umounts). Raises LabError if one stays."""
    for _ in range(10):
        points = mounts_under(path)
        if not points:
            return
        for point in points:
            run(["umount", point], check=False)
    raise LabError(f"cannot unmount {', '.join(mounts_under(path))}")
