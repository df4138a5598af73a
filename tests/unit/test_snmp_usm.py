"""SNMPv3 USM messages against RFC 3414's key vector and pysnmp's own USM primitives (an
independent implementation of the key localisation, HMAC-SHA-96 and the AES-CFB IV)."""
import pytest
from pyasn1.codec.ber import decoder as pdecoder
from pyasn1.codec.ber import encoder as pencoder
from pyasn1.type import univ
from pysnmp.proto import api
from pysnmp.proto.mpmod.rfc3412 import ScopedPDU, SNMPv3Message
from pysnmp.proto.secmod.rfc3414 import localkey
from pysnmp.proto.secmod.rfc3414.auth import hmacsha
from pysnmp.proto.secmod.rfc3414.service import UsmSecurityParameters
from pysnmp.proto.secmod.rfc3826.priv import aes

from controller.southbound.snmp import ber, usm

P = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
ENGINE = usm.Engine(bytes.fromhex("80001f8880e9630000d61ff449"), boots=7, time=12345, learned=0)
KEYS = usm.keys("ngk", "auth-pass-1", "priv-pass-2", ENGINE.engine_id)
SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)


def test_rfc3414_a32_sha_key_localisation():
    engine_id = bytes.fromhex("000000000000000000000002")
    assert usm.password_key("maplesyrup").hex() == "9fb5cc0381497b3793528939ff788d5d79145211"
    assert usm.localize("maplesyrup", engine_id).hex() == \
        "6695febc9288e36282235fc7151f128497b38f3f"


@pytest.mark.parametrize("password", ["a-b-c-d-e-f", "x" * 70, "ünïcode-pass"])
def test_keys_match_pysnmp(password):
    theirs = localkey.password_to_key_sha(password.encode(), univ.OctetString(ENGINE.engine_id))
    assert usm.localize(password, ENGINE.engine_id) == bytes(theirs)


def test_request_is_authentic_and_decrypts_with_pysnmp(monkeypatch):
    monkeypatch.setattr(usm.time, "monotonic", lambda: 30.0)  # engine time now 12375
    pdu = ber.encode_pdu(ber.GETBULK, 4242, 1, 10, ber.encode_varbinds([(SYS_UPTIME, None)]))
    raw = usm.encode(4242, pdu, ENGINE, KEYS, salt=0x0102030405060708)
    msg, rest = pdecoder.decode(raw, asn1Spec=SNMPv3Message())
    assert rest == b"" and int(msg["msgVersion"]) == 3
    glob = msg["msgGlobalData"]
    assert (int(glob["msgID"]), bytes(glob["msgFlags"]), int(glob["msgSecurityModel"])) == \
        (4242, b"\x07", 3)
    sec, _ = pdecoder.decode(bytes(msg["msgSecurityParameters"]),
                             asn1Spec=UsmSecurityParameters())
    assert bytes(sec["msgAuthoritativeEngineId"]) == ENGINE.engine_id
    assert (int(sec["msgAuthoritativeEngineBoots"]), int(sec["msgAuthoritativeEngineTime"])) == \
        (7, 12375)
    assert bytes(sec["msgUserName"]) == b"ngk"
    assert bytes(sec["msgPrivacyParameters"]) == bytes.fromhex("0102030405060708")
    # pysnmp verifies the digest (raises on a mismatch) ...
    hmacsha.HmacSha().authenticate_incoming_message(
        univ.OctetString(KEYS.auth), sec["msgAuthenticationParameters"], raw)
    with pytest.raises(Exception):
        hmacsha.HmacSha().authenticate_incoming_message(
            univ.OctetString(bytes(20)), sec["msgAuthenticationParameters"], raw)
    # ... and decrypts the scoped PDU to our GETBULK
    plain = aes.Aes().decrypt_data(
        univ.OctetString(KEYS.priv), (7, 12375, sec["msgPrivacyParameters"]),
        msg["msgData"]["encryptedPDU"])
    scoped, _ = pdecoder.decode(plain, asn1Spec=ScopedPDU())
    assert bytes(scoped["contextEngineId"]) == ENGINE.engine_id
    bulk = scoped["data"]["get-bulk-request"]
    assert (int(bulk["request-id"]), int(bulk["non-repeaters"]), int(bulk["max-repetitions"])) == \
        (4242, 1, 10)


def pysnmp_reply(request_id: int, value: int, auth_key: bytes, priv_key: bytes) -> bytes:
    """An authPriv response built with pysnmp's pyasn1 types, AES and HMAC."""
    pdu = P.GetResponsePDU()
    P.apiPDU.set_defaults(pdu)
    P.apiPDU.set_request_id(pdu, request_id)
    P.apiPDU.set_varbinds(pdu, [(SYS_UPTIME, P.TimeTicks(value))])
    scoped = ScopedPDU()
    scoped["contextEngineId"] = ENGINE.engine_id
    scoped["contextName"] = b""
    scoped["data"]["response"] = pdu
    encrypted, salt = aes.Aes().encrypt_data(univ.OctetString(priv_key), (7, 12400, None),
                                             pencoder.encode(scoped))
    sec = UsmSecurityParameters()
    sec["msgAuthoritativeEngineId"] = ENGINE.engine_id
    sec["msgAuthoritativeEngineBoots"] = 7
    sec["msgAuthoritativeEngineTime"] = 12400
    sec["msgUserName"] = b"ngk"
    sec["msgAuthenticationParameters"] = bytes(12)
    sec["msgPrivacyParameters"] = salt
    msg = SNMPv3Message()
    msg["msgVersion"] = 3
    msg["msgGlobalData"]["msgID"] = request_id
    msg["msgGlobalData"]["msgMaxSize"] = 65507
    msg["msgGlobalData"]["msgFlags"] = b"\x03"
    msg["msgGlobalData"]["msgSecurityModel"] = 3
    msg["msgSecurityParameters"] = pencoder.encode(sec)
    msg["msgData"]["encryptedPDU"] = encrypted
    return bytes(hmacsha.HmacSha().authenticate_outgoing_message(univ.OctetString(auth_key),
                                                                 pencoder.encode(msg)))


def test_opens_a_pysnmp_reply():
    raw = pysnmp_reply(99, 777, KEYS.auth, KEYS.priv)
    env = usm.parse(raw)
    assert (env.msg_id, env.engine_id, env.boots, env.time) == (99, ENGINE.engine_id, 7, 12400)
    pdu = usm.open_reply(raw, env, KEYS)
    assert (pdu.tag, pdu.request_id, pdu.varbinds) == (ber.RESPONSE, 99, [(SYS_UPTIME, 777)])


def test_rejects_a_forged_or_undecryptable_reply():
    forged = pysnmp_reply(99, 777, bytes(20), KEYS.priv)
    with pytest.raises(ber.BerError, match="wrong digest"):
        usm.open_reply(forged, usm.parse(forged), KEYS)
    wrong_priv = pysnmp_reply(99, 777, KEYS.auth, bytes(16))
    with pytest.raises(ber.BerError):
        usm.open_reply(wrong_priv, usm.parse(wrong_priv), KEYS)


def test_discovery_probe_and_report_reason():
    probe = usm.encode(5, ber.encode_pdu(ber.GET, 5, 0, 0, ber.encode_varbinds([])),
                       None, None, 0)
    env = usm.parse(probe)
    assert (env.flags, env.engine_id, env.user, env.msg_id) == (usm.REPORTABLE, b"", b"", 5)
    report = ber.Pdu(3, b"", ber.REPORT, 5, 0, 0, [((1, 3, 6, 1, 6, 3, 15, 1, 1, 5, 0), 3)])
    assert usm.report_reason(report).startswith("wrongDigest")
    unknown = ber.Pdu(3, b"", ber.REPORT, 5, 0, 0, [((1, 3, 6, 1, 6, 3, 15, 1, 1, 4, 0), 1)])
    assert usm.report_reason(unknown) == "unknownEngineID"


@pytest.mark.parametrize("cut", [1, 10, 40, 80])
def test_truncated_messages_raise_ber_error(cut):
    raw = usm.encode(7, ber.encode_pdu(ber.GET, 7, 0, 0, ber.encode_varbinds([(SYS_UPTIME, None)])),
                     ENGINE, KEYS, 1)
    with pytest.raises(ber.BerError):
        usm.parse(raw[:cut])


def test_a_reply_in_the_wrong_snmp_version_is_a_clean_error():
    """An agent answering a v3 request with a v2c message (same id) fails the device cleanly."""
    import asyncio

    from controller.southbound.snmp.client import SnmpClient, SnmpError
    from controller.credentials import SnmpCredentials
    from controller.southbound.snmp.inventory import Target

    async def scenario() -> str:
        client = await SnmpClient.create()
        agent = await asyncio.get_running_loop().create_datagram_endpoint(
            asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0))
        transport = agent[0]
        port = transport.get_extra_info("sockname")[1]
        target = Target("r", "127.0.0.1", port, SnmpCredentials("3", user="u", auth_key="a" * 8,
                                                             priv_key="p" * 8), 0.5, 0)
        client.engines[("127.0.0.1", port)] = ENGINE

        async def answer() -> None:  # reply to the pending request with a v2c Response
            while not client.pending:
                await asyncio.sleep(0.01)
            rid = next(iter(client.pending))
            v2c = ber.encode_message(ber.V2C, b"c", ber.RESPONSE, rid, 0, 0,
                                     ber.encode_varbinds([(SYS_UPTIME, 5)]))
            client.datagram_received(v2c, ("127.0.0.1", port))

        helper = asyncio.create_task(answer())
        try:
            await client.bulk(target, [SYS_UPTIME], [], 1)
        except SnmpError as exc:
            return str(exc)
        finally:
            await helper
            transport.close()
            client.close()
        return "no error"

    assert "another SNMP version" in asyncio.run(scenario())
