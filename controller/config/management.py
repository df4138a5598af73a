"""Management intent for production platforms, and the device names of the model's interfaces.

Management: SSH only, one SNMPv3 authPriv user (SHA/AES), NTP, syslog, a login banner, and
management access (SSH, SNMP) accepted only from the management subnet. NTP and syslog default
to the controller, the first host of `topo.mgmt_subnet`.

The SNMPv3 user and its keys never come from the topology or the repository: they come from the
one secrets loader (controller.credentials: NGK_SNMP_USER, NGK_SNMP_AUTH_KEY, NGK_SNMP_PRIV_KEY
win over the `snmp:` section of $NGK_SECRETS_FILE).

Interface names: the model uses Linux names (eth1, eth2, ...). `native_interface` maps them per
platform, deterministically: junos ethN -> ge-0/0/(N-1), eos ethN -> EthernetN, frr unchanged.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


from controller.credentials import ENV, SECRETS_FILE_ENV, SnmpCredentials, load_secrets
from controller.errors import Diagnostic, InputError, SecretsError
from controller.model.topology import Topology

BANNER = "Authorised access only. NGK health network core: all activity is logged."
SNMP_GROUP = "ngk-ro"
SNMP_VIEW = "all"
MGMT_FILTER = "mgmt-only"
_MODEL_PORT = re.compile(r"eth([1-9][0-9]*)")
_PORTS = {"junos": lambda n: f"ge-0/0/{n - 1}", "eos": lambda n: f"Ethernet{n}"}
_USER = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,31}")
_KEY = re.compile(r"[!#-\[\]-~]{8,64}")  # printable, no space, quote or backslash; 8-64 chars



@dataclass(frozen=True)
class Management:
    snmp: SnmpCredentials
    subnet: str
    ntp: tuple[str, ...]
    syslog: tuple[str, ...]
    banner: str = BANNER
    group: str = SNMP_GROUP
    view: str = SNMP_VIEW
    filter: str = MGMT_FILTER


def load_snmp_user(env: Mapping[str, str] | None = None) -> SnmpCredentials:
    """The SNMPv3 user the management config creates, from the one secrets loader."""
    values = load_secrets(env).settings("snmp")
    missing = [var for key, var in ENV["snmp"].items() if not values.get(key)]
    if missing:
        raise SecretsError(f"no SNMPv3 secrets for the management config: set "
                           f"{', '.join(missing)} (or {SECRETS_FILE_ENV} with an 'snmp:' section)")
    if not _USER.fullmatch(values["user"]):
        raise SecretsError(f"{ENV['snmp']['user']} must be 1-32 letters, digits, '_', '.' or '-'")
    for key in ("auth_key", "priv_key"):
        if not _KEY.fullmatch(values[key]):
            raise SecretsError(f"{ENV['snmp'][key]} must be 8-64 printable characters without "
                               "spaces, quotes or backslashes")
    return SnmpCredentials("3", user=values["user"], auth_key=values["auth_key"],
                           priv_key=values["priv_key"])


def intent(topo: Topology, snmp: SnmpCredentials, *, ntp: tuple[str, ...] | None = None,
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
