"""Router selection: `--limit` (union of terms) and playbook `targets` (intersection of keys), on
the reference topology and a small inline one, against sets computed independently here."""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from itertools import combinations

import pytest
from typer.testing import CliRunner

from controller.errors import InputError
from controller.cli.main import app
from controller.model.load import load_topology
from controller.model.select import KEYS, router_matches, select_limit, select_targets
from controller.model.topology import Router, Site, Topology

REF = load_topology()


def _small() -> Topology:
    """Two regions, a site without region, two platforms; a site name that differs from its id."""
    sites = {s.id: s for s in (
        Site("a", "Alpha", "datacentre", region="east"),
        Site("b", "Beta", "pop", region="west"),
        Site("c", "Gamma", "member"),
    )}
    rows = [("a-cr1", "a", "core", "frr"), ("a-cr2", "a", "core", "eos"),
            ("b-pe1", "b", "pe", "frr"), ("c-ce1", "c", "ce", "eos"), ("c-ce2", "c", "ce", "frr")]
    routers = {rid: Router(rid, site, role, platform, ipaddress.IPv4Interface(f"10.0.0.{i}/32"),
                           ipaddress.IPv4Interface(f"172.31.0.{i}/24"))
               for i, (rid, site, role, platform) in enumerate(rows, 1)}
    return Topology("small", "inline", sites, {}, {}, routers, {}, {})


SMALL = _small()


def ids(topo: Topology, pred: Callable[[Router], bool]) -> list[str]:
    return sorted(r.id for r in topo.routers.values() if pred(r))


def region(topo: Topology, r: Router) -> str | None:
    return topo.sites[r.site].region


# (limit, expected) on the reference topology; expected spelled out from the model's fields
REF_LIMITS: list[tuple[str | None, list[str]]] = [
    (None, sorted(REF.routers)),
    ("", sorted(REF.routers)),
    ("osl-*", ["osl-cr1", "osl-cr2"]),
    ("*-cr?", ids(REF, lambda r: re.fullmatch(r".*-cr.", r.id) is not None)),
    ("bod-pe1", ["bod-pe1"]),
    ("site=trd,bod-pe1", ["bod-pe1", "trd-cr1", "trd-cr2"]),
    ("site=Oslo", ids(REF, lambda r: r.site == "osl")),
    ("site=Tromsø", ids(REF, lambda r: r.site == "tos")),
    ("role=ce", ids(REF, lambda r: r.role == "ce")),
    ("role=ce, role=pe", ids(REF, lambda r: r.role in ("ce", "pe"))),
    ("platform=frr", sorted(REF.routers)),
    ("kind=member", ids(REF, lambda r: REF.sites[r.site].kind == "member")),
    ("group=region_north", ids(REF, lambda r: region(REF, r) == "north")),
    ("group=role_core,group=site_brg", ids(REF, lambda r: r.role == "core" or r.site == "brg")),
    ("host=unn-ce1,host=amk-*", ["amk-ce1", "unn-ce1"]),
    ("kind=datacentre,role=core", ids(REF, lambda r: r.role == "core")),
]


@pytest.mark.parametrize("limit,expected", REF_LIMITS)
def test_limit_on_reference(limit: str | None, expected: list[str]) -> None:
    assert expected and select_limit(REF, limit) == expected


SMALL_LIMITS: list[tuple[str, list[str]]] = [
    ("site=Alpha", ["a-cr1", "a-cr2"]),
    ("site=c", ["c-ce1", "c-ce2"]),
    ("platform=eos", ["a-cr2", "c-ce1"]),
    ("platform=eos,role=pe", ["a-cr2", "b-pe1", "c-ce1"]),
    ("group=region_west,group=c", ["b-pe1", "c-ce1", "c-ce2"]),
    ("c-ce[12],a-cr1", ["a-cr1", "c-ce1", "c-ce2"]),
    ("kind=pop", ["b-pe1"]),
]


@pytest.mark.parametrize("limit,expected", SMALL_LIMITS)
def test_limit_on_small(limit: str, expected: list[str]) -> None:
    assert select_limit(SMALL, limit) == expected


@pytest.mark.parametrize("limit,fragment", [
    ("nope", "'nope' matches no router"),
    ("osl-cr1,nope*", "'nope*' matches no router"),
    ("site=xyz", "'site=xyz' matches no router"),
    ("group=region_None", "matches no router"),  # a site without region is in no region group
    ("colour=red", "use site=, role=, platform=, group=, host= or kind="),
])
def test_limit_rejects(limit: str, fragment: str) -> None:
    topo = SMALL if "None" in limit else REF
    with pytest.raises(InputError, match=re.escape(fragment)):
        select_limit(topo, limit)


# (targets, limit, expected) on the inline topology, written out by hand
SMALL_TARGETS: list[tuple[dict[str, list[str]], list[str] | None, list[str]]] = [
    ({}, None, sorted(SMALL.routers)),
    ({"site": ["Alpha", "b"]}, None, ["a-cr1", "a-cr2", "b-pe1"]),
    ({"platform": ["eos"], "role": ["ce"]}, None, ["c-ce1"]),
    ({"group": ["region_east", "region_west"], "platform": ["frr"]}, None, ["a-cr1", "b-pe1"]),
    ({"kind": ["member"], "host": ["*2"]}, None, ["c-ce2"]),
    ({"role": ["core"]}, ["a-cr2", "c-ce1"], ["a-cr2"]),
    ({}, ["c-*"], ["c-ce1", "c-ce2"]),
    ({"site": ["Alpha"], "role": ["pe"]}, None, []),
    ({"site": ["nowhere"]}, None, []),
]


@pytest.mark.parametrize("targets,limit,expected", SMALL_TARGETS)
def test_targets_on_small(targets: dict[str, list[str]], limit: list[str] | None,
                          expected: list[str]) -> None:
    assert select_targets(SMALL, targets, limit) == expected


def test_targets_on_reference() -> None:
    north_pe = ids(REF, lambda r: region(REF, r) == "north" and r.role == "pe")
    assert north_pe and select_targets(REF, {"group": ["region_north"], "role": ["pe"]}) == north_pe
    assert select_targets(REF, {"site": ["Oslo"]}) == ["osl-cr1", "osl-cr2"]
    assert select_targets(REF, {"kind": ["member"]}, ["unn-ce1", "osl-cr1"]) == ["unn-ce1"]


def _values(topo: Topology) -> list[tuple[str, str]]:
    """Every (key, value) that names something in `topo`."""
    out = {("host", r) for r in topo.routers}
    for r in topo.routers.values():
        site = topo.sites[r.site]
        out |= {("site", r.site), ("site", site.name), ("role", r.role), ("kind", site.kind),
                ("platform", r.platform), ("group", f"site_{r.site}"), ("group", f"role_{r.role}")}
        if site.region:
            out.add(("group", f"region_{site.region}"))
    return sorted(out)


@pytest.mark.parametrize("topo", [REF, SMALL], ids=["reference", "small"])
def test_limit_and_targets_agree(topo: Topology) -> None:
    """One filter: limit KEY=VALUE == targets {KEY: [VALUE]}; a multi-term limit is the union,
    multi-key targets the intersection, of the single-filter selections."""
    pairs = _values(topo)
    assert {k for k, _ in pairs} == set(KEYS)
    single = {(k, v): select_limit(topo, f"{k}={v}") for k, v in pairs}
    for (k, v), chosen in single.items():
        assert chosen == select_targets(topo, {k: [v]})
        assert chosen == ids(topo, lambda r: router_matches(topo, r.id, k, [v]))
    for (p, q) in combinations(pairs, 2):
        union = sorted(set(single[p]) | set(single[q]))
        assert select_limit(topo, f"{p[0]}={p[1]},{q[0]}={q[1]}") == union
        if p[0] != q[0]:
            both = sorted(set(single[p]) & set(single[q]))
            assert select_targets(topo, {p[0]: [p[1]], q[0]: [q[1]]}) == both
        else:
            assert select_targets(topo, {p[0]: [p[1], q[1]]}) == union


def test_unknown_target_key() -> None:
    with pytest.raises(InputError, match="unknown router filter 'colour'"):
        select_targets(REF, {"colour": ["red"]})


@pytest.mark.parametrize("limit,fragment", [
    ("nope*", "matches no router"), ("colour=red", "use site="),
])
def test_cli_reports_bad_limit(limit: str, fragment: str) -> None:
    res = CliRunner().invoke(app, ["render", "--limit", limit])
    assert res.exit_code == 2 and fragment in res.stderr.replace("\n", " ")


def test_cli_render_honours_limit() -> None:
    res = CliRunner().invoke(app, ["render", "--limit", "site=Bodø"])
    expected = ids(REF, lambda r: r.site == "bod")
    assert res.exit_code == 0
    assert re.findall(r"^# (\S+)$", res.stdout, re.M) == expected
