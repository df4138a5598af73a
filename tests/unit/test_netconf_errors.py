"""rpc-errors and transport failures become clear NetconfErrors (replies recorded from netconfd)."""
from __future__ import annotations

import socket

import paramiko
import pytest
from ncclient.operations.rpc import RPCError, RPCReply
from ncclient.transport.errors import (AuthenticationError, SessionCloseError, SessionError,
                                       SSHError, SSHUnknownHostError)

from controller.southbound.netconf.errors import (AuthError, ConnectError, HostKeyError,
                                                  LockError, NetconfError, RpcFailure, explain)

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
HEAD = (f'<rpc-reply xmlns="{NC}" xmlns:nc="{NC}" message-id="urn:uuid:1">')
# Recorded from netconfd 2.13 (yuma123): edit-config with prefix-length 33 / ip 10.0.0.300.
RANGE = HEAD + ("""<rpc-error><error-type>protocol</error-type><error-tag>invalid-value</error-tag>
<error-severity>error</error-severity><error-app-tag>not-in-range</error-app-tag>
<error-path xmlns:if="urn:ietf:params:xml:ns:yang:ietf-interfaces" """
                'xmlns:ip="urn:ietf:params:xml:ns:yang:ietf-ip">'
                "/nc:rpc/nc:edit-config/nc:config/if:interfaces/if:interface[if:name='eth1']"
                "/ip:ipv4/ip:address[ip:ip='10.0.0.1']/ip:prefix-length</error-path>"
                """
<error-message xml:lang="en">value not in range</error-message>
<error-info><bad-value xmlns="http://netconfcentral.org/ns/yuma-ncx">33</bad-value>
<error-number xmlns="http://netconfcentral.org/ns/yuma-ncx">288</error-number></error-info>
</rpc-error></rpc-reply>""")
PATTERN = RANGE.replace("not-in-range", "pattern-test-failed").replace(
    "value not in range", "pattern match failed").replace(">33<", ">10.0.0.300<")
LOCKED = HEAD + """<rpc-error><error-type>protocol</error-type><error-tag>lock-denied</error-tag>
<error-severity>error</error-severity><error-message xml:lang="en">lock denied</error-message>
<error-info><session-id>1</session-id>
<error-number xmlns="http://netconfcentral.org/ns/yuma-ncx">268</error-number></error-info>
</rpc-error></rpc-reply>"""


def rpc_error(reply_xml: str) -> RPCError:
    """The exception ncclient raises for this reply (several errors -> one with .errors)."""
    reply = RPCReply(reply_xml)
    reply.parse()
    if len(reply.errors) == 1:
        return reply.errors[0]
    return RPCError(reply._root, reply.errors)


@pytest.mark.parametrize("reply,app_tag,message,info", [
    (RANGE, "not-in-range", "value not in range", "bad-value=33"),
    (PATTERN, "pattern-test-failed", "pattern match failed", "bad-value=10.0.0.300"),
])
def test_validation_error_fields(reply, app_tag, message, info):
    err = explain(rpc_error(reply), "edit", "r1 (192.0.2.1:830)")
    assert isinstance(err, RpcFailure)
    (e,) = err.errors
    assert (e.tag, e.app_tag, e.message, e.severity, e.info) == (
        "invalid-value", app_tag, message, "error", info)
    assert e.path == ("/if:interfaces/if:interface[if:name='eth1']/ip:ipv4/"
                      "ip:address[ip:ip='10.0.0.1']/ip:prefix-length")
    assert str(err) == (f"r1 (192.0.2.1:830): edit rejected: invalid-value/{app_tag} {message} "
                        f"at {e.path} ({info})")
    assert err.as_dict()["kind"] == "rpc-error" and err.as_dict()["rpc_errors"][0]["tag"]


def test_several_errors_are_all_reported():
    body = RANGE[len(HEAD):-len("</rpc-reply>")]
    two = HEAD + body + body.replace("not-in-range", "other-tag") + "</rpc-reply>"
    err = explain(rpc_error(two), "edit", "r1")
    assert [e.app_tag for e in err.errors] == ["not-in-range", "other-tag"]
    assert "not-in-range" in str(err) and "other-tag" in str(err)


def test_lock_denied_names_the_holder():
    err = explain(rpc_error(LOCKED), "lock", "r1")
    assert isinstance(err, LockError)
    assert str(err) == "r1: lock: the datastore is locked by another session (held by session 1)"


@pytest.mark.parametrize("exc,cls,text", [
    (SSHUnknownHostError("h", "aa:bb"), HostKeyError, "aa:bb"),
    (AuthenticationError("x"), AuthError, "authentication failed"),
    (paramiko.AuthenticationException("x"), AuthError, "authentication failed"),
    (SSHError("Could not open socket to h:830"), ConnectError, "Could not open socket"),
    (socket.timeout("timed out"), ConnectError, "timed out"),
    (ConnectionRefusedError(111, "Connection refused"), ConnectError, "Connection refused"),
    (SessionCloseError("", ""), ConnectError, "closed by the device"),
    (SessionError("Capability exchange timed out"), ConnectError, "Capability exchange"),
    (ValueError("odd"), NetconfError, "ValueError: odd"),
])
def test_transport_failures(exc, cls, text):
    err = explain(exc, "connect", "r1")
    assert type(err) is cls and text in str(err) and str(err).startswith("r1: ")
    assert explain(err, "other", "r2") is err
