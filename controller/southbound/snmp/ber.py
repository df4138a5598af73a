"""A minimal BER codec for SNMP PDUs (RFC 3416) and v1/v2c messages, enough for GET/GETBULK/SET
(v3 messages: usm.py).

Hand-built because pysnmp spends most of its time building pyasn1 objects and resolving MIBs
(docs/monitor.md has the figures). Values decode to plain Python: int, bytes, OID tuple,
dotted IPv4 str, or one of the exception sentinels below. Anything malformed raises BerError.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from controller.southbound.snmp.oids import Oid

GET, GETNEXT, RESPONSE, SET, GETBULK, INFORM, TRAP_V2, REPORT = (
    0xA0, 0xA1, 0xA2, 0xA3, 0xA5, 0xA6, 0xA7, 0xA8)
PDU_TAGS = (GET, GETNEXT, RESPONSE, SET, GETBULK, INFORM, TRAP_V2, REPORT)
V1, V2C = 0, 1
UNSIGNED = {0x41: "Counter32", 0x42: "Gauge32", 0x43: "TimeTicks", 0x46: "Counter64"}


class BerError(ValueError):
    """A message that is not valid BER/SNMP."""


class _Exception:
    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


NO_SUCH_OBJECT = _Exception("noSuchObject")
NO_SUCH_INSTANCE = _Exception("noSuchInstance")
END_OF_MIB_VIEW = _Exception("endOfMibView")
EXCEPTIONS = {0x80: NO_SUCH_OBJECT, 0x81: NO_SUCH_INSTANCE, 0x82: END_OF_MIB_VIEW}


def is_exception(value: Any) -> bool:
    return isinstance(value, _Exception)


@dataclass(slots=True)
class Pdu:
    """A decoded message: version, community, PDU tag and fields, var-binds in wire order.

    For GETBULK, error_status/error_index hold non-repeaters/max-repetitions. `raw_varbinds` is
    the encoded var-bind list as received (an inform's Response echoes it); a v3 scoped PDU
    also has its contextEngineID and contextName.
    """

    version: int
    community: bytes
    tag: int
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[tuple[Oid, Any]]
    raw_varbinds: bytes = b""
    context_engine_id: bytes = b""
    context_name: bytes = b""


# --- encoding ------------------------------------------------------------------------------
def _len(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def tlv(tag: int, body: bytes) -> bytes:
    return bytes((tag,)) + _len(len(body)) + body


def enc_int(value: int, tag: int = 0x02) -> bytes:
    size = (max(1, (value.bit_length() + 8) // 8) if value >= 0
            else (value + 1).bit_length() // 8 + 1)
    return tlv(tag, value.to_bytes(size, "big", signed=True))


def enc_unsigned(value: int, tag: int) -> bytes:
    body = value.to_bytes(value.bit_length() // 8 + 1, "big")
    return tlv(tag, body)


def enc_oid(value: Oid) -> bytes:
    if len(value) < 2 or value[0] > 2 or (value[0] < 2 and value[1] >= 40):
        raise BerError(f"invalid OID {value!r}")
    out = bytearray()
    for arc in (value[0] * 40 + value[1], *value[2:]):
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return tlv(0x06, bytes(out))


def enc_value(value: Any) -> bytes:
    """None -> NULL, int -> INTEGER, bytes/str -> OCTET STRING, tuple -> OID, (tag, int) -> app."""
    if value is None:
        return b"\x05\x00"
    if isinstance(value, bool):
        raise BerError("bool is not an SNMP value")
    if isinstance(value, int):
        return enc_int(value)
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return tlv(0x04, value)
    if isinstance(value, _Exception):
        return bytes((next(t for t, e in EXCEPTIONS.items() if e is value), 0))
    if (isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], int)
            and value[0] >= 0x40):
        return enc_unsigned(value[1], value[0])
    if isinstance(value, tuple):
        return enc_oid(value)
    raise BerError(f"cannot encode {value!r}")


def encode_varbinds(varbinds: list[tuple[Oid, Any]]) -> bytes:
    return tlv(0x30, b"".join(tlv(0x30, enc_oid(o) + enc_value(v)) for o, v in varbinds))


def encode_message(version: int, community: bytes, tag: int, request_id: int, field1: int,
                   field2: int, varbinds: bytes) -> bytes:
    """A full message; `varbinds` is the pre-encoded var-bind list (see encode_varbinds)."""
    pdu = encode_pdu(tag, request_id, field1, field2, varbinds)
    return tlv(0x30, enc_int(version) + tlv(0x04, community) + pdu)


def encode_pdu(tag: int, request_id: int, field1: int, field2: int, varbinds: bytes) -> bytes:
    return tlv(tag, enc_int(request_id) + enc_int(field1) + enc_int(field2) + varbinds)


# --- decoding ------------------------------------------------------------------------------
def header(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the TLV at pos."""
    tag = data[pos]
    n = data[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 4:
            raise BerError("unsupported length encoding")
        n = int.from_bytes(data[pos:pos + k], "big")
        pos += k
    end = pos + n
    if end > len(data):
        raise BerError("truncated message")
    return tag, pos, end


def _oid(body: bytes) -> Oid:
    arcs: list[int] = []
    acc = 0
    for byte in body:
        acc = (acc << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(acc)
            acc = 0
    if not arcs or body[-1] & 0x80:
        raise BerError("malformed OID")
    first = arcs[0]
    head = (0, first) if first < 40 else (1, first - 40) if first < 80 else (2, first - 80)
    return head + tuple(arcs[1:])


def _value(tag: int, body: bytes) -> Any:
    if tag == 0x02:
        return int.from_bytes(body, "big", signed=True)
    if tag == 0x04 or tag == 0x44:
        return body
    if tag in UNSIGNED:
        return int.from_bytes(body, "big")
    if tag == 0x06:
        return _oid(body)
    if tag == 0x40:
        if len(body) != 4:
            raise BerError("malformed IpAddress")
        return ".".join(map(str, body))
    if tag == 0x05:
        return None
    if tag in EXCEPTIONS:
        return EXCEPTIONS[tag]
    raise BerError(f"unknown value tag 0x{tag:02x}")


def read_int(data: bytes, pos: int) -> tuple[int, int]:
    tag, start, end = header(data, pos)
    if tag != 0x02:
        raise BerError(f"expected INTEGER, got tag 0x{tag:02x}")
    return int.from_bytes(data[start:end], "big", signed=True), end


def decode_varbinds(data: bytes, pos: int, end: int) -> list[tuple[Oid, Any]]:
    out = []
    while pos < end:
        tag, start, vb_end = header(data, pos)
        if tag != 0x30:
            raise BerError("var-bind is not a SEQUENCE")
        otag, ostart, oend = header(data, start)
        if otag != 0x06:
            raise BerError("var-bind name is not an OID")
        vtag, vstart, vend = header(data, oend)
        if vb_end > end or vend > vb_end:
            raise BerError("var-bind overruns its list")
        out.append((_oid(data[ostart:oend]), _value(vtag, data[vstart:vend])))
        pos = vb_end
    return out


def decode_message(data: bytes) -> Pdu:
    """Decode an SNMPv1/v2c message; BerError for anything else or anything malformed."""
    try:
        tag, start, end = header(data, 0)
        if tag != 0x30:
            raise BerError("message is not a SEQUENCE")
        version, pos = read_int(data, start)
        if version not in (V1, V2C):
            raise BerError(f"unsupported SNMP version {version}")
        ctag, cstart, pos = header(data, pos)
        if ctag != 0x04:
            raise BerError("community is not an OCTET STRING")
        return decode_pdu(data, pos, version, data[cstart:pos])
    except IndexError:
        raise BerError("truncated message") from None


def decode_pdu(data: bytes, pos: int, version: int, community: bytes) -> Pdu:
    """The PDU at `pos` (shared by v1/v2c messages and v3 scoped PDUs)."""
    ptag, pos, _ = header(data, pos)
    if ptag not in PDU_TAGS:
        raise BerError(f"unsupported PDU tag 0x{ptag:02x}")
    request_id, pos = read_int(data, pos)
    status, pos = read_int(data, pos)
    index, pos = read_int(data, pos)
    vtag, vstart, vend = header(data, pos)
    if vtag != 0x30:
        raise BerError("var-bind list is not a SEQUENCE")
    return Pdu(version, community, ptag, request_id, status, index,
               decode_varbinds(data, vstart, vend), data[pos:vend])
