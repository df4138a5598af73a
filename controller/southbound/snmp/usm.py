"""SNMPv3 messages with the User-based Security Model (RFC 3412, 3414, 3826, 7860): HMAC-SHA-96
and the HMAC-SHA-2 family for authentication, AES-CFB with 128/192/256-bit keys for privacy, built
on the BER codec.

Keys are derived once per password (the 1 MB hash of RFC 3414 A.2.1, with the auth protocol's
hash) and localized per authoritative engine; AES-192/256 keys longer than the hash are extended
as net-snmp does (draft-blumenthal-aes-usm-04 3.1.2.1: Kul = Kul || H(Kul) until long enough).
`encode` builds a message (a request, a response, a report, or without keys the engine-discovery
probe); `parse` reads the plaintext envelope so replies can be matched by msgID; `open_reply`
checks the digest, decrypts and decodes the scoped PDU; `Engine.timely` is the RFC 3414 3.2
timeliness check of a non-authoritative engine.
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
TIME_WINDOW = 150  # seconds (RFC 3414 section 2.2.3)
MAX_BOOTS = 2**31 - 1
# auth protocol -> (hashlib name, digest length on the wire): RFC 3414 usmHMACSHAAuthProtocol and
# RFC 7860 usmHMAC128SHA224, usmHMAC192SHA256, usmHMAC256SHA384, usmHMAC384SHA512
AUTH_PROTOCOLS = {"sha": ("sha1", 12), "sha224": ("sha224", 16), "sha256": ("sha256", 24),
                  "sha384": ("sha384", 32), "sha512": ("sha512", 48)}
# priv protocol -> AES key length: RFC 3826 usmAesCfb128Protocol, and the 192/256-bit keys of
# draft-blumenthal-aes-usm-04 (net-snmp's AES-192/AES-256)
PRIV_PROTOCOLS = {"aes": 16, "aes192": 24, "aes256": 32}
NET_SNMP_NAMES = {"sha": "SHA", "sha224": "SHA-224", "sha256": "SHA-256", "sha384": "SHA-384",
                  "sha512": "SHA-512", "aes": "AES", "aes192": "AES-192", "aes256": "AES-256"}
# usmStats counters an agent reports instead of answering (RFC 3414 section 5)
USM_STATS_PREFIX = (1, 3, 6, 1, 6, 3, 15, 1, 1)
USM_STATS: dict[tuple[int, ...], str] = {
    USM_STATS_PREFIX + (1, 0): "unsupportedSecLevel",
    USM_STATS_PREFIX + (2, 0): "notInTimeWindow",
    USM_STATS_PREFIX + (3, 0): "unknownUserName (wrong user)",
    USM_STATS_PREFIX + (4, 0): "unknownEngineID",
    USM_STATS_PREFIX + (5, 0): "wrongDigest (wrong auth key)",
    USM_STATS_PREFIX + (6, 0): "decryptionError (wrong priv key)",
}


@lru_cache(maxsize=64)
def password_key(password: str, hash_name: str = "sha1") -> bytes:
    """Ku: the hash over 1 MB of the repeated password (RFC 3414 A.2.1, RFC 7860 9.3)."""
    raw = password.encode()
    if not raw:
        raise ValueError("an SNMPv3 passphrase must not be empty")
    return hashlib.new(hash_name, (raw * (1048576 // len(raw) + 1))[:1048576]).digest()


def localize(password: str, engine_id: bytes, hash_name: str = "sha1") -> bytes:
    """Kul = H(Ku + engineID + Ku)."""
    ku = password_key(password, hash_name)
    return hashlib.new(hash_name, ku + engine_id + ku).digest()


def extend(kul: bytes, length: int, hash_name: str) -> bytes:
    """A localized key extended to `length` bytes: Kul = Kul || H(Kul) while too short
    (draft-blumenthal-aes-usm-04 3.1.2.1, as net-snmp's AES-192/AES-256)."""
    while len(kul) < length:
        kul += hashlib.new(hash_name, kul).digest()
    return kul[:length]


@dataclass(frozen=True, slots=True)
class Keys:
    user: bytes
    auth: bytes  # localized auth key (the full hash length)
    priv: bytes  # localized (and extended) AES key
    hash_name: str  # hashlib name of the auth protocol's hash
    mac_len: int  # digest length on the wire


@lru_cache(maxsize=4096)
def keys(user: str, auth_password: str, priv_password: str, engine_id: bytes,
         auth_protocol: str = "sha", priv_protocol: str = "aes") -> Keys:
    hash_name, mac_len = AUTH_PROTOCOLS[auth_protocol]
    priv = extend(localize(priv_password, engine_id, hash_name), PRIV_PROTOCOLS[priv_protocol],
                  hash_name)
    return Keys(user.encode(), localize(auth_password, engine_id, hash_name), priv, hash_name,
                mac_len)


@dataclass(slots=True)
class Engine:
    """What an engine knows of an authoritative engine: its ID, boots and time (when learned).

    `latest` is latestReceivedEngineTime; `synced` turns true with the first authenticated
    message (the discovery report that taught the ID is not authenticated)."""

    engine_id: bytes
    boots: int
    time: int
    learned: float  # time.monotonic() when `time` was current
    latest: int = 0
    synced: bool = False

    def now(self) -> int:
        return self.time + int(time.monotonic() - self.learned)

    def timely(self, boots: int, etime: int) -> bool:
        """RFC 3414 3.2 step 7b for an authenticated message from this engine: take newer
        boots/time as the engine's, then say whether the message is inside the time window
        (not from an older boot, not more than 150 s behind)."""
        if not self.synced or boots > self.boots or (boots == self.boots and etime > self.latest):
            self.boots, self.time, self.latest = boots, etime, etime
            self.learned, self.synced = time.monotonic(), True
        return not (self.boots == MAX_BOOTS or boots < self.boots
                    or (boots == self.boots and etime < self.now() - TIME_WINDOW))

    def in_window(self, boots: int, etime: int) -> bool:
        """RFC 3414 3.2 step 7a: a message to this (our own, authoritative) engine is in time."""
        return (self.boots != MAX_BOOTS and boots == self.boots
                and abs(etime - self.now()) <= TIME_WINDOW)


@dataclass(slots=True)
class Envelope:
    """The plaintext part of a v3 message; `auth_at` is where the digest sits."""

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


def _digest(k: Keys, message: bytes) -> bytes:
    return hmac.new(k.auth, message, k.hash_name).digest()[:k.mac_len]


def _keys(k: Keys | None) -> Keys:
    if k is None:
        raise ValueError("msgFlags ask for authentication or privacy but there are no keys")
    return k


def encode(msg_id: int, pdu: bytes, engine: Engine | None, k: Keys | None, salt: int,
           flags: int | None = None, context: tuple[bytes, bytes] | None = None) -> bytes:
    """A message from or to `engine` (the authoritative one) with keys `k`; `pdu` is a
    BER-encoded PDU. `flags` defaults to authPriv and reportable (a request); without engine and
    keys this is the discovery probe (noAuthNoPriv, empty engine ID and user, reportable).
    `context` (contextEngineID, contextName) defaults to (the engine's ID, "")."""
    if flags is None:
        flags = AUTH | PRIV | REPORTABLE if k else REPORTABLE
    engine_id = engine.engine_id if engine else b""
    boots, etime = (engine.boots, engine.now()) if engine else (0, 0)
    context_id, context_name = context or (engine_id, b"")
    scoped = tlv(0x30, tlv(0x04, context_id) + tlv(0x04, context_name) + pdu)
    auth = priv = b""
    data = scoped
    if flags & PRIV:
        priv = (salt & (2**64 - 1)).to_bytes(8, "big")
        encryptor = _aes(_keys(k).priv, boots, etime, priv).encryptor()
        data = tlv(0x04, encryptor.update(scoped) + encryptor.finalize())
    if flags & AUTH:
        auth = bytes(_keys(k).mac_len)
    security = tlv(0x30, tlv(0x04, engine_id) + enc_int(boots) + enc_int(etime)
                   + tlv(0x04, k.user if k else b"") + tlv(0x04, auth) + tlv(0x04, priv))
    global_data = tlv(0x30, enc_int(msg_id) + enc_int(MAX_SIZE) + tlv(0x04, bytes((flags,)))
                      + enc_int(USM))
    message = tlv(0x30, enc_int(V3) + global_data + tlv(0x04, security) + data)
    if not flags & AUTH:
        return message
    env = parse(message)
    keys = _keys(k)
    return message[:env.auth_at] + _digest(keys, message) + message[env.auth_at + keys.mac_len:]


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
        if not (0 <= msg_id <= MAX_BOOTS and 0 <= boots <= MAX_BOOTS and 0 <= etime <= MAX_BOOTS):
            raise BerError("msgID, engine boots or engine time out of range")
        return Envelope(msg_id, data[fstart], data[estart:eend], boots, etime,
                        data[ustart:uend], astart, aend - astart, data[pstart:pend], dtag,
                        data[dstart:dend])
    except IndexError:
        raise BerError("truncated message") from None


def open_message(data: bytes, env: Envelope, k: Keys | None) -> ber.Pdu:
    """Check the digest and decrypt (as the flags say) and decode the scoped PDU."""
    if env.flags & PRIV and not env.flags & AUTH:
        raise BerError("msgFlags ask for privacy without authentication")
    if env.flags & AUTH:
        if k is None:
            raise BerError("an authenticated message where none was expected")
        if env.auth_len != k.mac_len:
            raise BerError(f"msgAuthenticationParameters is not {k.mac_len} bytes")
        end = env.auth_at + k.mac_len
        blank = data[:env.auth_at] + bytes(k.mac_len) + data[end:]
        if not hmac.compare_digest(_digest(k, blank), data[env.auth_at:end]):
            raise BerError("wrong digest: the message is not from an engine holding our keys")
    if env.flags & PRIV:
        if env.data_tag != 0x04 or len(env.salt) != 8:
            raise BerError("encrypted scoped PDU is not an OCTET STRING with an 8-byte salt")
        decryptor = _aes(_keys(k).priv, env.boots, env.time, env.salt).decryptor()
        scoped = decryptor.update(env.data) + decryptor.finalize()
    elif env.data_tag == 0x30:
        scoped = tlv(0x30, env.data)
    else:
        raise BerError("plaintext scoped PDU is not a SEQUENCE")
    try:
        tag, pos, _ = header(scoped, 0)
        if tag != 0x30:
            raise BerError("scoped PDU is not a SEQUENCE (wrong priv key?)")
        estart, eend, pos = _octets(scoped, pos, "contextEngineID")
        nstart, nend, pos = _octets(scoped, pos, "contextName")
        pdu = ber.decode_pdu(scoped, pos, V3, b"")
    except IndexError:
        raise BerError("truncated scoped PDU (wrong priv key?)") from None
    pdu.context_engine_id, pdu.context_name = scoped[estart:eend], scoped[nstart:nend]
    return pdu


def open_reply(data: bytes, env: Envelope, k: Keys | None) -> ber.Pdu:
    """`open_message` for a reply to our request: a Response must be authPriv; an
    unauthenticated message may only be a REPORT (the caller decides what it means)."""
    pdu = open_message(data, env, k)
    if not env.flags & AUTH and pdu.tag != ber.REPORT:
        raise BerError("unauthenticated reply to an authPriv request")
    if pdu.tag == ber.RESPONSE and not env.flags & PRIV:
        raise BerError("unencrypted response to an authPriv request")
    return pdu


def report_reason(pdu: ber.Pdu) -> str:
    """What a REPORT PDU says, by its usmStats counter."""
    oid = pdu.varbinds[0][0] if pdu.varbinds else ()
    return USM_STATS.get(oid, f"report {'.'.join(map(str, oid))}")


def new_salt() -> int:
    """A random 64-bit start for the per-message AES salt counter."""
    return int.from_bytes(os.urandom(8), "big")
