"""Read a lab router's show commands straight from its daemons' vty sockets, as vtysh does.

vtysh's protocol on /var/run/frr/<netns>/<daemon>.vty: the client writes a command ending in a
NUL byte; the daemon answers with the output followed by three NUL bytes and a status byte
(0 = success). A session starts in the view node, where some daemons (bfdd) install no show
commands, so it sends `enable` first. No process per query: `lab status` and `lab wait` read
15 routers in milliseconds instead of starting 15 vtysh processes.
"""
from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

FRR_RUN = Path("/var/run/frr")
END = b"\0\0\0"


def vty_command(netns: str, daemon: str, command: str, timeout: float = 5.0) -> str:
    """The output of one command on one daemon; OSError when the daemon does not answer or
    rejects the command."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(FRR_RUN / netns / f"{daemon}.vty"))
        for line in ("enable", command):
            sock.sendall(line.encode() + b"\0")
            reply = b""
            while not (len(reply) >= 4 and reply[-4:-1] == END):
                chunk = sock.recv(65536)
                if not chunk:
                    raise OSError(f"{netns} {daemon}: connection closed during {line!r}")
                reply += chunk
            if reply[-1] != 0:
                raise OSError(f"{netns} {daemon}: {line!r} failed: {reply[:-4].decode().strip()}")
    return reply[:-4].decode()


def vty_json(netns: str, daemon: str, command: str) -> Any:
    """A JSON show command's value; {} when the daemon is down or the reply is not JSON."""
    try:
        return json.loads(vty_command(netns, daemon, command))
    except (OSError, ValueError):
        return {}
