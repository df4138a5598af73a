"""SNMPv3 messages with the User-based Security Model (RFC 3412, 3414, 3826): HMAC-SHA-96
authentication and AES-128-CFB privacy, built on the BER codec.

Keys are derived once per password (the 1 MB hash of RFC 3414 A.2.1) and localized per
authoritative engine. `encode` builds a request (or, without keys, the engine-discovery probe);
`parse` reads the plaintext envelope so replies can be matched by msgID; `open_reply` checks the
digest, decrypts and decodes the scoped PDU.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import time
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

try:  # cryptography >= 47 keeps CFB among the "decrepit" modes
    from cryptography.hazmat.decrepit.ciphers.modes import CFB
except ImportError:  # older cryptography
    from cryptography.hazmat.primitives.ciphers.modes import CFB

from controller.southbound.snmp import ber
from controller.southbound.snmp.ber import BerError, enc_int, header, read_int, tlv

V3 = 3
USM = 3
AUTH, PRIV, REPORTABLE = 0x01, 0x02, 0x04
MAX_SIZE = 65507
DIGEST_LEN = 12
# usmStats counters an agent reports instead of answering (RFC 3414 section 5)
USM_STATS = {
    (1, 3, 6, 1, 6, 3, 15, 1, 1, 1, 0): "unsupportedSecLevel",
    (1, 3, 6, 1, 6, 3, 15, 1, 1, 2, 0): "notInTimeWindow",
    (1, 3, 6, 1, 6, 3, 15, 1, 1, 3, 0): "unknownUserName (wrong user)",
    (1, 3, 6, 1, 6, 3, 15, 1, 1, 4, 0): "unknownEngineID",
    (1, 3, 6, 1, 6, 3, 15, 1, 1, 5, 0): "wrongDigest (wrong auth key)",
    (1, 3, 6, 1, 6, 3, 15, 1, 1, 6, 0): "decryptionError (wrong priv key)",
}


@lru_cache(maxsize=64)
def password_key(password: str) -> bytes:
    """Ku: SHA-1 over 1 MB of the repeated password (RFC 3414 A.2.1)."""
    raw = password.encode()
    if not raw:
        raise ValueError("an SNMPv3 passphrase must not be empty")
    return hashlib.sha1((raw * (1048576 // len(raw) + 1))[:1048576]).digest()


def localize(password: str, engine_id: bytes) -> bytes:
    """Kul = SHA-1(Ku + engineID + Ku)."""
    ku = password_key(password)
    return hashlib.sha1(ku + engine_id + ku).digest()


@dataclass(frozen=True, slots=True)
class Keys:
    user: bytes
    auth: bytes  # localized HMAC-SHA-96 key (20 bytes)
    priv: bytes  # localized AES-128 key (16 bytes)


@lru_cache(maxsize=4096)
def keys(user: str, auth_password: str, priv_password: str, engine_id: bytes) -> Keys:
    return Keys(user.encode(), localize(auth_password, engine_id),
                localize(priv_password, engine_id)[:16])


@dataclass(slots=True)
class Engine:
    """What a manager knows of an authoritative engine: its ID, boots and time (when learned)."""

    engine_id: bytes
    boots: int
    time: int
    learned: float  # time.monotonic() when `time` was current

    def now(self) -> int:
        return self.time + int(time.monotonic() - self.learned)


@dataclass(slots=True)
class Envelope:
    """The plaintext part of a v3 message; `auth_at` is where the 12-byte digest sits."""

    msg_id: int
    flags: int
    engine_id: bytes
    boots: int
    time: int
    user: bytes
    auth_at: int
    auth_len: int
    salt: bytes
    data_tag: int
    data: bytes


def _aes(key: bytes, boots: int, etime: int, salt: bytes) -> Cipher:
    iv = boots.to_bytes(4, "big") + etime.to_bytes(4, "big") + salt
    return Cipher(algorithms.AES(key), CFB(iv))


def _digest(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha1).digest()[:DIGEST_LEN]


def encode(msg_id: int, pdu: bytes, engine: Engine | None, k: Keys | None, salt: int) -> bytes:
    """An authPriv request to `engine` with keys `k`; with neither, the discovery probe
    (noAuthNoPriv, empty engine ID and user, reportable). `pdu` is a BER-encoded PDU."""
    engine_id = engine.engine_id if engine else b""
    boots, etime = (engine.boots, engine.now()) if engine else (0, 0)
    scoped = tlv(0x30, tlv(0x04, engine_id) + tlv(0x04, b"") + pdu)
    if k is None:
        flags, auth, priv, data = REPORTABLE, b"", b"", scoped
    else:
        flags, priv = AUTH | PRIV | REPORTABLE, (salt & (2**64 - 1)).to_bytes(8, "big")
        encryptor = _aes(k.priv, boots, etime, priv).encryptor()
        data = tlv(0x04, encryptor.update(scoped) + encryptor.finalize())
        auth = bytes(DIGEST_LEN)
    security = tlv(0x30, tlv(0x04, engine_id) + enc_int(boots) + enc_int(etime)
                   + tlv(0x04, k.user if k else b"") + tlv(0x04, auth) + tlv(0x04, priv))
    global_data = tlv(0x30, enc_int(msg_id) + enc_int(MAX_SIZE) + tlv(0x04, bytes((flags,)))
                      + enc_int(USM))
    message = tlv(0x30, enc_int(V3) + global_data + tlv(0x04, security) + data)
    if k is None:
        return message
    env = parse(message)
    return (message[:env.auth_at] + _digest(k.auth, message)
            + message[env.auth_at + DIGEST_LEN:])


def msg_version(data: bytes) -> int:
    """The version field of any SNMP message; BerError when there is none."""
    try:
        tag, start, _ = header(data, 0)
        if tag != 0x30:
            raise BerError("message is not a SEQUENCE")
        return read_int(data, start)[0]
    except IndexError:
        raise BerError("truncated message") from None


def _octets(data: bytes, pos: int, what: str) -> tuple[int, int, int]:
    tag, start, end = header(data, pos)
    if tag != 0x04:
        raise BerError(f"{what} is not an OCTET STRING")
    return start, end, end


def parse(data: bytes) -> Envelope:
    """The envelope of a v3 USM message; BerError for anything malformed."""
    try:
        tag, pos, _ = header(data, 0)
        version, pos = read_int(data, pos)
        if tag != 0x30 or version != V3:
            raise BerError("not an SNMPv3 message")
        gtag, pos, _ = header(data, pos)
        if gtag != 0x30:
            raise BerError("msgGlobalData is not a SEQUENCE")
        msg_id, pos = read_int(data, pos)
        _, pos = read_int(data, pos)
        fstart, fend, pos = _octets(data, pos, "msgFlags")
        model, pos = read_int(data, pos)
        if fend - fstart != 1 or model != USM:
            raise BerError("not a USM message with one-byte flags")
        spos, send, _ = _octets(data, pos, "msgSecurityParameters")
        stag, spos, _ = header(data, spos)
        if stag != 0x30:
            raise BerError("UsmSecurityParameters is not a SEQUENCE")
        estart, eend, spos = _octets(data, spos, "msgAuthoritativeEngineID")
        boots, spos = read_int(data, spos)
        etime, spos = read_int(data, spos)
        ustart, uend, spos = _octets(data, spos, "msgUserName")
        astart, aend, spos = _octets(data, spos, "msgAuthenticationParameters")
        pstart, pend, _ = _octets(data, spos, "msgPrivacyParameters")
        dtag, dstart, dend = header(data, send)
        return Envelope(msg_id, data[fstart], data[estart:eend], boots, etime,
                        data[ustart:uend], astart, aend - astart, data[pstart:pend], dtag,
                        data[dstart:dend])
    except IndexError:
        raise BerError("truncated message") from None


def open_reply(data: bytes, env: Envelope, k: Keys | None) -> ber.Pdu:
    """Check the digest and decrypt (as the flags say) and decode the scoped PDU.
    An unauthenticated message may only be a REPORT (the caller decides what it means)."""
    if env.flags & AUTH:
        if k is None:
            raise BerError("an authenticated reply to the discovery probe")
        if env.auth_len != DIGEST_LEN:
            raise BerError("msgAuthenticationParameters is not 12 bytes")
        blank = data[:env.auth_at] + bytes(DIGEST_LEN) + data[env.auth_at + DIGEST_LEN:]
        if not hmac.compare_digest(_digest(k.auth, blank), data[env.auth_at:env.auth_at + 12]):
            raise BerError("wrong digest: the reply is not from the agent holding our keys")
    if env.flags & PRIV:
        if not env.flags & AUTH or env.data_tag != 0x04 or len(env.salt) != 8:
            raise BerError("encrypted scoped PDU without authentication or 8-byte salt")
        decryptor = _aes(k.priv, env.boots, env.time, env.salt).decryptor()
        scoped = decryptor.update(env.data) + decryptor.finalize()
    elif env.data_tag == 0x30:
        scoped = tlv(0x30, env.data)
    else:
        raise BerError("plaintext scoped PDU is not a SEQUENCE")
    try:
        tag, pos, _ = header(scoped, 0)
        if tag != 0x30:
            raise BerError("scoped PDU is not a SEQUENCE (wrong priv key?)")
        _, _, pos = _octets(scoped, pos, "contextEngineID")
        _, _, pos = _octets(scoped, pos, "contextName")
        pdu = ber.decode_pdu(scoped, pos, V3, b"")
    except IndexError:
        raise BerError("truncated scoped PDU (wrong priv key?)") from None
    if not env.flags & AUTH and pdu.tag != ber.REPORT:
        raise BerError("unauthenticated reply to an authPriv request")
    return pdu


def report_reason(pdu: ber.Pdu) -> str:
    """What a REPORT PDU says, by its usmStats counter."""
    oid = pdu.varbinds[0][0] if pdu.varbinds else ()
    return USM_STATS.get(oid, f"report {'.'.join(map(str, oid))}")


def new_salt() -> int:
    """A random 64-bit start for the per-message AES salt counter."""
    return int.from_bytes(os.urandom(8), "big")
