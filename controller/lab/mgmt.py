"""Reach lab routers over SSH the way an operator does: the lab's controller key and known_hosts
with strict host key checking, on the management IPs. (SNMP goes through the southbound client
with the lab's inventory, like every other poll.)"""
from __future__ import annotations

import subprocess

from controller.lab.creds import Credentials


def ssh_command(creds: Credentials, host: str, command: str, timeout: float = 10) -> str:
    """Run `command` on `host` over SSH (host key checked against the lab's known_hosts)."""
    proc = subprocess.run(
        ["ssh", "-F", "/dev/null", "-i", creds.ssh_key, "-o", "BatchMode=yes",
         "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={creds.known_hosts}",
         "-o", "GlobalKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes",
         "-o", f"ConnectTimeout={int(timeout)}", f"{creds.ssh_user}@{host}", command],
        capture_output=True, text=True, timeout=timeout + 5)
    if proc.returncode != 0:
        raise ConnectionError(f"ssh {host}: exit {proc.returncode}: {proc.stderr.strip()}")
    return proc.stdout
