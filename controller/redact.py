"""The one redactor: every output that can carry config text (deploy and compliance diffs, JSON,
JUnit, HTML, the store's history, the audit log, error messages) passes through `redact`.

It masks the value after each secret-bearing keyword of the platforms ngk renders or reads
(FRR, Junos, EOS, IOS-like syntax), quoted or not, keeping the keyword, the encryption type and
the line structure so a diff still shows *that* a secret changed, never what it is.
"""
from __future__ import annotations

import re

MASK = "<redacted>"
_VALUE = r'(?!<redacted>)("[^"\n]*"|\S+)'  # a quoted string or one word, not masked already
# an optional EOS/IOS encryption type; never re-reads a type whose value is masked already
_TYPE = r'(?!(?:\S+\s+)?"?<redacted>)(?:(?:0|5|7|8|9|sha512|sha256|md5|clear|encrypted)\s+)?'

_PATTERNS = tuple(re.compile(p, re.IGNORECASE) for p in (
    # SNMPv3 users: EOS/IOS `... auth sha[-N] KEY priv aes[-N] KEY`, net-snmp `createUser U SHA K`
    r"(\bauth\s+(?:md5|sha(?:-?\d+)?)\s+)" + _VALUE,
    r"(\bpriv\s+(?:des|3des|aes(?:-?\d+)?)(?:\s+\d+)?\s+)" + _VALUE,
    r"(\bcreateUser\s+\S+\s+(?:md5|sha\S*)\s+)" + _VALUE,
    r"(\bcreateUser\s+\S+\s+(?:md5|sha\S*)\s+\S+\s+(?:des|aes\S*)\s+)" + _VALUE,
    # Junos: authentication-key / encrypted-password / *-password "…", pre-shared-key ascii-text
    r"(\b(?:authentication-key|encrypted-password|authentication-password|privacy-password"
    r"|simple-password|pre-shared-key\s+ascii-text|ascii-text)\s+)" + _TYPE + _VALUE,
    # IOS/EOS/FRR: password, secret (with a type), key N / key-string, message-digest keys
    r"(\b(?:password|secret|key-string|auth-key|area-password(?:\s+(?:clear|md5))?"
    r"|domain-password(?:\s+(?:clear|md5))?|ip\s+ospf\s+authentication-key)\s+)" + _TYPE + _VALUE,
    r"(\bmessage-digest-key\s+\d+\s+md5\s+)" + _TYPE + _VALUE,
    # tacacs/radius server keys
    r"(\b(?:tacacs|radius)(?:-server)?\b[^\n]*?\bkey\s+)" + _TYPE + _VALUE,
    # SNMP communities (rocommunity/rwcommunity, snmp-server community, Junos community NAME {)
    r"(\b(?:ro|rw)?community\s+)" + _VALUE,
))


def _mask(match: re.Match[str]) -> str:
    value = match.group(match.lastindex or 0)
    masked = f'"{MASK}"' if value.startswith('"') else MASK
    start, end = match.span(match.lastindex or 0)
    whole_start = match.start(0)
    text = match.group(0)
    return text[:start - whole_start] + masked + text[end - whole_start:]


def redact(text: str) -> str:
    """`text` with every secret value masked (line count and keywords kept)."""
    for pattern in _PATTERNS:
        text = pattern.sub(_mask, text)
    return text
