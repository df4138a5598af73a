"""The trap receiver over loopback UDP: where it binds, which v2c and v3 notifications reach the
callback, which are counted and logged instead (never recorded, never logging a secret), and the
answers to informs and discovery probes."""
from __future__ import annotations

import asyncio
import logging
import socket
import time

import pytest

from controller.credentials import SnmpCredentials as Credentials
from controller.errors import InputError
from controller.southbound.snmp import ber, usm
from controller.southbound.snmp.inventory import Target
from controller.southbound.snmp.oids import IF_INDEX, SNMP_TRAP_OID, oid
from controller.southbound.snmp.traps import TrapReceiver, management_address

LINK_DOWN = oid("1.3.6.1.6.3.1.1.5.3")
VARBINDS = [((1, 3, 6, 1, 2, 1, 1, 3, 0), (0x43, 42)), (SNMP_TRAP_OID, LINK_DOWN),
            (IF_INDEX + (3,), 3)]
AGENT_ENGINE = bytes.fromhex("80001f88046e676b2d7231")
V3 = Credentials("3", user="ngk", auth_key="auth-pass-1", priv_key="priv-pass-2",
                 auth_protocol="sha256", priv_protocol="aes256", engine_id=AGENT_ENGINE.hex())
TARGETS = [Target("r1", "127.0.0.1", 161, Credentials("2c", community="ro-secret",
                                                      trap_community="trap-secret")),
           Target("r2", "127.0.0.2", 161, V3)]


def v2c(community: bytes, tag: int = ber.TRAP_V2, request_id: int = 77) -> bytes:
    return ber.encode_message(ber.V2C, community, tag, request_id, 0, 0,
                              ber.encode_varbinds(VARBINDS))


def v3_trap(boots: int = 3, etime: int = 500, flags: int = usm.AUTH | usm.PRIV,
            creds: Credentials = V3, engine_id: bytes = AGENT_ENGINE) -> bytes:
    k = usm.keys(creds.user, creds.auth_key, creds.priv_key, engine_id, creds.auth_protocol,
                 creds.priv_protocol)
    sender = usm.Engine(engine_id, boots, etime, time.monotonic())
    pdu = ber.encode_pdu(ber.TRAP_V2, 5, 0, 0, ber.encode_varbinds(VARBINDS))
    return usm.encode(9, pdu, sender, k, 1, flags)


class Run:
    """A started receiver on a free port of 127.0.0.1 and senders bound to chosen sources."""

    def __init__(self, targets: list[Target] = TARGETS) -> None:
        self.got: list = []
        self.receiver = TrapReceiver(targets, self.got.append, "127.0.0.1", 0)

    async def __aenter__(self) -> Run:
        self.receiver.start()
        self.port = self.receiver.sock.getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        self.receiver.close()

    async def send(self, data: bytes, source: str = "127.0.0.1", answer: bool = False
                   ) -> bytes | None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((source, 0))
            s.setblocking(False)
            s.sendto(data, ("127.0.0.1", self.port))
            loop = asyncio.get_running_loop()
            if answer:
                return await asyncio.wait_for(loop.sock_recv(s, 65535), 2)
            await asyncio.sleep(0.05)
        return None


def run(coro_fn):
    async def main():
        async with Run() as r:
            return r, await coro_fn(r)
    return asyncio.run(main())


def test_binds_to_the_management_address_by_default_never_all_addresses():
    receiver = TrapReceiver(TARGETS, lambda t: None, port=0)
    assert receiver.host == management_address(TARGETS) == "127.0.0.1"


def test_agents_behind_several_local_addresses_need_an_explicit_address():
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("::1", 162))
        except OSError:
            pytest.skip("no IPv6 loopback")
    targets = [*TARGETS, Target("r6", "::1", 161, Credentials("2c", community="c"))]
    with pytest.raises(InputError, match="--trap-addr"):
        TrapReceiver(targets, lambda t: None, port=0)


def test_v2c_trap_from_an_inventory_address_with_the_trap_community_is_accepted():
    r, _ = run(lambda r: r.send(v2c(b"trap-secret")))
    assert [(t.kind, t.router, t.if_index) for t in r.got] == [("linkDown", "r1", 3)]
    assert r.receiver.received == 1 and not r.receiver.rejected


@pytest.mark.parametrize("community, source, reason", [
    (b"trap-secret", "127.0.0.3", "unknown_source"),  # spoofed / not in the inventory
    (b"ro-secret", "127.0.0.1", "wrong_community"),  # the read community is not the trap one
    (b"guess", "127.0.0.1", "wrong_community"),
    (b"trap-secret", "127.0.0.2", "wrong_community"),  # r2's address, r1's community
])
def test_v2c_traps_from_elsewhere_or_with_another_community_are_counted_not_recorded(
        community, source, reason, caplog):
    caplog.set_level(logging.WARNING)
    r, _ = run(lambda r: r.send(v2c(community), source))
    assert r.got == [] and r.receiver.rejected == {reason: 1}
    assert source in caplog.text and reason in caplog.text
    for secret in ("trap-secret", "ro-secret", "guess", "priv-pass", "auth-pass"):
        assert secret not in caplog.text


def test_v2c_inform_is_answered_with_a_response_echoing_its_varbinds():
    r, answer = run(lambda r: r.send(v2c(b"trap-secret", ber.INFORM, 4242), answer=True))
    reply = ber.decode_message(answer)
    assert (reply.tag, reply.request_id, reply.community) == (ber.RESPONSE, 4242, b"trap-secret")
    assert reply.raw_varbinds == ber.encode_varbinds(VARBINDS)
    assert [t.router for t in r.got] == ["r1"]


def test_v1_and_non_notification_pdus_are_refused():
    async def scenario(r):
        await r.send(ber.encode_message(ber.V1, b"trap-secret", ber.TRAP_V2, 1, 0, 0,
                                        ber.encode_varbinds([])))
        await r.send(v2c(b"trap-secret", ber.GET))
    r, _ = run(scenario)
    assert r.got == [] and r.receiver.rejected == {"unsupported_version": 1,
                                                   "not_a_notification": 1}


def test_v3_authpriv_trap_with_sha256_aes256_is_accepted_by_engine_id():
    r, _ = run(lambda r: r.send(v3_trap(), "127.0.0.2"))
    assert [(t.kind, t.router) for t in r.got] == [("linkDown", "r2")]


@pytest.mark.parametrize("message, reason", [
    (lambda: v3_trap(flags=0), "unsupported_security_level"),
    (lambda: v3_trap(flags=usm.AUTH), "unsupported_security_level"),
    (lambda: v3_trap(engine_id=bytes.fromhex("80001f8804ffff")), "unknown_engine"),
    (lambda: v3_trap(creds=Credentials("3", user="ngk", auth_key="wrong-auth", priv_key="x" * 8,
                                       auth_protocol="sha256", priv_protocol="aes256")),
     "unauthentic"),
    (lambda: v3_trap(creds=Credentials("3", user="intruder", auth_key="auth-pass-1",
                                       priv_key="priv-pass-2", auth_protocol="sha256",
                                       priv_protocol="aes256")), "unknown_user"),
    (lambda: b"\x30\x84\xff\xff\xff\xff\x02\x01\x03", "malformed"),
])
def test_v3_traps_below_authpriv_or_unauthentic_are_counted_not_recorded(message, reason):
    r, _ = run(lambda r: r.send(message(), "127.0.0.2"))
    assert r.got == [] and r.receiver.rejected == {reason: 1}


def test_v3_trap_from_an_older_boot_or_too_old_is_refused_after_a_newer_one():
    async def scenario(r):
        await r.send(v3_trap(boots=3, etime=500), "127.0.0.2")
        await r.send(v3_trap(boots=2, etime=99_999), "127.0.0.2")  # a replay from the past boot
        await r.send(v3_trap(boots=3, etime=300), "127.0.0.2")  # 200 s behind
        await r.send(v3_trap(boots=4, etime=1), "127.0.0.2")  # the agent rebooted
    r, _ = run(scenario)
    assert len(r.got) == 2 and r.receiver.rejected == {"not_in_time_window": 2}


def test_v3_inform_discovery_then_authpriv_inform_gets_an_authpriv_response():
    async def scenario(r):
        probe = usm.encode(1, ber.encode_pdu(ber.GET, 1, 0, 0, ber.encode_varbinds([])),
                           None, None, 0)
        raw = await r.send(probe, "127.0.0.2", answer=True)
        env = usm.parse(raw)
        report = usm.open_message(raw, env, None)
        assert report.tag == ber.REPORT and env.engine_id == r.receiver.engine.engine_id
        assert report.varbinds[0][0] == usm.USM_STATS_PREFIX + (4, 0)
        receiver_engine = usm.Engine(env.engine_id, env.boots, env.time, time.monotonic())
        k = usm.keys("ngk", "auth-pass-1", "priv-pass-2", env.engine_id, "sha256", "aes256")
        inform = ber.encode_pdu(ber.INFORM, 31, 0, 0, ber.encode_varbinds(VARBINDS))
        raw = await r.send(usm.encode(2, inform, receiver_engine, k, 5,
                                      context=(AGENT_ENGINE, b"")), "127.0.0.2", answer=True)
        env = usm.parse(raw)
        response = usm.open_reply(raw, env, k)
        assert (env.msg_id, env.flags, response.tag, response.request_id) == \
            (2, usm.AUTH | usm.PRIV, ber.RESPONSE, 31)
        assert response.context_engine_id == AGENT_ENGINE
        late = usm.Engine(env.engine_id, env.boots, env.time + 400, time.monotonic())
        raw = await r.send(usm.encode(3, inform, late, k, 6), "127.0.0.2", answer=True)
        env = usm.parse(raw)
        report = usm.open_message(raw, env, k)
        assert env.flags == usm.AUTH and usm.report_reason(report) == "notInTimeWindow"

    r, _ = run(scenario)
    assert [t.router for t in r.got] == ["r2"]
    assert r.receiver.probes == 1 and r.receiver.rejected == {"not_in_time_window": 1}


def test_discovery_probes_from_unknown_addresses_get_no_answer():
    probe = usm.encode(1, ber.encode_pdu(ber.GET, 1, 0, 0, ber.encode_varbinds([])), None, None, 0)
    r, _ = run(lambda r: r.send(probe, "127.0.0.3"))
    assert r.receiver.probes == 0 and r.receiver.rejected == {"unknown_source": 1}
