"""The SNMP client: hand-built BER on one asyncio UDP socket with a large receive buffer, for v2c
and v3 authPriv (USM, usm.py) alike. Requests are matched to replies by request-id (v2c) or
msgID (v3), which share one counter; a v3 reply must also carry the request-id of its request
inside the authenticated, encrypted PDU.

v3 engines are discovered on first use per agent address and kept in time sync from every
authenticated reply (RFC 3414 3.2: boots and time never go back; a reply from an older boot or
more than 150 s behind is rejected); an agent that restarted (notInTimeWindow) or was replaced
(unknownEngineID) is re-synchronised once per request. Rejected replies are counted in `errors`.
"""
from __future__ import annotations

import asyncio
import random
import socket
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from controller.errors import DeviceError
from controller.southbound.snmp import ber, usm
from controller.southbound.snmp.inventory import Target
from controller.southbound.snmp.oids import Oid

Varbinds = list[tuple[Oid, Any]]
ERROR_STATUS = {1: "tooBig", 2: "noSuchName", 3: "badValue", 4: "readOnly", 5: "genErr",
                6: "noAccess", 16: "authorizationError"}
RCVBUF = 8 << 20
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)  # Linux; Python does not export it
RESYNC = ("notInTimeWindow", "unknownEngineID")

Address = tuple[str, int]


class SnmpError(DeviceError):
    """A request that got no usable answer; str() is the reason recorded."""


class SnmpClient(asyncio.DatagramProtocol):
    """All requests of a process share this one socket."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: dict[int, tuple[asyncio.Future, Address]] = {}
        self.malformed: dict[Address, str] = {}
        self.engines: dict[Address, usm.Engine] = {}
        self._discovering: dict[Address, asyncio.Lock] = {}
        self._id = random.randrange(1 << 30)
        self._salt = usm.new_salt()
        self.sent = self.received = 0
        self.errors: Counter[str] = Counter()  # rejected replies by reason

    @classmethod
    async def create(cls) -> SnmpClient:
        """A client with its socket open."""
        client = cls()
        await client.open()
        return client

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: self,
                                                           local_addr=("0.0.0.0", 0))
        sock = transport.get_extra_info("socket")
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
        """Match the reply to its request; v2c replies are decoded here, v3 ones only parsed
        (the request checks the digest and decrypts, as it holds the keys)."""
        self.received += 1
        try:
            if usm.msg_version(data) == usm.V3:
                env = usm.parse(data)
                reply: ber.Pdu | tuple[bytes, usm.Envelope] = (data, env)
                rid = env.msg_id
            else:
                reply = ber.decode_message(data)
                if reply.tag != ber.RESPONSE:
                    return
                rid = reply.request_id
        except ber.BerError as exc:
            self.errors["malformed"] += 1
            self.malformed[addr[:2]] = str(exc)
            return
        entry = self.pending.get(rid)
        if entry is not None and entry[1] == addr[:2] and not entry[0].done():
            entry[0].set_result(reply)

    async def bulk(self, target: Target, non_repeaters: list[Oid], repeaters: list[Oid],
                   max_repetitions: int) -> Varbinds:
        varbinds = ber.encode_varbinds([(o, None) for o in (*non_repeaters, *repeaters)])
        return await self.request(target, ber.GETBULK, len(non_repeaters), max_repetitions,
                                  varbinds)

    async def request(self, target: Target, tag: int, field1: int, field2: int,
                      varbinds: bytes) -> Varbinds:
        if target.credentials.version == "3":
            pdu = await self._v3(target, tag, field1, field2, varbinds)
        else:
            if target.credentials.community is None:
                raise SnmpError(f"{target.router}: SNMP v2c needs a community")
            community = target.credentials.community.encode()
            _, pdu = await self._exchange(target, lambda rid: ber.encode_message(
                ber.V2C, community, tag, rid, field1, field2, varbinds))
        if pdu.error_status:
            name = ERROR_STATUS.get(pdu.error_status, str(pdu.error_status))
            raise SnmpError(f"agent error {name} at var-bind {pdu.error_index}")
        return pdu.varbinds

    async def _v3(self, target: Target, tag: int, field1: int, field2: int,
                  varbinds: bytes) -> ber.Pdu:
        c = target.credentials
        addr = (target.host, target.port)
        resynced = False
        while True:
            engine = await self._engine(target)
            k = usm.keys(c.user, c.auth_key, c.priv_key, engine.engine_id, c.auth_protocol,
                         c.priv_protocol)

            def build(rid: int) -> bytes:
                self._salt += 1
                pdu = ber.encode_pdu(tag, rid, field1, field2, varbinds)
                return usm.encode(rid, pdu, engine, k, self._salt)

            rid, (data, env) = await self._exchange(target, build, v3=True)
            pdu = self._check_v3(data, env, k, engine, rid)
            if pdu.tag != ber.REPORT:
                return pdu
            reason = usm.report_reason(pdu)
            if reason not in RESYNC or resynced:
                raise SnmpError(f"SNMPv3: agent reports {reason}")
            resynced = True
            if reason == "unknownEngineID":
                self.engines.pop(addr, None)

    def _check_v3(self, data: bytes, env: usm.Envelope, k: usm.Keys, engine: usm.Engine,
                  rid: int) -> ber.Pdu:
        """The reply's PDU once its digest, engine, time window and request-id are right."""
        try:
            pdu = usm.open_reply(data, env, k)
            if env.flags & usm.AUTH and env.engine_id != engine.engine_id:
                raise ber.BerError("authenticated by another engine ID than asked")
        except ber.BerError as exc:
            self.errors["unauthentic"] += 1
            raise SnmpError(f"SNMPv3: {exc}") from None
        if env.flags & usm.AUTH and not engine.timely(env.boots, env.time):
            self.errors["notInTimeWindow"] += 1
            raise SnmpError(f"SNMPv3: reply outside the time window (boots {env.boots}, time "
                            f"{env.time}; the engine is at boots {engine.boots}, time "
                            f"{engine.now()}): replayed, or the agent lost its boot counter")
        if pdu.request_id != rid and not (pdu.tag == ber.REPORT and pdu.request_id == 0):
            self.errors["wrongRequestId"] += 1
            raise SnmpError(f"SNMPv3: reply for request-id {pdu.request_id}, not {rid}")
        return pdu

    async def _engine(self, target: Target) -> usm.Engine:
        """The agent's engine ID, boots and time, discovered once per address."""
        addr = (target.host, target.port)
        async with self._discovering.setdefault(addr, asyncio.Lock()):
            if addr not in self.engines:
                _, (data, env) = await self._exchange(target, lambda rid: usm.encode(
                    rid, ber.encode_pdu(ber.GET, rid, 0, 0, ber.encode_varbinds([])),
                    None, None, 0), v3=True)
                try:
                    pdu = usm.open_reply(data, env, None)
                except ber.BerError as exc:
                    raise SnmpError(f"SNMPv3 discovery: {exc}") from None
                if pdu.tag != ber.REPORT or not env.engine_id:
                    raise SnmpError("SNMPv3 discovery: the agent sent no engine ID")
                self.engines[addr] = usm.Engine(env.engine_id, env.boots, env.time,
                                                time.monotonic())
            return self.engines[addr]

    async def _exchange(self, target: Target, build: Callable[[int], bytes],
                        v3: bool = False) -> tuple[int, Any]:
        """Send build(id) until a matching reply comes (timeout and retries of the target): the
        id and a decoded PDU, or for v3 the raw message and its envelope."""
        if self.transport is None:
            raise SnmpError("the SNMP client is not open")
        addr = (target.host, target.port)
        loop = asyncio.get_running_loop()
        for _ in range(target.retries + 1):
            self._id = (self._id + 1) & 0x7FFFFFFF
            rid, fut = self._id, loop.create_future()
            self.pending[rid] = (fut, addr)
            timer = loop.call_later(target.timeout, _expire, fut)
            try:
                self.transport.sendto(build(rid), addr)
                self.sent += 1
                reply = await fut
            finally:
                timer.cancel()
                self.pending.pop(rid, None)
            if reply is not None:
                if isinstance(reply, tuple) != v3:
                    raise SnmpError("malformed response: the agent answered in another SNMP "
                                    "version")
                return rid, reply
        bad = self.malformed.pop(addr, None)
        if bad:
            raise SnmpError(f"malformed response: {bad}")
        raise SnmpError(f"timeout: no response after {target.retries + 1} tries of "
                        f"{target.timeout:g} s (agent down or wrong "
                        f"{'community' if target.credentials.version != '3' else 'credentials'})")


def _expire(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_result(None)


async def snmp_set(target: Target, varbinds: list[tuple[Oid, Any]]) -> Varbinds:
    """One SET on a socket of its own; SnmpError when the agent refuses or never answers."""
    client = await SnmpClient.create()
    try:
        return await client.request(target, ber.SET, 0, 0, ber.encode_varbinds(varbinds))
    finally:
        client.close()
