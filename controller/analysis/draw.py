"""Draw a topology map (PNG or SVG): sites by kind, spans coloured by SRLG, optional path pair
or failure. Sites sit at their lat/lon (equirectangular, true local aspect); optical huts and
sites without coordinates sit at the barycentre of their neighbours (zero-length springs
to the fixed ones); a part with no coordinates at all gets a spring layout beside the map.
"""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import networkx as nx
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from controller.errors import InputError
from controller.analysis.paths import diverse_pair
from controller.model.layers import Element, Outage, outage, resolve_element
from controller.model.topology import Topology

FORMATS = (".png", ".svg")
KIND_STYLE = {  # marker, size, colour, label font size, weight
    "datacentre": ("s", 13, "#c0392b", 11, "bold"),
    "pop": ("o", 9, "#2c6fbb", 9, "normal"),
    "member": ("o", 6, "#27ae60", 7.5, "normal"),
}
HUT_STYLE = ("^", 4.5, "#7f8c8d", 6.5)
NO_SRLG = "#6b6b6b"
PATH_COLOURS = ("#1565c0", "#ef6c00")
LABEL_BOX = {"boxstyle": "round,pad=0.12", "fc": "white", "ec": "none", "alpha": 0.75}


def draw(topo: Topology, out: str | Path, pair: tuple[str, str] | None = None,
         diversity: str = "srlg", metric: str = "latency", failures: tuple[str, ...] = ()) -> dict:
    """Write the picture; returns what was drawn (file, path pair, failed elements)."""
    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise InputError(f"picture format must be one of {', '.join(FORMATS)}, got {out.name!r}")
    failed = [resolve_element(topo, ref) for ref in failures]
    down = outage(topo, failed) if failed else None
    paths = diverse_pair(topo, pair[0], pair[1], diversity, metric) if pair else None
    pos = layout(topo)
    xs, ys = zip(*pos.values())
    width, height = max(xs) - min(xs) or 1.0, max(ys) - min(ys) or 1.0
    map_h = 11.0
    map_w = min(16.0, max(6.0, map_h * width / height))
    fig = Figure(figsize=(map_w + 3.8, map_h), layout="constrained")
    ax = fig.add_subplot()
    ax.set_aspect("equal")
    ax.set_axis_off()
    legend = _spans(ax, topo, pos, paths, down)
    if down:
        legend += _failed_links(ax, topo, pos, down)
    legend += _places(ax, topo, pos, down)
    ax.set_title(_title(topo, paths, failed, down), fontsize=12, loc="left")
    fig.legend(handles=legend, loc="outside right upper", fontsize=8, frameon=False)
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(out, dpi=150)
    return {"file": str(out), "paths": paths,
            "failed": [e.as_dict() for e in failed],
            "links_down": sorted(down.links) if down else []}


def layout(topo: Topology) -> dict[str, tuple[float, float]]:
    """Position per place (site id, or optical node id for huts outside sites)."""
    graph = nx.Graph()
    graph.add_nodes_from(topo.sites)
    graph.add_nodes_from(n.id for n in topo.optical_nodes.values() if n.site is None)
    graph.add_edges_from(tuple(map(_place(topo), (s.a, s.b))) for s in topo.spans.values())
    graph.add_edges_from(topo.link_sites(link) for link in topo.links.values())
    placed = {s.id: (s.lat, s.lon) for s in topo.sites.values()
              if s.lat is not None and s.lon is not None}
    if not placed:
        return {n: (float(p[0]), float(p[1])) for n, p in nx.spring_layout(graph, seed=1).items()}
    lat0 = math.radians(sum(lat for lat, _ in placed.values()) / len(placed))
    pos = {i: np.array([lon * math.cos(lat0), lat]) for i, (lat, lon) in placed.items()}
    known = [np.hypot(*(pos[u] - pos[v])) for u, v in graph.edges if u in pos and v in pos]
    k = float(np.median(known)) if known else 1.0
    right = max(p[0] for p in pos.values()) + k
    for part in nx.connected_components(graph):
        free = part - pos.keys()
        if not free:
            continue
        if free == part:  # no anchor: a spring layout of its own, beside the map
            sub = nx.spring_layout(graph.subgraph(part), seed=1, scale=k * math.sqrt(len(part)))
            pos.update({n: p + [right + k * math.sqrt(len(part)), 0] for n, p in sub.items()})
            right += 2.5 * k * math.sqrt(len(part))
            continue
        anchors = np.mean([pos[n] for n in part if n in pos], axis=0)
        pos.update({n: anchors.copy() for n in free})
        for _ in range(100):  # zero-length springs to the neighbours, anchors fixed (Tutte)
            for n in free:
                pos[n] = np.mean([pos[m] for m in graph[n]], axis=0)
    return _spread({n: (float(p[0]), float(p[1])) for n, p in pos.items()})


def _spread(pos: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """Push places closer than 2.5 % of the map apart so every marker stays visible."""
    names = list(pos)
    p = np.array([pos[n] for n in names], dtype=float)
    extent = float(np.ptp(p, axis=0).max()) or 1.0
    gap = 0.025 * extent
    p += np.random.default_rng(1).normal(0, gap * 1e-3, p.shape)  # co-located: a direction
    for _ in range(40):
        d = p[:, None, :] - p[None, :, :]
        dist = np.hypot(d[..., 0], d[..., 1]) + np.eye(len(p))
        close = (dist < gap) & ~np.eye(len(p), dtype=bool)
        if not close.any():
            break
        push = np.where(close[..., None], d / dist[..., None] * (gap - dist[..., None]) / 2, 0)
        p += push.sum(axis=1)
    return {n: (float(x), float(y)) for n, (x, y) in zip(names, p)}


def _place(topo: Topology):
    return lambda node: topo.optical_nodes[node].site or node


def _curve(a: tuple[float, float], b: tuple[float, float], bend: float) -> tuple[list, list]:
    """A quadratic Bezier from a to b bowed sideways by `bend` x its length."""
    (x1, y1), (x2, y2) = a, b
    cx, cy = (x1 + x2) / 2 - bend * (y2 - y1), (y1 + y2) / 2 + bend * (x2 - x1)
    t = np.linspace(0, 1, 24)
    return (list((1 - t) ** 2 * x1 + 2 * (1 - t) * t * cx + t ** 2 * x2),
            list((1 - t) ** 2 * y1 + 2 * (1 - t) * t * cy + t ** 2 * y2))


def _bends(ids: list[str], ends) -> dict[str, float]:
    """A sideways bend per element so parallel ones between the same places stay apart."""
    groups: dict[frozenset, list[str]] = {}
    for ident in ids:
        groups.setdefault(frozenset(ends(ident)), []).append(ident)
    return {ident: (i - (len(g) - 1) / 2) * 0.18 for g in groups.values()
            for i, ident in enumerate(g)}


def _spans(ax, topo: Topology, pos, paths: dict | None, down: Outage | None) -> list:
    place = _place(topo)
    srlgs = list(topo.srlgs())
    # the registry is typed Colormap; tab20 and tab20b are ListedColormaps, which have .colors
    tab = matplotlib.colormaps["tab20"].colors  # type: ignore[attr-defined]
    tab_b = matplotlib.colormaps["tab20b"].colors  # type: ignore[attr-defined]
    palette = tab[:6] + tab[8:14] + tab[16:] + tab_b  # no red/grey
    colour = {g: palette[i % len(palette)] for i, g in enumerate(srlgs)}
    ends = {s.id: (place(s.a), place(s.b)) for s in topo.spans.values()}
    bends = _bends(list(ends), ends.get)
    on_path = [set(p["spans"]) for p in (paths or {}).get("paths", [])]
    faded = 0.35 if on_path else 1.0
    for span in topo.spans.values():
        a, b = ends[span.id]
        xs, ys = _curve(pos[a], pos[b], bends[span.id])
        if down and span.id in down.spans:
            ax.plot(xs, ys, color="#d32f2f", lw=2.6, ls=(0, (4, 2)), zorder=3)
            continue
        c = colour[span.srlgs[0]] if span.srlgs else NO_SRLG
        ax.plot(xs, ys, color=c, lw=2.2 if span.srlgs else 1.3, alpha=faded, zorder=2,
                solid_capstyle="round")
        for i, spans in enumerate(on_path):
            if span.id in spans:
                shift = 0.04 * (1 if i else -1) if len(on_path) == 2 and span.id in \
                    on_path[1 - i] else 0.0
                px, py = _curve(pos[a], pos[b], bends[span.id] + shift)
                ax.plot(px, py, color=PATH_COLOURS[i], lw=5.5, alpha=0.8, zorder=4,
                        solid_capstyle="round")
    shown = srlgs[:30]
    handles = [Line2D([], [], color=colour[g], lw=2.5, label=g) for g in shown]
    if len(srlgs) > len(shown):
        handles.append(Line2D([], [], color="none", label=f"... {len(srlgs) - len(shown)} more"))
    if any(not s.srlgs for s in topo.spans.values()):
        handles.append(Line2D([], [], color=NO_SRLG, lw=1.3, label="span without SRLG"))
    for i, p in enumerate((paths or {}).get("paths", [])):
        handles.append(Line2D([], [], color=PATH_COLOURS[i], lw=5, label=f"path {i + 1}: "
                              f"{p['latency_ms']:.2f} ms, {p['km']:.0f} km"))
    if down and down.spans:
        handles.append(Line2D([], [], color="#d32f2f", lw=2.5, ls=(0, (4, 2)),
                              label=f"failed span ({len(down.spans)})"))
    return handles


def _failed_links(ax, topo: Topology, pos, down: Outage) -> list:
    ids = sorted(down.links)
    bends = _bends(ids, lambda i: topo.link_sites(topo.links[i]))
    for ident in ids:
        a, b = topo.link_sites(topo.links[ident])
        if a != b:
            xs, ys = _curve(pos[a], pos[b], 0.25 + bends[ident])
            ax.plot(xs, ys, color="#9e9e9e", lw=1.2, ls=":", zorder=1)
    return [Line2D([], [], color="#9e9e9e", lw=1.2, ls=":", label=f"IP link down ({len(ids)})")]


def _places(ax, topo: Topology, pos, down: Outage | None) -> list:
    xy = np.array(list(pos.values()))
    names = list(pos)

    def label(node: str, text: str, size: float, **kw) -> None:
        """Put the label on the side away from the nearest other place."""
        p = np.array(pos[node])
        d = np.hypot(*(xy - p).T)
        d[names.index(node)] = np.inf
        away = p - xy[int(np.argmin(d))] if len(xy) > 1 else np.array([1.0, 0.0])
        away = away / (np.hypot(*away) or 1.0)
        ax.annotate(text, pos[node], xytext=(9 * away[0], 9 * away[1]),
                    textcoords="offset points", fontsize=size, zorder=7, bbox=LABEL_BOX,
                    ha="left" if away[0] >= 0 else "right",
                    va="bottom" if away[1] >= 0 else "top", **kw)

    for node in topo.optical_nodes.values():
        if node.site is None:
            marker, size, colour, font = HUT_STYLE
            ax.plot(*pos[node.id], marker=marker, ms=size, color=colour, zorder=5, ls="")
            label(node.id, node.id, font, color=colour, style="italic")
    for site in topo.sites.values():
        marker, size, colour, font, weight = KIND_STYLE[site.kind]
        dead = down is not None and (site.id in down.sites or any(
            r.id in down.routers for r in topo.routers_at(site.id)))
        ax.plot(*pos[site.id], marker=marker, ms=size, color=colour, zorder=6, ls="",
                mec="#d32f2f" if dead else "white", mew=2.2 if dead else 1.0)
        if down is not None and site.id in down.sites:
            ax.plot(*pos[site.id], marker="x", ms=size + 4, color="#d32f2f", mew=2.5, zorder=6)
        label(site.id, site.name, font, weight=weight)
    handles = [Line2D([], [], marker=m, ms=s, color=c, ls="", label=kind)
               for kind, (m, s, c, _, _) in KIND_STYLE.items()
               if any(site.kind == kind for site in topo.sites.values())]
    if any(n.site is None for n in topo.optical_nodes.values()):
        handles.append(Line2D([], [], marker=HUT_STYLE[0], ms=HUT_STYLE[1], color=HUT_STYLE[2],
                              ls="", label="optical hut"))
    return handles


def _title(topo: Topology, paths: dict | None, failed: list[Element], down: Outage | None) -> str:
    title = f"{topo.name}: {len(topo.sites)} sites, {len(topo.spans)} spans, " \
            f"{len(topo.srlgs())} SRLGs"
    if paths:
        shared = ", ".join(x for v in paths["shared"].values() for x in v) or "nothing"
        verdict = "diverse" if paths["diverse"] else f"NOT diverse (share {shared})"
        title += f"\n{paths['diversity']}-diverse pair {paths['src']} - {paths['dst']}: {verdict}"
        if paths.get("reason") and not paths["paths"]:
            title += f" ({paths['reason']})"
    if failed and down:
        title += f"\nfailure of {', '.join(map(str, failed))}: {len(down.spans)} spans, " \
                 f"{len(down.links)} IP links down"
    return title
