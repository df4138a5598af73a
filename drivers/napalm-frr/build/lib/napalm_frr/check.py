"""Check a getter's result against NAPALM's models (napalm.base.models, test_model), shape by
shape as NAPALM's own driver tests do; `problems` lists what does not fit, [] when all does."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from napalm.base import models
from napalm.base.test.helpers import test_model


def _each(model: Any, items: Iterable[Any], where: str, subset: bool = False) -> list[str]:
    return [f"{where}[{i}]: does not fit {model.__name__}" for i, item in enumerate(items)
            if not isinstance(item, dict) or not test_model(model, item, allow_subset=subset)]


def _per_key(model: Any) -> Callable[[Any], list[str]]:
    return lambda r: _each(model, r.values(), model.__name__)


def _per_key_list(model: Any) -> Callable[[Any], list[str]]:
    return lambda r: [p for k, v in r.items() for p in _each(model, v, str(k))]


def _bgp_neighbors(r: Any) -> list[str]:
    out = []
    for vrf, data in r.items():
        if not isinstance(data.get("router_id"), str):
            out.append(f"{vrf}: router_id is not a string")
        for addr, peer in data.get("peers", {}).items():
            out += _each(models.PeerDict, [peer], addr)
            out += _each(models.AFDict, peer.get("address_family", {}).values(), addr)
    return out


def _bgp_detail(r: Any) -> list[str]:
    out = []
    for vrf, by_as in r.items():
        for asn, peers in by_as.items():
            if not isinstance(asn, int):
                out.append(f"{vrf}: AS key {asn!r} is not an int")
            out += _each(models.PeerDetailsDict, peers, f"{vrf}/{asn}")
    return out


def _bgp_config(r: Any) -> list[str]:
    out = _each(models.BGPConfigGroupDict, r.values(), "group")
    for group in r.values():
        out += _each(models.BGPConfigNeighborDict, group.get("neighbors", {}).values(), "nbr")
    return out


def _environment(r: Any) -> list[str]:
    out = _each(models.MemoryDict, [r.get("memory")], "memory")
    for key, model in (("fans", models.FanDict), ("power", models.PowerDict),
                       ("temperature", models.TemperatureDict), ("cpu", models.CPUDict)):
        out += _each(model, r.get(key, {}).values(), key)
    return out


def _instances(r: Any) -> list[str]:
    out = _each(models.NetworkInstanceDict, r.values(), "instance")
    for name, inst in r.items():
        out += _each(models.NetworkInstanceStateDict, [inst["state"]], f"{name}.state")
        out += _each(models.NetworkInstanceInterfacesDict, [inst["interfaces"]], name)
    return out


def _probes(model: Any, key: str, entry: Any) -> Callable[[Any], list[str]]:
    def check(r: Any) -> list[str]:
        if "error" in r:
            return [] if isinstance(r["error"], str) else ["error is not a string"]
        out = _each(model, [r["success"]], "success") if model else []
        hops = r["success"].get(key, []) if key else r["success"].values()
        for hop in hops:
            out += _each(entry, hop["probes"].values() if "probes" in hop else [hop], "probe")
        return out
    return check


def _snmp(r: Any) -> list[str]:
    return (_each(models.SNMPDict, [r], "snmp")
            + _each(models.SNMPCommunityDict, r.get("community", {}).values(), "community"))


def _interfaces_ip(r: Any) -> list[str]:
    return [p for iface, fams in r.items() for fam in fams.values()
            for p in _each(models.InterfacesIPDictEntry, fam.values(), iface)]


CHECKS: dict[str, Callable[[Any], list[str]]] = {
    "get_facts": lambda r: _each(models.FactsDict, [r], "facts"),
    "get_interfaces": _per_key(models.InterfaceDict),
    "get_interfaces_ip": _interfaces_ip,
    "get_interfaces_counters": _per_key(models.InterfaceCounterDict),
    "get_lldp_neighbors": _per_key_list(models.LLDPNeighborDict),
    "get_lldp_neighbors_detail": _per_key_list(models.LLDPNeighborDetailDict),
    "get_arp_table": lambda r: _each(models.ARPTableDict, r, "arp"),
    "get_ipv6_neighbors_table": lambda r: _each(models.IPV6NeighborDict, r, "nd"),
    "get_route_to": _per_key_list(models.RouteDict),
    "get_bgp_neighbors": _bgp_neighbors,
    "get_bgp_neighbors_detail": _bgp_detail,
    "get_bgp_config": _bgp_config,
    "get_network_instances": _instances,
    "get_ntp_servers": lambda r: _each(models.NTPServerDict, r.values(), "ntp", subset=True),
    "get_ntp_stats": lambda r: _each(models.NTPStats, r, "ntp"),
    "get_snmp_information": _snmp,
    "get_users": _per_key(models.UsersDict),
    "get_environment": _environment,
    "get_mac_address_table": lambda r: _each(models.MACAdressTable, r, "mac"),
    "get_vlans": _per_key(models.VlanDict),
    "get_optics": lambda r: [] if isinstance(r, dict) else ["not a dict"],
    "get_config": lambda r: _each(models.ConfigDict, [r], "config"),
    "ping": _probes(models.PingDict, "results", models.PingResultDictEntry),
    "traceroute": _probes(None, "", models.TracerouteDict),
    "compliance_report": lambda r: [] if isinstance(r.get("complies"), bool) else ["complies?"],
}


def problems(getter: str, result: Any) -> list[str]:
    """What in `result` does not fit NAPALM's model of `getter`."""
    return CHECKS[getter](result)
