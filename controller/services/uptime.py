"""Availability from the recorded state changes (`ngk uptime`): per router, IP link and
datacentre pair over a window, and a PNG timeline."""
from __future__ import annotations

import time
from itertools import combinations
from typing import Any

from controller.model.topology import Topology
from controller.services.monitor import ADJACENCY, SCHEMA
from controller.store import Store


class _Tally:
    def __init__(self) -> None:
        self.up = self.down = 0.0
        self.intervals: list[list[float]] = []

    def add(self, state: bool | None, start: float, end: float) -> None:
        if state is None:
            return
        if state:
            self.up += end - start
        else:
            self.down += end - start
            if self.intervals and self.intervals[-1][1] == start:
                self.intervals[-1][1] = end
            else:
                self.intervals.append([start, end])

    def report(self, key: str, name: str) -> dict[str, Any]:
        known = self.up + self.down
        return {key: name, "availability_pct": round(100 * self.up / known, 4) if known else None,
                "downtime_s": round(self.down, 3), "known_s": round(known, 3),
                "outages": len(self.intervals), "down_intervals": self.intervals}


def uptime_report(store: Store, topo: Topology | None, since: float, until: float
                  ) -> dict[str, Any]:
    """Availability % and downtime per router, per IP link and per datacentre pair over
    [since, until], from state changes (state before `since` = the last change before it; time
    with no known state is left out of the denominator). Raises sqlite3.Error if unreadable."""
    import networkx as nx

    from controller.model.layers import Element, outage, site_graph

    store.register("monitor", SCHEMA)
    rows = store.query("SELECT ts, router, interface, state FROM state_changes WHERE ts <= ? "
                       "ORDER BY ts", (until,))
    state: dict[tuple[str, str], bool] = {}
    i = 0
    while i < len(rows) and rows[i][0] <= since:
        state[(rows[i][1], rows[i][2])] = rows[i][3] == "up"
        i += 1
    routers = sorted({r for _, r, _, _ in rows} | (set(topo.routers) if topo else set()))
    links = list(topo.links.values()) if topo else []
    pairs = list(combinations(sorted(topo.datacentres()), 2)) if topo else []
    tallies = {("router", r): _Tally() for r in routers}
    tallies.update({("link", lk.id): _Tally() for lk in links})
    tallies.update({("pair", p): _Tally() for p in pairs})
    pair_cache: dict[frozenset, dict] = {}
    t = since
    while t < until:
        nxt = rows[i][0] if i < len(rows) else until
        for r in routers:
            tallies[("router", r)].add(state.get((r, "")), t, nxt)
        down: list[Element] = []
        for lk in links:
            parts = [state.get(k) for k in ((lk.a.router, ""), (lk.b.router, ""),
                                             (lk.a.router, lk.a.interface),
                                             (lk.b.router, lk.b.interface),
                                             (lk.a.router, ADJACENCY + lk.a.interface),
                                             (lk.b.router, ADJACENCY + lk.b.interface))]
            known = [p for p in parts if p is not None]
            link_up = all(known) if known else None
            tallies[("link", lk.id)].add(link_up, t, nxt)
            if link_up is False:
                down.append(Element("link", lk.id))
        if pairs:
            key = frozenset(down)
            if key not in pair_cache:
                g = site_graph(topo, outage(topo, down))
                pair_cache[key] = {p: nx.has_path(g, *p) for p in pairs}
            any_known = any(v is not None for v in state.values())
            for p in pairs:
                tallies[("pair", p)].add(pair_cache[key][p] if any_known else None, t, nxt)
        while i < len(rows) and rows[i][0] <= nxt:
            state[(rows[i][1], rows[i][2])] = rows[i][3] == "up"
            i += 1
        t = nxt
    return {"since": since, "until": until,
            "routers": [tallies[("router", r)].report("router", r) for r in routers],
            "links": [tallies[("link", lk.id)].report("link", lk.id) for lk in links],
            "datacentre_pairs": [tallies[("pair", p)].report("pair", "-".join(p)) for p in pairs]}


def render_timeline(report: dict[str, Any], path: str) -> None:
    """A PNG timeline: one row per router, link and datacentre pair, red where down."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [(f"router {x['router']}", x) for x in report["routers"]]
    rows += [(f"link {x['link']}", x) for x in report["links"]]
    rows += [(f"DC {x['pair']}", x) for x in report["datacentre_pairs"]]
    since, until = report["since"], report["until"]
    fig, ax = plt.subplots(figsize=(11, 0.28 * len(rows) + 1.2))
    for y, (_, x) in enumerate(rows):
        colour = "#d9d9d9" if not x["known_s"] else "#4caf50"
        ax.broken_barh([(0, (until - since) / 3600)], (y - 0.4, 0.8), color=colour)
        ax.broken_barh([((a - since) / 3600, (b - a) / 3600) for a, b in x["down_intervals"]],
                       (y - 0.4, 0.8), color="#e53935")
    ax.set_yticks(range(len(rows)), [label for label, _ in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(f"hours since {time.strftime('%Y-%m-%d %H:%M', time.localtime(since))}")
    ax.set_title("ngk uptime (green up, red down, grey unknown)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- entry point for the CLI --------------------------------------------------------------
