"""The qdiscs of a lab router, read in-process over rtnetlink (what `tc qdisc show` asks the
kernel), so `lab status` spawns no `tc` per router: one RTM_GETQDISC dump on a netlink socket
made inside the router's netns.
"""
from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

from controller.lab.system import thread_in_netns

RTM_GETQDISC = 38
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
TC_H_ROOT = 0xFFFFFFFF
TCA_KIND, TCA_OPTIONS, TCA_HTB_INIT = 1, 2, 2
NLMSG = struct.Struct("=IHHII")  # length, type, flags, seq, pid
TCMSG = struct.Struct("=BxxxiIII")  # family, ifindex, handle, parent, info
RTATTR = struct.Struct("=HH")  # length, type
HTB_GLOB = struct.Struct("=IIIII")  # version, rate2quantum, defcls, debug, direct_pkts


@dataclass(frozen=True, slots=True)
class Qdisc:
    dev: str
    kind: str
    handle: str  # "1:" as tc prints it
    parent: str  # "root" or "1:15"
    htb_default: str | None  # HTB's default class minor ("10"), None for other kinds


def qdiscs(netns: str) -> list[Qdisc]:
    """Every qdisc in `netns`. OSError if the namespace or the dump fails."""
    with thread_in_netns(netns):
        names = dict(socket.if_nameindex())
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    with sock:
        request = TCMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0)
        sock.send(NLMSG.pack(NLMSG.size + len(request), RTM_GETQDISC,
                             NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + request)
        return [_qdisc(msg, names) for msg in _dump(sock)]


def _dump(sock: socket.socket) -> list[bytes]:
    """The messages of one dump reply (each without its netlink header)."""
    out: list[bytes] = []
    while True:
        data, pos = sock.recv(1 << 16), 0
        while pos + NLMSG.size <= len(data):
            length, kind = NLMSG.unpack_from(data, pos)[:2]
            if kind == NLMSG_DONE:
                return out
            if kind == NLMSG_ERROR:
                err = -struct.unpack_from("=i", data, pos + NLMSG.size)[0]
                raise OSError(err, "rtnetlink qdisc dump refused")
            out.append(data[pos + NLMSG.size:pos + length])
            pos += (length + 3) & ~3


def _attrs(data: bytes) -> dict[int, bytes]:
    out, pos = {}, 0
    while pos + RTATTR.size <= len(data):
        length, kind = RTATTR.unpack_from(data, pos)
        out[kind & 0x3FFF] = data[pos + RTATTR.size:pos + length]
        pos += max((length + 3) & ~3, RTATTR.size)
    return out


def _handle(value: int) -> str:
    """A tc handle as tc prints it: "1:" (a qdisc's), "1:15" (a class's)."""
    major, minor = value >> 16, value & 0xFFFF
    return f"{major:x}:{minor:x}" if minor else f"{major:x}:"


def _qdisc(msg: bytes, names: dict[int, str]) -> Qdisc:
    _, ifindex, handle, parent, _ = TCMSG.unpack_from(msg)
    attrs = _attrs(msg[TCMSG.size:])
    kind = attrs.get(TCA_KIND, b"").rstrip(b"\0").decode()
    glob = _attrs(attrs.get(TCA_OPTIONS, b"")).get(TCA_HTB_INIT) if kind == "htb" else None
    default = f"{HTB_GLOB.unpack_from(glob)[2]:x}" if glob else None
    return Qdisc(names.get(ifindex, str(ifindex)), kind, _handle(handle),
                 "root" if parent == TC_H_ROOT else _handle(parent), default)
