"""The lab's kernel objects: one netns per router, veths per IP link, the management bridge.

Names: netns `<lab>-<router>`; data veths are created directly inside the two router netns with
the interface names of the topology (no temporary name ever lives in the root namespace);
bridge `<lab>-br` holds the controller address (first host of the mgmt subnet) and one root-side
veth `<lab>-m<i>` per router whose peer is `mgmt0` inside the router's netns.
"""
from __future__ import annotations

import ipaddress
import json
from pathlib import Path

from controller.lab.state import LabError, LabState, RouterState
from controller.lab.system import in_netns, ip_batch, netns_inode, netns_list, parallel, run
from controller.model.topology import Topology

SYSCTLS = ("net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0",
           "net.ipv4.conf.default.rp_filter=0", "net.ipv4.conf.all.forwarding=1",
           "net.ipv6.conf.all.forwarding=1")


def bridge_name(lab: str) -> str:
    return f"{lab}-br"


def controller_address(topo: Topology) -> ipaddress.IPv4Interface:
    """The controller's address on the management bridge: the first host of the mgmt subnet."""
    first = next(topo.mgmt_subnet.hosts())
    return ipaddress.IPv4Interface(f"{first}/{topo.mgmt_subnet.prefixlen}")


def root_names(state: LabState) -> list[str]:
    return [bridge_name(state.lab)] + [rs.mgmt_veth for rs in state.routers.values()]


def check_free(topo: Topology, state: LabState) -> None:
    """Refuse to build over names or a management subnet something else already uses."""
    taken = sorted({rs.netns for rs in state.routers.values()} & netns_list())
    if taken:
        raise LabError(f"network namespaces {', '.join(taken)} exist but lab {state.lab!r} has no "
                       "state: they are not this lab's; remove them or use another --name")
    links = {i["ifname"] for i in json.loads(run(["ip", "-j", "link"]).stdout)}
    clash = sorted(set(root_names(state)) & links)
    if clash:
        raise LabError(f"interfaces {', '.join(clash)} already exist in the root namespace")
    for route in json.loads(run(["ip", "-j", "-4", "route"]).stdout):
        dst = route.get("dst", "default")
        if dst != "default" and ipaddress.ip_network(dst, strict=False).overlaps(topo.mgmt_subnet):
            raise LabError(f"management subnet {topo.mgmt_subnet} overlaps route {dst} via "
                           f"{route.get('dev', '?')} in the root namespace (another lab up?); "
                           "use a topology with another addressing.mgmt")


def create_namespaces(state: LabState) -> None:
    """Network namespaces, UTS namespaces (hostname = router id), sysctls, lo up."""
    for rs in state.routers.values():
        state.record("netns", name=rs.netns)
    ip_batch([f"netns add {rs.netns}" for rs in state.routers.values()])
    for res in state.resources:  # the inode finds the netns's processes once it has no name
        if res["kind"] == "netns":
            res["inode"] = str(netns_inode(res["name"]) or "")
    state.save()

    def setup(item: tuple[str, RouterState]) -> None:
        router, rs = item
        Path(rs.dir).mkdir(parents=True, mode=0o711, exist_ok=True)
        Path(rs.uts).touch()
        run(["unshare", f"--uts={rs.uts}", "hostname", router])
        run(in_netns(rs.netns, ["sh", "-c", "sysctl -qw " + " ".join(SYSCTLS)
                                + " && ip link set lo up"]))

    for rs in state.routers.values():
        state.record("mount", target=rs.uts)
    parallel(setup, state.routers.items())


def create_mgmt(topo: Topology, state: LabState) -> None:
    br = bridge_name(state.lab)
    state.record("link", name=br)
    ip_batch([f"link add {br} type bridge", f"addr add {controller_address(topo)} dev {br}",
              f"link set {br} up"])
    cmds = []
    for rs in state.routers.values():
        state.record("link", name=rs.mgmt_veth)
        cmds += [f"link add {rs.mgmt_veth} type veth peer name mgmt0 netns {rs.netns}",
                 f"link set {rs.mgmt_veth} master {br} up"]
    ip_batch(cmds)


def create_links(topo: Topology, state: LabState) -> None:
    """One veth pair per IP link, ends named and placed as the topology says."""
    cmds = []
    for link in topo.links.values():
        a, b = (state.routers[e.router].netns for e in (link.a, link.b))
        state.record("veth", link=link.id, netns=a, name=link.a.interface)
        cmds.append(f"link add {link.a.interface} netns {a} type veth "
                    f"peer name {link.b.interface} netns {b}")
    ip_batch(cmds)


def configure_addresses(topo: Topology, state: LabState) -> None:
    """Day-0 inside each netns: loopback, link and mgmt addresses, links up, mgmt-only filter."""
    per_router: dict[str, list[str]] = {r: [] for r in topo.routers}
    for link in topo.links.values():
        for end in (link.a, link.b):
            per_router[end.router] += [f"addr add {end.address} dev {end.interface}",
                                       f"link set {end.interface} up"]

    def setup(router: str) -> None:
        r, rs = topo.routers[router], state.routers[router]
        ip_batch([f"addr add {r.loopback} dev lo", f"addr add {r.mgmt} dev mgmt0",
                  "link set mgmt0 up"] + per_router[router], netns=rs.netns)
        run(in_netns(rs.netns, ["nft", "-f", "-"]), input=mgmt_filter(topo, state.lab))

    parallel(setup, topo.routers)


def mgmt_filter(topo: Topology, lab: str) -> str:
    """SSH and SNMP answer the management subnet only (and SNMP the netns loopback)."""
    subnet = topo.mgmt_subnet
    return (f"table inet ngk_mgmt_{lab.replace('-', '_')} {{\n"
            "  chain input {\n    type filter hook input priority 0; policy accept;\n"
            f"    tcp dport 22 ip saddr != {subnet} drop\n"
            f"    udp dport 161 ip saddr != {{ {subnet}, 127.0.0.0/8 }} drop\n  }}\n}}\n")
