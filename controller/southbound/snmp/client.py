"""GETBULK clients with one interface: a lean v2c client (hand-built BER, one asyncio UDP socket
with a large receive buffer, request-id demultiplexing) and a pysnmp client for v3 authPriv
(low-level command generator, no MIB lookups)."""
from __future__ import annotations

import asyncio
import random
import socket
from typing import Any

from controller.southbound.snmp import ber
from controller.southbound.snmp.inventory import Target
from controller.southbound.snmp.oids import Oid

Varbinds = list[tuple[Oid, Any]]
ERROR_STATUS = {1: "tooBig", 2: "noSuchName", 3: "badValue", 4: "readOnly", 5: "genErr",
                6: "noAccess", 16: "authorizationError"}
RCVBUF = 8 << 20
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)  # Linux; Python does not export it


class SnmpError(Exception):
    """A request that got no usable answer; str() is the reason recorded."""


class V2cClient(asyncio.DatagramProtocol):
    """All v2c requests of a process share this one socket."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: dict[int, tuple[asyncio.Future, tuple[str, int]]] = {}
        self.malformed: dict[tuple[str, int], str] = {}
        self._id = random.randrange(1 << 30)
        self.sent = self.received = 0

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: self, local_addr=("0.0.0.0", 0))
        sock = self.transport.get_extra_info("socket")
        try:  # root may exceed net.core.rmem_max; others get what rmem_max allows
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def close(self) -> None:
        if self.transport:
            self.transport.close()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received += 1
        try:
            pdu = ber.decode_message(data)
        except ber.BerError as exc:
            self.malformed[addr[:2]] = str(exc)
            return
        entry = self.pending.get(pdu.request_id)
        if entry is None or pdu.tag != ber.RESPONSE or entry[1] != addr[:2]:
            return
        if not entry[0].done():
            entry[0].set_result(pdu)

    async def bulk(self, target: Target, non_repeaters: list[Oid], repeaters: list[Oid],
                   max_repetitions: int) -> Varbinds:
        varbinds = ber.encode_varbinds([(o, None) for o in (*non_repeaters, *repeaters)])
        return await self.request(target, ber.GETBULK, len(non_repeaters), max_repetitions,
                                  varbinds)

    async def request(self, target: Target, tag: int, field1: int, field2: int,
                      varbinds: bytes) -> Varbinds:
        self._id = (self._id + 1) & 0x7FFFFFFF
        rid = self._id
        addr = (target.host, target.port)
        msg = ber.encode_message(ber.V2C, target.credentials.community.encode(), tag, rid,
                                 field1, field2, varbinds)
        loop = asyncio.get_running_loop()
        try:
            for _ in range(target.retries + 1):
                fut = loop.create_future()
                self.pending[rid] = (fut, addr)
                timer = loop.call_later(target.timeout, _expire, fut)
                self.transport.sendto(msg, addr)
                self.sent += 1
                pdu = await fut
                timer.cancel()
                if pdu is not None:
                    break
            else:
                bad = self.malformed.pop(addr, None)
                if bad:
                    raise SnmpError(f"malformed response: {bad}")
                raise SnmpError(f"timeout: no response after {target.retries + 1} tries of "
                                f"{target.timeout:g} s (agent down or wrong community)")
        finally:
            self.pending.pop(rid, None)
        if pdu.error_status:
            name = ERROR_STATUS.get(pdu.error_status, str(pdu.error_status))
            raise SnmpError(f"agent error {name} at var-bind {pdu.error_index}")
        return pdu.varbinds


def _expire(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_result(None)


async def snmp_set(target: Target, varbinds: list[tuple[Oid, Any]]) -> Varbinds:
    """One v2c SET on a socket of its own; SnmpError when the agent refuses or never answers."""
    client = V2cClient()
    await client.open()
    try:
        return await client.request(target, ber.SET, 0, 0, ber.encode_varbinds(varbinds))
    finally:
        client.close()


class V3Client:
    """SNMPv3 authPriv (HMAC-SHA-96, AES-128) through pysnmp's command generator.

    pysnmp keys its user table by user name, so each distinct (user, keys) set gets its own
    engine; routers sharing credentials share one engine and its socket.
    """

    def __init__(self) -> None:
        self.engines: dict[tuple, Any] = {}
        self._addr: dict[str, tuple[Any, str]] = {}

    async def _configure(self, target: Target) -> tuple[Any, str]:
        from pysnmp.hlapi.v3arch.asyncio import (
            UdpTransportTarget, UsmUserData, usmAesCfb128Protocol, usmHMACSHAAuthProtocol)
        from pysnmp.hlapi.v3arch.asyncio.cmdgen import LCD

        if target.router not in self._addr:
            from pysnmp.entity.engine import SnmpEngine

            c = target.credentials
            engine = self.engines.setdefault((c.user, c.auth_key, c.priv_key), SnmpEngine())
            auth = UsmUserData(c.user, c.auth_key, c.priv_key, authProtocol=usmHMACSHAAuthProtocol,
                               privProtocol=usmAesCfb128Protocol)
            transport = await UdpTransportTarget.create((target.host, target.port),
                                                        timeout=target.timeout,
                                                        retries=target.retries)
            self._addr[target.router] = engine, LCD.configure(engine, auth, transport, b"")[0]
        return self._addr[target.router]

    async def bulk(self, target: Target, non_repeaters: list[Oid], repeaters: list[Oid],
                   max_repetitions: int) -> Varbinds:
        from pysnmp.entity.rfc3413 import cmdgen
        from pysnmp.proto.rfc1902 import Null, ObjectName

        engine, addr = await self._configure(target)
        fut = asyncio.get_running_loop().create_future()

        def done(_engine, _handle, indication, status, index, varbinds, _ctx) -> None:
            if not fut.done():
                fut.set_result((indication, status, index, varbinds))

        varbinds = [(ObjectName(o), Null("")) for o in (*non_repeaters, *repeaters)]
        cmdgen.BulkCommandGenerator().send_varbinds(
            engine, addr, None, b"", len(non_repeaters), max_repetitions, varbinds, done, None)
        indication, status, index, varbinds = await fut
        if indication:
            raise SnmpError(f"SNMPv3: {indication}")
        if status:
            raise SnmpError(f"agent error {status.prettyPrint()} at var-bind {int(index)}")
        return [(tuple(name), plain_value(value)) for name, value in varbinds]

    def close(self) -> None:
        for engine in self.engines.values():
            engine.close_dispatcher()


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


class Clients:
    """The v2c socket (opened by `open`) and the v3 engine (made on first use)."""

    def __init__(self, v2c: V2cClient) -> None:
        self.v2c = v2c
        self.v3: V3Client | None = None

    @classmethod
    async def open(cls) -> Clients:
        v2c = V2cClient()
        await v2c.open()
        return cls(v2c)

    def for_target(self, target: Target) -> V2cClient | V3Client:
        if target.credentials.version == "3":
            self.v3 = self.v3 or V3Client()
            return self.v3
        return self.v2c

    def close(self) -> None:
        for client in (self.v2c, self.v3):
            if client:
                client.close()
