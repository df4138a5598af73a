"""Topology format: loading, derived values, and every kind of validation error."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from controller.cli.main import app
from controller.model.layers import Element, outage, resolve_element, site_graph
from controller.model.load import check_topology, load_topology
from controller.model.source import InputError

DATA = Path(__file__).parent / "data" / "topology"
SMALL = (DATA / "small.yaml").read_text()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "t.yaml"
    path.write_text(text)
    return path


def test_small_loads_with_derived_values(tmp_path):
    topo = load_topology(write(tmp_path, SMALL))
    link = topo.links["ab-1"]
    assert link.km == 520 and link.route == ("a-p", "p-b")
    assert link.latency_ms == pytest.approx(520 * 0.005 + 0.05)
    assert link.metric == round(link.latency_ms * 100)
    assert str(link.a.address) == "10.0.0.0/31" and str(link.b.address) == "10.0.0.1/31"
    # a link without a route rides an implicit span of its own
    assert topo.links["pm"].route == ("pm~span",) and topo.spans["pm~span"].km == 12
    assert topo.srlgs() == {"duct-1": ("a-p", "a-hut")}
    assert len({r.loopback for r in topo.routers.values()}) == 4


def test_reference_topology_is_valid_and_has_the_duct_trap():
    topo, diags = check_topology(None)
    assert topo is not None, [str(d) for d in diags]
    assert [d for d in diags if d.severity == "error"] == []
    assert set(topo.datacentres()) == {"osl", "trd", "tos"}
    assert {topo.sites[s].region for s in topo.sites if topo.sites[s].kind == "pop"} == {
        "south-east", "west", "central", "north"}
    for dc in topo.datacentres():
        assert len(topo.routers_at(dc)) == 2
    # the two Oslo-Trondheim links share no span, but their spans share a duct
    one, two = topo.links["osl-trd-1"], topo.links["osl-trd-2"]
    assert not set(one.route) & set(two.route)
    srlgs = lambda link: {g for s in link.route for g in topo.spans[s].srlgs}  # noqa: E731
    assert "duct-e6-gardermoen" in srlgs(one) & srlgs(two)


def test_failure_mapping_across_layers(tmp_path):
    topo = load_topology(write(tmp_path, SMALL))
    assert outage(topo, [Element("span", "a-p")]).links == {"ab-1", "ap"}
    assert outage(topo, [Element("srlg", "duct-1")]).links == {"ab-1", "ab-2", "ap"}
    # a site failure removes its routers and optical nodes: wavelengths passing through die too
    site_p = outage(topo, [Element("site", "p")])
    assert site_p.routers == {"p1"} and {"ab-1", "ap", "pm"} <= site_p.links
    assert set(site_graph(topo, site_p).nodes) == {"a", "b", "m"}
    assert resolve_element(topo, "Papa") == Element("site", "p")
    assert resolve_element(topo, "srlg:duct-1") == Element("srlg", "duct-1")
    with pytest.raises(InputError, match="no span"):
        resolve_element(topo, "nope")


def replace(old: str, new: str) -> str:
    assert old in SMALL, old
    return SMALL.replace(old, new, 1)


# (case, mutated document, expected line, expected path, message fragment)
ERRORS = [
    ("unknown-site-ref", replace("{id: a1, site: a,", "{id: a1, site: zz,"), 19,
     "routers[0].site", "unknown site 'zz'"),
    ("duplicate-id", replace("{id: p, name: Papa", "{id: a, name: Papa"), 6,
     "sites[2].id", "duplicate id 'a'"),
    ("km-not-positive", replace("km: 400", "km: 0"), 15, "spans[1].km", "must be > 0"),
    ("span-self-loop", replace("{id: p-b, a: p, b: b", "{id: p-b, a: b, b: b"), 15,
     "spans[1]", "self-loop"),
    ("link-self-loop",
     replace("b: {router: b1, interface: eth1}", "b: {router: a1, interface: eth9}"), 24,
     "links[0]", "self-loop"),
    ("route-not-a-chain", replace("route: [a-p, p-b]", "route: [a-p, hut-b]"), 24,
     "links[0].route", "not a contiguous chain"),
    ("route-wrong-end", replace("route: [a-p]}", "route: [a-hut]}"), 26,
     "links[2].route", "not a contiguous chain"),
    ("unknown-span", replace("route: [a-p, p-b]", "route: [a-p, nope]"), 24,
     "links[0].route[1]", "unknown span 'nope'"),
    ("bad-kind", replace("kind: pop", "kind: hub"), 6, "sites[2].kind", "kind must be one of"),
    ("missing-field", replace("{id: m, name: Mike, kind: member}", "{id: m, name: Mike}"), 7,
     "sites[3]", "missing required field 'kind'"),
    ("unknown-field", replace("{id: p-b, a: p,", "{id: p-b, colour: red, a: p,"), 15,
     "spans[1].colour", "unknown field"),
    ("interface-reused", replace("interface: eth3}", "interface: eth1}"), 26,
     "links[2].a.interface", "already used"),
    ("bad-interface-name", replace("interface: eth3}", "interface: this-name-is-too-long}"), 26,
     "links[2].a.interface", "Linux interface name"),
    ("bad-address",
     replace("role: pe, platform: frr}", "role: pe, platform: frr, loopback: 10.1.2}"), 21,
     "routers[2].loopback", "not a valid IPv4"),
    ("service-not-dc", replace("datacentres: [a, b]", "datacentres: [a, p]"), 29,
     "services[0].datacentres[1]", "is a pop, not a datacentre"),
    ("bad-metric", replace("route: [a-p]}", "route: [a-p], metric: 0}"), 26,
     "links[2].metric", "integer 1..65535"),
    ("yaml-syntax", replace("sites:", "sites: [oops"), None, "", "YAML syntax error"),
    ("unknown-section", SMALL + "extras: 1\n", 30, "extras", "unknown section"),
]


@pytest.mark.parametrize("case,text,line,path,fragment", ERRORS, ids=[e[0] for e in ERRORS])
def test_each_error_names_file_line_path(tmp_path, case, text, line, path, fragment):
    file = write(tmp_path, text)
    topo, diags = check_topology(file)
    errors = [d for d in diags if d.severity == "error"]
    assert topo is None and errors
    match = [d for d in errors if fragment in d.message]
    assert match, [str(d) for d in errors]
    assert match[0].file == str(file) and match[0].path == path
    if line is not None:
        assert match[0].line == line


def test_all_errors_reported_at_once(tmp_path):
    text = replace("km: 400", "km: -1").replace("{id: a1, site: a,", "{id: a1, site: zz,")
    with pytest.raises(InputError) as exc:
        load_topology(write(tmp_path, text))
    assert {d.path for d in exc.value.diagnostics} >= {"spans[1].km", "routers[0].site"}


def test_disconnected_topology_is_a_warning(tmp_path):
    text = SMALL.replace("  - {id: pm, a: {router: p1, interface: eth2}, "
                         "b: {router: m1, interface: eth1}, km: 12}\n", "")
    topo, diags = check_topology(write(tmp_path, text))
    assert topo is not None
    assert any(d.severity == "warning" and "disconnected" in d.message for d in diags)


def test_cli_validate_exit_codes_and_json(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(app, ["topology", "validate", str(write(tmp_path, SMALL)), "--json"])
    assert ok.exit_code == 0 and json.loads(ok.stdout)["valid"] is True
    bad = write(tmp_path, replace("km: 400", "km: 0"))
    res = runner.invoke(app, ["topology", "validate", str(bad)])
    assert res.exit_code == 2
    assert f"{bad}:15: error: spans[1].km: must be > 0" in res.output.replace("\n", "")
    assert "Traceback" not in res.output
    missing = runner.invoke(app, ["topology", "validate", str(tmp_path / "none.yaml")])
    assert missing.exit_code == 2 and "cannot read file" in missing.output
