"""NETCONF failures as clear, secret-free messages: one exception family, never a traceback."""
from __future__ import annotations

import re
import socket
from dataclasses import asdict, dataclass

import paramiko
from lxml import etree
from ncclient.operations import RPCError
from ncclient.operations.errors import TimeoutExpiredError
from controller.errors import DeviceError
from ncclient.transport.errors import (AuthenticationError, SessionCloseError, SessionError,
                                       SSHError, SSHUnknownHostError, TransportError)

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
# netconfd reports paths from the root of the RPC; the datastore part is what users care about.
_RPC_PREFIX = re.compile(r"^/nc:rpc/nc:[\w-]+/nc:(config|source|target)(?=/)")


@dataclass(frozen=True, slots=True)
class RpcErrorInfo:
    """One <rpc-error>, field by field (RFC 6241 section 4.3)."""

    tag: str | None
    app_tag: str | None
    path: str | None
    message: str | None
    severity: str | None = "error"
    info: str | None = None  # bad-value / session-id / bad-element ... flattened

    def __str__(self) -> str:
        tag = f"{self.tag}/{self.app_tag}" if self.app_tag else str(self.tag)
        parts = [tag, self.message or "", f"at {self.path}" if self.path else "",
                 f"({self.info})" if self.info else ""]
        return " ".join(p for p in parts if p)


class NetconfError(DeviceError):
    """Base of every failure this package reports; `kind` is a stable machine-readable name."""

    kind = "netconf"

    def __init__(self, message: str, errors: tuple[RpcErrorInfo, ...] = ()):
        self.errors = errors
        super().__init__(message)

    def as_dict(self) -> dict:
        return {"kind": self.kind, "message": str(self),
                "rpc_errors": [asdict(e) for e in self.errors]}


class ConnectError(NetconfError):
    kind = "unreachable"


class AuthError(NetconfError):
    kind = "authentication"


class HostKeyError(NetconfError):
    kind = "host-key"


class CapabilityError(NetconfError):
    kind = "capability"


class LockError(NetconfError):
    kind = "lock"


class RpcFailure(NetconfError):
    kind = "rpc-error"


class VerifyError(NetconfError):
    kind = "verify"


class CredentialsError(NetconfError):
    kind = "credentials"
    exit_code = 2  # the user's setup, not the device


def _info_text(info_xml: str | None) -> str | None:
    if not info_xml:
        return None
    root = etree.fromstring(info_xml.encode())
    pairs = [f"{etree.QName(e).localname}={e.text.strip()}" for e in root
             if e.text and e.text.strip() and etree.QName(e).localname != "error-number"]
    return ", ".join(pairs) or None


def rpc_errors(exc: RPCError) -> tuple[RpcErrorInfo, ...]:
    """Every <rpc-error> an ncclient RPCError carries."""
    return tuple(RpcErrorInfo(
        tag=e.tag, app_tag=e.app_tag, message=(e.message or "").strip() or None,
        path=_RPC_PREFIX.sub("", e.path.strip()) if e.path else None,
        severity=e.severity, info=_info_text(e.info))
        for e in (getattr(exc, "errors", None) or [exc]))


def explain(exc: BaseException, action: str, where: str) -> NetconfError:
    """Map a transport, SSH or RPC exception raised while doing `action` on `where`."""
    if isinstance(exc, NetconfError):
        return exc
    if isinstance(exc, RPCError):
        errs = rpc_errors(exc)
        if any(e.tag in ("lock-denied", "in-use") for e in errs):
            holder = re.search(r"session-id=(\d+)", " ".join(e.info or "" for e in errs))
            by = f" (held by session {holder.group(1)})" if holder else ""
            return LockError(f"{where}: {action}: the datastore is locked by another session{by}",
                             errs)
        return RpcFailure(f"{where}: {action} rejected: " + "; ".join(map(str, errs)), errs)
    if isinstance(exc, SSHUnknownHostError):
        return HostKeyError(f"{where}: host key does not match known_hosts ({exc.fingerprint})")
    if isinstance(exc, (AuthenticationError, paramiko.AuthenticationException)):
        return AuthError(f"{where}: authentication failed (wrong user, key or password)")
    if isinstance(exc, TimeoutExpiredError):
        return ConnectError(f"{where}: {action}: no reply in time")
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return ConnectError(f"{where}: {action}: timed out")
    if isinstance(exc, OSError):
        return ConnectError(f"{where}: {action}: {exc.strerror or exc}")
    if isinstance(exc, SessionCloseError):
        return ConnectError(f"{where}: {action}: the session was closed by the device")
    if isinstance(exc, (SSHError, TransportError, SessionError, paramiko.SSHException)):
        return ConnectError(f"{where}: {action}: {exc}")
    return NetconfError(f"{where}: {action}: {type(exc).__name__}: {exc}")
