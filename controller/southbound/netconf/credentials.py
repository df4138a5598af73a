"""Where NETCONF credentials and trusted host keys come from: the environment or a secrets file.

Environment (wins over the file): NGK_NETCONF_USERNAME, NGK_NETCONF_KEY_FILE,
NGK_NETCONF_PASSWORD, NGK_KNOWN_HOSTS. Secrets file: $NGK_SECRETS_FILE (YAML, outside the repo,
not readable by group/others) with a `netconf:` mapping of the same keys in lower case without the
prefix (`username`, `key_file`, `password`, `known_hosts`). Secrets never appear in repr or errors.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from controller.data import own_files
from controller.southbound.netconf.errors import CredentialsError

DEFAULT_KNOWN_HOSTS = Path("~/.ssh/known_hosts")


@dataclass(frozen=True)
class Credentials:
    username: str
    key_file: str | None = None
    password: str | None = field(default=None, repr=False)
    known_hosts: str = str(DEFAULT_KNOWN_HOSTS)
    insecure: bool = False  # skip host-key checking: only by explicit choice


def _secrets_file(path: Path) -> dict:
    path = path.expanduser().resolve()
    if own_files(path):
        raise CredentialsError(f"secrets file {path} is inside ngk's own files ({own_files(path)}); "
                               "keep it outside")
    if not path.is_file():
        raise CredentialsError(f"secrets file {path} does not exist")
    if path.stat().st_mode & 0o077:
        raise CredentialsError(f"secrets file {path} is readable by others; chmod 600 it")
    data = yaml.safe_load(path.read_text()) or {}
    section = data.get("netconf") if isinstance(data, dict) else None
    if not isinstance(section, dict):
        raise CredentialsError(f"secrets file {path} has no 'netconf:' mapping")
    return section


def load_credentials(env: Mapping[str, str] | None = None, *, insecure: bool = False,
                     known_hosts: str | None = None) -> Credentials:
    """Credentials from `env` (default os.environ) and the secrets file it names."""
    env = os.environ if env is None else env
    file = env.get("NGK_SECRETS_FILE")
    values = dict(_secrets_file(Path(file))) if file else {}
    for key in ("username", "key_file", "password", "known_hosts"):
        if env.get(f"NGK_NETCONF_{key.upper()}"):
            values[key] = env[f"NGK_NETCONF_{key.upper()}"]
    if known_hosts:
        values["known_hosts"] = known_hosts
    if not values.get("username"):
        raise CredentialsError("no NETCONF username: set NGK_NETCONF_USERNAME or NGK_SECRETS_FILE")
    if not values.get("key_file") and not values.get("password"):
        raise CredentialsError("no NETCONF key or password: set NGK_NETCONF_KEY_FILE, "
                               "NGK_NETCONF_PASSWORD or NGK_SECRETS_FILE")
    unknown = set(values) - {"username", "key_file", "password", "known_hosts"}
    if unknown:
        raise CredentialsError(f"unknown netconf secrets keys: {', '.join(sorted(unknown))}")
    return Credentials(**{k: str(v) for k, v in values.items()}, insecure=insecure)
