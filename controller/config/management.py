"""Management intent for production platforms, and the device names of the model's interfaces.

Management: SSH only, one SNMPv3 authPriv user (SHA/AES), NTP, syslog, a login banner, and
management access (SSH, SNMP) accepted only from the management subnet. NTP and syslog default
to the controller, the first host of `topo.mgmt_subnet`.

The SNMPv3 user and its keys never come from the topology or the repository: environment
NGK_SNMP_USER, NGK_SNMP_AUTH_KEY, NGK_SNMP_PRIV_KEY (these win), or $NGK_SECRETS_FILE (YAML
outside the repository, mode 600) with `snmp: {user, auth_key, priv_key}`.

Interface names: the model uses Linux names (eth1, eth2, ...). `native_interface` maps them per
platform, deterministically: junos ethN -> ge-0/0/(N-1), eos ethN -> EthernetN, frr unchanged.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from controller.data import own_files
from controller.errors import Diagnostic, InputError, SecretsError
from controller.model.topology import Topology

ENV = {"user": "NGK_SNMP_USER", "auth_key": "NGK_SNMP_AUTH_KEY", "priv_key": "NGK_SNMP_PRIV_KEY"}
SECRETS_FILE_ENV = "NGK_SECRETS_FILE"
BANNER = "Authorised access only. NGK health network core: all activity is logged."
SNMP_GROUP = "ngk-ro"
SNMP_VIEW = "all"
MGMT_FILTER = "mgmt-only"
_MODEL_PORT = re.compile(r"eth([1-9][0-9]*)")
_PORTS = {"junos": lambda n: f"ge-0/0/{n - 1}", "eos": lambda n: f"Ethernet{n}"}
_USER = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,31}")
_KEY = re.compile(r"[!#-\[\]-~]{8,64}")  # printable, no space, quote or backslash; 8-64 chars
_SECRETS = ((re.compile(r'((?:authentication|privacy)-password )"[^"]*"'), r'\1"<redacted>"'),
            (re.compile(r"( v3 auth sha )\S+( priv aes )\S+"), r"\1<redacted>\2<redacted>"),
            # generic: the value after any secret-bearing keyword (any platform)
            (re.compile(r"(?i)\b(password|secret|authentication-key|message-digest-key \d+ md5"
                        r"|(?:ro|rw)?community|(?:area|domain)-password(?: clear| md5)?|auth-key)"
                        r"(\s+)(?!<redacted>|\")(\S+)"), r"\1\2<redacted>"))


@dataclass(frozen=True)
class SnmpUser:
    user: str
    auth_key: str = field(repr=False)
    priv_key: str = field(repr=False)


@dataclass(frozen=True)
class Management:
    snmp: SnmpUser
    subnet: str
    ntp: tuple[str, ...]
    syslog: tuple[str, ...]
    banner: str = BANNER
    group: str = SNMP_GROUP
    view: str = SNMP_VIEW
    filter: str = MGMT_FILTER


def _secrets_file(path: Path) -> dict[str, Any]:
    path = path.expanduser().resolve()
    if own_files(path):
        raise SecretsError(f"secrets file {path} ({SECRETS_FILE_ENV}) is inside ngk's own files "
                           f"({own_files(path)}); keep it outside")
    if not path.is_file():
        raise SecretsError(f"secrets file {path} ({SECRETS_FILE_ENV}) does not exist")
    if path.stat().st_mode & 0o077:
        raise SecretsError(f"secrets file {path} is readable by others; chmod 600 it")
    data = yaml.safe_load(path.read_text()) or {}
    section = data.get("snmp") if isinstance(data, dict) else None
    return section if isinstance(section, dict) else {}


def load_snmp_user(env: Mapping[str, str] | None = None) -> SnmpUser:
    """The SNMPv3 user from `env` (default os.environ) and the secrets file it names."""
    env = os.environ if env is None else env
    values = {k: v for k, v in _secrets_file(Path(env[SECRETS_FILE_ENV])).items()
              if k in ENV} if env.get(SECRETS_FILE_ENV) else {}
    values |= {key: env[var] for key, var in ENV.items() if env.get(var)}
    missing = [var for key, var in ENV.items() if not values.get(key)]
    if missing:
        raise SecretsError(f"no SNMPv3 secrets for the management config: set "
                           f"{', '.join(missing)} (or {SECRETS_FILE_ENV} with an 'snmp:' section)")
    if not _USER.fullmatch(str(values["user"])):
        raise SecretsError(f"{ENV['user']} must be 1-32 letters, digits, '_', '.' or '-'")
    for key in ("auth_key", "priv_key"):
        if not _KEY.fullmatch(str(values[key])):
            raise SecretsError(f"{ENV[key]} must be 8-64 printable characters without spaces, "
                               "quotes or backslashes")
    return SnmpUser(str(values["user"]), str(values["auth_key"]), str(values["priv_key"]))


def intent(topo: Topology, snmp: SnmpUser, *, ntp: tuple[str, ...] | None = None,
           syslog: tuple[str, ...] | None = None, banner: str = BANNER) -> Management:
    """Management intent; NTP and syslog default to the controller (first mgmt host)."""
    controller = (str(next(topo.mgmt_subnet.hosts())),)
    if '"' in banner or "\\" in banner or "\n" in banner:
        raise InputError([Diagnostic(topo.source, None, "banner",
                                     "the login banner is one line without quotes or backslashes")])
    return Management(snmp, str(topo.mgmt_subnet), ntp or controller, syslog or controller, banner)


def native_interface(topo: Topology, platform: str, name: str) -> str:
    """The device's name for a model interface (ethN) on `platform`."""
    if platform not in _PORTS:
        return name
    match = _MODEL_PORT.fullmatch(name)
    if match is None:
        raise InputError([Diagnostic(topo.source, None, "links",
                                     f"interface {name!r} cannot be mapped to a {platform} port "
                                     "(model names are eth1, eth2, ...)")])
    return _PORTS[platform](int(match.group(1)))


def context(topo: Topology, router_id: str) -> dict[str, Any]:
    """Template context for a production platform: device interface names and management."""
    platform = topo.routers[router_id].platform
    names: dict[str, tuple[str, str]] = {}  # model name -> (device name, peer's device name)
    for link in topo.router_links(router_id):
        for near, far in ((link.a, link.b), (link.b, link.a)):
            if near.router == router_id:
                peer = topo.routers[far.router].platform
                names[near.interface] = (native_interface(topo, platform, near.interface),
                                         native_interface(topo, peer, far.interface))
    order = sorted(names, key=lambda n: int(_MODEL_PORT.fullmatch(n).group(1)))  # type: ignore
    return {"ports": {n: {"name": names[n][0], "peer_name": names[n][1]} for n in order},
            "management": intent(topo, load_snmp_user())}


def redact(config: str) -> str:
    """Text with every secret masked (SNMPv3 keys, passwords, communities, auth keys): the one
    redactor for diffs, logs, errors and JSON."""
    for pattern, replacement in _SECRETS:
        config = pattern.sub(replacement, config)
    return config
