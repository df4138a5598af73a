"""NAPALM driver for FRRouting (platform `frr`): `napalm.get_network_driver("frr")` finds it."""
from napalm_frr.frr import FRRDriver

__version__ = "0.1.0"  # the one place the version is written (pyproject reads it)
__all__ = ["FRRDriver", "__version__"]
