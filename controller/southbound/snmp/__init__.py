"""SNMP southbound: numeric OIDs, a lean v2c BER client, pysnmp glue for v3, the poller and the
trap receiver. Services use `poll_all`, `TrapReceiver` and `load_inventory`, nothing below them."""
