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


def test_tc_batch_buckets_hold_a_millisecond_at_their_rate():
    """tc's default bucket (~one frame) rounds to 0 at 400 Gbit/s: the rendering sets its own."""
    def bursts(rate_kbit: int) -> dict[str, tuple[int, int]]:
        return {m[1]: (int(m[2]), int(m[3])) for m in (re.search(
            r"classid (\S+) .* burst (\d+)b cburst (\d+)b", x) for x in tc_batch("e", rate_kbit))
            if m}
    big = bursts(400_000_000)  # 400 Gbit/s = 50 GB/s: 50 MB per ms
    assert big["1:1"] == (50_000_000, 50_000_000)
    assert big[classid("priority")] == (16_500_000, 16_500_000)  # shaped to 33 %
    assert big[classid("clinical")] == (25_000_000, 50_000_000)  # rate 50 %, ceil the link
    small = bursts(20_000)
    assert small["1:1"] == (2_500, 2_500)
    assert small[classid("network-control")] == (1514, 2_500)  # never under one frame
    assert bursts(10**13)["1:1"] == (2**32 - 1, 2**32 - 1)  # tc's limit: a 32-bit byte count
    assert "rate 1kbit" in tc_batch("e", 1)[2]  # no class rate of 0 (tc refuses it)


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


# The command shapes EOS accepts for what the template renders (Arista 7280R/7500R: `tx-queue`
# platforms), read from independent sources (docs/qos.md, "Sources"):
# - keywords: Batfish's EOS grammar, batfish/batfish projects/batfish/src/main/antlr4/org/batfish/
#   grammar/arista/Legacy_interface.g4 (`if_tx_queue: TX_QUEUE num=dec NEWLINE` then lines
#   `NO? (BANDWIDTH | PRIORITY | RANDOM_DETECT | SHAPE) ...`; `if_qos: QOS ...`);
# - arguments: Arista's AVD eos_cli_config_gen, aristanetworks/avd templates/eos/qos.j2 and
#   ethernet-interface-tx-queues.j2, docs/tables/qos-profiles.md (priority is `priority strict` or
#   `no priority`; shape rate "1-100 percent"), docs/tables/qos.md (`8 9 10 to traffic-class 1`);
# - order: EOS prints tx-queues ascending and, inside one, priority, bandwidth, shape rate (AVD
#   PR #4579 "tested on 7280R", PR #6318's running config from hardware).
_DSCP = r"(?:[0-9]|[1-5][0-9]|6[0-3])"
_PERCENT = r"(?:[1-9][0-9]?|100)"
EOS_SHAPES = {  # indent -> the accepted lines at that indent
    0: re.compile(rf"qos map dscp (?:{_DSCP} )+to traffic-class [0-7]"),
    3: re.compile(r"qos trust dscp|tx-queue [0-7]"),
    6: re.compile(rf"no priority|priority strict|bandwidth percent {_PERCENT}"
                  rf"|shape rate {_PERCENT} percent"),
}
TXQ_ORDER = ("priority", "bandwidth", "shape")  # keyword after an optional `no`
# EOS's default DSCP -> traffic class, written out (not taken from cos.py): blocks of eight, 0-7
# and 8-15 swapped. EOS does not print a `qos map dscp` entry equal to it (AVD issue #6402: 4.35.1F
# dropped `qos map dscp 46 to traffic-class 5`).
EOS_DEFAULT_TC = [1] * 8 + [0] * 8 + [n for n in range(2, 8) for _ in range(8)]


def _eos_qos(text: str) -> tuple[list[str], dict[str, dict[int, list[str]]]]:
    """The global qos lines and, per interface, tx-queue -> its lines; every qos line of the
    config checked against EOS_SHAPES."""
    raw = text.splitlines()
    maps: list[str] = []
    queues: dict[str, dict[int, list[str]]] = {}
    for ln in parse(text):
        if ln.feature != "qos":
            continue
        indent = len(raw[ln.number - 1]) - len(raw[ln.number - 1].lstrip())
        assert indent in EOS_SHAPES and EOS_SHAPES[indent].fullmatch(ln.text), (indent, ln.text)
        if indent == 0:
            maps.append(ln.text)
        elif ln.text.startswith("tx-queue "):
            assert ln.interface is not None
            queues.setdefault(ln.interface, {})[int(ln.text.split()[1])] = []
        elif indent == 6:
            assert ln.interface is not None
            per_if = queues[ln.interface]
            per_if[list(per_if)[-1]].append(ln.text)
    return maps, queues


def _check_eos(text: str, cos: ClassOfService) -> None:
    maps, queues = _eos_qos(text)
    tc = list(EOS_DEFAULT_TC)
    for line in maps:
        *dscps, _, _, target = line.split()[3:]
        for d in map(int, dscps):
            assert tc[d] == EOS_DEFAULT_TC[d] != int(target), line  # once each, never a default
            tc[d] = int(target)
    best = next(c for c in cos.classes if c.remainder)
    assert tc == [next((c.queue for c in cos.classes if d in c.dscp and not c.remainder),
                       best.queue) for d in range(64)]
    want = {c.queue: ([f"shape rate {c.percent} percent"] if c.strict
                      else ["no priority", f"bandwidth percent {c.percent}"]) for c in cos.classes}
    assert queues and all(q == want and list(q) == sorted(q) for q in queues.values())
    assert text.count("\n   qos trust dscp\n   !\n   tx-queue ") == len(queues)
    for lines in (x for q in queues.values() for x in q.values()):
        kinds = [TXQ_ORDER.index(line.removeprefix("no ").split()[0]) for line in lines]
        assert kinds == sorted(kinds), lines


def test_eos_qos_lines_are_eos_commands_in_running_config_form(topo, monkeypatch):  # noqa: F811
    for router in ("trd-cr1", "amk-ce1"):
        _check_eos(render.render_config(topo, router), COS)
    # another policy: EF and AF41 in queues that are not EOS's defaults for them need lines
    moved = ClassOfService(tuple(dataclasses.replace(c, queue={5: 6, 4: 2}.get(c.queue, c.queue))
                                 for c in COS.classes))
    monkeypatch.setattr(render, "COS", moved)
    text = render.render_config(topo, "trd-cr1")
    _check_eos(text, moved)
    assert "qos map dscp 34 to traffic-class 2" in text.splitlines()
    with pytest.raises(AssertionError):  # the checker catches a default entry and a wrong order
        _check_eos(text.replace("ip routing\n", "ip routing\nqos map dscp 46 to traffic-class 5\n"),
                   moved)
    with pytest.raises(AssertionError):
        _check_eos(text.replace("      no priority\n      bandwidth percent 50\n",
                                "      bandwidth percent 50\n      no priority\n"), moved)
