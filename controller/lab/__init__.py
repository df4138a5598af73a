"""The live lab: FRR routers in Linux network namespaces, managed over SSH and SNMP.

state (what a lab created, recorded in /run/ngk/<lab>/state.json), system (host tools),
network (netns, veths, mgmt bridge), qos (the class-of-service policy on the links),
daemons (FRR, snmpd, sshd), creds, inventory (Nornir), up, down, status,
faults (cut/fail/restore), mgmt (SSH/SNMP clients), containerlab (export).
"""
