"""A real NETCONF server for tests: yuma123 `netconfd` behind its own sshd in a netns of its own.

Each instance gets a network namespace `ngkn-<tag>-<slot>` reached from the root namespace over a
veth pair on a private /29 in 198.19.240.0/20 (.1 root side, .2 server, .3 never answers), and a
private mount namespace in which a private directory is bound over root's ~/.yuma (netconfd
writes there whatever HOME says). Host key, known_hosts and user key are generated per instance.
State lives under /run/ngk/netconf so a later run finds and removes instances whose owner died.
Self-contained: needs root, iproute2, util-linux `unshare`, openssh-server and netconfd.
"""
from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from controller.lab import quoting as q

STATE_DIR = Path("/run/ngk/netconf")
POOL = ipaddress.IPv4Network("198.19.240.0/20")
SLOT_PREFIX = 29
PORT = 830
YUMA_HOME = Path("/root/.yuma")
IETF = Path("/usr/share/yuma/modules/ietf")
# Loaded by file path: by module name ietf-interfaces pulls a SIL helper that crashes.
DEFAULT_MODULES = (IETF / "iana-if-type@2014-05-08.yang", IETF / "ietf-interfaces@2014-05-08.yang",
                   IETF / "ietf-ip@2014-06-16.yang")
NEEDED = ("netconfd", "/usr/sbin/netconf-subsystem", "/usr/sbin/sshd", "ssh-keygen", "ip",
          "unshare")


_procs: dict[str, subprocess.Popen] = {}


@dataclass(frozen=True)
class NetconfServer:
    """A running instance and everything a client needs to reach it."""

    name: str  # network namespace
    slot: int
    host: str  # server address, reachable from the root namespace
    unused_host: str  # an address on the same link that never answers
    port: int
    username: str
    user_key: str
    known_hosts: str
    workdir: str
    log: str
    pgid: int
    owner: int  # pid of the process that started it


def unavailable_reason() -> str | None:
    """Why a server cannot be started here, or None when it can."""
    if os.geteuid() != 0:
        return "needs root (network and mount namespaces)"
    missing = [p for p in NEEDED if shutil.which(p) is None]
    if missing:
        return f"missing {', '.join(missing)} (apt-get install netconfd openssh-server)"
    missing = [str(m) for m in DEFAULT_MODULES if not m.exists()]
    return f"missing YANG modules {', '.join(missing)}" if missing else None


def _run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True, text=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    with open(STATE_DIR / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _states() -> list[NetconfServer]:
    return [NetconfServer(**json.loads(p.read_text())) for p in sorted(STATE_DIR.glob("*.json"))]


def group_members(pgid: int, marker: str = "") -> list[int]:
    """Live (not zombie) processes of a process group whose command line contains `marker`."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if fields[0] != "Z" and int(fields[2]) == pgid and \
                    marker.encode() in (stat.parent / "cmdline").read_bytes():
                out.append(int(stat.parent.name))
    return out


def _signal(pids: list[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _teardown(server: NetconfServer) -> None:
    """Stop only processes of the recorded group that run from this instance's workdir."""
    proc = _procs.pop(server.name, None)
    if server.pgid > 0:
        _signal(group_members(server.pgid, server.workdir), signal.SIGTERM)
        for _ in range(60):
            if not group_members(server.pgid, server.workdir):
                break
            time.sleep(0.05)
        _signal(group_members(server.pgid, server.workdir), signal.SIGKILL)
    if proc is not None:
        proc.wait()
    subprocess.run(["ip", "netns", "del", server.name], capture_output=True)
    subprocess.run(["ip", "link", "del", f"ngkn{server.slot}"], capture_output=True)
    (STATE_DIR / f"{server.name}.json").unlink(missing_ok=True)


def cleanup_stale() -> list[str]:
    """Remove instances whose owning process is gone; names of those removed."""
    with _locked():
        stale = [s for s in _states() if not _alive(s.owner)]
        for server in stale:
            _teardown(server)
    return [s.name for s in stale]


def _keygen(path: Path) -> str:
    _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ngk-netconf-lab", "-f", str(path))
    return path.with_suffix(".pub").read_text().split()[1]


def _sshd_config(work: Path, host: str, sock: Path) -> str:
    """Paths quoted for sshd_config; the subsystem command also goes through a shell."""
    sockname = f"--ncxserver-sockname={PORT}@{shlex.quote(str(sock))}"
    return "\n".join([
        f"ListenAddress {host}:{PORT}",
        f"HostKey {q.sshd_quoted('host key', str(work / 'host_key'))}",
        f"PidFile {q.sshd_quoted('pid file', str(work / 'sshd.pid'))}",
        f"AuthorizedKeysFile {q.sshd_quoted('keys', str(work / 'authorized_keys'), tokens=True)}",
        "StrictModes no", "UsePAM no", "PermitRootLogin prohibit-password", "AllowUsers root",
        "PasswordAuthentication no", "KbdInteractiveAuthentication no",
        f"Subsystem netconf /usr/sbin/netconf-subsystem {q.sshd_quoted('socket', sockname)}",
        ""])


def _wait_ready(proc: subprocess.Popen, sock: Path, host: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"netconf lab exited ({proc.returncode}): "
                               f"{log.read_text()[-2000:] if log.exists() else ''}")
        if sock.exists():
            with contextlib.suppress(OSError), socket.create_connection((host, PORT), 0.5) as s:
                if s.recv(8).startswith(b"SSH-"):
                    return
        time.sleep(0.05)
    raise RuntimeError(f"netconf lab not ready after {timeout} s; see {log}")


def start(workdir: Path, tag: str = "t", *, modules: Sequence[Path] = DEFAULT_MODULES,
          startup: str | None = None, timeout: float = 10.0) -> NetconfServer:
    """Start netconfd + sshd in a fresh namespace; `startup` is the initial config XML."""
    reason = unavailable_reason()
    if reason:
        raise RuntimeError(reason)
    cleanup_stale()
    work = Path(workdir).resolve()
    (work / "yuma").mkdir(parents=True, exist_ok=True)
    with _locked():
        used = {s.slot for s in _states()}
        slot = next(i for i in range(POOL.num_addresses >> (32 - SLOT_PREFIX)) if i not in used)
        net = list(POOL.subnets(new_prefix=SLOT_PREFIX))[slot]
        side, host, unused = (str(net[i]) for i in (1, 2, 3))
        name = f"ngkn-{tag}-{slot}"[:30]
        server = NetconfServer(name, slot, host, unused, PORT, "root", str(work / "user_key"),
                               str(work / "known_hosts"), str(work), str(work / "netconfd.log"),
                               0, os.getpid())
        (STATE_DIR / f"{name}.json").write_text(json.dumps(asdict(server)))
    try:
        return _launch(server, work, side, modules, startup, timeout)
    except BaseException:
        stop(server)
        raise


def _launch(server: NetconfServer, work: Path, side: str, modules: Sequence[Path],
            startup: str | None, timeout: float) -> NetconfServer:
    veth = f"ngkn{server.slot}"
    _run("ip", "netns", "add", server.name)
    _run("ip", "link", "add", veth, "type", "veth", "peer", "name", "mgmt0", "netns", server.name)
    _run("ip", "addr", "add", f"{side}/{SLOT_PREFIX}", "dev", veth)
    _run("ip", "link", "set", veth, "up")
    _run("ip", "-n", server.name, "addr", "add", f"{server.host}/{SLOT_PREFIX}", "dev", "mgmt0")
    _run("ip", "-n", server.name, "link", "set", "mgmt0", "up")
    _run("ip", "-n", server.name, "link", "set", "lo", "up")
    host_key = _keygen(work / "host_key")
    (work / "known_hosts").write_text(f"[{server.host}]:{PORT} ssh-ed25519 {host_key}\n")
    user_key = _keygen(work / "user_key")
    (work / "authorized_keys").write_text(f"ssh-ed25519 {user_key} ngk-netconf-lab\n")
    sock = work / "ncxserver.sock"
    sock.unlink(missing_ok=True)  # netconfd never removes it
    (work / "sshd_config").write_text(_sshd_config(work, server.host, sock))
    (work / "startup.xml").write_text(
        startup or '<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"/>\n')
    Path("/run/sshd").mkdir(exist_ok=True)
    YUMA_HOME.mkdir(exist_ok=True)  # mount point only; instances write to their own dir
    mods = " ".join(shlex.quote(f"--module={m}") for m in modules)
    sh = {k: shlex.quote(str(v)) for k, v in {
        "yuma": work / "yuma", "startup": f"--startup={work / 'startup.xml'}",
        "sock": f"--ncxserver-sockname={sock}", "log": f"--log={server.log}",
        "conf": work / "sshd_config", "sshd_log": work / "sshd.log"}.items()}
    script = (
        f"mount --bind {sh['yuma']} {YUMA_HOME} || exit 1; "
        f"netconfd --superuser=root --port={PORT} {sh['startup']} "
        f"{sh['sock']} {mods} {sh['log']} --log-level=info & "
        f"/usr/sbin/sshd -D -e -f {sh['conf']} 2>>{sh['sshd_log']} & "
        "wait -n; kill 0")
    with open(work / "launch.log", "w") as err:
        proc = subprocess.Popen(
        ["ip", "netns", "exec", server.name, "unshare", "--mount", "--propagation", "private",
             "bash", "-c", script], start_new_session=True, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=err)
    _procs[server.name] = proc
    server = NetconfServer(**{**asdict(server), "pgid": proc.pid})
    with _locked():
        (STATE_DIR / f"{server.name}.json").write_text(json.dumps(asdict(server)))
    _wait_ready(proc, sock, server.host, Path(server.log), timeout)
    return server


def stop(server: NetconfServer) -> None:
    """Stop the daemons and remove the namespace, veth and state record (idempotent)."""
    with _locked():
        _teardown(server)
