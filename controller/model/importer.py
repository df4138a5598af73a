"""Import an Internet Topology Zoo GraphML file as an ngk topology document.

Every node becomes a site with one optical node and one FRR core router; every edge becomes a
fibre span with one IP link riding it (parallel edges stay separate). Rules (docs/availability.md):
- site id: the slugified label, suffixed -2, -3, ... on clashes; the node id when unlabelled;
- kind: `member` for nodes the Zoo marks external (Internal = 0), `pop` for the rest;
- span km: great-circle distance between the ends (at least MIN_KM for co-located nodes),
  omitted when an end has no coordinates; self-loop edges are skipped.
"""
from __future__ import annotations

import json
import math
import re
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import networkx as nx
import yaml

from controller.model.source import Diagnostic, InputError

ADDRESSING = {"p2p": "10.0.0.0/16", "loopbacks": "10.255.0.0/16", "mgmt": "172.16.0.0/16"}
MIN_KM = 0.1  # co-located nodes: a campus patch fibre
_TRANSLIT = str.maketrans({"ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "ß": "ss", "ð": "d",
                           "þ": "th", "ł": "l", "Ł": "l", "đ": "d"})
_SECTIONS = ("sites", "optical_nodes", "spans", "routers", "links")


def import_graphml(path: str | Path) -> tuple[dict[str, Any], list[Diagnostic]]:
    """The YAML-ready topology document for a GraphML file, and warnings; InputError if bad."""
    name = str(path)
    graph = _read(Path(path))
    warnings: list[Diagnostic] = []
    ids = _site_ids(graph)
    sites, onodes, routers = [], [], []
    for node, data in graph.nodes(data=True):
        sid = ids[node]
        site: dict[str, Any] = {"id": sid, "name": str(data.get("label", node)),
                                "kind": "member" if data.get("Internal") == 0 else "pop"}
        if _coords(data):
            site["lat"], site["lon"] = float(data["Latitude"]), float(data["Longitude"])
        sites.append(site)
        onodes.append({"id": sid, "site": sid})
        routers.append({"id": f"{sid}-cr1", "site": sid, "role": "core", "platform": "frr"})
    spans, links, unknown, loops = [], [], [], []
    next_if = {sid: 1 for sid in ids.values()}
    taken: set[str] = set()
    for u, v, data in graph.edges(data=True):
        a, b = ids[u], ids[v]
        if a == b:
            loops.append(a)
            continue
        span_id = _unique(f"{a}-{b}", taken)
        span: dict[str, Any] = {"id": span_id, "a": a, "b": b}
        km = haversine_km(graph.nodes[u], graph.nodes[v])
        if km is None:
            unknown.append(span_id)
        else:
            span["km"] = max(MIN_KM, round(km, 1))
        spans.append(span)
        link: dict[str, Any] = {"id": f"{span_id}.ip"}
        for side, sid in (("a", a), ("b", b)):
            link[side] = {"router": f"{sid}-cr1", "interface": f"eth{next_if[sid]}"}
            next_if[sid] += 1
        speed = data.get("LinkSpeedRaw")
        if isinstance(speed, (int, float)) and speed > 0:
            link["capacity_gbps"] = speed / 1e9
        link["route"] = [span_id]
        links.append(link)
    if loops:
        warnings.append(Diagnostic(name, None, "edges", f"skipped {len(loops)} self-loop edge(s) "
                                   f"at {', '.join(sorted(set(loops)))}", "warning"))
    if unknown:
        warnings.append(Diagnostic(name, None, "edges", f"{len(unknown)} span(s) of unknown "
                                   f"length (an end has no coordinates): {', '.join(unknown)}",
                                   "warning"))
    title = graph.graph.get("Network") or graph.graph.get("label") or Path(path).stem
    doc = {"name": str(title), "addressing": dict(ADDRESSING), "sites": sites,
           "optical_nodes": onodes, "spans": spans, "routers": routers, "links": links}
    return doc, warnings


def write_topology_yaml(doc: dict[str, Any], out_path: str | Path) -> None:
    """Write a document from `import_graphml` as readable YAML, one flow-style line per entry."""
    def flow(value: Any) -> str:
        return yaml.safe_dump(value, default_flow_style=True, allow_unicode=True,
                              sort_keys=False, width=math.inf).strip()

    lines = ["# Imported from Topology Zoo GraphML by `ngk topology import` (rules: "
             "docs/availability.md).", "# Format: docs/topology-format.md",
             f"name: {json.dumps(doc['name'], ensure_ascii=False)}",
             f"addressing: {flow(doc['addressing'])}"]
    for section in _SECTIONS:
        lines.append(f"{section}:" if doc[section] else f"{section}: []")
        lines.extend(f"  - {flow(entry)}" for entry in doc[section])
    Path(out_path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def haversine_km(a: dict[str, Any], b: dict[str, Any]) -> float | None:
    """Great-circle km between two GraphML nodes' Latitude/Longitude, None if either lacks them."""
    if not (_coords(a) and _coords(b)):
        return None
    p1, p2 = math.radians(a["Latitude"]), math.radians(b["Latitude"])
    dp, dl = p2 - p1, math.radians(b["Longitude"] - a["Longitude"])
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(h)))


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text.translate(_TRANSLIT))
    ascii_text = ascii_text.encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _read(path: Path) -> nx.MultiGraph:
    def bad(message: str) -> InputError:
        return InputError([Diagnostic(str(path), None, "", message)])

    if not path.is_file():
        raise bad("not a file")
    try:
        graph = nx.read_graphml(path, force_multigraph=True)
    except ET.ParseError as exc:
        raise bad(f"XML error: {exc}") from None
    except (nx.NetworkXError, ValueError, KeyError) as exc:
        raise bad(f"not a GraphML file: {exc}") from None
    except OSError as exc:
        raise bad(f"cannot read file: {exc.strerror}") from None
    if graph.number_of_nodes() == 0:
        raise bad("the graph has no nodes")
    return nx.MultiGraph(graph)  # directed GraphML: one span per edge, direction dropped


def _site_ids(graph: nx.MultiGraph) -> dict[Any, str]:
    taken: set[str] = set()
    return {node: _unique(slugify(str(data.get("label", ""))) or slugify(str(node)) or "n",
                          taken) for node, data in graph.nodes(data=True)}


def _unique(base: str, taken: set[str]) -> str:
    ident, n = base, 1
    while ident in taken:
        n += 1
        ident = f"{base}-{n}"
    taken.add(ident)
    return ident


def _coords(data: dict[str, Any]) -> bool:
    return all(isinstance(data.get(k), (int, float)) for k in ("Latitude", "Longitude"))
