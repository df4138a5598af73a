"""When a lab counts as converged: every live router with its daemons, adjacencies, BFD sessions
and loopback routes as the model expects; failed routers do not count."""
import pytest

from controller.lab.status import converged, row_converged

READY = {"router": "r1", "failed": False, "daemons": {"zebra": True, "ospfd": True, "bfdd": True},
         "ospf_neighbors": 3, "ospf_expected": 3, "bfd_up": 3, "bfd_expected": 3,
         "loopbacks_reached": 9, "loopbacks_expected": 9}


@pytest.mark.parametrize("change, ok", [
    ({}, True),
    ({"bfd_up": 2}, False),  # OSPF full but a BFD session still coming up
    ({"bfd_up": 4}, False),
    ({"ospf_neighbors": 2}, False),
    ({"loopbacks_reached": 8}, False),
    ({"daemons": {"zebra": True, "ospfd": False, "bfdd": True}}, False),
    ({"failed": True, "bfd_up": 0, "ospf_neighbors": 0}, True),  # a failed router is not waited for
])
def test_row_converged(change, ok):
    row = {**READY, **change}
    assert row_converged(row) is ok
    assert converged([READY, row]) is ok
