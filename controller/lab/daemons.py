"""Per-router daemons: FRR (own pathspace and UTS namespace), snmpd and sshd on the mgmt address.

Layout of a router directory (<lab dir>/routers/<router>/):
  frr/   frr.conf + vtysh.conf, linked from /etc/frr/<netns> (owned by frr)
  log/   daemon logs;  snmp/  snmpd.conf (0600), persistent dir, subagent conf;  ssh/  sshd
"""
from __future__ import annotations

import asyncio
import shlex
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from controller.lab import quoting as q
from controller.lab.creds import SNMP_PROTOCOLS, Credentials, keypair
from controller.lab.state import LabError, RouterState
from controller.lab.system import FRR_DAEMONS, FRR_DIR, in_netns, read_pid, run, terminate
from controller.model.topology import Router, Topology
from controller.southbound.snmp.client import SnmpError, snmp_set
from controller.credentials import SnmpCredentials
from controller.southbound.snmp.inventory import Target
from controller.southbound.snmp.oids import IFTABLE_CACHE_TIMEOUT, dotted
from controller.southbound.snmp.usm import NET_SNMP_NAMES

FRR_RUN = Path("/var/run/frr")
FRR_ETC = Path("/etc/frr")
SNMP_MODULES = Path("/usr/lib/x86_64-linux-gnu/frr/modules")
AGENTX = "tcp:127.0.0.1:705"
TRAP_PORT = 1162


def frr_owned(path: Path, mode: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    shutil.chown(path, "frr", "frr")
    path.chmod(mode)


def prepare(topo: Topology, router: Router, rs: RouterState, creds: Credentials,
            controller_ip: str, frr_conf: str) -> str:
    """Write every config file of a router; return its known_hosts line.

    Refuses (LabError) identifiers that are not plain words and text with control characters.
    """
    q.check_router(topo, router)
    base = Path(rs.dir)
    base.mkdir(parents=True, mode=0o711, exist_ok=True)
    for sub, mode in (("frr", 0o770), ("log", 0o770)):
        frr_owned(base / sub, mode)
    (base / "frr" / "frr.conf").write_text(frr_conf)
    (base / "frr" / "vtysh.conf").write_text("service integrated-vtysh-config\n")
    for name in ("frr.conf", "vtysh.conf"):
        shutil.chown(base / "frr" / name, "frr", "frr")
    snmp = base / "snmp"
    (snmp / "persist").mkdir(parents=True, mode=0o700, exist_ok=True)
    (snmp / "subagent").mkdir(mode=0o755, exist_ok=True)
    (snmp / "subagent" / "frr.conf").write_text(f"agentXSocket {AGENTX}\n")
    conf = snmp / "snmpd.conf"
    conf.touch(mode=0o600)
    conf.write_text(snmpd_conf(topo, router, creds, controller_ip))
    ssh = base / "ssh"
    ssh.mkdir(mode=0o700, exist_ok=True)
    host_pub = keypair(ssh / "ssh_host_ed25519_key", router.id)
    (ssh / "authorized_keys").write_text(Path(f"{creds.ssh_key}.pub").read_text())
    (ssh / "sshd_config").write_text(sshd_conf(router, ssh, base / "log"))
    return f"{router.mgmt.ip} {' '.join(host_pub.split()[:2])}\n"


# ifIndex, ifAdminStatus, ifOperStatus: the varbinds of linkDown/linkUp (RFC 2863)
LINK_OIDS = ".1.3.6.1.2.1.2.2.1.1 .1.3.6.1.2.1.2.2.1.7 .1.3.6.1.2.1.2.2.1.8"


def snmpd_conf(topo: Topology, router: Router, creds: Credentials, controller_ip: str) -> str:
    """snmpd.conf; every value from the topology or credentials is quoted by `quoting`."""
    subnet = topo.mgmt_subnet
    auth, priv = (NET_SNMP_NAMES[p] for p in SNMP_PROTOCOLS.values())
    community, tune = (q.snmpd_word("community", c)
                       for c in (creds.snmp_community, creds.snmp_tune))
    user, iquery = (q.snmpd_word("user", u) for u in (creds.snmp_user, creds.snmp_iquery))
    return "\n".join([
        f"agentAddress udp:{router.mgmt.ip}:161,udp:127.0.0.1:161",
        f"rocommunity {community} {subnet}",
        f"createUser {user} {auth} {q.snmpd_quoted('auth', creds.snmp_auth)} "
        f"{priv} {q.snmpd_quoted('priv', creds.snmp_priv)}",
        f"rouser {user} priv",
        f"sysLocation {q.snmpd_rest('site name', topo.sites[router.site].name)}",
        "sysContact ngk lab",
        "dontLogTCPWrappersConnects yes",
        "master agentx",
        f"agentXSocket {AGENTX}",
        f"trap2sink {controller_ip}:{TRAP_PORT} {community}",
        # write access to one object (the ifTable cache timeout), from the controller only
        f"rwcommunity {tune} {controller_ip}/32 {dotted(IFTABLE_CACHE_TIMEOUT)}",
        f"createUser {iquery}",
        f"rouser {iquery} noauth .1.3.6.1.2.1.2.2.1",
        f"iquerySecName {iquery}",
        # linkUpDownNotifications checks every 60 s; check ifOperStatus every second instead
        f"notificationEvent ngkLinkDown .1.3.6.1.6.3.1.1.5.3 {LINK_OIDS}",
        f"notificationEvent ngkLinkUp .1.3.6.1.6.3.1.1.5.4 {LINK_OIDS}",
        "monitor -r 1 -e ngkLinkDown ngkLinkDown .1.3.6.1.2.1.2.2.1.8 == 2",
        "monitor -r 1 -e ngkLinkUp ngkLinkUp .1.3.6.1.2.1.2.2.1.8 != 2",
        "",
    ])


def sshd_conf(router: Router, ssh: Path, log: Path) -> str:
    """sshd_config; paths are double-quoted (and '%' doubled where sshd expands tokens)."""
    return "\n".join([
        f"ListenAddress {router.mgmt.ip}",
        f"HostKey {q.sshd_quoted('host key', str(ssh / 'ssh_host_ed25519_key'))}",
        f"PidFile {q.sshd_quoted('pid file', str(ssh / 'sshd.pid'))}",
        f"AuthorizedKeysFile {q.sshd_quoted('keys', str(ssh / 'authorized_keys'), tokens=True)}",
        "StrictModes no", "UsePAM no", "PasswordAuthentication no",
        "KbdInteractiveAuthentication no", "PermitRootLogin prohibit-password",
        "AllowUsers root", "X11Forwarding no", "PrintMotd no",
        "",
    ])


def link_frr_paths(rs: RouterState) -> list[Path]:
    """The pathspace run dir and the /etc/frr/<netns> link; returns what was created."""
    run_dir, etc = FRR_RUN / rs.netns, FRR_ETC / rs.netns
    frr_owned(run_dir, 0o755)
    if etc.is_symlink() or etc.exists():
        raise LabError(f"{etc} already exists: not created by this lab, refusing to replace it")
    etc.symlink_to(Path(rs.dir) / "frr")
    return [run_dir, etc]


def start_snmpd(rs: RouterState) -> int:
    snmp = Path(rs.dir) / "snmp"
    pidfile = snmp / "snmpd.pid"
    run(in_netns(rs.netns, ["/usr/sbin/snmpd", "-I", "-smux", "-C", "-c", str(snmp / "snmpd.conf"),
                            "-p", str(pidfile), "-Lf", str(Path(rs.dir) / "log" / "snmpd.log")],
                 rs.uts), env={"SNMP_PERSISTENT_DIR": str(snmp / "persist")})
    return read_pid(pidfile)


def tune_snmpd(router: Router, creds: Credentials) -> None:
    """Make the agent read interface state from the kernel on every request.

    net-snmp answers ifTable/ifXTable from a cache it reloads every 3 s (nsCacheTimeout) and has
    no snmpd.conf directive for it, so a link change reached pollers and its own linkDown monitor
    up to 3 s late; a SET of NET-SNMP-AGENT-MIB::nsCacheTimeout for ifTable to 0 removes the lag.
    """
    target = Target(router.id, str(router.mgmt.ip), 161,
                    SnmpCredentials("2c", community=creds.snmp_tune), timeout=0.5, retries=10)
    try:
        asyncio.run(snmp_set(target, [(IFTABLE_CACHE_TIMEOUT, 0)]))
    except SnmpError as exc:
        raise LabError(f"{router.id}: snmpd did not take the ifTable "
                       f"cache timeout: {exc}") from None


def start_frr(rs: RouterState, on_pid: Callable[[str, int], None]) -> None:
    """Start the FRR daemons (zebra, ospfd, bgpd, bfdd, staticd) in the router's namespaces;
    apply frr.conf (vtysh -b).

    `on_pid(daemon, pid)` is called as soon as each daemon runs, so it can be recorded.
    """
    env = {"SNMPCONFPATH": str(Path(rs.dir) / "snmp" / "subagent")}
    for daemon in FRR_DAEMONS:
        args = [str(FRR_DIR / daemon), "-d", "-N", rs.netns, "-P", "0",
                "--log", f"file:{Path(rs.dir) / 'log' / daemon}.log"]
        if (SNMP_MODULES / f"{daemon}_snmp.so").exists():
            args += ["-M", "snmp"]
        run(in_netns(rs.netns, args, rs.uts), env=env)
        on_pid(daemon, read_pid(FRR_RUN / rs.netns / f"{daemon}.pid"))
    out = run(["nsenter", f"--uts={rs.uts}", "vtysh", "-N", rs.netns, "-b"], check=False)
    if out.returncode != 0:
        raise LabError(f"{rs.netns}: frr.conf did not apply: {out.stdout.strip()[-400:]}")


def stop_frr(rs: RouterState) -> None:
    terminate([rs.pids.get(d, 0) for d in FRR_DAEMONS])
    for daemon in FRR_DAEMONS:
        rs.pids.pop(daemon, None)


def start_lldpd(router: Router, rs: RouterState) -> int:
    """lldpd on the data interfaces (not mgmt0), in the foreground, with its own control socket in
    a root-owned dir (lldp/lldpd.socket) and system name = router id; returns its PID."""
    lldp = Path(rs.dir) / "lldp"
    lldp.mkdir(mode=0o755, exist_ok=True)
    conf = lldp / "lldpd.conf"
    conf.write_text(f"configure system hostname {router.id}\nconfigure lldp tx-interval 1\n")
    with open(lldp / "lldpd.log", "ab") as log:
        proc = subprocess.Popen(  # `ip netns exec` and nsenter exec: the PID is lldpd's
            in_netns(rs.netns, ["/usr/sbin/lldpd", "-d", "-u", str(lldp / "lldpd.socket"),
                                "-O", str(conf), "-I", "*,!mgmt0", "-m", str(router.loopback.ip)],
                     rs.uts), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True)
    return proc.pid


def start_sshd(rs: RouterState) -> int:
    """sshd in a private mount namespace where this router's FRR dirs are the default ones."""
    ssh, frr = Path(rs.dir) / "ssh", Path(rs.dir) / "frr"
    script = (f"mount --bind {shlex.quote(str(FRR_RUN / rs.netns))} {FRR_RUN} && "
              f"mount --bind {shlex.quote(str(frr))} {FRR_ETC} && "
              # the host's interactive shell setup (e.g. pyenv) costs ~0.5 s per SSH command
              "{ [ ! -f /root/.bashrc ] || mount --bind /dev/null /root/.bashrc; } && "
              f"exec /usr/sbin/sshd -f {shlex.quote(str(ssh / 'sshd_config'))} "
              f"-E {shlex.quote(str(Path(rs.dir) / 'log' / 'sshd.log'))}")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    run(in_netns(rs.netns, ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                 rs.uts))
    return read_pid(ssh / "sshd.pid")
