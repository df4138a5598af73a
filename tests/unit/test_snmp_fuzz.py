"""Property-based fuzzing (Hypothesis) of everything that reads SNMP off the wire: the BER
decoder, the v3 envelope and scoped-PDU reader, the client's datagram handler, the trap receiver
and the trap parser, and the poller fed arbitrary var-binds. Any input gives a value or a clean
BerError/counted rejection; nothing else may escape. Bounded by max_examples (CI time ~ seconds)."""
from __future__ import annotations

import asyncio
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.credentials import SnmpCredentials as Credentials
from controller.southbound.snmp import ber, usm
from controller.southbound.snmp.client import SnmpClient
from controller.southbound.snmp.inventory import Target
from controller.southbound.snmp.oids import IF_COLUMNS, SCALARS, SNMP_TRAP_OID, TRAPS
from controller.southbound.snmp.poller import poll_device
from controller.southbound.snmp.traps import TrapReceiver, parse

FUZZ = settings(max_examples=1000, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
ENGINE = bytes.fromhex("80001f88046e676b2d7231")
V3 = Credentials("3", user="ngk", auth_key="auth-pass-1", priv_key="priv-pass-2",
                 auth_protocol="sha512", priv_protocol="aes256", engine_id=ENGINE.hex())
TARGETS = [Target("r1", "127.0.0.1", 161, Credentials("2c", community="trap-c")),
           Target("r2", "127.0.0.2", 161, V3)]
K = usm.keys("ngk", "auth-pass-1", "priv-pass-2", ENGINE, "sha512", "aes256")

oids = st.lists(st.integers(0, 2**40), min_size=2, max_size=12).map(
    lambda arcs: (arcs[0] % 3, arcs[1] % 40, *arcs[2:]))
values = st.one_of(st.none(), st.integers(-2**63, 2**63), st.binary(max_size=40), oids,
                   st.sampled_from([ber.NO_SUCH_OBJECT, ber.NO_SUCH_INSTANCE, ber.END_OF_MIB_VIEW]),
                   st.tuples(st.sampled_from([0x41, 0x42, 0x43, 0x46]), st.integers(0, 2**64 - 1)))
varbinds = st.lists(st.tuples(oids, values), max_size=8)
interesting = st.sampled_from([SNMP_TRAP_OID, *TRAPS, *IF_COLUMNS.values(), *SCALARS,
                               (1, 3, 6, 1, 2, 1, 14, 10, 1, 6, 10, 0, 0, 1, 0),
                               (1, 3, 6, 1, 2, 1, 14, 7, 1, 12, 10, 0, 0, 1, 0),
                               (1, 3, 6, 1, 2, 1, 14, 1, 1, 0)])
trap_varbinds = st.lists(st.tuples(st.one_of(interesting, oids), values), max_size=8)


def v2c_message(vbs, tag=ber.TRAP_V2, community=b"trap-c") -> bytes:
    return ber.encode_message(ber.V2C, community, tag, 7, 0, 0, ber.encode_varbinds(vbs))


def v3_message(vbs, tag=ber.TRAP_V2) -> bytes:
    engine = usm.Engine(ENGINE, 3, 100, time.monotonic())
    return usm.encode(9, ber.encode_pdu(tag, 5, 0, 0, ber.encode_varbinds(vbs)), engine, K, 1,
                      usm.AUTH | usm.PRIV)


@st.composite
def mutated(draw, seeds=st.one_of(varbinds.map(v2c_message), varbinds.map(v3_message))):
    """A valid message, then truncated, bytes flipped, inserted, or a length made huge."""
    data = bytearray(draw(seeds))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["cut", "flip", "insert", "huge", "delete"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "cut":
            del data[at:]
        elif op == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=6))
        elif op == "huge" and len(data) > at + 1:
            data[at + 1:at + 2] = bytes([0x84]) + draw(st.binary(min_size=4, max_size=4))
        elif op == "delete" and data:
            del data[at]
    return bytes(data)


wire = st.one_of(st.binary(max_size=300), mutated())


@FUZZ
@given(wire)
def test_ber_decoder_gives_a_message_or_a_ber_error(data):
    for decode in (ber.decode_message, usm.msg_version, usm.parse):
        try:
            decode(data)
        except ber.BerError:
            pass


@FUZZ
@given(mutated(seeds=varbinds.map(v3_message)))
def test_v3_reader_gives_a_pdu_or_a_ber_error(data):
    try:
        env = usm.parse(data)
        usm.open_message(data, env, K)
    except ber.BerError:
        pass


@FUZZ
@given(trap_varbinds)
def test_trap_parser_takes_any_varbinds(vbs):
    plain = ber.decode_message(v2c_message(vbs)).varbinds
    trap = parse(plain, "r1", "127.0.0.1", 0.0)
    assert len(trap.varbinds) <= len(plain)


RECEIVER = TrapReceiver(TARGETS, lambda trap: None, "127.0.0.1", 0)  # never started: no socket
SOURCES = st.sampled_from(["127.0.0.1", "127.0.0.2", "10.9.9.9", "::1"])


@FUZZ
@given(st.one_of(wire, trap_varbinds.map(v2c_message), trap_varbinds.map(v3_message)), SOURCES)
def test_trap_receiver_accepts_or_counts_every_datagram(data, source):
    before = RECEIVER.received + sum(RECEIVER.rejected.values()) + RECEIVER.probes
    RECEIVER.handle(data, (source, 162))
    assert RECEIVER.received + sum(RECEIVER.rejected.values()) + RECEIVER.probes == before + 1


CLIENT = SnmpClient()  # no socket needed to read datagrams


@FUZZ
@given(wire)
def test_client_datagram_handler_never_raises(data):
    CLIENT.datagram_received(data, ("127.0.0.1", 161))


class Garbage:
    """A client whose every GETBULK answer is arbitrary var-binds."""

    def __init__(self, answers):
        self.answers = iter(answers)

    async def bulk(self, target, non_repeaters, repeaters, max_repetitions):
        return next(self.answers, [])


@FUZZ
@given(st.lists(st.lists(st.tuples(st.one_of(interesting, oids), values), max_size=20),
                max_size=4))
def test_poller_turns_any_answer_into_a_poll(answers):
    poll = asyncio.run(poll_device(Garbage(answers), TARGETS[0]))
    assert poll.router == "r1" and (poll.reachable or poll.error)
