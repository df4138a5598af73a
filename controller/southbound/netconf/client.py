"""Open a NETCONF session over SSH with the host key checked against a known_hosts file."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import paramiko
from ncclient import manager

from controller.credentials import Login
from controller.southbound.netconf.errors import CapabilityError, HostKeyError, explain

BASE = "urn:ietf:params:netconf:capability:"
REQUIRED = {":candidate": ("candidate:1.0",),
            ":confirmed-commit": ("confirmed-commit:1.1", "confirmed-commit:1.0"),
            ":validate": ("validate:1.1", "validate:1.0")}


@dataclass(frozen=True, slots=True)
class Target:
    """One NETCONF device: `name` labels messages, `host`/`port` is where to connect."""

    name: str
    host: str
    port: int = 830
    timeout: float = 10.0  # connect and per-RPC timeout, seconds

    def __str__(self) -> str:
        return f"{self.name} ({self.host}:{self.port})"


def known_host_key(known_hosts: str | Path, host: str, port: int) -> paramiko.PKey:
    """The key known_hosts holds for host:port; HostKeyError when there is none."""
    path = Path(known_hosts).expanduser()
    try:
        keys = paramiko.HostKeys(str(path))
    except OSError as exc:
        raise HostKeyError(f"cannot read known_hosts {path}: {exc.strerror}") from None
    lookup = host if port == 22 else f"[{host}]:{port}"
    found = keys.lookup(lookup) or keys.lookup(host)
    if not found:
        raise HostKeyError(f"{lookup} has no key in {path}: add the device's host key "
                           "(or pass --insecure knowingly)")
    preferred = ("ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512", "ssh-rsa")
    kind = next((k for k in preferred if k in found), next(iter(found)))
    return found[kind]


def connect(target: Target, creds: Login) -> manager.Manager:
    """A connected session; raises a NetconfError subclass with a clear message on failure."""
    key = None
    if not creds.insecure:
        if not creds.known_hosts:
            raise HostKeyError(f"{target}: no known_hosts file to check the host key against "
                               "(set one, or pass --insecure knowingly)")
        key = known_host_key(creds.known_hosts, target.host, target.port)
    try:
        session = manager.connect(
            host=target.host, port=target.port, username=creds.username,
            key_filename=creds.key_file, password=creds.password,
            hostkey_verify=not creds.insecure, hostkey_b64=key.get_base64() if key else None,
            allow_agent=False, look_for_keys=False, timeout=target.timeout,
            device_params={"name": "default"})
    except Exception as exc:  # noqa: BLE001 - every failure becomes a NetconfError
        raise explain(exc, "connect", str(target)) from None
    session.timeout = target.timeout
    return session


def check_capabilities(session: manager.Manager, where: str) -> bool:
    """CapabilityError unless :candidate, :confirmed-commit and :validate are all offered.

    Returns whether :confirmed-commit:1.1 is offered (cancel-commit and persist-id)."""
    have = set(session.server_capabilities)
    missing = [name for name, versions in REQUIRED.items()
               if not any(BASE + v in have for v in versions)]
    if missing:
        raise CapabilityError(f"{where}: the server lacks {', '.join(missing)}")
    return BASE + "confirmed-commit:1.1" in have
