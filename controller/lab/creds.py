"""Per-lab credentials: SNMP community and v3 passphrases, the controller's SSH key, host keys.

All of it is generated fresh for every lab, written mode 0600 into the lab state directory
(outside the checkout) and never printed or logged; other code reads it back by path. The lab's
own record is credentials.json; what the controller needs is also written as secrets.yaml in the
one secrets format (controller.credentials).
"""
from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

SSH_USER = "root"
SECRETS_FILE = "secrets.yaml"  # JSON, which is YAML too


@dataclass(frozen=True)
class Credentials:
    snmp_community: str
    snmp_user: str
    snmp_auth: str  # SHA passphrase
    snmp_priv: str  # AES passphrase
    snmp_iquery: str  # snmpd's internal user for link up/down traps (noauth, ifTable view only)
    snmp_tune: str  # write community for the ifTable cache timeout only, from the controller only
    ssh_user: str
    ssh_key: str  # path of the controller's private key
    known_hosts: str  # path of the known_hosts file the controller checks host keys against


def write_private(path: Path, data: str | bytes) -> None:
    """Create or replace a file readable by root only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def keypair(private_path: Path, comment: str) -> str:
    """Write an OpenSSH ed25519 private key; return the public key line."""
    key = ed25519.Ed25519PrivateKey.generate()
    write_private(private_path, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption()))
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    line = f"{public} {comment}\n"
    Path(f"{private_path}.pub").write_text(line)
    return line


def generate(lab_dir: Path) -> Credentials:
    """New credentials for a lab; the controller key pair lands in <lab_dir>/ssh/."""
    ssh_dir = lab_dir / "ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    key = ssh_dir / "id_ed25519"
    keypair(key, "ngk-controller")
    creds = Credentials(
        snmp_community=secrets.token_urlsafe(12), snmp_user="ngk",
        snmp_auth=secrets.token_urlsafe(18), snmp_priv=secrets.token_urlsafe(18),
        snmp_iquery=f"iq{secrets.token_hex(8)}", snmp_tune=secrets.token_urlsafe(12),
        ssh_user=SSH_USER, ssh_key=str(key), known_hosts=str(ssh_dir / "known_hosts"))
    write_private(lab_dir / "credentials.json", json.dumps(asdict(creds), indent=1))
    write_private(lab_dir / SECRETS_FILE, json.dumps(controller_secrets(creds), indent=1))
    return creds


def controller_secrets(creds: Credentials) -> dict:
    """What the controller needs, in the one secrets format (controller.credentials); the
    lab's inventory points its SNMP settings at this file."""
    return {"ssh": {"username": creds.ssh_user, "key_file": creds.ssh_key,
                    "known_hosts": creds.known_hosts},
            "snmp": {"version": "3", "user": creds.snmp_user, "auth_key": creds.snmp_auth,
                     "priv_key": creds.snmp_priv, "community": creds.snmp_community}}


def load(lab_dir: Path | str) -> Credentials:
    return Credentials(**json.loads((Path(lab_dir) / "credentials.json").read_text()))
