"""The production inventory (inventory/, `ngk inventory build`) and the one --inventory rule."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from controller import data
from controller.cli.main import app
from controller.lab import state
from controller.model.load import load_topology
from controller.southbound import inventory
from controller.credentials import Login
from controller.southbound.nornir_setup import NgkInventory
from controller.southbound.snmp.inventory import load_inventory

TOPO = load_topology()
SECRET_WORDS = ("password", "community", "auth_key", "priv_key", "secret:", "token")


def run(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(app, list(args))
    return res.exit_code, res.output


def test_committed_inventory_is_in_sync_with_the_reference_topology() -> None:
    code, out = run("inventory", "build", "--check", "--out", str(data.path("inventory")),
                    "--json")
    assert code == 0 and json.loads(out)["changed"] == [], \
        "inventory/ drifted from topology/ngk.yaml: run `ngk inventory build`"


def test_build_writes_then_check_catches_drift(tmp_path: Path) -> None:
    out = tmp_path / "inv"
    code, text = run("inventory", "build", "--out", str(out), "--json")
    report = json.loads(text)
    assert code == 0 and report["hosts"] == len(TOPO.routers) and report["written"]
    assert sorted(p.name for p in out.iterdir()) == sorted(inventory.FILES)
    assert run("inventory", "build", "--check", "--out", str(out))[0] == 0
    hosts = out / "hosts.yaml"
    hosts.write_text(hosts.read_text().replace("172.31.0.11", "172.31.0.99"))
    code, text = run("inventory", "build", "--check", "--out", str(out), "--json")
    assert code == 1 and json.loads(text)["changed"] == ["hosts.yaml"]
    assert "172.31.0.99" in hosts.read_text()  # --check writes nothing


def test_hosts_groups_and_no_secrets() -> None:
    docs = inventory.production(TOPO)
    hosts = docs["hosts.yaml"]
    assert set(hosts) == set(TOPO.routers)
    for rid, router in TOPO.routers.items():
        assert hosts[rid]["hostname"] == str(router.mgmt.ip)
        assert hosts[rid]["platform"] == router.platform
        assert set(hosts[rid]["groups"]) <= set(docs["groups.yaml"])
    text = "".join(inventory.render(docs).values()).lower()
    assert not [w for w in SECRET_WORDS if w in text]


def test_nornir_and_the_snmp_poller_read_it(tmp_path: Path) -> None:
    inv = NgkInventory(str(data.path("inventory")), insecure=True, login=Login()).load()
    assert set(inv.hosts) == set(TOPO.routers)
    assert inv.hosts["osl-cr1"].platform == "frr" and inv.hosts["osl-cr1"].port == 22
    # SNMPv3 settings come from the secrets file the defaults name (outside the repo)
    docs = inventory.production(TOPO)
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text(yaml.safe_dump({"snmp": {"user": "mon", "auth_key": "a" * 12,
                                                "priv_key": "p" * 12}}))
    secrets.chmod(0o600)
    docs["defaults.yaml"]["data"]["snmp"]["secrets_file"] = str(secrets)
    inventory.write(inventory.render(docs), tmp_path / "inv")
    targets, problems = load_inventory(tmp_path / "inv")
    assert problems == [] and len(targets) == len(TOPO.routers)
    assert {t.credentials.version for t in targets} == {"3"}


@pytest.fixture()
def lab_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(state, "STATE_ROOT", tmp_path)
    monkeypatch.delenv(state.INVENTORY_ENV, raising=False)
    monkeypatch.delenv("NGK_LAB", raising=False)
    return tmp_path


def up(root: Path, name: str, phase: str = "up") -> Path:
    (root / name).mkdir()
    state.LabState(lab=name, dir=str(root / name), topology="", bare=False, phase=phase).save()
    return root / name / "inventory"


def test_one_rule_for_the_default_inventory(lab_root: Path, monkeypatch) -> None:
    production = data.path("inventory")
    assert state.inventory_dir() == production  # no lab
    up(lab_root, "ngk", phase="building")
    assert state.inventory_dir() == production  # a lab half built is not up
    other = up(lab_root, "other")
    assert state.inventory_dir(lab="other") == other
    monkeypatch.setenv("NGK_LAB", "other")
    assert state.inventory_dir() == other
    monkeypatch.setenv(state.INVENTORY_ENV, "/x")
    assert state.inventory_dir() == Path("/x")
    assert state.inventory_dir("/y") == Path("/y")


def test_monitor_without_a_lab_reads_the_production_inventory(lab_root: Path) -> None:
    code, out = run("monitor", "--once")
    assert code == 2 and f"no usable SNMP target in {data.path('inventory')}" in out
    assert "/etc/ngk/secrets.yaml" in out  # says which secrets file is missing


@pytest.mark.parametrize("command", [["monitor", "--once"], ["deploy"], ["backup"],
                                     ["compliance"]])
def test_with_the_lab_up_every_command_reads_its_inventory(lab_root: Path,
                                                           command: list[str]) -> None:
    lab_inventory = up(lab_root, "ngk")  # state says up; its inventory is missing
    code, out = run(*command)
    assert code == 2 and str(lab_inventory / "hosts.yaml") in out, out


def test_the_nornir_inventory_plugin_is_found_through_its_entry_point():
    """Nornir finds NgkInventory by name from the installed entry point, without ngk's module
    having been imported (no registration by import side effect)."""
    code = ("import sys; from nornir.core.plugins.inventory import InventoryPluginRegister as R;"
            "R.auto_register(); p = R.get_plugin('NgkInventory');"
            "print(p.__module__, p.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["controller.southbound.nornir_setup", "NgkInventory"]
