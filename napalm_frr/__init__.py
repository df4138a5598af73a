"""NAPALM driver for FRRouting (platform `frr`): `napalm.get_network_driver("frr")` finds it."""
from napalm_frr.frr import FRRDriver

__all__ = ["FRRDriver"]
