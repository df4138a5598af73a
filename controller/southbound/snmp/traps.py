"""Trap receiver: coldStart, warmStart, linkDown, linkUp and the OSPF-TRAP-MIB (RFC 4750)
ospfNbrStateChange and ospfIfStateChange over SNMPv2c and v3 (pysnmp's
notification receiver on one UDP port). Each notification becomes a `Trap` for a callback.

The sending router is found by its v3 engine ID, else by source address (the inventory's
management IP). v3 traps are accepted from agents whose `engine_id` is in the inventory; v3
informs need no engine ID. Communities and users come from the inventory.
"""
from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from controller.southbound.snmp import ber
from controller.southbound.snmp.inventory import Target
from controller.southbound.snmp.oids import (
    IF_ADMIN_STATUS, IF_INDEX, IF_OPER_STATUS, OSPF_IF_IP_ADDRESS, OSPF_IF_STATE,
    OSPF_NBR_IP_ADDR, OSPF_NBR_RTR_ID, OSPF_NBR_STATE, OSPF_ROUTER_ID, SNMP_TRAP_OID, TRAPS, Oid,
    dotted, ospf_index_address)


@dataclass(slots=True)
class Trap:
    kind: str  # a name in oids.TRAPS or the dotted OID of another trap
    router: str | None  # None: sender not in the inventory
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


def plain_value(value: Any) -> Any:
    """pyasn1 value -> the plain value the BER codec gives."""
    name = type(value).__name__
    if name in ("NoSuchObject", "NoSuchInstance", "EndOfMibView"):
        return {"NoSuchObject": ber.NO_SUCH_OBJECT, "NoSuchInstance": ber.NO_SUCH_INSTANCE,
                "EndOfMibView": ber.END_OF_MIB_VIEW}[name]
    if name in ("OctetString", "Opaque", "DisplayString", "Bits"):
        return value.asOctets()
    if name in ("ObjectName", "ObjectIdentifier"):
        return tuple(value)
    if name == "IpAddress":
        return ".".join(map(str, value.asNumbers()))
    if name == "Null":
        return None
    return int(value)


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


class TrapReceiver:
    def __init__(self, targets: list[Target], callback: Callable[[Trap], None],
                 host: str = "0.0.0.0", port: int = 162):
        self.targets, self.callback, self.host, self.port = targets, callback, host, port
        self.engine: Any = None
        self.by_engine = {t.credentials.engine_id: t.router for t in targets
                          if t.credentials.engine_id}
        by_host: dict[str, list[str]] = {}
        for t in targets:
            by_host.setdefault(t.host, []).append(t.router)
        self.by_host = {h: r[0] for h, r in by_host.items() if len(r) == 1}
        self.received = 0

    def start(self) -> None:
        """Bind the port (now: OSError if taken) and register communities/users; needs a running
        asyncio loop."""
        from pysnmp.carrier.asyncio.dgram import udp
        from pysnmp.entity import config, engine
        from pysnmp.entity.rfc3413 import ntfrcv
        from pysnmp.proto.rfc1902 import OctetString

        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        self.engine = engine.SnmpEngine()
        config.add_transport(self.engine, udp.DOMAIN_NAME,
                             udp.UdpAsyncioTransport().open_server_mode(sock=sock))
        communities = sorted({t.credentials.community for t in self.targets
                              if t.credentials.community})
        for i, community in enumerate(communities):
            config.add_v1_system(self.engine, f"ngk-c{i}", community)
        users = {(c.user, c.auth_key, c.priv_key, c.engine_id) for c in
                 (t.credentials for t in self.targets) if c.version == "3"}
        for user, auth, priv, engine_id in sorted(users, key=str):
            extra = {"securityEngineId": OctetString(hexValue=engine_id)} if engine_id else {}
            config.add_v3_user(self.engine, user, config.USM_AUTH_HMAC96_SHA, auth,
                               config.USM_PRIV_CFB128_AES, priv, **extra)
        ntfrcv.NotificationReceiver(self.engine, self._received)

    def _received(self, snmp_engine: Any, state_ref: Any, context_engine_id: Any,
                  _context_name: Any, varbinds: Any, _ctx: Any) -> None:
        now = time.time()
        self.received += 1
        _, address = snmp_engine.message_dispatcher.get_transport_info(state_ref)
        source = str(address[0])
        engine_hex = context_engine_id.asOctets().hex() if context_engine_id else ""
        router = self.by_engine.get(engine_hex) or self.by_host.get(source)
        plain = [(tuple(name), plain_value(value)) for name, value in varbinds]
        self.callback(parse(plain, router, source, now))

    def close(self) -> None:
        if self.engine is not None:
            self.engine.close_dispatcher()
