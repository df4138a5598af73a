"""GraphML import: counts, names and lengths against the source files, and clean bad-input
errors."""
from __future__ import annotations

import math
from pathlib import Path

import networkx as nx
import pytest

from controller.model.importer import MIN_KM, import_graphml, write_topology_yaml
from controller.model.load import load_topology
from controller.model.source import InputError

ZOO = Path(__file__).resolve().parents[1] / "data" / "zoo"
FILES = sorted(ZOO.glob("*.graphml"))


def independent_km(a: dict, b: dict) -> float | None:
    """Haversine via the chord length on a unit sphere (a different formula from the importer)."""
    if not all(isinstance(n.get(k), (int, float))
               for n in (a, b) for k in ("Latitude", "Longitude")):
        return None
    def xyz(n: dict) -> tuple[float, float, float]:
        lat, lon = math.radians(n["Latitude"]), math.radians(n["Longitude"])
        return math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)
    chord = math.dist(xyz(a), xyz(b))
    return 2 * 6371.0088 * math.asin(chord / 2)


def test_zoo_files_present() -> None:
    assert len(FILES) >= 4


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_import_matches_source(path: Path, tmp_path: Path) -> None:
    graph = nx.read_graphml(path, force_multigraph=True)
    doc, _ = import_graphml(path)
    out = tmp_path / "topo.yaml"
    write_topology_yaml(doc, out)
    topo = load_topology(out)
    loops = nx.number_of_selfloops(graph)
    assert len(topo.sites) == graph.number_of_nodes()
    assert len(topo.spans) == graph.number_of_edges() - loops
    assert len(topo.links) == graph.number_of_edges() - loops
    assert len(topo.routers) == graph.number_of_nodes()
    labels = sorted(str(d.get("label", n)) for n, d in graph.nodes(data=True))
    assert sorted(s.name for s in topo.sites.values()) == labels
    # spans follow the source edges, parallel ones included
    by_name = {s.id: s.name for s in topo.sites.values()}
    got = sorted(tuple(sorted((by_name[topo.optical_nodes[s.a].site],
                               by_name[topo.optical_nodes[s.b].site])))
                 for s in topo.spans.values())
    want = sorted(tuple(sorted((str(graph.nodes[u].get("label", u)),
                                str(graph.nodes[v].get("label", v)))))
                  for u, v in graph.edges() if u != v)
    assert got == want
    # lengths: per source edge, matched by endpoints in order of appearance
    site_of = {}
    for (node, data), site in zip(graph.nodes(data=True), doc["sites"]):
        assert site["name"] == str(data.get("label", node))
        site_of[node] = site["id"]
    edges = [(u, v) for u, v in graph.edges() if u != v]
    for (u, v), span in zip(edges, doc["spans"]):
        assert (span["a"], span["b"]) == (site_of[u], site_of[v])
        want_km = independent_km(graph.nodes[u], graph.nodes[v])
        if want_km is None:
            assert topo.spans[span["id"]].km is None
        else:
            assert topo.spans[span["id"]].km == pytest.approx(max(MIN_KM, want_km), abs=0.06)


def test_duplicate_labels_get_unique_ids() -> None:
    doc, _ = import_graphml(ZOO / "Uninett2011.graphml")
    ids = [s["id"] for s in doc["sites"]]
    names = [s["name"] for s in doc["sites"]]
    assert len(set(ids)) == len(ids)
    assert len(set(names)) < len(names)  # the source repeats labels


def test_unknown_lengths_warned(tmp_path: Path) -> None:
    doc, warnings = import_graphml(ZOO / "Nordu2010.graphml")
    missing = [s["id"] for s in doc["spans"] if "km" not in s]
    assert missing
    assert any(all(m in w.message for m in missing) for w in warnings)


def _write_graph(graph: nx.Graph, path: Path) -> Path:
    nx.write_graphml(graph, path)
    return path


def test_self_loops_skipped_and_parallel_kept(tmp_path: Path) -> None:
    g = nx.MultiGraph()
    g.add_node("0", label="Tromsø", Latitude=69.65, Longitude=18.96)
    g.add_node("1", label="Tromsø", Latitude=69.68, Longitude=18.98)
    g.add_node("2")
    g.add_edges_from([("0", "1"), ("0", "1"), ("1", "1"), ("1", "2")])
    doc, warnings = import_graphml(_write_graph(g, tmp_path / "g.graphml"))
    assert [s["id"] for s in doc["sites"]] == ["tromso", "tromso-2", "2"]
    assert len(doc["spans"]) == len(doc["links"]) == 3
    assert len({s["id"] for s in doc["spans"]}) == 3
    assert any("self-loop" in w.message for w in warnings)
    out = tmp_path / "t.yaml"
    write_topology_yaml(doc, out)
    topo = load_topology(out)
    assert [len([lk for lk in topo.links.values()
                 if topo.link_sites(lk) == ("tromso", "tromso-2")])] == [2]


@pytest.mark.parametrize("content", [None, "not xml at all", "<?xml version='1.0'?><foo/>",
                                     "<graphml><graph>"])
def test_bad_input(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "bad.graphml"
    if content is None:
        path.mkdir()
    else:
        path.write_text(content)
    with pytest.raises(InputError) as exc:
        import_graphml(path)
    assert exc.value.diagnostics[0].file == str(path)


def test_cli_import(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from controller.cli.main import app
    out = tmp_path / "sunet.yaml"
    res = CliRunner().invoke(app, ["topology", "import", str(ZOO / "Sunet.graphml"),
                                   "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    assert len(load_topology(out).sites) == 26
    bad = CliRunner().invoke(app, ["topology", "import", str(tmp_path / "nope.graphml"),
                                   "--out", str(out)])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
