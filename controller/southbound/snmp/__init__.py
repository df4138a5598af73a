"""SNMP southbound: numeric OIDs, a BER codec with SNMPv3 USM, one client for v2c and v3, the
poller and the trap receiver (pysnmp). Services use `poll_all`/`poll_once`, `TrapReceiver`,
`load_inventory` and the client, nothing below them."""
