"""NAPALM driver for FRRouting on Linux: SSH to the router, vtysh and frr-reload.py there.

Every command runs on an exec channel of one SSH connection per router (paramiko; netmiko's
option names are accepted). No interactive shell: netmiko's prompt discovery cost ~0.3 s per
connection and nothing here used it.

Config state lives on the router, in `state_dir` (default /etc/frr[/<pathspace>]/napalm):
`candidate.conf` (replace) or `merge.conf` (merge), `rollback.conf` (the running config before
the last commit) and, while a commit awaits confirmation, `pending` holding the PID of a detached
timer on the router that reverts to rollback.conf when it fires, so the router reverts by itself
even if the controller dies. Whoever renames `pending` first (timer, confirm or rollback) wins,
which makes confirm-versus-revert race-free.
"""
from __future__ import annotations

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
    allow_agent, ssh_strict, system_host_keys, alt_host_keys, alt_key_file, conn_timeout) plus `pathspace` (FRR -N, when the SSH session is not inside the router's
    own mount namespace), `state_dir` and `reload_cmd`.
    """

    def __init__(self, hostname: str, username: str, password: str, timeout: int = 60,
                 optional_args: dict[str, Any] | None = None) -> None:
        self.hostname, self.username, self.password, self.timeout = (
            hostname, username, password, timeout)
        args = dict(optional_args or {})
        self.netmiko_args = {"ssh_strict": True, "allow_agent": False, **netmiko_args(args)}
        pathspace = args.get("pathspace")
        sub = f"/{pathspace}" if pathspace else ""
        self.vtysh = "vtysh" + (f" -N {shlex.quote(pathspace)}" if pathspace else "")
        self.reload_cmd = args.get("reload_cmd", RELOAD) + (
            f" -N {shlex.quote(pathspace)}" if pathspace else "") + " --reload"
        self.conf = f"/etc/frr{sub}/frr.conf"
        self.rundir = f"/var/run/frr{sub}"
        self.state = args.get("state_dir", f"/etc/frr{sub}/napalm")
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
        """Run one shell command on the router over an exec channel of the netmiko session.

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
            self._vtysh("show version"), f"ps -o etimes= -p $(cat {self.rundir}/zebra.pid)",
            self._vtysh("show interface brief json")]))

    def get_interfaces(self) -> dict[str, models.InterfaceDict]:
        return parse.interfaces(self._shell(self._vtysh("show interface json")))

    def get_interfaces_ip(self) -> dict[str, models.InterfacesIPDict]:
        return parse.interfaces_ip(self._shell(self._vtysh("show interface json")))

    def get_lldp_neighbors(self) -> dict[str, list[models.LLDPNeighborDict]]:
        """{} when lldpd does not run on the router."""
        try:
            return parse.lldp_neighbors(self._shell("lldpcli -f json0 show neighbors"))
        except CommandErrorException:
            return {}

    def get_config(self, retrieve: str = "all", full: bool = False, sanitized: bool = False,
                   format: str = "text") -> models.ConfigDict:
        if format != "text":
            raise NotImplementedError("FRR configs are text")
        out: models.ConfigDict = {"running": "", "startup": "", "candidate": ""}
        commands = {"running": self._vtysh("show running-config"), "startup": f"cat {self.conf}",
                    "candidate": f"cat {self.state}/candidate.conf {self.state}/merge.conf "
                                 "2>/dev/null || true"}
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

    # --- configuration ---------------------------------------------------------------------
    def _load(self, name: str, text: str | None, filename: str | None,
              error: type[Exception]) -> None:
        if text is None:
            if filename is None:
                raise error("give config text or a filename")
            with open(filename) as f:
                text = f.read()
        s, self._fast = self.state, None
        code, out, err = self._exec(
            f"umask 077 && mkdir -p {s} && rm -f {s}/candidate.conf {s}/merge.conf && "
            f"cat > {s}/{name} && {{ {self.vtysh} -C -f {s}/{name} || "
            f"{{ rc=$?; rm -f {s}/{name}; exit $rc; }}; }}", stdin=text)
        if code != 0:
            raise error(f"{self.hostname}: router rejects the config: {(out + err).strip()}")

    def load_replace_candidate(self, filename: str | None = None,
                               config: str | None = None) -> None:
        self._load("candidate.conf", config, filename, ReplaceConfigException)

    def load_merge_candidate(self, filename: str | None = None, config: str | None = None) -> None:
        self._load("merge.conf", config, filename, MergeConfigException)

    def compare_config(self) -> str:
        """Unified diff running -> candidate (replace), `+` lines a merge adds (merge), or ""."""
        out = self._shell(
            f"cd {self.state} 2>/dev/null || exit 0; for f in candidate.conf merge.conf; do "
            f"[ -f $f ] && {{ echo $f; {self.vtysh} -c 'show running-config'; echo {MARK}; "
            f"cat $f; exit 0; }}; done; true")
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
        self._shell(f"rm -f {self.state}/candidate.conf {self.state}/merge.conf")

    def commit_config(self, message: str = "", revert_in: int | None = None) -> None:
        """Apply the candidate. With revert_in, the router reverts unless confirmed in time.

        One script on the router: refuse if a commit is pending, save the running config as
        rollback.conf, start the revert timer (before applying, so a dying session still
        reverts), apply; a failed apply is reverted at once. A replace applies the add-only
        delta `compare_config` found (delta.py) when there is one and keeps it only if the
        running config then equals the candidate; otherwise, and always else, frr-reload.py.
        """
        s = self.state
        if revert_in is not None and int(revert_in) < 1:
            raise CommitError("revert_in must be at least 1 second")
        canon = ("sed -e 's/[[:space:]]*$//' | grep -vxE "
                 "'Building configuration[.][.][.]|Current configuration:|[[:space:]]*!|'")
        script = [
            f"cd {s} 2>/dev/null || exit 11",
            "cat > fast.conf",
            f"canon() {{ {canon}; }}",
            f"fast() {{ [ -s fast.conf ] && {self.vtysh} -f {s}/fast.conf >/dev/null 2>&1 && "
            f"[ \"$({self.vtysh} -c 'show running-config' | canon)\" = "
            f"\"$(canon < candidate.conf)\" ] && {self.vtysh} -c 'write memory' >/dev/null; }}",
            "if [ -f pending ] && kill -0 $(cat pending) 2>/dev/null; then exit 10; fi",
            f"if [ -f candidate.conf ]; then apply='fast || {self._reload(s + '/candidate.conf')}'",
            f"elif [ -f merge.conf ]; then apply='{self.vtysh} -f {s}/merge.conf && "
            f"{self.vtysh} -c \"write memory\"'",
            "else exit 11; fi",
            f"{self.vtysh} -c 'show running-config' | grep -vxF -e '{HEADER[0]}' "
            f"-e '{HEADER[1]}' > rollback.new || exit 13",
            "mv rollback.new rollback.conf && rm -f reverted",
            f"echo \"$(date -Is) {_quote_msg(message)}\" >> commits.log",
        ]
        if revert_in is not None:
            revert = (f"sleep {int(revert_in)}; mv {s}/pending {s}/reverting 2>/dev/null || "
                      f"exit 0; {self._reload(s + '/rollback.conf')} > {s}/revert.log 2>&1; "
                      f"mv {s}/reverting {s}/reverted")
            script.append(f"setsid nohup sh -c {shlex.quote(revert)} >/dev/null 2>&1 "
                          "</dev/null & echo $! > pending")
        script.append("eval \"$apply\" || exit 12")
        script.append("rm -f candidate.conf merge.conf fast.conf")
        code, out, err = self._exec("\n".join(script), stdin=self._fast or "")
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

    def _cancel_timer(self) -> str:
        """Shell: claim and stop a pending revert timer (false if none, or it already fired)."""
        s = self.state
        return (f"mv {s}/pending {s}/cancelled 2>/dev/null && "
                f"{{ kill -TERM -- -$(cat {s}/cancelled) 2>/dev/null; rm -f {s}/cancelled; }}")

    def _revert(self) -> None:
        self._shell(f"{{ {self._cancel_timer()}; }}; "
                    f"{self._reload(self.state + '/rollback.conf')}")

    def _reload(self, path: str) -> str:
        """Shell: replace the running config with `path`. frr-reload.py cannot always remove
        dependent lines in one pass (FRR 8.4: `ip ospf passive` after `ip ospf area`), so a
        failed pass is followed by a second one that computes the remaining delta afresh."""
        return f"{{ {self.reload_cmd} {path} >/dev/null 2>&1 || {self.reload_cmd} {path}; }}"

    def has_pending_commit(self) -> bool:
        s = self.state
        code, _, _ = self._exec(f"test -f {s}/pending && kill -0 $(cat {s}/pending) 2>/dev/null")
        return code == 0

    def confirm_commit(self) -> None:
        code, _, _ = self._exec(self._cancel_timer())
        if code != 0:
            raise CommitError(f"{self.hostname}: no commit pending confirmation "
                              "(it was confirmed already, or the router reverted it)")

    def rollback(self) -> None:
        """Back to the running config from before the last commit (cancels a pending timer)."""
        code, out, err = self._exec(
            f"test -f {self.state}/rollback.conf || exit 11; {{ {self._cancel_timer()}; }}; "
            f"{self._reload(self.state + '/rollback.conf')}")
        if code == 11:
            raise CommitError(f"{self.hostname}: nothing to roll back to")
        if code != 0:
            raise CommitError(f"{self.hostname}: rollback failed: {(err or out).strip()[-500:]}")


def _quote_msg(message: str) -> str:
    """A commit message safe inside double quotes in the router's shell."""
    return "".join(c for c in message if c.isalnum() or c in " ._,:/=+-@")
