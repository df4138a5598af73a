"""Reach lab routers the way the controller reaches production: SSH and SNMP v3 on mgmt IPs.

SSH uses the lab's controller key and known_hosts with strict host key checking; SNMP uses the
lab's v3 authPriv (SHA/AES) user. Secrets are read from the lab state dir, never passed on a
command line.
"""
from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Sequence

from pysnmp.hlapi.v3arch.asyncio import (
    ContextData, ObjectIdentity, ObjectType, SnmpEngine, UdpTransportTarget, UsmUserData,
    get_cmd, usmAesCfb128Protocol, usmHMACSHAAuthProtocol, walk_cmd)

from controller.lab.creds import Credentials

SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
IF_DESCR = "1.3.6.1.2.1.2.2.1.2"
IF_OPER_STATUS = "1.3.6.1.2.1.2.2.1.8"


def ssh_command(creds: Credentials, host: str, command: str, timeout: float = 10) -> str:
    """Run `command` on `host` over SSH (host key checked against the lab's known_hosts)."""
    proc = subprocess.run(
        ["ssh", "-F", "/dev/null", "-i", creds.ssh_key, "-o", "BatchMode=yes",
         "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={creds.known_hosts}",
         "-o", "GlobalKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes",
         "-o", f"ConnectTimeout={int(timeout)}", f"{creds.ssh_user}@{host}", command],
        capture_output=True, text=True, timeout=timeout + 5)
    if proc.returncode != 0:
        raise ConnectionError(f"ssh {host}: exit {proc.returncode}: {proc.stderr.strip()}")
    return proc.stdout


def _user(creds: Credentials) -> UsmUserData:
    return UsmUserData(creds.snmp_user, creds.snmp_auth, creds.snmp_priv,
                       authProtocol=usmHMACSHAAuthProtocol, privProtocol=usmAesCfb128Protocol)


async def _get(engine: SnmpEngine, creds: Credentials, host: str, oids: Sequence[str],
               timeout: float) -> dict[str, str]:
    target = await UdpTransportTarget.create((host, 161), timeout=timeout, retries=1)
    err, status, _, binds = await get_cmd(engine, _user(creds), target, ContextData(),
                                          *(ObjectType(ObjectIdentity(o)) for o in oids))
    if err or status:
        raise ConnectionError(f"snmp {host}: {err or status.prettyPrint()}")
    return {str(name): value.prettyPrint() for name, value in binds}


async def _walk(engine: SnmpEngine, creds: Credentials, host: str, oid: str,
                timeout: float) -> dict[str, str]:
    target = await UdpTransportTarget.create((host, 161), timeout=timeout, retries=1)
    out = {}
    async for err, status, _, binds in walk_cmd(engine, _user(creds), target, ContextData(),
                                                 ObjectType(ObjectIdentity(oid)),
                                                 lexicographicMode=False):
        if err or status:
            raise ConnectionError(f"snmp {host}: {err or status.prettyPrint()}")
        out.update({str(name): value.prettyPrint() for name, value in binds})
    return out


def snmp_get_many(creds: Credentials, hosts: Sequence[str], oids: Sequence[str],
                  timeout: float = 2.0) -> dict[str, dict[str, str] | Exception]:
    """GET `oids` from every host concurrently; per host the values or the error."""
    async def main() -> list[dict[str, str] | BaseException]:
        engine = SnmpEngine()
        try:
            return await asyncio.gather(*(_get(engine, creds, h, oids, timeout) for h in hosts),
                                        return_exceptions=True)
        finally:
            engine.close_dispatcher()
    return dict(zip(hosts, asyncio.run(main())))


def snmp_get(creds: Credentials, host: str, oids: Sequence[str], timeout: float = 2.0) -> dict[str, str]:
    result = snmp_get_many(creds, [host], oids, timeout)[host]
    if isinstance(result, Exception):
        raise result
    return result


def snmp_walk(creds: Credentials, host: str, oid: str, timeout: float = 2.0) -> dict[str, str]:
    async def main() -> dict[str, str]:
        engine = SnmpEngine()
        try:
            return await _walk(engine, creds, host, oid, timeout)
        finally:
            engine.close_dispatcher()
    return asyncio.run(main())
