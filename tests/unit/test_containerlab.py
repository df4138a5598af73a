"""containerlab export: valid against containerlab's own schema, complete, files in place."""
from __future__ import annotations

import collections
import dataclasses
import json
import re
from ipaddress import IPv4Interface
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from controller.config.render import render_config
from controller.lab.containerlab import export_containerlab
from controller.model.load import load_topology
from controller.model.source import InputError

SCHEMA = Path(__file__).resolve().parents[1] / "data" / "containerlab" / "clab.schema.json"
LAB = Path(__file__).resolve().parents[2] / "lab"  # the committed export
TOPO = load_topology()


def refs(node: object) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values()
                                                           for r in refs(v)]
    return [r for v in node for r in refs(v)] if isinstance(node, list) else []


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    """containerlab's schema, offline: every $ref is local; Python's re lacks \\p{..} classes."""
    text = SCHEMA.read_text()
    schema = json.loads(text)
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert all(r.startswith("#/") for r in refs(schema))  # nothing to fetch from the network
    text = text.replace(r"[\\p{N}\\p{L}]", r"[^\\W_]")  # letters and digits, in Python re
    assert r"\\p{" not in text
    schema = json.loads(text)
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


@pytest.fixture()
def lab(tmp_path) -> tuple[Path, dict]:
    out = export_containerlab(TOPO, tmp_path / "lab" / "ngk.clab.yml")
    return out, yaml.safe_load(out.read_text())


def test_export_is_valid_containerlab(lab, validator):
    out, doc = lab
    errors = sorted(validator.iter_errors(doc), key=str)
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
    bad = dict(doc, topology={**doc["topology"], "nodes": {"r1": {"kind": "no-such-kind"}}})
    assert list(validator.iter_errors(bad))  # the validator does reject things
    # draft-07 ignores `prefixItems`, so check the endpoint form the schema asks for ourselves
    form = validator.schema["definitions"]["link-config-short"]["properties"]["endpoints"]
    pattern = form["prefixItems"][0]["pattern"]
    assert all(re.match(pattern, e) for link in doc["topology"]["links"] for e in link["endpoints"])


def test_every_router_and_link_is_there(lab):
    out, doc = lab
    assert doc["name"] == TOPO.name
    assert doc["mgmt"]["ipv4-subnet"] == str(TOPO.mgmt_subnet)
    nodes = doc["topology"]["nodes"]
    assert set(nodes) == set(TOPO.routers)
    for rid, router in TOPO.routers.items():
        node = nodes[rid]
        assert node["kind"] == "linux" and node["image"] == "quay.io/frrouting/frr:8.4.4"
        assert node["mgmt-ipv4"] == str(router.mgmt.ip)
        assert node["labels"] == {"site": router.site, "role": router.role}
    got = collections.Counter(frozenset(link["endpoints"]) for link in doc["topology"]["links"])
    want = collections.Counter(frozenset({f"{lk.a.router}:{lk.a.interface}",
                                          f"{lk.b.router}:{lk.b.interface}"})
                               for lk in TOPO.links.values())
    assert got == want
    used = [e for link in doc["topology"]["links"] for e in link["endpoints"]]
    assert len(used) == len(set(used)) and not any(e.endswith(":eth0") for e in used)


def test_bound_files_exist_and_hold_the_intended_config(lab):
    out, doc = lab
    for rid, node in doc["topology"]["nodes"].items():
        targets = {}
        for bind in node["binds"]:
            source, target = bind.split(":")
            assert not Path(source).is_absolute()  # relative to the clab file: a movable lab
            targets[target] = out.parent / source
            assert targets[target].is_file(), bind
        assert targets["/etc/frr/frr.conf"].read_text() == render_config(TOPO, rid)
        assert targets["/etc/frr/vtysh.conf"].read_text().strip() == \
            "service integrated-vtysh-config"
        # read the daemons file the way FRR's frrcommon.sh does: source it in a shell
        shell = f'. "{targets["/etc/frr/daemons"]}"; echo "$ospfd $bfdd $bgpd $frr_profile"'
        done = subprocess.run(["sh", "-ec", shell], capture_output=True, text=True, check=True)
        assert done.stdout.split() == ["yes", "yes", "yes", "traditional"]


def test_image_is_the_callers(tmp_path):
    out = export_containerlab(TOPO, tmp_path / "x.clab.yml", image="frr:test")
    nodes = yaml.safe_load(out.read_text())["topology"]["nodes"]
    assert {n["image"] for n in nodes.values()} == {"frr:test"}


def test_what_containerlab_cannot_build_is_refused(tmp_path):
    link = TOPO.links["osl-dc"]
    eth0 = dataclasses.replace(link, a=dataclasses.replace(link.a, interface="eth0"))
    junos = dataclasses.replace(TOPO.routers["amk-ce1"], platform="junos")
    gateway = dataclasses.replace(TOPO.routers["krs-ce1"], mgmt=IPv4Interface("172.31.0.1/24"))
    topo = dataclasses.replace(
        TOPO, name="bad name", links={**TOPO.links, "osl-dc": eth0},
        routers={**TOPO.routers, "amk-ce1": junos, "krs-ce1": gateway})
    with pytest.raises(InputError) as err:
        export_containerlab(topo, tmp_path / "bad.clab.yml")
    paths = sorted(d.path for d in err.value.diagnostics)
    assert paths == ["links.osl-dc", "name", "routers.amk-ce1", "routers.krs-ce1"]
    assert not (tmp_path / "bad.clab.yml").exists()


def test_committed_lab_is_the_export_of_the_reference_topology(tmp_path, validator):
    """lab/ is `ngk lab export containerlab --out lab/ngk.clab.yml`, file for file."""
    fresh = export_containerlab(load_topology(), tmp_path / "ngk.clab.yml").parent
    files = sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(LAB) for p in LAB.rglob("*") if p.is_file())
    assert committed == files, \
        "lab/ drifted: run ngk lab export containerlab --out lab/ngk.clab.yml"
    drifted = [str(f) for f in files if (LAB / f).read_text() != (fresh / f).read_text()]
    assert drifted == [], "lab/ drifted: run ngk lab export containerlab --out lab/ngk.clab.yml"
    doc = yaml.safe_load((LAB / "ngk.clab.yml").read_text())
    assert not list(validator.iter_errors(doc))
