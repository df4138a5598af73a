"""Pictures: valid PNG/SVG files with the site names, path pairs and failures drawn."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from controller.errors import InputError
from controller.analysis.draw import draw, layout
from controller.model.importer import import_graphml, write_topology_yaml
from controller.model.load import load_topology

ZOO = Path(__file__).resolve().parents[1] / "data" / "zoo"


def svg_text(path: Path) -> str:
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    return " ".join(t for el in root.iter() if el.tag.endswith("text") for t in el.itertext())


def test_png_reference(tmp_path: Path) -> None:
    out = tmp_path / "map.png"
    draw(load_topology(), out)
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert 30_000 < len(data) < 5_000_000


def test_svg_has_site_names(tmp_path: Path) -> None:
    topo = load_topology()
    out = tmp_path / "map.svg"
    draw(topo, out)
    text = svg_text(out)
    for site in topo.sites.values():
        assert site.name in text
    for srlg in topo.srlgs():
        assert srlg in text  # legend


def test_failure(tmp_path: Path) -> None:
    out = tmp_path / "fail.svg"
    result = draw(load_topology(), out, failures=("srlg:duct-e6-gardermoen",))
    assert set(result["links_down"]) == {"osl-trd-1", "osl-trd-2", "osl-ham-1", "osl-ham-2"}
    assert "IP link down (4)" in svg_text(out)


def test_path_pair(tmp_path: Path) -> None:
    out = tmp_path / "pair.svg"
    result = draw(load_topology(), out, pair=("osl", "trd"), diversity="srlg")
    assert len(result["paths"]["paths"]) == 2
    assert "path 1" in svg_text(out) and "path 2" in svg_text(out)


def test_layout_keeps_geography_and_places_everything(tmp_path: Path) -> None:
    topo = load_topology()
    pos = layout(topo)
    assert set(pos) == set(topo.sites) | {n.id for n in topo.optical_nodes.values()
                                          if n.site is None}
    # north stays north, west stays west
    assert pos["tos"][1] > pos["bod"][1] > pos["trd"][1] > pos["osl"][1]
    assert pos["brg"][0] < pos["osl"][0]


def test_imported_topology_without_some_coordinates(tmp_path: Path) -> None:
    doc, _ = import_graphml(ZOO / "Nordu2010.graphml")
    yaml_path = tmp_path / "nordu.yaml"
    write_topology_yaml(doc, yaml_path)
    topo = load_topology(yaml_path)
    out = tmp_path / "nordu.svg"
    draw(topo, out)
    pos = layout(topo)
    assert len({(round(x, 6), round(y, 6)) for x, y in pos.values()}) == len(pos)
    text = svg_text(out)
    assert all(s.name in text for s in topo.sites.values() if "&" not in s.name)


def test_bad_format(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        draw(load_topology(), tmp_path / "map.gif")
