"""Trap receiver: coldStart, warmStart, linkDown, linkUp and the OSPF-TRAP-MIB (RFC 4750)
ospfNbrStateChange and ospfIfStateChange, as SNMPv2c traps/informs or SNMPv3 authPriv
traps/informs, on one UDP socket bound to the management address. Each notification accepted
becomes a `Trap` for a callback; everything else is counted in `rejected` (by reason) and logged
without any secret, and never reaches the callback.

- v2c: only from an inventory address, with that router's trap community (`trap_community`,
  default `community`); informs are answered with a Response.
- v3 traps: the sender is the authoritative engine; its `engine_id` must be in the inventory,
  the message authPriv with that router's keys and timely (RFC 3414 3.2 step 7b).
- v3 informs: this receiver is the authoritative engine (a fresh engine ID per start, so boots
  is 1); it answers discovery probes from inventory addresses with a Report, checks the time
  window (step 7a; a late inform gets a notInTimeWindow Report to resynchronise the sender)
  and answers an accepted inform with an authPriv Response.
"""
from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import os
import socket
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from controller.errors import InputError
from controller.southbound.snmp import ber, usm
from controller.southbound.snmp.inventory import Target
from controller.southbound.snmp.oids import (
    IF_ADMIN_STATUS, IF_INDEX, IF_OPER_STATUS, OSPF_IF_IP_ADDRESS, OSPF_IF_STATE,
    OSPF_NBR_IP_ADDR, OSPF_NBR_RTR_ID, OSPF_NBR_STATE, OSPF_ROUTER_ID, SNMP_TRAP_OID, TRAPS, Oid,
    dotted, ospf_index_address)

log = logging.getLogger(__name__)
# snmpEngineID of this receiver: RFC 3411 format 5 (octets) under net-snmp's enterprise number,
# 8 random bytes per start
ENGINE_ID_PREFIX = bytes.fromhex("80001f8805")
UNKNOWN_ENGINE_IDS = usm.USM_STATS_PREFIX + (4, 0)
NOT_IN_TIME_WINDOWS = usm.USM_STATS_PREFIX + (2, 0)
LOG_EVERY_S = 60.0  # a reason/source pair is logged at most once a minute (with its count)
LOG_MEMORY = 4096  # reason/source pairs remembered for that (spoofed sources are unbounded)
BATCH = 64  # datagrams read per wake-up before the loop runs other work


@dataclass(slots=True)
class Trap:
    kind: str  # a name in oids.TRAPS or the dotted OID of another trap
    router: str | None  # the inventory router that sent it (the receiver passes no other)
    source: str
    received: float  # time.time() when the receiver got it
    if_index: int | None = None
    oper: int | None = None
    admin: int | None = None
    ospf_router_id: str | None = None  # the sender's OSPF router ID
    nbr_address: str | None = None  # ospfNbrIpAddr: the neighbour's interface address
    nbr_router_id: str | None = None
    nbr_state: int | None = None  # ospfNbrState, oids.NBR_STATE
    ospf_if_address: str | None = None  # ospfIfIpAddress: the sender's own interface address
    ospf_if_state: int | None = None  # ospfIfState, oids.IF_STATE
    varbinds: dict[str, Any] = field(default_factory=dict)


def _ospf(trap: Trap, name: Oid, value: Any) -> None:
    """Fill the OSPF fields from one var-bind; an address column's value wins over the address
    in any instance index."""
    column, text = name[:len(OSPF_NBR_IP_ADDR)], value if isinstance(value, str) else None
    if name[:-1] == OSPF_ROUTER_ID:
        trap.ospf_router_id = text
    elif column == OSPF_NBR_RTR_ID:
        trap.nbr_router_id = text
    elif column in (OSPF_NBR_IP_ADDR, OSPF_NBR_STATE):
        if column == OSPF_NBR_IP_ADDR and text:
            trap.nbr_address = text
        elif column == OSPF_NBR_STATE and isinstance(value, int):
            trap.nbr_state = value
        trap.nbr_address = trap.nbr_address or ospf_index_address(name, column)
    elif column in (OSPF_IF_IP_ADDRESS, OSPF_IF_STATE):
        if column == OSPF_IF_IP_ADDRESS and text:
            trap.ospf_if_address = text
        elif column == OSPF_IF_STATE and isinstance(value, int):
            trap.ospf_if_state = value
        trap.ospf_if_address = trap.ospf_if_address or ospf_index_address(name, column)


def parse(varbinds: list[tuple[tuple[int, ...], Any]], router: str | None, source: str,
          received: float) -> Trap:
    """A Trap from plain var-binds (snmpTrapOID.0 names the kind)."""
    trap = Trap("unknown", router, source, received)
    for oid, value in varbinds:
        if oid == SNMP_TRAP_OID:
            trap.kind = TRAPS.get(value, dotted(value) if isinstance(value, tuple) else "unknown")
        elif oid[:-1] in (IF_INDEX, IF_OPER_STATUS, IF_ADMIN_STATUS) and isinstance(value, int):
            trap.if_index = oid[-1]
            if oid[:-1] == IF_OPER_STATUS:
                trap.oper = value
            elif oid[:-1] == IF_ADMIN_STATUS:
                trap.admin = value
        else:
            _ospf(trap, oid, value)
        trap.varbinds[dotted(oid)] = value if not isinstance(value, bytes) else value.decode(
            errors="replace")
    return trap


class Rejected(Exception):
    """A notification not accepted; `reason` is the counter, `detail` carries no secret."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason)
        self.reason, self.detail = reason, detail


def _address(text: str) -> str:
    """An IP address in one canonical spelling (IPv4-mapped IPv6 as IPv4)."""
    ip = ipaddress.ip_address(text.split("%")[0])
    mapped = getattr(ip, "ipv4_mapped", None)
    return str(mapped or ip)


def management_address(targets: list[Target]) -> str:
    """The local address this host reaches every inventory agent from: where their traps are
    expected. InputError when the agents are reached from several addresses (or none)."""
    local = set()
    for host in sorted({t.host for t in targets}):
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            try:
                s.connect((host, 162))  # UDP: picks the route and source, sends nothing
            except OSError as exc:
                raise InputError(f"traps: no route to the agent at {host} "
                                 f"({exc.strerror})") from None
            local.add(s.getsockname()[0])
    if len(local) != 1:
        found = ", ".join(sorted(local)) or "none"
        raise InputError(f"traps: the inventory's agents are reached from {len(local)} local "
                         f"addresses ({found}), not one; choose one with --trap-addr")
    return local.pop()


class TrapReceiver:
    """Receives on `host` (default: `management_address(targets)`) and `port`."""

    def __init__(self, targets: list[Target], callback: Callable[[Trap], None],
                 host: str | None = None, port: int = 162):
        self.targets, self.callback, self.port = targets, callback, port
        self.host = host or management_address(targets)
        self.sock: socket.socket | None = None
        self.received = 0  # notifications accepted
        self.probes = 0  # v3 engine-discovery probes answered
        self.rejected: Counter[str] = Counter()
        self._logged: dict[tuple[str, str], float] = {}
        self.by_host: dict[str, list[Target]] = {}
        for t in targets:
            self.by_host.setdefault(_address(t.host), []).append(t)
        self.by_engine: dict[bytes, list[Target]] = {}
        for t in targets:
            if t.credentials.version == "3" and t.credentials.engine_id:
                self.by_engine.setdefault(bytes.fromhex(t.credentials.engine_id), []).append(t)
        self.engine = usm.Engine(ENGINE_ID_PREFIX + os.urandom(8), 1, 0, time.monotonic(),
                                 synced=True)
        self.peers: dict[bytes, usm.Engine] = {}  # trap senders' engines (timeliness)
        self._salt = usm.new_salt()

    def start(self) -> None:
        """Bind the port (now: OSError if taken) and read it from the running asyncio loop."""
        family = socket.AF_INET6 if ipaddress.ip_address(self.host).version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.bind((self.host, self.port))
            sock.setblocking(False)
            asyncio.get_running_loop().add_reader(sock.fileno(), self._readable)
        except (OSError, RuntimeError):
            sock.close()
            raise
        self.sock = sock

    def close(self) -> None:
        if self.sock is not None:
            asyncio.get_running_loop().remove_reader(self.sock.fileno())
            self.sock.close()
            self.sock = None

    def _readable(self) -> None:
        sock = self.sock
        if sock is None:  # closed
            return
        for _ in range(BATCH):
            try:
                data, addr = sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # an ICMP error queued on the socket: nothing to read
                log.debug("trap socket: %s", exc)
                return
            self.handle(data, addr)

    def handle(self, data: bytes, addr: tuple[Any, ...]) -> Trap | None:
        """One datagram: the Trap passed to the callback, or None (counted and logged)."""
        now = time.time()
        try:
            source = _address(str(addr[0]))
        except ValueError:
            source = str(addr[0])
        try:
            if usm.msg_version(data) == usm.V3:
                trap = self._v3(data, source, addr, now)
            else:
                trap = self._v2c(data, source, addr, now)
        except Rejected as exc:
            self._reject(exc.reason, source, exc.detail)
            return None
        except ber.BerError as exc:
            self._reject("malformed", source, str(exc))
            return None
        if trap is None:  # a discovery probe, answered
            return None
        self.received += 1
        self.callback(trap)
        return trap

    def _reject(self, reason: str, source: str, detail: str) -> None:
        self.rejected[reason] += 1
        key = (reason, source)
        now = time.monotonic()
        if now - self._logged.get(key, -LOG_EVERY_S) >= LOG_EVERY_S:
            if len(self._logged) >= LOG_MEMORY:
                self._logged.clear()
            self._logged[key] = now
            log.warning("trap from %s rejected: %s%s (%d rejected for this reason so far)",
                        source, reason, f": {detail}" if detail else "", self.rejected[reason])

    def _send(self, message: bytes, addr: tuple[Any, ...]) -> None:
        if self.sock is None:  # handle() without start(): nowhere to answer from
            log.debug("trap receiver not started: no answer to %s", addr[0])
            return
        try:
            self.sock.sendto(message, addr)
        except OSError as exc:
            log.debug("trap receiver could not answer %s: %s", addr[0], exc)

    # --- SNMPv2c ---------------------------------------------------------------------------
    def _v2c(self, data: bytes, source: str, addr: tuple[Any, ...], now: float) -> Trap:
        pdu = ber.decode_message(data)
        if pdu.version != ber.V2C:
            raise Rejected("unsupported_version", "SNMPv1 traps are not accepted")
        if pdu.tag not in (ber.TRAP_V2, ber.INFORM):
            raise Rejected("not_a_notification", f"PDU tag 0x{pdu.tag:02x}")
        senders = self.by_host.get(source)
        if not senders:
            raise Rejected("unknown_source", "not an inventory address")
        routers = [t.router for t in senders if _community_ok(t, pdu.community)]
        if not routers:
            raise Rejected("wrong_community", "for " + ", ".join(t.router for t in senders))
        if len(routers) > 1:
            raise Rejected("ambiguous_source", "routers " + ", ".join(routers))
        if pdu.tag == ber.INFORM:
            self._send(ber.tlv(0x30, ber.enc_int(ber.V2C) + ber.tlv(0x04, pdu.community)
                               + ber.encode_pdu(ber.RESPONSE, pdu.request_id, 0, 0,
                                                pdu.raw_varbinds)), addr)
        return parse(pdu.varbinds, routers[0], source, now)

    # --- SNMPv3 ----------------------------------------------------------------------------
    def _v3(self, data: bytes, source: str, addr: tuple[Any, ...], now: float) -> Trap | None:
        env = usm.parse(data)
        if env.engine_id == self.engine.engine_id or not env.engine_id:
            return self._inform(data, env, source, addr, now)
        known = self.by_engine.get(env.engine_id)
        if not known:
            raise Rejected("unknown_engine", "engine ID not in the inventory")
        if env.flags & (usm.AUTH | usm.PRIV) != usm.AUTH | usm.PRIV:
            raise Rejected("unsupported_security_level", "only authPriv is accepted")
        target, pdu, _ = _authentic(data, env, known, env.engine_id)
        peer = self.peers.setdefault(env.engine_id, usm.Engine(env.engine_id, 0, 0, 0.0))
        if not peer.timely(env.boots, env.time):
            raise Rejected("not_in_time_window",
                           f"{target.router}: boots {env.boots} time {env.time}, expected boots "
                           f"{peer.boots} time {peer.now()}")
        if pdu.tag != ber.TRAP_V2:
            raise Rejected("not_a_notification", f"PDU tag 0x{pdu.tag:02x}")
        return parse(pdu.varbinds, target.router, source, now)

    def _inform(self, data: bytes, env: usm.Envelope, source: str, addr: tuple[Any, ...],
                now: float) -> Trap | None:
        """A v3 message to this receiver as authoritative engine: a discovery probe or an
        inform."""
        senders = [t for t in self.by_host.get(source, ()) if t.credentials.version == "3"]
        if not senders:
            raise Rejected("unknown_source", "not the address of an SNMPv3 inventory router")
        if not env.flags & usm.AUTH:
            if env.engine_id or not env.flags & usm.REPORTABLE:
                raise Rejected("unsupported_security_level", "only authPriv is accepted")
            probe = usm.open_message(data, env, None)
            self.probes += 1
            self._report(env, probe.request_id, UNKNOWN_ENGINE_IDS, self.probes, None, addr)
            return None
        if not env.flags & usm.PRIV:
            raise Rejected("unsupported_security_level", "only authPriv is accepted")
        if env.engine_id != self.engine.engine_id:
            raise Rejected("unknown_engine", "authenticated for another engine ID")
        target, pdu, k = _authentic(data, env, senders, self.engine.engine_id)
        if not self.engine.in_window(env.boots, env.time):
            self._report(env, pdu.request_id, NOT_IN_TIME_WINDOWS,
                         self.rejected["not_in_time_window"] + 1, k, addr)
            raise Rejected("not_in_time_window", f"{target.router}: inform outside the window")
        if pdu.tag != ber.INFORM:
            raise Rejected("not_a_notification", f"PDU tag 0x{pdu.tag:02x}")
        self._salt += 1
        response = ber.encode_pdu(ber.RESPONSE, pdu.request_id, 0, 0, pdu.raw_varbinds)
        self._send(usm.encode(env.msg_id, response, self.engine, k, self._salt,
                              usm.AUTH | usm.PRIV, (pdu.context_engine_id, pdu.context_name)),
                   addr)
        return parse(pdu.varbinds, target.router, source, now)

    def _report(self, env: usm.Envelope, request_id: int, counter: Oid, count: int,
                k: usm.Keys | None, addr: tuple[Any, ...]) -> None:
        """A Report PDU with one usmStats counter (noAuthNoPriv, or authNoPriv with `k`)."""
        pdu = ber.encode_pdu(ber.REPORT, request_id, 0, 0,
                             ber.encode_varbinds([(counter, (0x41, count & 0xFFFFFFFF))]))
        self._send(usm.encode(env.msg_id, pdu, self.engine, k, 0,
                              flags=usm.AUTH if k else 0), addr)


def _community_ok(target: Target, community: bytes) -> bool:
    expected = target.credentials.trap_community or target.credentials.community
    return expected is not None and expected != "" and \
        hmac.compare_digest(expected.encode(), community)


def _authentic(data: bytes, env: usm.Envelope, candidates: list[Target], engine_id: bytes
               ) -> tuple[Target, ber.Pdu, usm.Keys]:
    """The candidate (of the message's user) whose keys, localized to `engine_id`, authenticate
    and decrypt the message; Rejected when none does."""
    users = [t for t in candidates if t.credentials.user and
             hmac.compare_digest(t.credentials.user.encode(), env.user)]
    if not users:
        raise Rejected("unknown_user", "no SNMPv3 user of that name for this sender")
    error = ""
    for target in users:  # several routers may share a user name, with different keys
        c = target.credentials
        k = usm.keys(c.user, c.auth_key, c.priv_key, engine_id, c.auth_protocol, c.priv_protocol)
        try:
            return target, usm.open_message(data, env, k), k
        except ber.BerError as exc:
            error = str(exc)
    raise Rejected("unauthentic", error)
