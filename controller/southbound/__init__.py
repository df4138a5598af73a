"""Southbound drivers: the only code that talks to devices (SNMP here; NAPALM/NETCONF elsewhere)."""
