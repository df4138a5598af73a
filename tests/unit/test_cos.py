"""The class-of-service policy and its renderings: junos, eos (templates) and Linux (tc)."""
from __future__ import annotations

import dataclasses
import re

import pytest

import controller.config.render as render
from controller.config.cos import COS, ClassOfService, TrafficClass, classid, tc_batch
from controller.config.features import feature_diff, parse
from controller.errors import InputError
from controller.model.demands import CLASSES, PRIORITY_SHARE
from test_render_platforms import topo  # noqa: F401  (fixture: junos/eos routers)


def test_policy_covers_the_demand_classes_and_shares_the_link():
    assert set(CLASSES) <= {c.name for c in COS.classes}
    prio = COS.by_name("priority")
    assert prio.strict and prio.dscp == (46,) and prio.percent == round(100 * PRIORITY_SHARE)
    assert COS.by_name("clinical").dscp == (34,) and COS.by_name("best-effort").remainder
    assert sum(c.percent for c in COS.classes) == 100
    with pytest.raises(ValueError, match="add up to 100"):
        ClassOfService((TrafficClass("a", (0,), ("be",), 0, 60),))
    with pytest.raises(ValueError, match="own queue"):
        ClassOfService((TrafficClass("a", (0,), ("be",), 0, 50),
                        TrafficClass("b", (8,), ("cs1",), 0, 50)))


def test_tc_batch_is_htb_with_a_dscp_match_per_code_point():
    lines = tc_batch("eth1", 20_000)
    assert lines[0] == "qdisc add dev eth1 root handle 1: htb default 10"
    assert "classid 1:1 htb rate 20000kbit ceil 20000kbit" in lines[1]
    cls = {m[1]: m for m in (re.search(r"classid (\S+) htb rate (\d+)kbit ceil (\d+)kbit "
                                       r"prio (\d)", x) for x in lines[2:]) if m}
    prio = cls[classid("priority")]
    assert (prio[2], prio[3], prio[4]) == ("6600", "6600", "0")  # strict, shaped to its share
    assert cls[classid("clinical")].group(2, 3) == ("10000", "20000")  # guaranteed, may borrow
    assert cls[classid("best-effort")].group(2, 3, 4) == ("2400", "20000", "3")
    filters = [x for x in lines if x.startswith("filter")]
    assert [x.split("dsfield ")[1] for x in filters] == [
        f"0x{d << 2:02x} 0xfc flowid {classid(c.name)}" for c in COS.classes
        if not c.remainder for d in c.dscp]
    assert "match ip dsfield 0xb8 0xfc flowid 1:15" in filters[0]  # EF = 46 -> ToS 0xb8


@pytest.mark.parametrize("router", ["osl-cr1", "trd-cr1"])
def test_cos_is_its_own_compliance_feature(topo, router):  # noqa: F811
    text = render.render_config(topo, router)
    qos = [ln for ln in parse(text) if ln.feature == "qos"]
    assert qos and all(ln.feature == "qos" for ln in parse(text)
                       if "tx-queue" in ln.text or "scheduler" in ln.text)
    drifted = text.replace("33 percent", "50 percent").replace("percent 33;", "percent 50;")
    diff = feature_diff(text, drifted)
    assert diff and {d.feature for d in diff} == {"qos"}


def test_a_hostile_class_name_is_refused(topo, monkeypatch):  # noqa: F811
    """Class names are constants, but they pass the same guard as every value (junos prints
    them; eos prints numbers only)."""
    for name in ("x;\nsystem { root-authentication }", "two words"):
        bad = dataclasses.replace(COS.classes[0], name=name)
        monkeypatch.setattr(render, "COS", ClassOfService((bad, *COS.classes[1:])))
        with pytest.raises(InputError, match="refusing to render"):
            render.render_config(topo, "osl-cr1")
        assert name not in render.render_config(topo, "trd-cr1")
