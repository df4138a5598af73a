"""Reach lab routers over SSH the way an operator does: the lab's controller key and known_hosts
with strict host key checking, on the management IPs. (SNMP goes through the southbound client
with the lab's inventory, like every other poll.)

In-process (paramiko) rather than the `ssh` binary: a login costs ~4 ms of CPU here instead of
~65 ms, which is what lets `lab status` check every router's SSH within a second.
"""
from __future__ import annotations

import functools
import logging
from typing import Any

from controller.lab.creds import Credentials


@functools.cache
def _key(path: str) -> Any:
    import paramiko
    logging.getLogger("paramiko").addHandler(logging.NullHandler())  # errors are raised, not logged
    return paramiko.Ed25519Key.from_private_key_file(path)


def ssh_command(creds: Credentials, host: str, command: str, timeout: float = 10) -> str:
    """Run `command` on `host` over SSH (host key checked against the lab's known_hosts);
    ConnectionError when the login or the command fails."""
    import paramiko
    client = paramiko.SSHClient()
    try:
        client.load_host_keys(creds.known_hosts)
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        client.connect(host, username=creds.ssh_user, pkey=_key(creds.ssh_key),
                       allow_agent=False, look_for_keys=False, timeout=timeout,
                       banner_timeout=timeout, auth_timeout=timeout)
        chan = client.get_transport().open_session(timeout=timeout)  # type: ignore[union-attr]
        chan.settimeout(timeout)
        chan.exec_command(command)
        text = b"".join(iter(lambda: chan.recv(65536), b"")).decode()
        error = b"".join(iter(lambda: chan.recv_stderr(65536), b"")).decode().strip()
        status = chan.recv_exit_status()
    except (paramiko.SSHException, OSError) as exc:
        raise ConnectionError(f"ssh {host}: {type(exc).__name__}: {exc}") from None
    finally:
        client.close()
    if status != 0:
        raise ConnectionError(f"ssh {host}: exit {status}: {error}")
    return text
