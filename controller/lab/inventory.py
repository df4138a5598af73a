"""A Nornir SimpleInventory (hosts.yaml, groups.yaml, defaults.yaml) for a running lab.

Hosts and groups are the production ones (controller/southbound/inventory.py), all on FRR, plus
host data `napalm_optional_args` (the lab router's lldpd socket, snmpd.conf and driver state
dir); credentials stay out of these files: defaults name the SSH user and point at the key,
known_hosts and secrets files by path.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from controller.lab.creds import SECRETS_FILE, Credentials
from controller.model.topology import Topology
from controller.southbound import inventory as nornir_inventory


def _driver_args(router_dir: Path) -> dict[str, str]:
    """napalm_frr options for a lab router: its lldpd socket, snmpd.conf and a state directory
    of its own (root-owned, inside the lab's directory: it goes with `lab down`)."""
    return {"lldp_socket": str(router_dir / "lldp" / "lldpd.socket"),
            "snmpd_conf": str(router_dir / "snmp" / "snmpd.conf"),
            "state_dir": str(router_dir / "napalm")}


def inventory(topo: Topology, creds: Credentials, lab_dir: Path) -> dict[str, dict[str, Any]]:
    """The three Nornir inventory documents, keyed by file name."""
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
    docs = nornir_inventory.hosts_and_groups(topo, platform="frr")
    for rid, host in docs["hosts.yaml"].items():
        args = _driver_args(lab_dir / "routers" / rid)
        host.setdefault("data", {})["napalm_optional_args"] = args
    return docs | {"defaults.yaml": defaults}


def write_inventory(topo: Topology, creds: Credentials, lab_dir: Path) -> Path:
    """Write the inventory into <lab_dir>/inventory/ and return that directory."""
    out = lab_dir / "inventory"
    nornir_inventory.write(nornir_inventory.render(inventory(topo, creds, lab_dir)), out)
    return out
