"""The add-only commit delta: found only when merging new lines reaches the candidate exactly
(every dropped line overridden by a new value of the same command), never otherwise."""
from __future__ import annotations

import re

import pytest

from controller.config.render import render_config
from controller.model.load import load_topology
from napalm_frr.delta import merge_lines, statements


@pytest.fixture(scope="module")
def full() -> str:
    return render_config(load_topology(), "osl-cr1")


def bump(text: str) -> str:
    return re.sub(r"ip ospf cost (\d+)", lambda m: f"ip ospf cost {int(m.group(1)) + 1}", text)


def applied(running: str, delta: str) -> set:
    """What a vtysh merge of `delta` gives, modelled: new lines override same-command lines."""
    state = set(statements(running))
    for ctx, line in statements(delta):
        key = next((k for k in ("ip ospf cost ", "timers throttle spf ") if line.startswith(k)),
                   None)
        state = {(c, ln) for c, ln in state if not (c == ctx and key and ln.startswith(key))}
        state.add((ctx, line))
    return state


def test_new_costs_are_merged_in_their_interface_blocks(full):
    delta = merge_lines(full, bump(full))
    assert delta is not None and "ip address" not in delta
    assert all(line.startswith(("interface ", " ip ospf cost ", "exit")) for line in
               delta.splitlines())
    assert applied(full, delta) >= set(statements(bump(full)))


def test_from_bare_everything_is_an_addition(full):
    bare = render_config(load_topology(), "osl-cr1", routing=False)
    delta = merge_lines(bare, full)
    assert delta is not None and "router ospf\n ospf router-id" in delta
    assert set(statements(bare)) | set(statements(delta)) >= set(statements(full))
    assert "bfd\n profile core\n  transmit-interval 50\n" in delta


@pytest.mark.parametrize("change", [
    lambda t: t.replace(" ip ospf bfd\n", "", 1),                     # a line removed
    lambda t: re.sub(r"ip address 10\.(\d+)", r"ip address 11.\1", t, count=1),  # not an override
    lambda t: t.replace("interface eth1\n", "interface eth9\n", 1),   # a block renamed
    lambda t: t.replace(" ip ospf passive\n", ""),
])
def test_anything_but_overrides_and_additions_goes_to_frr_reload(full, change):
    assert merge_lines(full, change(full)) is None


def test_no_difference_no_delta(full):
    assert merge_lines(full, full) is None
    header = "Building configuration...\n\nCurrent configuration:\n!\n"
    assert merge_lines(header + full, full) is None
