"""Build a Nornir object for an inventory directory (hosts.yaml, groups.yaml, defaults.yaml).

The inventory names hosts, platforms and paths only. The SSH login comes from the one secrets
loader (controller.credentials: the environment, else the `ssh:` section of the secrets file).
SSH host keys are checked against the inventory's known_hosts (its `known_hosts_file` datum, else
<dir>/known_hosts, else ~/.ssh/known_hosts); `insecure=True` turns the check off, by choice only.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from nornir import InitNornir
from nornir.core import Nornir
from nornir.core.inventory import ConnectionOptions, Inventory
from nornir.plugins.inventory import SimpleInventory

from controller.credentials import Login, load_secrets
from controller.errors import Diagnostic, InputError

PLUGIN = "NgkInventory"


def _input_error(path: Path, message: str) -> InputError:
    return InputError([Diagnostic(str(path), None, "", message)])


class NgkInventory:
    """SimpleInventory files + secrets + NAPALM connection options (host keys checked)."""

    def __init__(self, inventory_dir: str, insecure: bool = False, conn_timeout: float = 5,
                 timeout: int = 30, login: Login | None = None) -> None:
        self.dir = Path(inventory_dir)
        self.insecure, self.conn_timeout, self.timeout = insecure, conn_timeout, timeout
        self.login = login if login is not None else load_secrets().login("ssh")

    def load(self) -> Inventory:
        if not (self.dir / "hosts.yaml").exists():
            raise _input_error(self.dir / "hosts.yaml", "no Nornir inventory here (is the lab up?)")
        inv = SimpleInventory(host_file=str(self.dir / "hosts.yaml"),
                              group_file=str(self.dir / "groups.yaml"),
                              defaults_file=str(self.dir / "defaults.yaml")).load()
        d = inv.defaults
        d.username = self.login.username or d.username
        d.password = self.login.password or d.password
        netmiko = d.connection_options.get("netmiko")
        args: dict[str, Any] = dict(netmiko.extras or {}) if netmiko else {}
        key = self.login.key_file or args.get("key_file") or d.data.get("ssh_key_file")
        if key:
            args.update(use_keys=True, key_file=key)
        args.update(allow_agent=False, conn_timeout=self.conn_timeout)
        if self.insecure:
            args.update(ssh_strict=False, alt_host_keys=False, system_host_keys=False)
        else:
            args.update(ssh_strict=True, system_host_keys=False, alt_host_keys=True,
                        alt_key_file=str(self.known_hosts(d.data)))
        d.connection_options["napalm"] = ConnectionOptions(
            extras={"timeout": self.timeout, "optional_args": args})
        for host in inv.hosts.values():  # per-host driver options (e.g. the lab's lldp_socket)
            extra = host.data.get("napalm_optional_args")
            if extra:
                host.connection_options["napalm"] = ConnectionOptions(
                    extras={"timeout": self.timeout, "optional_args": {**args, **extra}})
        return inv

    def known_hosts(self, data: dict[str, Any]) -> Path:
        for path in (data.get("known_hosts_file"), self.dir / "known_hosts",
                     Path("~/.ssh/known_hosts").expanduser()):
            if path and Path(path).exists():
                return Path(path)
        raise _input_error(self.dir, "no known_hosts file to check SSH host keys against "
                                     "(use --insecure only if you mean it)")



def build_nornir(inventory_dir: str | Path, *, workers: int = 10, insecure: bool = False,
                 conn_timeout: float = 5, timeout: int = 30) -> Nornir:
    """A Nornir with the threaded runner bounded to `workers` and the inventory plugin by name."""
    return InitNornir(
        runner={"plugin": "threaded", "options": {"num_workers": max(1, workers)}},
        inventory={"plugin": PLUGIN, "options": {
            "inventory_dir": str(inventory_dir), "insecure": insecure,
            "conn_timeout": conn_timeout, "timeout": timeout}},
        logging={"enabled": False})
