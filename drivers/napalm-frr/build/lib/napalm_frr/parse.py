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


# --- counters, neighbours, tables (Linux: iproute2 JSON, lldpcli json0) ----------------------
def interfaces_counters(ip_s_link: str) -> dict[str, models.InterfaceCounterDict]:
    """`ip -j -s -s link show` -> get_interfaces_counters(). Linux counts received multicast but
    not transmitted multicast or broadcast: those are -1, and unicast = packets - multicast."""
    out: dict[str, models.InterfaceCounterDict] = {}
    for link in json.loads(ip_s_link):
        stats = link.get("stats64") or link.get("stats") or {}
        rx, tx = stats.get("rx", {}), stats.get("tx", {})
        out[link["ifname"]] = {
            "tx_errors": int(tx.get("errors", 0)), "rx_errors": int(rx.get("errors", 0)),
            "tx_discards": int(tx.get("dropped", 0)), "rx_discards": int(rx.get("dropped", 0)),
            "tx_octets": int(tx.get("bytes", 0)), "rx_octets": int(rx.get("bytes", 0)),
            "tx_unicast_packets": int(tx.get("packets", 0)),
            "rx_unicast_packets": int(rx.get("packets", 0)) - int(rx.get("multicast", 0)),
            "tx_multicast_packets": -1, "rx_multicast_packets": int(rx.get("multicast", 0)),
            "tx_broadcast_packets": -1, "rx_broadcast_packets": -1,
        }
    return out


CAPABILITIES = {"bridge": "bridge", "router": "router", "wlan": "wlan-access-point",
                "station": "station", "repeater": "repeater", "tel": "telephone",
                "docsis": "docsis-cable-device", "other": "other"}


def lldp_neighbors_detail(lldpcli_json0: str) -> dict[str, list[models.LLDPNeighborDetailDict]]:
    """`lldpcli -f json0 show neighbors details` -> get_lldp_neighbors_detail()."""
    out: dict[str, list[models.LLDPNeighborDetailDict]] = {}
    for lldp in json.loads(lldpcli_json0).get("lldp", []):
        for iface in lldp.get("interface", []):
            chassis = (iface.get("chassis") or [{}])[0]
            port = (iface.get("port") or [{}])[0]
            caps = [(CAPABILITIES.get(str(c.get("type", "")).lower(), "other"),
                     bool(c.get("enabled"))) for c in chassis.get("capability", [])]
            out.setdefault(iface["name"], []).append({
                "parent_interface": "",
                "remote_port": _value(port.get("id")),
                "remote_port_description": _value(port.get("descr")),
                "remote_chassis_id": _value(chassis.get("id")),
                "remote_system_name": _value(chassis.get("name")),
                "remote_system_description": _value(chassis.get("descr")),
                "remote_system_capab": [c for c, _ in caps],
                "remote_system_enable_capab": [c for c, on in caps if on],
            })
    return out


def _neighbours(ip_neigh: str) -> list[dict[str, Any]]:
    """Entries of `ip -j -s neigh show` that have a link-layer address."""
    return [n for n in json.loads(ip_neigh) if n.get("lladdr")]


def arp_table(ip_neigh: str) -> list[models.ARPTableDict]:
    """`ip -j -4 -s neigh show` -> get_arp_table(); age = seconds since last confirmed."""
    return [{"interface": n["dev"], "mac": mac(n["lladdr"]), "ip": n["dst"],
             "age": float(n.get("confirmed", -1))} for n in _neighbours(ip_neigh)]


def ipv6_neighbors(ip_neigh: str) -> list[models.IPV6NeighborDict]:
    """`ip -j -6 -s neigh show` -> get_ipv6_neighbors_table()."""
    return [{"interface": n["dev"], "mac": mac(n["lladdr"]), "ip": n["dst"],
             "age": float(n.get("confirmed", -1)), "state": (n.get("state") or [""])[0]}
            for n in _neighbours(ip_neigh)]


def mac_table(bridge_fdb: str) -> list[models.MACAdressTable]:
    """`bridge -j fdb show` -> get_mac_address_table(): station (unicast) entries only; the
    multicast addresses an interface listens on are not stations."""
    out: list[models.MACAdressTable] = []
    for e in json.loads(bridge_fdb):
        if int(e["mac"].split(":")[0], 16) & 1:
            continue
        out.append({"mac": mac(e["mac"]), "interface": e.get("ifname", ""),
                    "vlan": int(e.get("vlan", 0)),
                    "static": e.get("state") in ("permanent", "static"), "active": True,
                    "moves": -1, "last_move": -1.0})
    return out


def vlans(ip_d_link: str, bridge_vlan: str) -> dict[int, models.VlanDict]:
    """`ip -j -d link show` (802.1Q sub-interfaces: the parent carries the VLAN) and `bridge -j
    vlan show` (VLAN-aware bridge ports) -> get_vlans()."""
    links = json.loads(ip_d_link)
    names = {link["ifindex"]: link["ifname"] for link in links}
    out: dict[int, models.VlanDict] = {}
    for link in links:
        info = link.get("linkinfo", {})
        if info.get("info_kind") == "vlan":
            vid = int(info["info_data"]["id"])
            entry = out.setdefault(vid, {"name": link["ifname"], "interfaces": []})
            parent = link.get("link") or names.get(link.get("link_index", -1), "")
            if parent and parent not in entry["interfaces"]:
                entry["interfaces"].append(parent)
    for port in json.loads(bridge_vlan or "[]"):
        for v in port.get("vlans", []):
            for vid in range(int(v["vlan"]), int(v.get("vlanEnd", v["vlan"])) + 1):
                entry = out.setdefault(vid, {"name": f"vlan{vid}", "interfaces": []})
                if port["ifname"] not in entry["interfaces"]:
                    entry["interfaces"].append(port["ifname"])
    return dict(sorted(out.items()))


def network_instances(ip_d_link: str) -> dict[str, models.NetworkInstanceDict]:
    """`ip -j -d link show` -> get_network_instances(): the default instance and one L3VRF per
    kernel VRF device, each with the interfaces enslaved to it."""
    links = json.loads(ip_d_link)
    vrfs = {link["ifname"] for link in links
            if link.get("linkinfo", {}).get("info_kind") == "vrf"}
    out: dict[str, models.NetworkInstanceDict] = {
        name: {"name": name, "type": "L3VRF" if name in vrfs else "DEFAULT_INSTANCE",
               "state": {"route_distinguisher": ""}, "interfaces": {"interface": {}}}
        for name in ["default", *sorted(vrfs)]}
    for link in links:
        if link["ifname"] in vrfs:
            continue
        owner = link.get("master") if link.get("master") in vrfs else "default"
        out[owner]["interfaces"]["interface"][link["ifname"]] = {}
    return out


# --- routing (FRR JSON) ------------------------------------------------------------------------
UPTIME = re.compile(r"(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def frr_age(text: str) -> int:
    """FRR's uptime strings ("00:01:02", "1d02h03m", "02w3d04h") -> seconds; -1 if unknown."""
    if ":" in text:
        h, m, s = (int(x) for x in text.split(":"))
        return h * 3600 + m * 60 + s
    match = UPTIME.match(text)
    if not text or match is None:
        return -1
    w, d, h, m, s = (int(x or 0) for x in match.groups())
    return (((w * 7 + d) * 24 + h) * 60 + m) * 60 + s


def routes(show_ip_route: str, protocol: str = "") -> dict[str, list[models.RouteDict]]:
    """`show ip route [PREFIX [longer-prefixes]] json` -> get_route_to(): one entry per next hop
    of each route; current_active = the route FRR selected and installed."""
    out: dict[str, list[models.RouteDict]] = {}
    for prefix, entries in json.loads(show_ip_route or "{}").items():
        for r in entries:
            if protocol and r["protocol"] != protocol:
                continue
            active = bool(r.get("selected") and r.get("installed"))
            for hop in r.get("nexthops") or [{}]:
                out.setdefault(prefix, []).append({
                    "protocol": r["protocol"], "current_active": active, "last_active": active,
                    "age": frr_age(r.get("uptime", "")), "next_hop": hop.get("ip", ""),
                    "outgoing_interface": hop.get("interfaceName", ""),
                    "selected_next_hop": bool(active and hop.get("fib")),
                    "preference": int(r.get("distance", 0)),
                    "inactive_reason": "" if active else "not selected",
                    "routing_table": r.get("vrfName", "default"),
                    "protocol_attributes": {"metric": int(r.get("metric", 0))},
                })
    return out


def _vrf_key(name: str) -> str:
    return "global" if name == "default" else name


def _peers(vrf: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in vrf.items() if isinstance(v, dict)}


def bgp_neighbors(summary: str, neighbors: str) -> dict[str, models.BGPStateNeighborsPerVRFDict]:
    """`show bgp vrf all summary json` + `show bgp vrf all neighbors json` -> get_bgp_neighbors();
    {} when BGP does not run."""
    sums, nbrs = json.loads(summary or "{}"), json.loads(neighbors or "{}")
    out: dict[str, models.BGPStateNeighborsPerVRFDict] = {}
    for vrf, data in nbrs.items():
        families = {f: s for f, s in sums.get(vrf, {}).items() if isinstance(s, dict)}
        router_id = next((s.get("routerId", "") for s in families.values()), "")
        peers: dict[str, models.PeerDict] = {}
        for addr, p in _peers(data).items():
            afs: dict[str, models.AFDict] = {}
            for fam, info in p.get("addressFamilyInfo", {}).items():
                received = families.get(fam, {}).get("peers", {}).get(addr, {}).get("pfxRcd")
                afs[_afi(fam)] = {
                    "received_prefixes": int(received if received is not None
                                             else info.get("acceptedPrefixCounter", -1)),
                    "accepted_prefixes": int(info.get("acceptedPrefixCounter", -1)),
                    "sent_prefixes": int(info.get("sentPrefixCounter", -1))}
            up = p.get("bgpState") == "Established"
            peers[addr] = {
                "local_as": int(p.get("localAs", 0)), "remote_as": int(p.get("remoteAs", 0)),
                "remote_id": p.get("remoteRouterId", ""), "is_up": up,
                "is_enabled": not p.get("adminShutDown", False),
                "description": p.get("nbrDesc", ""),
                "uptime": int(p.get("bgpTimerUpMsec", 0)) // 1000 if up else -1,
                "address_family": afs}
        out[_vrf_key(vrf)] = {"router_id": router_id or str(data.get("routerId", "")),
                              "peers": peers}
    return out


def _afi(family: str) -> str:
    """FRR's "ipv4Unicast" -> NAPALM's "ipv4" (other families keep FRR's name, lower-cased)."""
    return {"ipv4Unicast": "ipv4", "ipv6Unicast": "ipv6"}.get(family, family.lower())


def bgp_neighbors_detail(neighbors: str, address: str = ""
                         ) -> dict[str, dict[int, list[models.PeerDetailsDict]]]:
    """`show bgp vrf all neighbors json` -> get_bgp_neighbors_detail()."""
    out: dict[str, dict[int, list[models.PeerDetailsDict]]] = {}
    for vrf, data in json.loads(neighbors or "{}").items():
        for addr, p in _peers(data).items():
            if address and addr != address:
                continue
            stats = p.get("messageStats", {})
            afs = list(p.get("addressFamilyInfo", {}).values())
            count = lambda key: sum(int(a.get(key, 0)) for a in afs)  # noqa: E731
            policy = lambda key: next((a[key] for a in afs if key in a), "")  # noqa: E731
            remote_as = int(p.get("remoteAs", 0))
            out.setdefault(_vrf_key(vrf), {}).setdefault(remote_as, []).append({
                "up": p.get("bgpState") == "Established",
                "local_as": int(p.get("localAs", 0)), "remote_as": remote_as,
                "router_id": p.get("remoteRouterId", ""),
                "local_address": p.get("hostLocal", ""),
                "routing_table": vrf,
                "local_address_configured": bool(p.get("updateSource")),
                "local_port": int(p.get("portLocal", 0)), "remote_address": addr,
                "remote_port": int(p.get("portForeign", 0)),
                "multihop": int(p.get("externalBgpNbrMaxHopsAway", 1)) > 1,
                "multipath": False,
                "remove_private_as": any("removePrivateAs" in k for a in afs for k in a),
                "import_policy": policy("incomingUpdatePrefixFilterList") or policy(
                    "routeMapForIncomingAdvertisements"),
                "export_policy": policy("outgoingUpdatePrefixFilterList") or policy(
                    "routeMapForOutgoingAdvertisements"),
                "input_messages": int(stats.get("totalRecv", 0)),
                "output_messages": int(stats.get("totalSent", 0)),
                "input_updates": int(stats.get("updatesRecv", 0)),
                "output_updates": int(stats.get("updatesSent", 0)),
                "messages_queued_out": int(stats.get("depthOutq", 0)),
                "connection_state": p.get("bgpState", ""),
                "previous_connection_state": "",
                "last_event": p.get("lastResetDueTo", ""),
                "suppress_4byte_as": "4byteAs" not in p.get("neighborCapabilities", {}),
                "local_as_prepend": False,
                "holdtime": int(p.get("bgpTimerHoldTimeMsecs", 0)) // 1000,
                "configured_holdtime": int(p.get("bgpTimerConfiguredHoldTimeMsecs", 0)) // 1000,
                "keepalive": int(p.get("bgpTimerKeepAliveIntervalMsecs", 0)) // 1000,
                "configured_keepalive":
                    int(p.get("bgpTimerConfiguredKeepAliveIntervalMsecs", 0)) // 1000,
                "active_prefix_count": count("acceptedPrefixCounter"),
                "received_prefix_count": count("acceptedPrefixCounter"),
                "accepted_prefix_count": count("acceptedPrefixCounter"),
                "suppressed_prefix_count": 0,
                "advertised_prefix_count": count("sentPrefixCounter"),
                "flap_count": int(p.get("connectionsDropped", 0)),
            })
    return out


NEIGHBOR = re.compile(r"^ +neighbor (\S+) (.+)$")


def bgp_config(running: str) -> dict[str, models.BGPConfigGroupDict]:
    """The `router bgp` block of `show running-config` -> get_bgp_config(): one group per
    peer-group, neighbours without one under "_". Authentication keys are never returned."""
    block = _router_bgp(running)
    if not block:
        return {}
    local_as = int(block[0].split()[2])
    groups: list[str] = []
    opts: dict[str, dict[str, str]] = {}
    for line in block[1:]:
        match = NEIGHBOR.match(line)
        if not match:
            continue
        name, rest = match.groups()
        if rest == "peer-group":
            groups.append(name)
            continue
        key, _, value = rest.partition(" ")
        if key == "route-map":  # "neighbor X route-map NAME in|out"
            value, _, direction = value.partition(" ")
            key = f"route-map-{direction}"
        opts.setdefault(name, {})[key] = value
    multipath = any(line.split()[0] == "maximum-paths" for line in block[1:])

    def fields(o: dict[str, str]) -> dict[str, Any]:
        return {"description": o.get("description", ""),
                "local_address": o.get("update-source", ""),
                "local_as": int(o.get("local-as", str(local_as)).split()[0]),
                "remote_as": _asn(o.get("remote-as"), local_as),
                "import_policy": o.get("route-map-in", ""),
                "export_policy": o.get("route-map-out", ""), "prefix_limit": {}}

    members: dict[str, list[str]] = {}
    for name, o in opts.items():
        if name not in groups:
            members.setdefault(o.get("peer-group", "_"), []).append(name)
    out: dict[str, models.BGPConfigGroupDict] = {}
    for group in groups + (["_"] if "_" in members else []):
        o = opts.get(group, {})
        g = fields(o)
        out[group] = {  # type: ignore[typeddict-item]
            **g, "type": "internal" if g["remote_as"] == local_as else "external",
            "apply_groups": [], "multipath": multipath,
            "multihop_ttl": int(o["ebgp-multihop"] or 255) if "ebgp-multihop" in o else 0,
            "remove_private_as": "remove-private-AS" in o,
            "neighbors": {n: {**fields({**o, **opts[n]}), "authentication_key": "",
                              "nhs": "next-hop-self" in opts[n],
                              "route_reflector_client": "route-reflector-client" in opts[n]}
                          for n in members.get(group, [])}}
    return out


def _asn(value: str | None, local_as: int) -> int:
    """`remote-as` value: a number, `internal` (= local AS) or `external` (0: any other AS)."""
    if value == "internal":
        return local_as
    return int(value) if value and value.isdigit() else 0


def _router_bgp(running: str) -> list[str]:
    """Lines of the default instance's `router bgp` block, address-family lines included."""
    lines: list[str] = []
    for line in running.splitlines():
        if re.fullmatch(r"router bgp \d+", line):
            lines = [line]
        elif lines and not line.startswith(" "):
            if line not in ("!", ""):
                break
        elif lines and line.strip() not in ("!", "exit-address-family"):
            lines.append(" " + line.strip())
    return lines


# --- system (Linux /proc, sysfs, config files) -------------------------------------------------
def environment(cpu_twice: str, meminfo: str, sensors: str) -> models.EnvironmentDict:
    """get_environment() from two samples of /proc/stat's per-CPU lines (a second apart), from
    /proc/meminfo and from sysfs sensor lines `temp|fan|power NAME VALUE [CRIT]` (thermal zones
    in milli-degrees; hwmon fans in RPM; power supplies online 0/1). A virtual machine or a
    container has no sensors: fans, temperature and power are then empty."""
    samples: dict[str, list[list[int]]] = {}
    for line in cpu_twice.splitlines():
        name, *ticks = line.split()
        if re.fullmatch(r"cpu\d+", name):
            samples.setdefault(name, []).append([int(t) for t in ticks])
    cpu: dict[int, models.CPUDict] = {}
    for name, (a, b) in ((n, s[:2]) for n, s in samples.items() if len(s) >= 2):
        total = sum(b) - sum(a)
        idle = (b[3] + b[4]) - (a[3] + a[4])  # idle + iowait
        cpu[int(name[3:])] = {"%usage": round(100.0 * (total - idle) / total, 1) if total else 0.0}
    mem = {k: int(v.split()[0]) * 1024 for k, v in
           (line.split(":", 1) for line in meminfo.splitlines() if ":" in line)}
    out: models.EnvironmentDict = {
        "fans": {}, "temperature": {}, "power": {}, "cpu": cpu,
        "memory": {"available_ram": mem.get("MemTotal", 0),
                   "used_ram": mem.get("MemTotal", 0) - mem.get("MemAvailable", 0)}}
    for line in sensors.splitlines():
        kind, name, value, *crit = line.split() + [""]
        if kind == "temp" and value.lstrip("-").isdigit():
            celsius = int(value) / 1000
            limit = int(crit[0]) / 1000 if crit[0].lstrip("-").isdigit() else None
            out["temperature"][name] = {"temperature": celsius,
                                        "is_alert": limit is not None and celsius >= limit - 10,
                                        "is_critical": limit is not None and celsius >= limit}
        elif kind == "fan" and value.isdigit():
            out["fans"][name] = {"status": int(value) > 0}
        elif kind == "power" and value.isdigit():
            out["power"][name] = {"status": value == "1", "capacity": -1.0, "output": -1.0}
    return out


NOLOGIN = ("/nologin", "/false", "/sync", "/halt", "/shutdown")


def users(passwd: str, sudoers: str) -> dict[str, models.UsersDict]:
    """`getent passwd` and `getent group sudo` -> get_users(): accounts with a login shell;
    level 15 for uid 0 and the sudo group, else 1. Password hashes are never read."""
    admins = set(sudoers.strip().split(":")[-1].split(",")) if sudoers.strip() else set()
    out: dict[str, models.UsersDict] = {}
    for line in passwd.splitlines():
        parts = line.split(":")
        if len(parts) < 7 or parts[6].endswith(NOLOGIN) or not parts[6]:
            continue
        name, uid = parts[0], parts[2]
        out[name] = {"level": 15 if uid == "0" or name in admins else 1, "password": "",
                     "sshkeys": []}
    return out


SNMP_DIRECTIVES = ("sysLocation", "sysContact", "sysName", "rocommunity", "rwcommunity",
                   "rocommunity6", "rwcommunity6")


def snmp_information(directives: str) -> models.SNMPDict:
    """snmpd.conf lines starting with SNMP_DIRECTIVES -> get_snmp_information(); a community's
    acl is its source restriction ("" = any)."""
    out: models.SNMPDict = {"chassis_id": "", "community": {}, "contact": "", "location": ""}
    keys = {"sysLocation": "location", "sysContact": "contact", "sysName": "chassis_id"}
    for line in directives.splitlines():
        word, _, rest = line.strip().partition(" ")
        if word in keys:
            out[keys[word]] = rest.strip()  # type: ignore[literal-required]
        elif word in SNMP_DIRECTIVES:
            name, *source = rest.split()
            out["community"][name] = {"acl": source[0] if source else "",
                                      "mode": "rw" if word.startswith("rw") else "ro"}
    return out


NTP_LINE = re.compile(r"^\s*(server|pool|peer)\s+(\S+)(.*)$")


def ntp_servers(configs: str) -> dict[str, models.NTPServerDict]:
    """chrony.conf / ntp.conf `server|pool|peer` lines and timesyncd `NTP=` -> get_ntp_servers()
    (the configured servers, with what the line says about them)."""
    out: dict[str, models.NTPServerDict] = {}
    for line in configs.splitlines():
        match = NTP_LINE.match(line)
        if match:
            kind, address, options = match[1], match[2], match[3].split()
            out[address] = {"address": address, "association_type": kind.upper(),  # type: ignore
                            "iburst": "iburst" in options, "prefer": "prefer" in options}
        elif line.strip().startswith("NTP="):
            for address in line.split("=", 1)[1].split():
                out[address] = {"address": address,  # type: ignore[typeddict-item]
                                "association_type": "SERVER", "iburst": False, "prefer": False}
    return out


def ntp_stats(chronyc_csv: str) -> list[models.NTPStats]:
    """`chronyc -n -c sources` (CSV: mode, state, address, stratum, poll, reach, last rx,
    offset, measured offset, error, all in seconds) -> get_ntp_stats()."""
    out: list[models.NTPStats] = []
    for line in chronyc_csv.splitlines():
        f = line.split(",")
        if len(f) < 10:
            continue
        out.append({"remote": f[2], "referenceid": "", "synchronized": f[1] == "*",
                    "stratum": int(f[3]), "type": {"^": "server", "=": "peer"}.get(f[0], "local"),
                    "when": f[6], "hostpoll": 2 ** int(f[4]), "reachability": int(f[5], 8),
                    "delay": -1.0, "offset": float(f[7]) * 1000, "jitter": float(f[9]) * 1000})
    return out


HOP = re.compile(r"^\s*(\d+)\s+(.*)$")
PROBE = re.compile(r"(\*)|(\S+)\s+([\d.]+) ms|([\d.]+) ms")


def traceroute(output: str) -> models.TracerouteResultDict:
    """`traceroute -n` output -> traceroute(): a probe that timed out has rtt 0.0, address ""."""
    hops: dict[int, models.TracerouteResultDictEntry] = {}
    for line in output.splitlines():
        match = HOP.match(line)
        if not match or line.startswith("traceroute"):
            continue
        probes: dict[int, models.TracerouteDict] = {}
        address = ""
        for star, ip, rtt, bare in PROBE.findall(match[2]):
            if not star:
                address = ip or address
            probes[len(probes) + 1] = {"rtt": float(rtt or bare or 0.0),
                                       "ip_address": "" if star else address,
                                       "host_name": "" if star else address}
        hops[int(match[1])] = {"probes": probes}
    if not hops:
        lines = [line for line in output.strip().splitlines() if not line.startswith("traceroute")]
        return {"error": lines[-1] if lines else "traceroute failed"}
    return {"success": hops}
