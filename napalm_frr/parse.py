"""Pure parsers: FRR/Linux command output -> NAPALM's typed getter results, and config diffs."""
from __future__ import annotations

import difflib
import ipaddress
import json
import re
from typing import Any

from napalm.base import models
from napalm.base.helpers import mac

VERSION = re.compile(r"^FRRouting (?P<version>\S+) \((?P<hostname>[^)]*)\) on (?P<os>.+)$", re.M)
PING_SUMMARY = re.compile(r"(\d+) packets transmitted, (\d+) (?:packets )?received")
PING_RTT = re.compile(r"= ([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+) ms")
PING_REPLY = re.compile(r"bytes from (\S+?):? icmp_seq.*time=([\d.]+) ms")
HEADER = {"Building configuration...", "Current configuration:"}


def facts(show_version: str, uptime_s: str, interfaces_brief: str) -> models.FactsDict:
    """`show version`, zebra's age in seconds (the routing stack's uptime), `show interface
    brief json`."""
    match = VERSION.search(show_version)
    if match is None:
        raise ValueError("unrecognised `show version` output")
    hostname = match["hostname"]
    return {
        "hostname": hostname,
        "fqdn": hostname,
        "vendor": "FRRouting",
        "model": f"FRR on {match['os'].split('(')[0]}",
        "os_version": match["version"],
        "serial_number": "",
        "uptime": float(uptime_s.strip() or -1),
        "interface_list": sorted(json.loads(interfaces_brief)),
    }


def interfaces(show_interface: str) -> dict[str, models.InterfaceDict]:
    """`show interface json` -> get_interfaces()."""
    out: dict[str, models.InterfaceDict] = {}
    for name, data in json.loads(show_interface).items():
        out[name] = {
            "is_up": data.get("operationalStatus") == "up",
            "is_enabled": data.get("administrativeStatus") == "up",
            "description": data.get("description", ""),
            "last_flapped": -1.0,
            "mtu": int(data.get("mtu", 0)),
            "speed": float(data.get("speed", 0)),
            "mac_address": mac(data["hardwareAddress"]) if data.get("hardwareAddress") else "",
        }
    return out


def interfaces_ip(show_interface: str) -> dict[str, models.InterfacesIPDict]:
    """`show interface json` -> get_interfaces_ip() (interfaces without addresses left out)."""
    out: dict[str, models.InterfacesIPDict] = {}
    for name, data in json.loads(show_interface).items():
        families: dict[str, dict[str, models.InterfacesIPDictEntry]] = {}
        for entry in data.get("ipAddresses", []):
            iface = ipaddress.ip_interface(entry["address"])
            family = f"ipv{iface.version}"
            families.setdefault(family, {})[str(iface.ip)] = {
                "prefix_length": iface.network.prefixlen}
        if families:
            out[name] = families  # type: ignore[assignment]
    return out


def lldp_neighbors(lldpcli_json0: str) -> dict[str, list[models.LLDPNeighborDict]]:
    """`lldpcli -f json0 show neighbors` -> get_lldp_neighbors()."""
    out: dict[str, list[models.LLDPNeighborDict]] = {}
    for lldp in json.loads(lldpcli_json0).get("lldp", []):
        for iface in lldp.get("interface", []):
            chassis = (iface.get("chassis") or [{}])[0]
            port = (iface.get("port") or [{}])[0]
            name = _value(chassis.get("name")) or _value(chassis.get("id"))
            port_id = _value(port.get("descr")) or _value(port.get("id"))
            out.setdefault(iface["name"], []).append({"hostname": name, "port": port_id})
    return out


def _value(items: list[dict[str, Any]] | None) -> str:
    return str(items[0].get("value", "")) if items else ""


def ping(output: str) -> models.PingResultDict:
    """iputils `ping` output -> ping() result."""
    summary = PING_SUMMARY.search(output)
    if summary is None:
        return {"error": output.strip().splitlines()[-1] if output.strip() else "ping failed"}
    sent, received = int(summary[1]), int(summary[2])
    rtt = PING_RTT.search(output)
    rmin, ravg, rmax, rdev = (float(x) for x in rtt.groups()) if rtt else (0.0,) * 4
    return {"success": {
        "probes_sent": sent, "packet_loss": sent - received,
        "rtt_min": rmin, "rtt_max": rmax, "rtt_avg": ravg, "rtt_stddev": rdev,
        "results": [{"ip_address": ip, "rtt": float(t)} for ip, t in PING_REPLY.findall(output)],
    }}


def canonical(text: str) -> str:
    """Config lines that carry meaning: no header, `!` separators, blank lines, trailing space."""
    lines = (line.rstrip() for line in text.splitlines())
    return "".join(f"{line}\n" for line in lines
                   if line and line not in HEADER and line.strip() != "!")


def replace_diff(running: str, candidate: str) -> str:
    """Unified diff of the canonical running config against the canonical candidate."""
    return "".join(difflib.unified_diff(
        canonical(running).splitlines(keepends=True),
        canonical(candidate).splitlines(keepends=True),
        fromfile="running", tofile="candidate", n=2))


def contexts(text: str) -> dict[str, list[str]]:
    """Top-level config line -> the indented lines under it (FRR's block structure)."""
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in canonical(text).splitlines():
        if line.startswith(" "):
            if current is not None:
                current.append(line)
        elif line in ("exit", "end"):
            current = None
        else:
            current = out.setdefault(line, [])
    return out


def merge_diff(running: str, snippet: str) -> str:
    """What merging `snippet` adds (a merge never removes): `+` lines under their block."""
    have = contexts(running)
    out: list[str] = []
    for head, lines in contexts(snippet).items():
        if head not in have:
            out += [f"+{head}\n"] + [f"+{line}\n" for line in lines]
            continue
        new = [f"+{line}\n" for line in lines if line not in have[head]]
        if new:
            out += [f" {head}\n"] + new
    return "".join(out)
