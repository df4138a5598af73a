"""The SNMP monitor: `state` (the pure state machine and its typed events), `history` (the store
schema, the `ospf:<if>` encoding and the one link-down rule `ngk uptime` shares) and `app` (the
process: poller, traps, store, metrics, alerts)."""
