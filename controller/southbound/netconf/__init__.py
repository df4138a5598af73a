"""NETCONF southbound: render payloads from the model, diff, and push them safely (ncclient)."""
from controller.southbound.netconf.client import Target, check_capabilities, connect
from controller.southbound.netconf.credentials import load_credentials
from controller.southbound.netconf.diff import Change, diff, format_diff, subtree_filter
from controller.southbound.netconf.errors import NetconfError, RpcErrorInfo
from controller.southbound.netconf.payload import Payload, interfaces_for, render_interfaces
from controller.southbound.netconf.push import (PushResult, cancel_commit, confirm_commit,
                                                get_running, push)

__all__ = ["Change", "NetconfError", "Payload", "PushResult", "RpcErrorInfo",
           "Target", "cancel_commit", "check_capabilities", "confirm_commit", "connect", "diff",
           "format_diff", "get_running", "interfaces_for", "load_credentials", "push",
           "render_interfaces", "subtree_filter"]
