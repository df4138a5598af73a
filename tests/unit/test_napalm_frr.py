"""napalm_frr getters against recorded router output (napalm's mocked_data layout):
mocked_data/frr/test_<getter>/<case>/<command slug>.txt|.error beside expected_result.json."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from napalm import get_network_driver
from napalm.base.exceptions import CommandErrorException

from napalm_frr import FRRDriver, parse

MOCKED = Path(__file__).parent / "mocked_data" / "frr"
CASES = sorted((d.parent.name.removeprefix("test_"), d) for d in MOCKED.glob("test_*/*"))
CALLS = {"ping": lambda dev: dev.ping("10.255.0.14" if "unreach" not in str(dev.case)
                                      else "10.255.0.99", count=3, timeout=1)}


def slug(command: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", command).strip("_")


class FakeFRR(FRRDriver):
    """Answers each command from the case folder; an unrecorded command is a test failure."""

    def __init__(self, case: Path) -> None:
        super().__init__("r", "u", "", optional_args={})
        self.case = case

    def _exec(self, command: str, stdin: str | None = None) -> tuple[int, str, str]:
        path = self.case / slug(command)
        if path.with_suffix(".error").exists():
            return 127, "", path.with_suffix(".error").read_text()
        if not path.with_suffix(".txt").exists():
            raise AssertionError(f"unrecorded command {command!r} ({path.name})")
        return 0, path.with_suffix(".txt").read_text(), ""

    def _batch(self, commands: list[str]) -> list[str]:
        return [self._shell(c) for c in commands]


def test_napalm_finds_the_driver_by_platform_name() -> None:
    assert get_network_driver("frr") is FRRDriver


@pytest.mark.parametrize("getter,case", CASES, ids=[f"{g}-{c.name}" for g, c in CASES])
def test_getter_matches_expected_result(getter: str, case: Path) -> None:
    dev = FakeFRR(case)
    result = CALLS.get(getter, lambda d: getattr(d, getter)())(dev)
    expected = json.loads((case / "expected_result.json").read_text())
    assert json.loads(json.dumps(result)) == expected


def test_interfaces_agree_with_the_raw_json() -> None:
    raw = json.loads((MOCKED / "test_get_interfaces/normal/vtysh_c_show_interface_json.txt")
                     .read_text())
    ifs = FakeFRR(MOCKED / "test_get_interfaces/normal").get_interfaces()
    assert set(ifs) == set(raw)
    for name, data in raw.items():
        assert ifs[name]["mtu"] == data["mtu"]
        assert ifs[name]["is_up"] == (data["operationalStatus"] == "up")
        assert ifs[name]["mac_address"].lower() == data.get("hardwareAddress", "")


def test_get_config_sanitized_hides_secrets() -> None:
    dev = FakeFRR(MOCKED / "test_get_config/normal")
    recorded = ["interface eth1\n ip ospf authentication-key s3cret\n", " password zebra\n", ""]
    dev._batch = lambda cmds: recorded[:len(cmds)]  # type: ignore[method-assign]
    out = dev.get_config(sanitized=True)
    assert "s3cret" not in out["running"] and "zebra" not in out["startup"]
    assert "<removed>" in out["running"]


def test_failing_command_raises() -> None:
    dev = FakeFRR(MOCKED / "test_get_lldp_neighbors/no_lldpd")
    with pytest.raises(CommandErrorException):
        dev._shell("lldpcli -f json0 show neighbors")


RUNNING = """Building configuration...

Current configuration:
!
hostname r1
!
interface eth1
 ip address 10.0.0.0/31
 ip ospf cost 10
exit
!
end
"""


@pytest.mark.parametrize("candidate,removed,added", [
    (RUNNING, set(), set()),
    (RUNNING.replace("cost 10", "cost 20"), {" ip ospf cost 10"}, {" ip ospf cost 20"}),
    (RUNNING.replace(" ip ospf cost 10\n", ""), {" ip ospf cost 10"}, set()),
    ("hostname r1\ninterface eth1\n ip address 10.0.0.0/31\n ip ospf cost 10\nexit\nend\n",
     set(), set()),  # only form differs: no diff
])
def test_replace_diff_is_the_set_difference_of_lines(candidate: str, removed: set[str],
                                                      added: set[str]) -> None:
    diff = parse.replace_diff(RUNNING, candidate).splitlines()
    body = [line for line in diff if not line.startswith(("---", "+++", "@@"))]
    assert {line[1:] for line in body if line.startswith("-")} == removed
    assert {line[1:] for line in body if line.startswith("+")} == added
    assert (diff == []) == (not removed and not added)


def test_merge_diff_lists_only_what_is_new() -> None:
    snippet = ("interface eth1\n ip ospf cost 10\n description new\nexit\n"
               "router ospf\n ospf router-id 1.1.1.1\nexit\n")
    assert parse.merge_diff(RUNNING, snippet) == (
        " interface eth1\n+ description new\n+router ospf\n+ ospf router-id 1.1.1.1\n")
    assert parse.merge_diff(RUNNING, "interface eth1\n ip ospf cost 10\n") == ""


def test_lldp_neighbors_from_lldpcli_json0() -> None:
    doc = {"lldp": [{"interface": [{"name": "eth1", "chassis": [{"name": [{"value": "r2"}]}],
                                    "port": [{"id": [{"value": "aa"}],
                                              "descr": [{"value": "eth3"}]}]}]}]}
    assert parse.lldp_neighbors(json.dumps(doc)) == {"eth1": [{"hostname": "r2", "port": "eth3"}]}
