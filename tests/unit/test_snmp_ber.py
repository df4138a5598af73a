"""The hand-built BER codec against pysnmp's pyasn1 encoder (an independent implementation)."""
import random

import pytest
from pyasn1.codec.ber import decoder as pdecoder
from pyasn1.codec.ber import encoder as pencoder
from pyasn1.type import univ
from pysnmp.proto import api, rfc1902

from controller.southbound.snmp import ber

P = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
CASES = [
    ((1, 3, 6, 1, 2, 1, 1, 3, 0), rfc1902.TimeTicks(123456), (0x43, 123456)),
    ((1, 3, 6, 1, 2, 1, 1, 5, 0), rfc1902.OctetString(b"osl-cr1"), b"osl-cr1"),
    ((1, 3, 6, 1, 2, 1, 2, 2, 1, 8, 7), rfc1902.Integer(2), 2),
    ((1, 3, 6, 1, 2, 1, 2, 2, 1, 8, 300), rfc1902.Integer(-129), -129),
    ((1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 1), rfc1902.Counter64(2**64 - 1), (0x46, 2**64 - 1)),
    ((1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 1), rfc1902.Counter32(2**32 - 1), (0x41, 2**32 - 1)),
    ((1, 3, 6, 1, 2, 1, 4, 20, 1, 1, 10, 0, 0, 1), rfc1902.IpAddress("10.0.0.1"), None),
    ((1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0), rfc1902.ObjectName("1.3.6.1.6.3.1.1.5.3"),
     (1, 3, 6, 1, 6, 3, 1, 1, 5, 3)),
    ((2, 999, 1), rfc1902.Gauge32(0), (0x42, 0)),
]


def _pysnmp_response(request_id: int) -> bytes:
    pdu = P.GetResponsePDU()
    P.apiPDU.set_defaults(pdu)
    P.apiPDU.set_request_id(pdu, request_id)
    P.apiPDU.set_varbinds(pdu, [(o, v) for o, v, _ in CASES])
    msg = P.Message()
    P.apiMessage.set_defaults(msg)
    P.apiMessage.set_community(msg, b"ngk-test")
    P.apiMessage.set_pdu(msg, pdu)
    return pencoder.encode(msg)


def test_decodes_what_pysnmp_encodes():
    pdu = ber.decode_message(_pysnmp_response(4242))
    assert (pdu.version, pdu.community, pdu.tag, pdu.request_id) == \
        (1, b"ngk-test", ber.RESPONSE, 4242)
    assert [o for o, _ in pdu.varbinds] == [o for o, _, _ in CASES]
    for (_, want, _), (_, got) in zip(CASES, pdu.varbinds):
        assert got == _plain(want)


def _plain(want):
    if isinstance(want, rfc1902.IpAddress):
        return ".".join(map(str, want.asNumbers()))
    if isinstance(want, univ.OctetString):
        return want.asOctets()
    if isinstance(want, univ.ObjectIdentifier):
        return tuple(want)
    return int(want)


def test_pysnmp_decodes_what_we_encode():
    varbinds = [(o, mine) for o, _, mine in CASES if mine is not None]
    raw = ber.encode_message(ber.V2C, b"c", ber.RESPONSE, 2**31 - 1, 0, 0,
                             ber.encode_varbinds(varbinds))
    msg, rest = pdecoder.decode(raw, asn1Spec=P.Message())
    assert rest == b""
    pdu = P.apiMessage.get_pdu(msg)
    assert int(P.apiPDU.get_request_id(pdu)) == 2**31 - 1
    got = P.apiPDU.get_varbinds(pdu)
    assert [tuple(o) for o, _ in got] == [o for o, _ in varbinds]
    assert [_plain(v) for _, v in got] == [_plain(w) for o, w, m in CASES if m is not None]


@pytest.mark.parametrize("value", [0, 1, 127, 128, 255, 256, -1, -128, -129, 2**31 - 1, -2**31])
def test_integers_round_trip(value):
    raw = ber.encode_message(ber.V2C, b"x", ber.GETBULK, value, 0, 0, ber.encode_varbinds([]))
    assert ber.decode_message(raw).request_id == value
    assert int(pdecoder.decode(ber.enc_int(value), asn1Spec=rfc1902.Integer32())[0]) == value
    # minimal two's complement (X.690 8.3.2): no redundant leading 0x00/0xff octet
    body = ber.enc_int(value)[2:]
    assert len(body) == 1 or not ((body[0] == 0 and body[1] < 0x80)
                                  or (body[0] == 0xFF and body[1] >= 0x80))


def test_exceptions_and_getbulk_fields():
    raw = ber.encode_message(ber.V2C, b"x", ber.GETBULK, 7, 2, 16, ber.encode_varbinds(
        [((1, 3, 6, 1), ber.NO_SUCH_OBJECT), ((1, 3, 6, 2), ber.END_OF_MIB_VIEW)]))
    pdu = ber.decode_message(raw)
    assert (pdu.error_status, pdu.error_index) == (2, 16)
    assert [v for _, v in pdu.varbinds] == [ber.NO_SUCH_OBJECT, ber.END_OF_MIB_VIEW]


def test_malformed_messages_raise_ber_error():
    good = _pysnmp_response(1)
    rng = random.Random(5)
    for cut in range(1, len(good)):
        with pytest.raises(ber.BerError):
            ber.decode_message(good[:cut])
    for _ in range(300):  # random corruption: either decodes or raises BerError, nothing else
        bad = bytearray(good)
        bad[rng.randrange(len(bad))] = rng.randrange(256)
        try:
            ber.decode_message(bytes(bad))
        except ber.BerError:
            pass
    with pytest.raises(ber.BerError):
        ber.decode_message(b"\x30\x03\x02\x01\x03")  # SNMPv3 is not for this codec


def test_set_request_is_a_pysnmp_set_pdu():
    raw = ber.encode_message(ber.V2C, b"w", ber.SET, 7, 0, 0,
                             ber.encode_varbinds([((1, 3, 6, 1, 4, 1, 8072, 1, 5, 3, 1, 2, 9), 0)]))
    msg, _ = pdecoder.decode(raw, asn1Spec=P.Message())
    pdu = P.apiMessage.get_pdu(msg)
    assert pdu.isSameTypeWith(P.SetRequestPDU())
    assert [(tuple(o), int(v)) for o, v in P.apiPDU.get_varbinds(pdu)] == \
        [((1, 3, 6, 1, 4, 1, 8072, 1, 5, 3, 1, 2, 9), 0)]
    assert ber.decode_message(raw).tag == ber.SET
