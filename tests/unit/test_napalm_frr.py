"""napalm_frr getters against recorded router output (napalm's mocked_data layout):
mocked_data/frr/test_<getter>/<case>/<command slug>.txt|.error beside expected_result.json and,
where the call needs them, call.json (kwargs, optional_args). Recorded from the live lab by
tests/unit/napalm_frr_record.py; every result is also checked against NAPALM's models."""
from __future__ import annotations

import hashlib
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from napalm import get_network_driver
from napalm.base.exceptions import CommandErrorException

from napalm_frr import FRRDriver, check, parse
from napalm_frr.frr import UNSAFE, _guard

MOCKED = Path(__file__).parent / "mocked_data" / "frr"
CASES = sorted((d.parent.name.removeprefix("test_"), d) for d in MOCKED.glob("test_*/*"))


def slug(dev: FRRDriver, command: str) -> str:
    """File name of a command's recording: the state-dir check and the privilege drop are left
    out (the same in every command); long commands get a hash suffix."""
    command = command.replace(dev.guard, "STATE")
    if dev.as_frr:
        command = command.replace(dev.as_frr, "")
    name = re.sub(r"[^A-Za-z0-9]+", "_", command).strip("_")
    if len(name) > 80:
        name = f"{name[:60]}_{hashlib.sha1(command.encode()).hexdigest()[:10]}"
    return name


def call_args(case: Path) -> dict[str, Any]:
    path = case / "call.json"
    return json.loads(path.read_text()) if path.exists() else {}


class FakeFRR(FRRDriver):
    """Answers each command from the case folder; an unrecorded command is a test failure."""

    def __init__(self, case: Path) -> None:
        super().__init__("r", "u", "", optional_args=call_args(case).get("optional_args", {}))
        self.case = case

    def _exec(self, command: str, stdin: str | None = None) -> tuple[int, str, str]:
        path = self.case / slug(self, command)
        if path.with_suffix(".error").exists():
            return 127, "", path.with_suffix(".error").read_text()
        if not path.with_suffix(".txt").exists():
            raise AssertionError(f"unrecorded command {command!r} ({path.name})")
        return 0, path.with_suffix(".txt").read_text(), ""

    def _batch(self, commands: list[str]) -> list[str]:
        return [self._shell(c) for c in commands]


def test_napalm_finds_the_driver_by_platform_name() -> None:
    assert get_network_driver("frr") is FRRDriver


def run_getter(dev: FRRDriver, getter: str, case: Path) -> Any:
    kwargs = dict(call_args(case).get("kwargs", {}))
    if getter == "compliance_report":
        kwargs["validation_file"] = str(case / "validate.yml")
    return getattr(dev, getter)(**kwargs)


@pytest.mark.parametrize("getter,case", CASES, ids=[f"{g}-{c.name}" for g, c in CASES])
def test_getter_matches_expected_result_and_napalm_models(getter: str, case: Path) -> None:
    result = run_getter(FakeFRR(case), getter, case)
    assert check.problems(getter, result) == []
    expected = json.loads((case / "expected_result.json").read_text())
    assert json.loads(json.dumps(result)) == expected


def test_every_getter_has_recordings() -> None:
    assert set(check.CHECKS) <= {g for g, _ in CASES}


def test_model_check_catches_a_wrong_shape() -> None:
    good = json.loads((MOCKED / "test_get_arp_table/normal/expected_result.json").read_text())
    assert check.problems("get_arp_table", good) == []
    assert check.problems("get_arp_table", [{**good[0], "age": "3"}])
    assert check.problems("get_bgp_neighbors_detail", {"global": {"65000": []}})


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


# --- privilege separation (issue 11): root never follows what the frr user can replace -------
def guard_exit(state: Path) -> int:
    """Exit status of the driver's state-directory check run by a real shell (as root)."""
    return subprocess.run(["sh", "-c", _guard(str(state), "frr") + "\npwd"],
                          capture_output=True, text=True).returncode


@pytest.fixture
def root_dir() -> Iterator[Path]:
    """A root-owned directory reached only through root-owned, not world-writable ones (not
    under /tmp, which everyone may write: the check rightly refuses it)."""
    import os
    import shutil
    import tempfile
    if os.geteuid() != 0:
        pytest.skip("needs root (chown to frr)")
    path = Path(tempfile.mkdtemp(prefix="napalm-frr-test-", dir="/run"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def test_state_dir_is_created_root_owned_group_frr(root_dir: Path) -> None:
    state = root_dir / "napalm-frr" / "r1"
    assert guard_exit(state) == 0
    st = state.stat()
    assert (st.st_uid, oct(st.st_mode & 0o7777)) == (0, "0o2750")
    assert guard_exit(state) == 0  # and accepted on the next use


def test_state_dir_under_tmp_is_refused() -> None:
    assert guard_exit(Path("/tmp/napalm-frr-never-made/r1")) == UNSAFE
    assert not Path("/tmp/napalm-frr-never-made/r1").exists()


def test_state_dir_symlink_planted_by_frr_is_refused(root_dir: Path) -> None:
    target = root_dir / "elsewhere"
    target.mkdir(mode=0o750)
    (root_dir / "r1").symlink_to(target)
    assert guard_exit(root_dir / "r1") == UNSAFE


@pytest.mark.parametrize("owner,mode", [("frr", 0o750), ("root", 0o777), ("root", 0o775)])
def test_state_dir_under_a_directory_others_can_write_is_refused(
        root_dir: Path, owner: str, mode: int) -> None:
    import shutil
    parent = root_dir / "frr-owned"
    parent.mkdir()
    shutil.chown(parent, owner, owner)
    parent.chmod(mode)
    assert guard_exit(parent / "r1") == UNSAFE


def test_state_dir_owned_by_frr_is_refused(root_dir: Path) -> None:
    import shutil
    state = root_dir / "r1"
    state.mkdir(mode=0o750)
    shutil.chown(state, "frr", "frr")
    assert guard_exit(state) == UNSAFE


class Recorder(FRRDriver):
    """Records every command; pretends each succeeds with empty output."""

    def __init__(self) -> None:
        super().__init__("r", "u", "", optional_args={"pathspace": "r1"})
        self.commands: list[str] = []

    def _exec(self, command: str, stdin: str | None = None) -> tuple[int, str, str]:
        self.commands.append(command)
        return 0, "{}" if "json" in command else "", ""

    def _batch(self, commands: list[str]) -> list[str]:
        return [self._shell(c) for c in commands]


def test_frr_tools_and_files_are_used_as_the_frr_user_only() -> None:
    dev = Recorder()
    dev.load_replace_candidate(config="hostname r1\n")
    dev.compare_config()
    dev.commit_config("m", revert_in=30)
    dev.has_pending_commit()
    dev.confirm_commit()
    dev.rollback()
    dev.get_config()
    with pytest.raises(ValueError):
        dev.get_facts()  # empty `show version`: the commands were recorded all the same
    dev.get_bgp_neighbors()
    dev.get_route_to("10.0.0.1")
    text = "\n".join(dev.commands)
    assert "frr-reload.py -N r1 --reload" in text and "vtysh -N r1" in text
    for tool in ("vtysh", "frr-reload.py", "/etc/frr/r1/frr.conf", "/var/run/frr/r1/zebra.pid"):
        uses = len(re.findall(re.escape(tool), text))
        as_frr = len(re.findall(re.escape(dev.as_frr) + r"(?:cat |/\S*/)?" + re.escape(tool), text))
        assert uses > 0 and uses == as_frr, tool
    # every command that touches the state directory checks it first
    for cmd in dev.commands:
        if "candidate.conf" in cmd or "pending" in cmd or "rollback.conf" in cmd:
            assert cmd.startswith(dev.guard) or f"{{ {dev.guard}" in cmd
