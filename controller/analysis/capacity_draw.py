"""The capacity picture (PNG or SVG): the map with every IP link coloured by its worst-case
utilisation, and a per-link chart of intact and worst-case utilisation, the worst first.

Each link's line carries the SVG id `link-<id>` (and its bar `bar-<id>`), so a reader or a test
can find it. The map reuses `draw.layout` and its curve and place helpers.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from controller.analysis.draw import FORMATS, _bends, _curve, _places, layout
from controller.errors import InputError
from controller.fileio import check_writable
from controller.model.topology import Topology

CMAP = "RdYlGn_r"  # green idle, yellow busy, red at and over 100 %
SCALE = Normalize(0.0, 1.0, clip=True)
BARS = 40  # the chart shows this many links, the worst first


def check_picture(out: Path) -> None:
    """Refuse a picture file we cannot write before any work is done."""
    if out.suffix.lower() not in FORMATS:
        raise InputError(f"picture format must be one of {', '.join(FORMATS)}, got {out.name!r}")
    check_writable(out)


def colour(utilisation: float) -> tuple[float, float, float, float]:
    """The colour of a utilisation (a fraction; 1.0 and over are the same red)."""
    return matplotlib.colormaps[CMAP](SCALE(utilisation))


def draw_capacity(topo: Topology, data: dict[str, Any], out: Path, threshold: float) -> Path:
    """Write the picture of `ngk capacity`'s result `data`; returns the file."""
    check_picture(out)
    links = sorted(data["links"], key=lambda lk: (-lk["worst_utilisation"], lk["id"]))
    fig = Figure(figsize=(18, 10), layout="constrained")
    grid = fig.add_gridspec(1, 2, width_ratios=(3, 2))
    _map(fig.add_subplot(grid[0]), topo, links)
    _chart(fig.add_subplot(grid[1]), links[:BARS], threshold, len(links))
    sm = matplotlib.cm.ScalarMappable(norm=SCALE, cmap=CMAP)
    fig.colorbar(sm, ax=fig.axes, location="bottom", shrink=0.5, aspect=40,
                 label="worst-case utilisation (1.0 = 100 % and over)")
    summ = data["summary"]
    fig.suptitle(f"{topo.name}: capacity under failure, depth {data['depth']} "
                 f"({','.join(data['kinds'])}), {summ['scenarios']} scenarios, "
                 f"{summ['congested_scenarios']} congested, worst "
                 f"{100 * summ['max_utilisation']:.1f} %", x=0.01, ha="left", fontsize=12)
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(out, dpi=120)
    return out


def _map(ax: Any, topo: Topology, links: list[dict[str, Any]]) -> None:
    ax.set_aspect("equal")
    ax.set_axis_off()
    pos = layout(topo)
    ids = [lk["id"] for lk in links]
    bends = _bends(ids, lambda i: topo.link_sites(topo.links[i]))
    # least loaded first, so the red ones are drawn on top
    for lk in reversed(links):
        a, b = topo.link_sites(topo.links[lk["id"]])
        if a == b:
            continue  # inside a site: on the chart only
        xs, ys = _curve(pos[a], pos[b], bends[lk["id"]])
        (line,) = ax.plot(xs, ys, color=colour(lk["worst_utilisation"]),
                          lw=1.5 + 2.5 * min(lk["worst_utilisation"], 1.2),
                          solid_capstyle="round", zorder=2 + lk["worst_utilisation"])
        line.set_gid(f"link-{lk['id']}")
    _places(ax, topo, pos, None)
    ax.set_title("IP links by worst-case utilisation", loc="left", fontsize=11)


def _chart(ax: Any, links: list[dict[str, Any]], threshold: float, total: int) -> None:
    ys = range(len(links))
    worst = [100 * lk["worst_utilisation"] for lk in links]
    intact = [100 * lk["utilisation"] for lk in links]
    bars = ax.barh(ys, worst, color=[colour(lk["worst_utilisation"]) for lk in links],
                   height=0.8, label="worst failure")
    for bar, lk in zip(bars, links):
        bar.set_gid(f"bar-{lk['id']}")
    ax.barh(ys, intact, color="none", edgecolor="#37474f", height=0.8, hatch="//",
            label="intact")
    ax.set_yticks(list(ys), [lk["id"] for lk in links], fontsize=7)
    ax.invert_yaxis()
    for y, lk, w in zip(ys, links, worst):
        fail = " + ".join(f"{f['kind']}:{f['id']}" for f in lk["worst_failure"]) or "intact"
        ax.annotate(fail, (w, y), xytext=(3, 0), textcoords="offset points", va="center",
                    fontsize=6)
    ax.axvline(100, color="#b71c1c", lw=1)
    if threshold < 1.0:
        ax.axvline(100 * threshold, color="#b71c1c", lw=1, ls="--",
                   label=f"threshold {100 * threshold:g} %")
    ax.set_xlim(0, max([*worst, 100.0]) * 1.35)
    ax.set_xlabel("utilisation (%)")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(f"the {len(links)} most loaded of {total} links, under their worst failure",
                 loc="left", fontsize=11)
