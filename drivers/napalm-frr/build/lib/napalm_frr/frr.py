"""NAPALM driver for FRRouting on Linux: SSH to the router, vtysh and frr-reload.py there.

Every command runs on an exec channel of one SSH connection per router (paramiko; netmiko's
option names are accepted). No interactive shell: netmiko's prompt discovery cost ~0.3 s per
connection and nothing here used it.

Config state lives on the router, in `state_dir` (default /var/lib/napalm-frr/<pathspace or
hostname>): `candidate.conf` (replace) or `merge.conf` (merge), `rollback.conf` (the running config
before the last commit) and, while a commit awaits confirmation, `pending` holding the PID of a
detached timer on the router that reverts to rollback.conf when it fires, so the router reverts by
itself even if the controller dies. Whoever renames `pending` first (timer, confirm or rollback)
wins, which makes confirm-versus-revert race-free.

Privilege separation: the SSH user (root) touches only the state directory, which must be a real
directory owned by root (or the SSH user), group `frr`, mode 2750, reached through no symlink and
no directory that anyone else may write (checked before every use: a planted symlink or file makes
the operation fail). Everything that reads or writes FRR's own files (vtysh, frr-reload.py,
frr.conf, pid files) runs as the `frr` user (setpriv), so a file or symlink planted by `frr` can
never make root read or write anything `frr` could not anyway.
"""
from __future__ import annotations

import ipaddress
import json
import shlex
import socket
from typing import Any

import paramiko
from napalm.base import NetworkDriver, models
from napalm.base.exceptions import (
    CommandErrorException, CommitError, ConnectAuthError, ConnectionException,
    MergeConfigException, ReplaceConfigException)
from napalm.base.helpers import sanitize_configs
from napalm.base.netmiko_helpers import netmiko_args

from napalm_frr import parse
from napalm_frr.delta import merge_lines

RELOAD = "/usr/lib/frr/frr-reload.py"
HEADER = ("Building configuration...", "Current configuration:")  # not config: vtysh rejects it
MARK = "@@napalm_frr@@"
SANITIZE = {
    r"^(\s*(?:enable )?password) \S+": r"\1 <removed>",
    r"^(\s*ip ospf authentication-key) \S+": r"\1 <removed>",
    r"^(\s*ip ospf message-digest-key \d+ md5) \S+": r"\1 <removed>",
    r"^(\s*neighbor \S+ password) \S+": r"\1 <removed>",
    r"^(\s*(?:area|domain)-password (?:clear|md5)) \S+": r"\1 <removed>",
}


class FRRDriver(NetworkDriver):
    """NAPALM driver for platform `frr`.

    optional_args: netmiko's names for the SSH options used here (port, key_file, use_keys,
    allow_agent, ssh_strict, system_host_keys, alt_host_keys, alt_key_file, conn_timeout) plus
    `pathspace` (FRR -N, when the SSH session is not inside the router's own mount namespace),
    `state_dir`, `reload_cmd`, `frr_user` (default "frr"; "" runs FRR tools as the SSH user, for a
    login that is already unprivileged), `lldp_socket` (lldpd's control socket, when not the
    default) and `snmpd_conf` (default /etc/snmp/snmpd.conf).
    """

    def __init__(self, hostname: str, username: str, password: str, timeout: int = 60,
                 optional_args: dict[str, Any] | None = None) -> None:
        self.hostname, self.username, self.password, self.timeout = (
            hostname, username, password, timeout)
        args = dict(optional_args or {})
        self.netmiko_args = {"ssh_strict": True, "allow_agent": False, **netmiko_args(args)}
        pathspace = args.get("pathspace")
        sub = f"/{pathspace}" if pathspace else ""
        self.frr_user = str(args.get("frr_user", "frr"))
        user = shlex.quote(self.frr_user)
        self.as_frr = (f"setpriv --reuid={user} --regid={user} --init-groups "
                       if self.frr_user else "")
        ps = f" -N {shlex.quote(pathspace)}" if pathspace else ""
        self.vtysh = f"{self.as_frr}vtysh{ps}"
        # --stdout: frr-reload.py logs to stdout, not to /var/log/frr (not writable by frr)
        self.reload_cmd = f"{self.as_frr}{args.get('reload_cmd', RELOAD)}{ps} --reload --stdout"
        self.conf = f"/etc/frr{sub}/frr.conf"
        self.rundir = f"/var/run/frr{sub}"
        state = args.get("state_dir")
        self.state = (shlex.quote(state) if state else
                      f"/var/lib/napalm-frr/{shlex.quote(pathspace)}" if pathspace else
                      "/var/lib/napalm-frr/\"$(hostname | tr -cd A-Za-z0-9._-)\"")
        self.guard = _guard(self.state, self.frr_user)
        socket_ = args.get("lldp_socket")
        self.lldpcli = "lldpcli" + (f" -u {shlex.quote(socket_)}" if socket_ else "")
        self.snmpd_conf = shlex.quote(args.get("snmpd_conf", "/etc/snmp/snmpd.conf"))
        self.device: Any = None
        self._fast: str | None = None  # add-only delta for the loaded candidate (delta.py)

    # --- session ---------------------------------------------------------------------------
    def open(self) -> None:
        a = self.netmiko_args
        client = paramiko.SSHClient()
        if a.get("ssh_strict", True):
            client.set_missing_host_key_policy(paramiko.RejectPolicy())
        else:  # --insecure, by choice only: accept any host key, remember none
            client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        try:
            if a.get("system_host_keys"):
                client.load_system_host_keys()
            if a.get("alt_host_keys") and a.get("alt_key_file"):
                client.load_host_keys(a["alt_key_file"])
            client.connect(
                self.hostname, port=int(a.get("port") or 22), username=self.username,
                password=self.password or None,
                key_filename=a.get("key_file") if a.get("use_keys") else None,
                allow_agent=bool(a.get("allow_agent")), look_for_keys=False,
                timeout=a.get("conn_timeout", self.timeout), banner_timeout=self.timeout,
                auth_timeout=self.timeout)
        except paramiko.AuthenticationException as exc:
            client.close()
            raise ConnectAuthError(f"{self.hostname}: authentication failed") from exc
        except (paramiko.SSHException, OSError) as exc:
            client.close()
            raise ConnectionException(f"{self.hostname}: cannot connect: {exc}") from exc
        self.device = client

    def close(self) -> None:
        if self.device is not None:
            self.device.close()
            self.device = None

    def is_alive(self) -> models.AliveDict:
        transport = self.device.get_transport() if self.device else None
        return {"is_alive": bool(transport and transport.is_active())}

    def _exec(self, command: str, stdin: str | None = None) -> tuple[int, str, str]:
        """Run one shell command on the router over an exec channel of the SSH connection.

        An exec channel gives the exit status and byte-exact output.
        """
        if self.device is None:
            raise ConnectionException(f"{self.hostname}: not connected")
        try:
            chan = self.device.get_transport().open_session(timeout=self.timeout)
            chan.settimeout(self.timeout)
            chan.exec_command(command)
            if stdin is not None:
                chan.sendall(stdin.encode())
                chan.shutdown_write()
            out = chan.makefile("rb").read().decode(errors="replace")
            err = chan.makefile_stderr("rb").read().decode(errors="replace")
            return chan.recv_exit_status(), out, err
        except (socket.timeout, TimeoutError) as exc:
            raise ConnectionException(f"{self.hostname}: timed out running a command") from exc
        except (paramiko.SSHException, EOFError, OSError, AttributeError) as exc:
            raise ConnectionException(f"{self.hostname}: session lost: {exc}") from exc

    def _shell(self, command: str, stdin: str | None = None) -> str:
        """stdout of a command; CommandErrorException carrying stderr if it fails."""
        code, out, err = self._exec(command, stdin)
        if code != 0:
            raise CommandErrorException(f"{self.hostname}: {(err or out).strip()} (exit {code})")
        return out

    def _vtysh(self, command: str) -> str:
        return f"{self.vtysh} -c {shlex.quote(command)}"

    def _batch(self, commands: list[str]) -> list[str]:
        """Outputs of several commands run in one exec (each SSH exec costs a shell start)."""
        script = f" && echo {MARK} && ".join(commands)
        return self._shell(script).split(f"{MARK}\n")

    # --- getters ---------------------------------------------------------------------------
    def cli(self, commands: list[str], encoding: str = "text") -> dict[str, Any]:
        """vtysh commands; encoding="json" parses each output (use commands ending in `json`)."""
        if encoding not in ("text", "json"):
            raise NotImplementedError(f"encoding {encoding!r}: use 'text' or 'json'")
        outputs = dict(zip(commands, self._batch([self._vtysh(c) for c in commands])))
        return {c: json.loads(o) if encoding == "json" else o for c, o in outputs.items()}

    def get_facts(self) -> models.FactsDict:
        return parse.facts(*self._batch([
            self._vtysh("show version"),
            f"ps -o etimes= -p \"$({self.as_frr}cat {self.rundir}/zebra.pid)\"",
            self._vtysh("show interface brief json")]))

    def get_interfaces(self) -> dict[str, models.InterfaceDict]:
        return parse.interfaces(self._shell(self._vtysh("show interface json")))

    def get_interfaces_ip(self) -> dict[str, models.InterfacesIPDict]:
        return parse.interfaces_ip(self._shell(self._vtysh("show interface json")))

    def get_lldp_neighbors(self) -> dict[str, list[models.LLDPNeighborDict]]:
        """{} when lldpd does not run on the router."""
        try:
            return parse.lldp_neighbors(self._shell(f"{self.lldpcli} -f json0 show neighbors"))
        except CommandErrorException:
            return {}

    def get_lldp_neighbors_detail(self, interface: str = ""
                                  ) -> dict[str, list[models.LLDPNeighborDetailDict]]:
        """{} when lldpd does not run on the router."""
        try:
            out = parse.lldp_neighbors_detail(
                self._shell(f"{self.lldpcli} -f json0 show neighbors details"))
        except CommandErrorException:
            return {}
        return {k: v for k, v in out.items() if not interface or k == interface}

    def get_interfaces_counters(self) -> dict[str, models.InterfaceCounterDict]:
        return parse.interfaces_counters(self._shell("ip -j -s -s link show"))

    def get_arp_table(self, vrf: str = "") -> list[models.ARPTableDict]:
        where = f" vrf {shlex.quote(vrf)}" if vrf else ""
        return parse.arp_table(self._shell(f"ip -j -4 -s neigh show{where}"))

    def get_ipv6_neighbors_table(self) -> list[models.IPV6NeighborDict]:
        return parse.ipv6_neighbors(self._shell("ip -j -6 -s neigh show"))

    def get_mac_address_table(self) -> list[models.MACAdressTable]:
        return parse.mac_table(self._shell("bridge -j fdb show"))

    def get_vlans(self) -> dict[int, models.VlanDict]:
        return parse.vlans(*self._batch(["ip -j -d link show", "bridge -j vlan show"]))

    def get_network_instances(self, name: str = "") -> dict[str, models.NetworkInstanceDict]:
        out = parse.network_instances(self._shell("ip -j -d link show"))
        return {k: v for k, v in out.items() if not name or k == name}

    def get_route_to(self, destination: str = "", protocol: str = "",
                     longer: bool = False) -> dict[str, list[models.RouteDict]]:
        """Routes to `destination` (longest match, or every more specific one with longer=True;
        every route when empty), one entry per next hop."""
        family = "ip"
        if destination:
            net = ipaddress.ip_network(destination, strict=False)  # ValueError if not an address
            family = "ip" if net.version == 4 else "ipv6"
            destination = str(net) if "/" in destination or longer else str(net.network_address)
        cmd = f"show {family} route" + (f" {destination}" if destination else "") + (
            " longer-prefixes" if longer and destination else "") + " json"
        return parse.routes(self._shell(self._vtysh(cmd)), protocol)

    def get_bgp_neighbors(self) -> dict[str, models.BGPStateNeighborsPerVRFDict]:
        return parse.bgp_neighbors(*self._batch([
            self._vtysh("show bgp vrf all summary json"),
            self._vtysh("show bgp vrf all neighbors json")]))

    def get_bgp_neighbors_detail(self, neighbor_address: str = ""
                                 ) -> dict[str, dict[int, list[models.PeerDetailsDict]]]:
        return parse.bgp_neighbors_detail(
            self._shell(self._vtysh("show bgp vrf all neighbors json")), neighbor_address)

    def get_bgp_config(self, group: str = "", neighbor: str = ""
                       ) -> dict[str, models.BGPConfigGroupDict]:
        out = parse.bgp_config(self._shell(self._vtysh("show running-config")))
        if group:
            out = {k: v for k, v in out.items() if k == group}
        if neighbor:
            out = {k: {**v, "neighbors": {n: d for n, d in v["neighbors"].items()
                                          if n == neighbor}}
                   for k, v in out.items() if neighbor in v["neighbors"]}
        return out

    def get_ntp_servers(self) -> dict[str, models.NTPServerDict]:
        """The servers chrony, ntpd or systemd-timesyncd is configured with."""
        return parse.ntp_servers(self._shell(f"cat {NTP_CONFIGS} 2>/dev/null; true"))

    def get_ntp_stats(self) -> list[models.NTPStats]:
        """chrony's sources; [] when chrony does not run."""
        return parse.ntp_stats(self._shell("chronyc -n -c sources 2>/dev/null; true"))

    def get_snmp_information(self) -> models.SNMPDict:
        """From snmpd.conf: only the directives NAPALM reports leave the router."""
        words = "|".join(parse.SNMP_DIRECTIVES)
        return parse.snmp_information(self._shell(
            f"grep -E '^[[:space:]]*({words})[[:space:]]' {self.snmpd_conf} 2>/dev/null; true"))

    def get_users(self) -> dict[str, models.UsersDict]:
        """Accounts with a login shell; password hashes and key files are not read."""
        return parse.users(*self._batch(["getent passwd", "getent group sudo || true"]))

    def get_environment(self) -> models.EnvironmentDict:
        """CPU use over one second, memory, and sysfs sensors (none in a VM or container)."""
        return parse.environment(*self._batch([
            "grep '^cpu[0-9]' /proc/stat; sleep 1; grep '^cpu[0-9]' /proc/stat",
            "cat /proc/meminfo", SENSORS]))

    def get_optics(self) -> dict[str, models.OpticsDict]:
        """Always {}: Linux gives no uniform access to transceiver diagnostics (veths have
        none; `ethtool -m` formats differ per driver)."""
        return {}

    def get_config(self, retrieve: str = "all", full: bool = False, sanitized: bool = False,
                   format: str = "text") -> models.ConfigDict:
        if format != "text":
            raise NotImplementedError("FRR configs are text")
        out: models.ConfigDict = {"running": "", "startup": "", "candidate": ""}
        commands = {"running": self._vtysh("show running-config"),
                    "startup": f"{self.as_frr}cat {self.conf}",
                    "candidate": f"{{ {self.guard}\ncat candidate.conf merge.conf 2>/dev/null "
                                 "|| true; }"}
        wanted = [k for k in commands if retrieve in ("all", k)]
        outputs = self._batch([commands[k] for k in wanted])
        out.update(zip(wanted, outputs))  # type: ignore[typeddict-item]
        return sanitize_configs(out, SANITIZE) if sanitized else out

    def ping(self, destination: str, source: str = "", ttl: int = 255, timeout: int = 2,
             size: int = 100, count: int = 5, vrf: str = "",
             source_interface: str = "") -> models.PingResultDict:
        if vrf:
            raise NotImplementedError("VRFs are not used on FRR here")
        src = source or source_interface
        cmd = (f"ping -n -c {int(count)} -W {int(timeout)} -s {int(size)} -t {int(ttl)}"
               + (f" -I {shlex.quote(src)}" if src else "") + f" {shlex.quote(destination)}")
        _, out, err = self._exec(cmd)
        return parse.ping(out or err)

    def traceroute(self, destination: str, source: str = "", ttl: int = 255, timeout: int = 2,
                   vrf: str = "") -> models.TracerouteResultDict:
        if vrf:
            raise NotImplementedError("VRFs are not used on FRR here")
        cmd = (f"traceroute -n -w {int(timeout)} -m {int(ttl)}"
               + (f" -s {shlex.quote(source)}" if source else "") + f" {shlex.quote(destination)}")
        _, out, err = self._exec(cmd)
        return parse.traceroute(out + err)

    # --- configuration ---------------------------------------------------------------------
    def _state_exec(self, script: str, stdin: str | None = None) -> tuple[int, str, str]:
        """Run `script` in the checked state directory ($S, also the working directory)."""
        code, out, err = self._exec(f"{self.guard}\n{script}", stdin)
        if code == UNSAFE:
            raise CommandErrorException(
                f"{self.hostname}: refusing the state directory {self.state}: it must be a real "
                "directory owned by root, reached through no symlink and no directory that "
                "others may write")
        return code, out, err

    def _load(self, name: str, text: str | None, filename: str | None,
              error: type[Exception]) -> None:
        if text is None:
            if filename is None:
                raise error("give config text or a filename")
            with open(filename) as f:
                text = f.read()
        self._fast = None
        code, out, err = self._state_exec(
            f"rm -f candidate.conf merge.conf && cat > {name} && "
            f"{{ {self.vtysh} -C -f \"$S/{name}\" || {{ rc=$?; rm -f {name}; exit $rc; }}; }}",
            stdin=text)
        if code != 0:
            raise error(f"{self.hostname}: router rejects the config: {(out + err).strip()}")

    def load_replace_candidate(self, filename: str | None = None,
                               config: str | None = None) -> None:
        self._load("candidate.conf", config, filename, ReplaceConfigException)

    def load_merge_candidate(self, filename: str | None = None, config: str | None = None) -> None:
        self._load("merge.conf", config, filename, MergeConfigException)

    def compare_config(self) -> str:
        """Unified diff running -> candidate (replace), `+` lines a merge adds (merge), or ""."""
        _, out, _ = self._state_exec(
            f"for f in candidate.conf merge.conf; do [ -f $f ] && {{ echo $f; "
            f"{self.vtysh} -c 'show running-config'; echo {MARK}; cat $f; exit 0; }}; done; true")
        if not out:
            return ""
        name, _, rest = out.partition("\n")
        running, _, candidate = rest.partition(f"{MARK}\n")
        if name == "candidate.conf":
            diff = parse.replace_diff(running, candidate)
            self._fast = merge_lines(running, candidate) if diff else None
            return diff
        return parse.merge_diff(running, candidate)

    def discard_config(self) -> None:
        self._fast = None
        self._state_exec("rm -f candidate.conf merge.conf")

    def commit_config(self, message: str = "", revert_in: int | None = None) -> None:
        """Apply the candidate. With revert_in, the router reverts unless confirmed in time.

        One script on the router: refuse if a commit is pending, save the running config as
        rollback.conf, start the revert timer (before applying, so a dying session still
        reverts), apply; a failed apply is reverted at once. A replace applies the add-only
        delta `compare_config` found (delta.py) when there is one and keeps it only if the
        running config then equals the candidate; otherwise, and always else, frr-reload.py.
        """
        if revert_in is not None and int(revert_in) < 1:
            raise CommitError("revert_in must be at least 1 second")
        canon = ("sed -e 's/[[:space:]]*$//' | grep -vxE "
                 "'Building configuration[.][.][.]|Current configuration:|[[:space:]]*!|'")
        script = [
            "cat > fast.conf",
            f"canon() {{ {canon}; }}",
            f"fast() {{ [ -s fast.conf ] && {self.vtysh} -f \"$S/fast.conf\" >/dev/null 2>&1 && "
            f"[ \"$({self.vtysh} -c 'show running-config' | canon)\" = "
            f"\"$(canon < candidate.conf)\" ] && {self.vtysh} -c 'write memory' >/dev/null; }}",
            "if [ -f pending ] && kill -0 \"$(cat pending)\" 2>/dev/null; then exit 10; fi",
            f"if [ -f candidate.conf ]; then apply='fast || {self._reload('$S/candidate.conf')}'",
            f"elif [ -f merge.conf ]; then apply='{self.vtysh} -f \"$S/merge.conf\" && "
            f"{self.vtysh} -c \"write memory\"'",
            "else exit 11; fi",
            f"{self.vtysh} -c 'show running-config' | grep -vxF -e '{HEADER[0]}' "
            f"-e '{HEADER[1]}' > rollback.new || exit 13",
            "mv rollback.new rollback.conf && rm -f reverted",
            f"echo \"$(date -Is) {_quote_msg(message)}\" >> commits.log",
        ]
        if revert_in is not None:
            # the timer gets the checked directory as $0 and works inside it only
            revert = (f"sleep {int(revert_in)}; cd \"$0\" || exit 0; S=$0; "
                      "mv pending reverting 2>/dev/null || exit 0; "
                      f"{self._reload('$S/rollback.conf')} > revert.log 2>&1; "
                      "mv reverting reverted")
            script.append(f"setsid nohup sh -c {shlex.quote(revert)} \"$S\" >/dev/null 2>&1 "
                          "</dev/null & echo $! > pending")
        script.append("eval \"$apply\" || exit 12")
        script.append("rm -f candidate.conf merge.conf fast.conf")
        code, out, err = self._state_exec("\n".join(script), stdin=self._fast or "")
        self._fast = None
        if code == 10:
            raise CommitError(f"{self.hostname}: a commit is pending confirmation; "
                              "confirm or roll it back first")
        if code == 11:
            raise CommitError(f"{self.hostname}: no candidate config loaded")
        if code != 0:
            if code == 12:
                self._revert()
            raise CommitError(f"{self.hostname}: commit failed"
                              f"{' and was reverted' if code == 12 else ''}: "
                              f"{(err or out).strip()[-500:]}")

    CANCEL_TIMER = ("mv pending cancelled 2>/dev/null && "
                    "{ kill -TERM -- -\"$(cat cancelled)\" 2>/dev/null; rm -f cancelled; }")
    """Shell, in the state dir: claim and stop a pending revert timer (false if none, or it
    already fired)."""

    def _revert(self) -> None:
        self._state_exec(f"{{ {self.CANCEL_TIMER}; }}; {self._reload('$S/rollback.conf')}")

    def _reload(self, path: str) -> str:
        """Shell: replace the running config with `path`. frr-reload.py cannot always remove
        dependent lines in one pass (FRR 8.4: `ip ospf passive` after `ip ospf area`), so a
        failed pass is followed by a second one that computes the remaining delta afresh."""
        return (f"{{ {self.reload_cmd} \"{path}\" >/dev/null 2>&1 || "
                f"{self.reload_cmd} \"{path}\"; }}")

    def has_pending_commit(self) -> bool:
        code, _, _ = self._state_exec(
            "test -f pending && kill -0 \"$(cat pending)\" 2>/dev/null")
        return code == 0

    def confirm_commit(self) -> None:
        code, _, _ = self._state_exec(self.CANCEL_TIMER)
        if code != 0:
            raise CommitError(f"{self.hostname}: no commit pending confirmation "
                              "(it was confirmed already, or the router reverted it)")

    def rollback(self) -> None:
        """Back to the running config from before the last commit (cancels a pending timer)."""
        code, out, err = self._state_exec(
            f"test -f rollback.conf || exit 11; {{ {self.CANCEL_TIMER}; }}; "
            f"{self._reload('$S/rollback.conf')}")
        if code == 11:
            raise CommitError(f"{self.hostname}: nothing to roll back to")
        if code != 0:
            raise CommitError(f"{self.hostname}: rollback failed: {(err or out).strip()[-500:]}")


UNSAFE = 14  # exit status of the state-directory check
NTP_CONFIGS = ("/etc/chrony/chrony.conf /etc/chrony/conf.d/*.conf /etc/chrony/sources.d/*.sources "
               "/etc/ntp.conf /etc/ntpsec/ntp.conf /etc/systemd/timesyncd.conf "
               "/etc/systemd/timesyncd.conf.d/*.conf")
SENSORS = (  # sysfs (kernel-owned): `temp|fan|power NAME VALUE [CRIT]` lines
    "for z in /sys/class/thermal/thermal_zone*; do [ -r $z/temp ] && echo temp "
    "$(cat $z/type)-${z##*zone} $(cat $z/temp) $(cat $z/trip_point_0_temp 2>/dev/null); done; "
    "for f in /sys/class/hwmon/hwmon*/fan*_input; do [ -r $f ] && echo fan "
    "$(basename $(dirname $f))-$(basename $f _input) $(cat $f); done; "
    "for p in /sys/class/power_supply/*; do [ -r $p/online ] && echo power "
    "$(basename $p) $(cat $p/online); done; true")


def _guard(state: str, group: str) -> str:
    """Shell that creates (root-owned, group `group`, 2750) and checks the state directory, sets
    $S to it and enters it; exits UNSAFE if the directory or any directory above it is a symlink,
    is owned by another user than root or the SSH user, or is writable by group or others."""
    make = (f"mkdir -m 2750 -- \"$S\" && chgrp {shlex.quote(group)} -- \"$S\"" if group
            else "mkdir -m 0700 -- \"$S\"")
    return "\n".join([
        "umask 027",
        f"S={state}",
        "ok() {  # $1 and every directory above it: no symlink, owned by root/us, not writable",
        "  [ \"$(realpath -e -- \"$1\")\" = \"$1\" ] || return 1",
        "  p=$1",
        "  while :; do",
        "    set -- $(stat -c '%u %a' -- \"$p\") && [ $# = 2 ] || return 1",
        "    [ \"$1\" = 0 ] || [ \"$1\" = \"$(id -u)\" ] || return 1",
        "    [ $((0$2 & 022)) = 0 ] || return 1",
        "    [ \"$p\" = / ] && return 0",
        "    p=$(dirname -- \"$p\")",
        "  done",
        "}",
        "a=$S; while [ ! -e \"$a\" ]; do a=$(dirname -- \"$a\"); done",
        f"ok \"$a\" || exit {UNSAFE}",
        f"[ -d \"$S\" ] || {{ (umask 022; mkdir -p -- \"${{S%/*}}\") && {make}; }} "
        f"2>/dev/null || exit {UNSAFE}",
        f"ok \"$S\" && cd -- \"$S\" || exit {UNSAFE}",
    ])


def _quote_msg(message: str) -> str:
    """A commit message safe inside double quotes in the router's shell."""
    return "".join(c for c in message if c.isalnum() or c in " ._,:/=+-@")
