"""A Nornir SimpleInventory (hosts.yaml, groups.yaml, defaults.yaml) for a running lab.

Hosts are reached at their management address; credentials stay out of these files: defaults
name the SSH user and point at the key, known_hosts and credentials files by path.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from controller.lab.creds import SECRETS_FILE, Credentials
from controller.model.topology import Topology


def site_group(site: str) -> str:
    return f"site_{site}"


def role_group(role: str) -> str:
    return f"role_{role}"


def inventory(topo: Topology, creds: Credentials, lab_dir: Path) -> dict[str, dict[str, Any]]:
    """The three Nornir inventory documents, keyed by file name."""
    hosts = {
        r.id: {"hostname": str(r.mgmt.ip), "platform": "frr",
               "groups": [site_group(r.site), role_group(r.role)],
               "data": {"site": r.site, "role": r.role, "loopback": str(r.loopback.ip)}}
        for r in topo.routers.values()
    }
    groups = {site_group(s): {"data": {"site": s}} for s in sorted({r.site for r in topo.routers.values()})}
    groups |= {role_group(ro): {"data": {"role": ro}}
               for ro in sorted({r.role for r in topo.routers.values()})}
    defaults = {
        "username": creds.ssh_user,
        "port": 22,
        "connection_options": {
            "netmiko": {"extras": {"use_keys": True, "key_file": creds.ssh_key,
                                   "allow_agent": False, "ssh_strict": True,
                                   "system_host_keys": False, "alt_host_keys": True,
                                   "alt_key_file": creds.known_hosts}},
        },
        "data": {"ssh_key_file": creds.ssh_key, "known_hosts_file": creds.known_hosts,
                 "snmp": {"secrets_file": str(lab_dir / SECRETS_FILE)}},
    }
    return {"hosts.yaml": hosts, "groups.yaml": groups, "defaults.yaml": defaults}


def write_inventory(topo: Topology, creds: Credentials, lab_dir: Path) -> Path:
    """Write the inventory into <lab_dir>/inventory/ and return that directory."""
    out = lab_dir / "inventory"
    out.mkdir(exist_ok=True)
    for name, doc in inventory(topo, creds, lab_dir).items():
        (out / name).write_text(yaml.safe_dump(doc, sort_keys=False))
    return out
