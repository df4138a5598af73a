"""Record napalm_frr's mocked_data from a live lab (run as root while `ngk lab up` runs):

    .venv/bin/python tests/unit/napalm_frr_record.py [--lab ngk]

Each case runs its getter through the real driver over SSH; every command's output is written
under its slug and the result as expected_result.json (review the diff before committing). The
SNMP community strings of the lab are replaced by fixed names in the recordings.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from test_napalm_frr import MOCKED, run_getter, slug  # noqa: E402

from controller.lab import creds as credentials  # noqa: E402
from controller.lab.state import LabState  # noqa: E402
from controller.model.load import load_topology  # noqa: E402
from napalm_frr import FRRDriver  # noqa: E402

# getter, case, router, kwargs, lab-specific optional args (lldp, snmpd), setup in the netns
CASES: list[tuple[str, str, str, dict[str, Any], tuple[str, ...]]] = [
    ("get_facts", "normal", "amk-ce1", {}, ()),
    ("get_interfaces", "normal", "amk-ce1", {}, ()),
    ("get_interfaces_ip", "normal", "amk-ce1", {}, ()),
    ("get_config", "normal", "amk-ce1", {}, ()),
    ("get_interfaces_counters", "normal", "osl-cr1", {}, ()),
    ("get_lldp_neighbors", "normal", "osl-cr1", {}, ("lldp_socket",)),
    ("get_lldp_neighbors_detail", "normal", "osl-cr1", {}, ("lldp_socket",)),
    ("get_arp_table", "normal", "osl-cr1", {}, ()),
    ("get_ipv6_neighbors_table", "normal", "osl-cr1", {}, ()),
    ("get_route_to", "ospf", "osl-cr1", {"destination": "10.255.0.5"}, ()),
    ("get_route_to", "longer", "osl-cr1", {"destination": "10.255.0.0/24", "longer": True,
                                           "protocol": "bgp"}, ()),
    ("get_bgp_neighbors", "core", "osl-cr1", {}, ()),
    ("get_bgp_neighbors", "no_bgp", "amk-ce1", {}, ()),
    ("get_bgp_neighbors_detail", "core", "osl-cr1", {}, ()),
    ("get_bgp_config", "core", "osl-cr1", {}, ()),
    ("get_bgp_config", "no_bgp", "amk-ce1", {}, ()),
    ("get_network_instances", "normal", "osl-cr1", {}, ()),
    ("get_ntp_servers", "none_configured", "osl-cr1", {}, ()),
    ("get_ntp_stats", "no_chrony", "osl-cr1", {}, ()),
    ("get_snmp_information", "normal", "osl-cr1", {}, ("snmpd_conf",)),
    ("get_users", "normal", "osl-cr1", {}, ()),
    ("get_environment", "normal", "osl-cr1", {}, ()),
    ("get_mac_address_table", "bridge", "amk-ce1", {}, ()),
    ("get_vlans", "subinterface_and_bridge", "amk-ce1", {}, ()),
    ("get_optics", "none", "amk-ce1", {}, ()),
    ("traceroute", "reachable", "osl-cr1", {"destination": "10.255.0.5", "timeout": 1}, ()),
    ("traceroute", "unreachable", "osl-cr1", {"destination": "10.99.99.99", "ttl": 3}, ()),
    ("ping", "reachable", "amk-ce1", {"destination": "10.255.0.10", "count": 3, "timeout": 1}, ()),
    ("ping", "unreachable", "amk-ce1", {"destination": "10.255.0.99", "count": 3, "timeout": 1},
     ()),
    ("compliance_report", "normal", "osl-cr1", {}, ("lldp_socket",)),
]
# a bridge with a learning port and a VLAN sub-interface in amk-ce1, for the fdb and VLAN cases
PLANT = ["link add br0 type bridge", "link add v0 type veth peer name v1",
         "link set v0 master br0", "link set br0 up", "link set v0 up", "link set v1 up",
         "bridge vlan add dev v0 vid 200", "link add link eth1 name eth1.100 type vlan id 100"]


class Recording(FRRDriver):
    def start(self, case: Path) -> None:
        self.case = case
        self.secrets: dict[str, str] = {}

    def _exec(self, command: str, stdin: str | None = None) -> tuple[int, str, str]:
        code, out, err = super()._exec(command, stdin)
        for i, secret in enumerate(sorted(set(re.findall(r"community6? (\S+)", out)))):
            out = out.replace(secret, f"community{i + 1}")
        name = slug(self, command)
        if code == 0:
            (self.case / f"{name}.txt").write_text(out)
        else:
            (self.case / f"{name}.error").write_text(err or out)
        return code, out, err

    def _batch(self, commands: list[str]) -> list[str]:
        return [self._shell(c) for c in commands]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lab", default="ngk")
    lab = ap.parse_args().lab
    state = LabState.load(lab)
    topo, creds = load_topology(state.topology), credentials.load(state.dir)
    import subprocess
    subprocess.run(["ip", "-force", "-n", state.routers["amk-ce1"].netns, "-batch", "-"],
                   input="\n".join(PLANT) + "\n", text=True)
    time.sleep(2.5)  # IPv6 duplicate address detection on the new links
    subprocess.run(["ip", "netns", "exec", state.routers["amk-ce1"].netns, "ping", "-6", "-c",
                    "2", "-I", "v1", "ff02::1"], capture_output=True)  # br0 learns v1 on v0
    for getter, name, router, kwargs, lab_args in CASES:
        case = MOCKED / f"test_{getter}" / name
        validate = (case / "validate.yml").read_text() if (case / "validate.yml").exists() else ""
        shutil.rmtree(case, ignore_errors=True)
        case.mkdir(parents=True)
        if validate:
            (case / "validate.yml").write_text(validate)
        rdir = Path(state.routers[router].dir)
        lab_values = {"lldp_socket": str(rdir / "lldp" / "lldpd.socket"),
                      "snmpd_conf": str(rdir / "snmp" / "snmpd.conf")}
        opt = {k: lab_values[k] for k in lab_args}
        if kwargs or opt:
            (case / "call.json").write_text(json.dumps(
                {"kwargs": kwargs, "optional_args": opt}, indent=2) + "\n")
        args = {"use_keys": True, "key_file": creds.ssh_key, "allow_agent": False,
                "ssh_strict": True, "system_host_keys": False, "alt_host_keys": True,
                "alt_key_file": creds.known_hosts, "state_dir": str(rdir / "napalm"), **opt}
        with Recording(str(topo.routers[router].mgmt.ip), creds.ssh_user, "",
                       optional_args=args) as dev:
            dev.start(case)
            result = run_getter(dev, getter, case)
        (case / "expected_result.json").write_text(json.dumps(result, indent=2) + "\n")
        print(f"{getter}/{name}: {len(list(case.iterdir()))} files")


if __name__ == "__main__":
    main()
