"""SNMP targets from a Nornir-style inventory (hosts.yaml, optional groups.yaml/defaults.yaml).

A host's `hostname` is its management IP; SNMP settings live in `data.snmp` (merged
defaults < groups < host) and may point at a secrets file outside the repository with
`data.snmp.secrets_file`, a file in the one secrets format (controller.credentials: an `snmp:`
section and per-host `hosts: {name: {snmp: ...}}` entries); inline settings override it.
"""
from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.credentials import Secrets, SnmpCredentials, load_secrets
from controller.model.source import Diagnostic, Document, InputError, load_yaml
from controller.southbound.snmp.usm import AUTH_PROTOCOLS, PRIV_PROTOCOLS

SETTINGS = {"version", "community", "trap_community", "user", "auth_protocol", "auth_key",
            "priv_protocol", "priv_key", "engine_id", "port", "timeout", "retries", "secrets_file"}


@dataclass(frozen=True, slots=True)
class Target:
    router: str
    host: str
    port: int
    credentials: SnmpCredentials
    timeout: float = 1.0
    retries: int = 1
    site: str | None = None


def snmp_settings(name: str, snmp: dict[str, Any], base: Path) -> dict[str, Any]:
    """Resolve `secrets_file` (relative to the inventory dir, in the one secrets format of
    controller.credentials): its `snmp:` section, then its `hosts.<name>.snmp`, then the inline
    settings."""
    settings = dict(snmp)
    pointer = settings.pop("secrets_file", None)
    if pointer is None:
        return settings
    path = (base / str(pointer)).resolve()
    mtime = path.stat().st_mtime_ns if path.exists() else 0
    return _secrets(path, mtime).settings("snmp", name) | settings


@functools.lru_cache(maxsize=8)
def _secrets(path: Path, mtime_ns: int) -> Secrets:
    """One read per secrets file (and version of it), however many hosts point at it."""
    return load_secrets(env={}, path=path)


def protocol_name(value: Any) -> str:
    """An auth/priv protocol name as the inventory spells it; net-snmp's spelling works too
    (SHA-256 -> sha256, AES-128 -> aes)."""
    name = str(value).lower().replace("-", "")
    return "aes" if name == "aes128" else name


def credentials(settings: dict[str, Any]) -> SnmpCredentials:
    """Check and build credentials from resolved settings; ValueError says what is wrong."""
    unknown = set(settings) - SETTINGS
    if unknown:
        raise ValueError(f"unknown SNMP setting(s): {', '.join(sorted(unknown))}")
    version = str(settings.get("version", "2c"))
    trap_community = settings.get("trap_community") or settings.get("community")
    trap_community = str(trap_community) if trap_community else None
    if version == "2c":
        if not settings.get("community"):
            raise ValueError("SNMPv2c needs a community")
        return SnmpCredentials("2c", community=str(settings["community"]),
                               trap_community=trap_community)
    if version != "3":
        raise ValueError(f"SNMP version must be 2c or 3, not {version!r}")
    for key in ("user", "auth_key", "priv_key"):
        if not settings.get(key):
            raise ValueError(f"SNMPv3 authPriv needs {key}")
    auth, priv = (protocol_name(settings.get(key, default)) for key, default in
                  (("auth_protocol", "sha"), ("priv_protocol", "aes")))
    if auth not in AUTH_PROTOCOLS or priv not in PRIV_PROTOCOLS:
        raise ValueError(f"SNMPv3 supports auth {', '.join(AUTH_PROTOCOLS)} and priv "
                         f"{', '.join(PRIV_PROTOCOLS)}")
    if len(str(settings["auth_key"])) < 8 or len(str(settings["priv_key"])) < 8:
        raise ValueError("SNMPv3 keys must be at least 8 characters")
    engine_id = settings.get("engine_id")
    if engine_id is not None:
        engine_id = str(engine_id).lower().removeprefix("0x")
        bytes.fromhex(engine_id)  # ValueError if not hex
    community = settings.get("community")
    return SnmpCredentials("3", community=str(community) if community else None,
                           trap_community=trap_community, user=str(settings["user"]),
                           auth_protocol=auth, auth_key=str(settings["auth_key"]),
                           priv_protocol=priv, priv_key=str(settings["priv_key"]),
                           engine_id=engine_id)


def _optional(path: Path) -> Document | None:
    return load_yaml(path) if path.exists() else None


def _data_of(doc: Document | None, key: str | None) -> dict[str, Any]:
    if doc is None or not isinstance(doc.data, dict):
        return {}
    entry = doc.data.get(key) if key else doc.data
    data = entry.get("data") if isinstance(entry, dict) else None
    return data if isinstance(data, dict) else {}


def _snmp(data: dict[str, Any]) -> dict[str, Any]:
    """The SNMP settings of one level of `data`."""
    snmp = data.get("snmp") or {}
    if not isinstance(snmp, dict):
        raise ValueError("data.snmp must be a mapping")
    return snmp


def load_inventory(directory: str | Path) -> tuple[list[Target], list[Diagnostic]]:
    """Targets for every well-formed host, and one error diagnostic (file, line, host) per bad
    host; a missing or unparsable hosts.yaml raises InputError."""
    base = Path(directory)
    hosts = load_yaml(base / "hosts.yaml")
    groups = _optional(base / "groups.yaml")
    defaults = _optional(base / "defaults.yaml")
    if not isinstance(hosts.data, dict):
        raise InputError([hosts.diag((), "hosts.yaml must map host names to hosts")])
    targets, diags = [], []
    for name, host in hosts.data.items():
        try:
            targets.append(_target(str(name), host, base, groups, defaults))
        except (ValueError, InputError, OSError) as exc:
            diags.append(hosts.diag((str(name),), f"host {name}: {exc}"))
    return targets, diags


def _target(name: str, host: Any, base: Path, groups: Document | None,
            defaults: Document | None) -> Target:
    if not isinstance(host, dict):
        raise ValueError("must be a mapping")
    address = host.get("hostname")
    try:
        ipaddress.ip_address(str(address))
    except ValueError:
        raise ValueError(f"hostname must be the management IP address, not {address!r}") from None
    data = host.get("data") or {}
    if not isinstance(data, dict):
        raise ValueError("data must be a mapping")
    levels = [_data_of(defaults, None),
              *(_data_of(groups, str(g)) for g in host.get("groups") or []), data]
    snmp: dict[str, Any] = {}
    for level in levels:
        snmp.update(_snmp(level))
    settings = snmp_settings(name, snmp, base)
    port, timeout, retries = (settings.pop(k, d) for k, d in
                              (("port", 161), ("timeout", 1.0), ("retries", 1)))
    if not (isinstance(port, int) and 0 < port < 65536):
        raise ValueError(f"port must be 1-65535, not {port!r}")
    if not (isinstance(timeout, (int, float)) and timeout > 0):
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
    if not (isinstance(retries, int) and retries >= 0):
        raise ValueError(f"retries must be a non-negative integer, not {retries!r}")
    site = data.get("site")
    return Target(name, str(address), port, credentials(settings), float(timeout), retries,
                  str(site) if site else None)
