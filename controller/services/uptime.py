"""Availability from the recorded state changes (`ngk uptime`): per router, IP link and
datacentre pair over a window, and a PNG timeline."""
from __future__ import annotations

import time
from itertools import combinations
from typing import Any

from controller.model.topology import Topology
from controller.services.monitor.history import (
    DEFAULT_HORIZON,
    SCHEMA,
    End,
    Seen,
    adjacency_key,
    link_is_down,
)
from controller.store import Store

GREEN, RED, GREY = "#4caf50", "#e53935", "#d9d9d9"


class _Tally:
    """Time up and down, counted only where observed and known; unknown is neither."""

    def __init__(self) -> None:
        self.up = self.down = 0.0
        self.intervals: list[list[float]] = []
        self.observed: list[list[float]] = []

    def add(self, state: bool | None, start: float, end: float) -> None:
        if state is None:
            return
        _extend(self.observed, start, end)
        if state:
            self.up += end - start
        else:
            self.down += end - start
            _extend(self.intervals, start, end)

    def report(self, key: str, name: str, window: float) -> dict[str, Any]:
        observed = self.up + self.down
        return {key: name,
                "availability_pct": round(100 * self.up / observed, 4) if observed else None,
                "observed_pct": round(100 * observed / window, 4) if window else None,
                "observed_s": round(observed, 3), "downtime_s": round(self.down, 3),
                "outages": len(self.intervals), "down_intervals": self.intervals,
                "observed_intervals": self.observed}


def _extend(spans: list[list[float]], start: float, end: float) -> None:
    if spans and spans[-1][1] == start:
        spans[-1][1] = end
    else:
        spans.append([start, end])


def observed_intervals(store: Store, since: float, until: float) -> dict[str, list[list[float]]]:
    """Per router, the merged stretches of [since, until] the monitor observed it: each poll's
    sample counts from its time for its recorded horizon (twice the poll interval; DEFAULT_HORIZON
    when none was recorded)."""
    rows = store.query("SELECT ts, router, COALESCE(horizon, ?) FROM samples WHERE ts <= ? "
                       "AND ts + COALESCE(horizon, ?) > ? ORDER BY router, ts",
                       (DEFAULT_HORIZON, until, DEFAULT_HORIZON, since))
    out: dict[str, list[list[float]]] = {}
    for ts, router, horizon in rows:
        a, b = max(ts, since), min(ts + horizon, until)
        spans = out.setdefault(router, [])
        if spans and a <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], b)
        else:
            spans.append([a, b])
    return out


def _covered(spans: list[list[float]], t: float) -> bool:
    return any(a <= t < b for a, b in spans)


def uptime_report(store: Store, topo: Topology | None, since: float, until: float
                  ) -> dict[str, Any]:
    """Availability (up / observed), observed coverage and downtime per router, per IP link and
    per datacentre pair over [since, until], from state changes (state before `since` = the last
    change before it) and the polls' samples (what was observed). Time not observed, or with no
    known state, is unknown: neither up nor down. A link is observed when both its routers are,
    a datacentre pair when any router is; a link is down by `history.link_is_down`.
    Raises StoreError if unreadable."""
    import networkx as nx

    from controller.model.layers import Element, outage, site_graph

    store.register("monitor", SCHEMA)
    rows = store.query("SELECT ts, router, interface, state FROM state_changes WHERE ts <= ? "
                       "ORDER BY ts", (until,))
    seen = observed_intervals(store, since, until)
    state: dict[tuple[str, str], Seen] = {}

    def take(row: tuple) -> None:
        state[(row[1], row[2])] = Seen(row[3] == "up", row[0])

    def up(router: str) -> bool | None:
        s = state.get((router, ""))
        return s.up if s else None

    i = 0
    while i < len(rows) and rows[i][0] <= since:
        take(rows[i])
        i += 1
    routers = sorted({r for _, r, _, _ in rows} | (set(topo.routers) if topo else set()))
    links = list(topo.links.values()) if topo else []
    pairs = list(combinations(sorted(topo.datacentres()), 2)) if topo else []
    tallies = {("router", r): _Tally() for r in routers}
    tallies.update({("link", lk.id): _Tally() for lk in links})
    tallies.update({("pair", p): _Tally() for p in pairs})
    pair_cache: dict[frozenset, dict] = {}
    edges = sorted({t for spans in seen.values() for span in spans for t in span
                    if since < t < until} | {r[0] for r in rows[i:] if r[0] > since})
    t, e = since, 0
    while t < until:
        nxt = edges[e] if e < len(edges) else until
        e += 1
        observed = {r for r in routers if _covered(seen.get(r, []), t)}
        for r in routers:
            tallies[("router", r)].add(up(r) if r in observed else None, t, nxt)
        down: list[Element] = []
        for lk in links:
            ends = [End(up(x.router), state.get((x.router, x.interface)),
                        state.get((x.router, adjacency_key(x.interface)))) for x in (lk.a, lk.b)]
            link_down = link_is_down(ends)
            if link_down is not None and {lk.a.router, lk.b.router} <= observed:
                tallies[("link", lk.id)].add(not link_down, t, nxt)
            if link_down:
                down.append(Element("link", lk.id))
        if topo and pairs:
            key = frozenset(down)
            if key not in pair_cache:
                g = site_graph(topo, outage(topo, down))
                pair_cache[key] = {p: nx.has_path(g, *p) for p in pairs}
            known = bool(observed and state)
            for p in pairs:
                tallies[("pair", p)].add(pair_cache[key][p] if known else None, t, nxt)
        while i < len(rows) and rows[i][0] <= nxt:
            take(rows[i])
            i += 1
        t = nxt
    window = until - since
    return {"since": since, "until": until,
            "routers": [tallies[("router", r)].report("router", r, window) for r in routers],
            "links": [tallies[("link", lk.id)].report("link", lk.id, window) for lk in links],
            "datacentre_pairs": [tallies[("pair", p)].report("pair", "-".join(p), window)
                                 for p in pairs]}


def render_timeline(report: dict[str, Any], path: str) -> None:
    """A PNG timeline: one row per router, link and datacentre pair; green where observed up,
    red where observed down, grey where not observed (unknown)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    rows = [(f"router {x['router']}", x) for x in report["routers"]]
    rows += [(f"link {x['link']}", x) for x in report["links"]]
    rows += [(f"DC {x['pair']}", x) for x in report["datacentre_pairs"]]
    since, until = report["since"], report["until"]
    fig, ax = plt.subplots(figsize=(11, 0.28 * len(rows) + 1.2))
    for y, (_, x) in enumerate(rows):
        for colour, spans in ((GREY, [[since, until]]), (GREEN, x["observed_intervals"]),
                              (RED, x["down_intervals"])):
            ax.broken_barh([((a - since) / 3600, (b - a) / 3600) for a, b in spans],
                           (y - 0.4, 0.8), color=colour)
    ax.set_yticks(range(len(rows)), [label for label, _ in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(f"hours since {time.strftime('%Y-%m-%d %H:%M', time.localtime(since))}")
    ax.set_title("ngk uptime", loc="left")
    ax.legend(handles=[Patch(color=c, label=t) for c, t in (
        (GREEN, "up"), (RED, "down"), (GREY, "not observed (unknown)"))],
        loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=3, fontsize=7, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

