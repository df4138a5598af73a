"""Credentials: one model, one secrets file format, one loader.

The secrets file (`$NGK_SECRETS_FILE`, default ~/.config/ngk/secrets.yaml) is YAML, owner-only
(no group/other permission bits) and outside any git checkout:

```yaml
ssh:     {username: ngk, key_file: /etc/ngk/id_ed25519}      # or password:
netconf: {username: ngk, password: ..., known_hosts: ...}    # missing keys fall back to ssh:
snmp:    {version: "3", user: ngk, auth_protocol: sha, auth_key: ..., priv_protocol: aes,
          priv_key: ..., community: ...}                     # every device's default
hosts:                                                        # per-device overrides
  osl-cr1: {snmp: {community: ...}}
```

Environment variables win over the file, key by key: NGK_SSH_USERNAME / NGK_SSH_PASSWORD /
NGK_SSH_KEY, NGK_NETCONF_USERNAME / NGK_NETCONF_PASSWORD / NGK_NETCONF_KEY_FILE /
NGK_KNOWN_HOSTS, NGK_SNMP_USER / NGK_SNMP_AUTH_KEY / NGK_SNMP_PRIV_KEY. No value from this file
ever appears in a repr, a log line or an error message (errors name the file, line and key).
"""
from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controller.errors import InputError, SecretsError
from controller.model.source import Document, parse_yaml

SECRETS_FILE_ENV = "NGK_SECRETS_FILE"
DEFAULT_SECRETS_FILE = ".config/ngk/secrets.yaml"  # under $HOME
MAX_SIZE = 1 << 20
LOGIN_KEYS = ("username", "password", "key_file", "known_hosts")
SNMP_KEYS = ("version", "community", "trap_community", "user", "auth_protocol", "auth_key",
             "priv_protocol", "priv_key", "engine_id")
SECTIONS = {"ssh": LOGIN_KEYS, "netconf": LOGIN_KEYS, "snmp": SNMP_KEYS}
ENV = {
    "ssh": {"username": "NGK_SSH_USERNAME", "password": "NGK_SSH_PASSWORD",
            "key_file": "NGK_SSH_KEY"},
    "netconf": {"username": "NGK_NETCONF_USERNAME", "password": "NGK_NETCONF_PASSWORD",
                "key_file": "NGK_NETCONF_KEY_FILE", "known_hosts": "NGK_KNOWN_HOSTS"},
    "snmp": {"user": "NGK_SNMP_USER", "auth_key": "NGK_SNMP_AUTH_KEY",
             "priv_key": "NGK_SNMP_PRIV_KEY"},
}


@dataclass(frozen=True)
class Login:
    """An SSH or NETCONF login: a user and a key file and/or a password."""

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    key_file: str | None = None
    known_hosts: str | None = None
    insecure: bool = False  # skip host-key checking: only by explicit choice


@dataclass(frozen=True, slots=True)
class SnmpCredentials:
    """v2c (`community`) or v3 authPriv (`user`, `auth_key`, `priv_key` and their protocols:
    names in controller.southbound.snmp.usm.AUTH_PROTOCOLS / PRIV_PROTOCOLS).

    `engine_id` (hex) is the agent's snmpEngineID, needed only to accept its v3 traps. v2c traps
    are accepted with `trap_community` (default `community`); a v3 target may keep a
    `community` too, only for that.
    """

    version: str  # "2c" | "3"
    community: str | None = field(default=None, repr=False)
    trap_community: str | None = field(default=None, repr=False)
    user: str | None = None
    auth_protocol: str = "sha"
    auth_key: str | None = field(default=None, repr=False)
    priv_protocol: str = "aes"
    priv_key: str | None = field(default=None, repr=False)
    engine_id: str | None = None


@dataclass(frozen=True)
class Secrets:
    """A checked secrets file (possibly empty) plus the environment overrides."""

    file: str | None = None
    sections: Mapping[str, Mapping[str, str]] = field(default_factory=dict, repr=False)
    hosts: Mapping[str, Mapping[str, Mapping[str, str]]] = field(default_factory=dict,
                                                                  repr=False)
    env: Mapping[str, str] = field(default_factory=dict, repr=False)

    def settings(self, section: str, host: str | None = None) -> dict[str, str]:
        """The section's values: file default < the host's entry < environment."""
        values = dict(self.sections.get(section, {}))
        if host is not None:
            values.update(self.hosts.get(host, {}).get(section, {}))
        values.update({key: self.env[var] for key, var in ENV.get(section, {}).items()
                       if self.env.get(var)})
        return values

    def login(self, kind: str = "ssh", host: str | None = None) -> Login:
        """The SSH login, or the NETCONF one (falling back to SSH's values key by key)."""
        values = self.settings("ssh", host)
        if kind == "netconf":
            values.update(self.settings("netconf", host))
        get = values.get
        return Login(get("username"), get("password"), get("key_file"), get("known_hosts"))


def secrets_path(env: Mapping[str, str]) -> tuple[Path, bool]:
    """The secrets file to read and whether it was named explicitly."""
    named = env.get(SECRETS_FILE_ENV)
    if named:
        return Path(named).expanduser(), True
    return Path(env.get("HOME") or Path.home()) / DEFAULT_SECRETS_FILE, False


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):
        return True  # a default path that cannot even be checked: let the reader say why


def _in_git_checkout(path: Path) -> bool:
    return any((parent / ".git").exists() for parent in path.parents)


def read_secrets_file(path: Path) -> Document:
    """Parse a secrets file after checking where it lives and who may read it."""
    try:
        path = path.expanduser().resolve()
        if _in_git_checkout(path):
            raise SecretsError(f"secrets file {path} is inside a git checkout: keep it outside")
        st = path.stat()
    except FileNotFoundError:
        raise SecretsError(f"secrets file {path} does not exist") from None
    except (OSError, ValueError) as exc:  # too long, NUL, loop, no permission
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SecretsError(f"secrets file {str(path)[:200]!r} cannot be read: "
                           f"{reason.lower()}") from None
    if not stat.S_ISREG(st.st_mode):
        raise SecretsError(f"secrets file {path} is not a regular file")
    if st.st_mode & 0o077:
        raise SecretsError(f"secrets file {path} is accessible by group or others "
                           f"(mode {st.st_mode & 0o777:o}): chmod 600 it")
    if st.st_size > MAX_SIZE:
        raise SecretsError(f"secrets file {path} is larger than {MAX_SIZE} bytes")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise SecretsError(f"secrets file {path} is not readable UTF-8 text") from None
    try:
        return parse_yaml(text, str(path))
    except InputError as exc:  # diagnostics name line and path, never a value
        raise SecretsError(exc.diagnostics) from None


def _section(doc: Document, path: tuple[str, ...], value: Any, keys: tuple[str, ...]
             ) -> dict[str, str]:
    if not isinstance(value, dict):
        raise SecretsError(str(doc.diag(path, "must be a mapping")))
    for key, item in value.items():
        if key not in keys:
            raise SecretsError(str(doc.diag(path + (str(key),), f"unknown key {key!r} "
                                                                 f"(known: {', '.join(keys)})")))
        if not isinstance(item, (str, int)) or isinstance(item, bool):
            raise SecretsError(str(doc.diag(path + (key,), "must be a string")))
    return {k: str(v) for k, v in value.items()}


def parse_secrets(doc: Document) -> tuple[dict[str, dict[str, str]],
                                          dict[str, dict[str, dict[str, str]]]]:
    """Check the layout of a parsed secrets file: known sections and keys, string values."""
    data = doc.data or {}
    if not isinstance(data, dict):
        raise SecretsError(str(doc.diag((), "a secrets file is a mapping of sections")))
    sections: dict[str, dict[str, str]] = {}
    hosts: dict[str, dict[str, dict[str, str]]] = {}
    for name, value in data.items():
        if name in SECTIONS:
            sections[name] = _section(doc, (name,), value, SECTIONS[name])
        elif name == "hosts" and isinstance(value, dict):
            for host, entry in value.items():
                if not isinstance(entry, dict):
                    raise SecretsError(str(doc.diag(("hosts", str(host)), "must be a mapping")))
                hosts[str(host)] = {}
                for sec, sub in entry.items():
                    if sec not in SECTIONS:
                        raise SecretsError(str(doc.diag(("hosts", str(host), str(sec)),
                                                        f"unknown section {sec!r}")))
                    hosts[str(host)][sec] = _section(doc, ("hosts", str(host), sec), sub,
                                                     SECTIONS[sec])
        else:
            raise SecretsError(str(doc.diag((str(name),), f"unknown section {name!r} (known: "
                                            f"{', '.join([*SECTIONS, 'hosts'])})")))
    return sections, hosts


def load_secrets(env: Mapping[str, str] | None = None, path: Path | None = None) -> Secrets:
    """The secrets file (`path`, else $NGK_SECRETS_FILE, else the default if it exists) and the
    environment overrides. A file named explicitly must exist and pass every check."""
    env = dict(os.environ if env is None else env)
    explicit = path is not None
    if path is None:
        path, explicit = secrets_path(env)
    if not explicit and not _exists(path):
        return Secrets(env=env)
    doc = read_secrets_file(path)
    sections, hosts = parse_secrets(doc)
    return Secrets(doc.file, sections, hosts, env)
