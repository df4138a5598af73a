"""Numeric OIDs the monitor uses (Debian ships no IETF MIB files, so no names are resolved)."""
from __future__ import annotations

Oid = tuple[int, ...]


def oid(text: str) -> Oid:
    return tuple(int(part) for part in text.strip(".").split("."))


def dotted(value: Oid) -> str:
    return ".".join(map(str, value))


SYS_UPTIME = oid("1.3.6.1.2.1.1.3")  # TimeTicks, 1/100 s; .0 is the instance
SYS_NAME = oid("1.3.6.1.2.1.1.5")
IF_DESCR = oid("1.3.6.1.2.1.2.2.1.2")
IF_ADMIN_STATUS = oid("1.3.6.1.2.1.2.2.1.7")
IF_OPER_STATUS = oid("1.3.6.1.2.1.2.2.1.8")
IF_NAME = oid("1.3.6.1.2.1.31.1.1.1.1")
IF_HC_IN_OCTETS = oid("1.3.6.1.2.1.31.1.1.1.6")
IF_HC_OUT_OCTETS = oid("1.3.6.1.2.1.31.1.1.1.10")
IF_INDEX = oid("1.3.6.1.2.1.2.2.1.1")
# NET-SNMP-AGENT-MIB::nsCacheTimeout of the ifTable cache (seconds, 0 = reload on every request)
IFTABLE_CACHE_TIMEOUT = oid("1.3.6.1.4.1.8072.1.5.3.1.2.1.3.6.1.2.1.2.2")

# Per-device scalars (fetched as GETBULK non-repeaters) and ifTable/ifXTable columns (repeaters).
SCALARS: tuple[Oid, ...] = (SYS_UPTIME, SYS_NAME)
IF_COLUMNS: dict[str, Oid] = {
    "descr": IF_DESCR, "name": IF_NAME, "admin": IF_ADMIN_STATUS, "oper": IF_OPER_STATUS,
    "in_octets": IF_HC_IN_OCTETS, "out_octets": IF_HC_OUT_OCTETS,
}
OPER_STATUS = {1: "up", 2: "down", 3: "testing", 4: "unknown", 5: "dormant", 6: "notPresent",
               7: "lowerLayerDown"}

# Notifications (SNMPv2-MIB snmpTrapOID.0 values) and the v1 generic-trap numbers they map from.
SNMP_TRAP_OID = oid("1.3.6.1.6.3.1.1.4.1.0")
TRAPS: dict[Oid, str] = {
    oid("1.3.6.1.6.3.1.1.5.1"): "coldStart",
    oid("1.3.6.1.6.3.1.1.5.2"): "warmStart",
    oid("1.3.6.1.6.3.1.1.5.3"): "linkDown",
    oid("1.3.6.1.6.3.1.1.5.4"): "linkUp",
    oid("1.3.6.1.2.1.14.16.2.2"): "ospfNbrStateChange",
    oid("1.3.6.1.2.1.14.16.2.16"): "ospfIfStateChange",
}

# OSPF-MIB (RFC 4750) objects the OSPF-TRAP-MIB notifications carry. Table columns are indexed by
# an IPv4 address and an address-less index (ospfNbrTable: ospfNbrIpAddr.ospfNbrAddressLessIndex;
# ospfIfTable: ospfIfIpAddress.ospfAddressLessIf).
OSPF_ROUTER_ID = oid("1.3.6.1.2.1.14.1.1")
OSPF_IF_IP_ADDRESS = oid("1.3.6.1.2.1.14.7.1.1")
OSPF_ADDRESS_LESS_IF = oid("1.3.6.1.2.1.14.7.1.2")
OSPF_IF_STATE = oid("1.3.6.1.2.1.14.7.1.12")
OSPF_NBR_IP_ADDR = oid("1.3.6.1.2.1.14.10.1.1")
OSPF_NBR_ADDRESS_LESS_INDEX = oid("1.3.6.1.2.1.14.10.1.2")
OSPF_NBR_RTR_ID = oid("1.3.6.1.2.1.14.10.1.3")
OSPF_NBR_STATE = oid("1.3.6.1.2.1.14.10.1.6")
NBR_FULL = 8
NBR_STATE = {1: "down", 2: "attempt", 3: "init", 4: "twoWay", 5: "exchangeStart", 6: "exchange",
             7: "loading", 8: "full"}
IF_STATE = {1: "down", 2: "loopback", 3: "waiting", 4: "pointToPoint", 5: "designatedRouter",
            6: "backupDesignatedRouter", 7: "otherDesignatedRouter"}

TICKS_PER_S = 100  # SNMP TimeTicks are hundredths of a second


def ospf_index_address(name: Oid, column: Oid) -> str | None:
    """The IPv4 address in an ospfNbrTable/ospfIfTable instance (column.a.b.c.d.addressLess)."""
    index = name[len(column):]
    return ".".join(map(str, index[:4])) if len(index) == 5 else None
