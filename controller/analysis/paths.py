"""Best single paths and optimal diverse path pairs between sites (see docs/paths.md).

Paths run on the site layer (`site_graph`). Diversity:
- link: no common IP link — Suurballe (exact);
- node: no common transit site and no common link — Suurballe on the node-split graph (exact);
- srlg: no common span and no common SRLG — enumerate first paths by increasing cost, pair each
  with the shortest path avoiding everything it conflicts with, stop once 2 x cost(first) reaches
  the best total (exact), or at `max_paths` (best found plus a lower bound).
When full diversity is impossible the pair sharing the fewest elements (then the cheapest) is
returned, and `shared` always lists the spans, transit sites and SRLGs the two paths have in common.
"""
from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

import networkx as nx

from controller.errors import UnknownName
from controller.analysis.suurballe import DisjointPaths
from controller.model.layers import site_graph
from controller.model.topology import Topology

METRICS = {"km": "km", "hops": "hops", "latency": "latency_ms", "igp": "metric"}
DIVERSITIES = ("link", "node", "srlg")
MAX_PATHS = 5000  # first paths enumerated for SRLG diversity before settling for a bound
TIME_BUDGET_S = 10.0  # ... or this long (then: best found + a lower bound)
FALLBACK_PATHS = 200  # cheapest paths paired up when no SRLG-diverse pair is found
KIND_RANK = {"datacentre": 0, "pop": 1, "member": 2}
Element = tuple[str, str]  # ("span" | "srlg", id)
Route = tuple[list[str], list[str]]  # sites, links
Found = tuple[list[Route], str, str, str | None]  # paths, method, guarantee, note


class PathFinder:
    """Paths on one site graph in one metric; caches shortest-path trees across queries.

    Pair searches are rooted at the endpoint most likely shared by many queries (datacentre,
    then PoP, then member; ties by id), so one tree per datacentre serves every member.
    """

    def __init__(self, topo: Topology, metric: str = "latency", graph: nx.MultiGraph | None = None):
        if metric not in METRICS:
            raise UnknownName(f"unknown metric {metric!r} (use one of {', '.join(METRICS)})")
        self.topo, self.metric = topo, metric
        self.graph = site_graph(topo) if graph is None else graph
        self.index = {site: i for i, site in enumerate(self.graph.nodes)}
        self.sites = list(self.graph.nodes)
        attr = METRICS[metric]
        self.edges = sorted((k, u, v, float(d[attr])) for u, v, k, d in
                            self.graph.edges(keys=True, data=True))
        self.info = {k: (d["km"], d["latency_ms"], float(d[attr]), d["spans"])
                     for _, _, k, d in self.graph.edges(keys=True, data=True)}
        self.link_a = {k: topo.link_sites(topo.links[k])[0] for k in self.info}
        self.penalty = 1.0 + 2.0 * sum(w for *_, w in self.edges)
        self._graphs: dict[tuple[str, bool], DisjointPaths] = {}

    # --- compiled digraphs -----------------------------------------------------------------
    def _digraph(self, mode: str, relaxed: bool) -> DisjointPaths:
        """mode 'link': vertex i per site; 'node': in 2i, out 2i+1 joined by a capacity-1 arc.
        relaxed: each link (and transit site) may be used twice at a `penalty` per extra use."""
        key = (mode, relaxed)
        if key in self._graphs:
            return self._graphs[key]
        split = mode == "node"
        g = DisjointPaths(len(self.sites) * (2 if split else 1))
        if split:
            for i in range(len(self.sites)):
                g.add_arc(2 * i, 2 * i + 1, 0.0)
                if relaxed:
                    g.add_arc(2 * i, 2 * i + 1, self.penalty)
        arcs: dict[tuple[str, str], int] = {}  # (link, from site) -> arc
        for k, u, v, w in self.edges:
            iu, iv = self.index[u], self.index[v]
            ends = ((2 * iu + 1, 2 * iv), (2 * iv + 1, 2 * iu)) if split else ((iu, iv), (iv, iu))
            for (a, b), frm in zip(ends, (u, v)):
                arcs[k, frm] = g.add_arc(a, b, w, k)
                if relaxed:
                    g.add_arc(a, b, w + self.penalty, k)
        if not relaxed:
            for site in self.sites:
                self._add_relay(g, site, arcs, split)
        self._graphs[key] = g
        return g

    def _add_relay(self, g: DisjointPaths, site: str, arcs: dict, split: bool) -> None:
        """A site with exactly two links, to two different sites, becomes a search shortcut."""
        nbrs = self.graph[site]
        if len(nbrs) != 2 or sum(len(keys) for keys in nbrs.values()) != 2:
            return
        (b, (kb,)), (c, (kc,)) = ((n, tuple(keys)) for n, keys in nbrs.items())
        i = self.index[site]
        for (x, kx), (y, ky) in (((b, kb), (c, kc)), ((c, kc), (b, kb))):
            inner = (g.out_arcs[2 * i][0],) if split else ()
            g.add_shortcut((arcs[kx, x], *inner, arcs[ky, site]))

    def _walk(self, g: DisjointPaths, arcs: list[int], split: bool) -> tuple[list[str], list[str]]:
        """Sites and links of a path given as arcs of a compiled digraph."""
        links = [str(g.label[a]) for a in arcs if g.label[a] is not None]
        first = g.tail[arcs[0]] if arcs else 0
        sites = [self.sites[first // 2 if split else first]]
        for a in arcs:
            if g.label[a] is not None:
                sites.append(self.sites[g.head[a] // 2 if split else g.head[a]])
        return sites, links

    # --- public queries ----------------------------------------------------------------------
    def best(self, src: str, dst: str) -> dict | None:
        """The shortest path from src to dst as a path dict, None when not connected."""
        if src not in self.index or dst not in self.index:
            return None
        if src == dst:
            return self.path_dict([src], [])
        g = self._digraph("link", False)
        arcs = g.shortest(self.index[src], self.index[dst])
        return None if arcs is None else self.path_dict(*self._walk(g, arcs, False))

    def distances(self, src: str) -> dict[str, float]:
        """Shortest-path cost from src to every site it reaches (cached tree)."""
        dist = self._digraph("link", False).tree(self.index[src])[0]
        return {site: d for site, d in zip(self.sites, dist) if d != float("inf")}

    def pair(self, src: str, dst: str, diversity: str = "link") -> dict:
        """The optimal diverse pair from src to dst (site ids or unique names): the JSON dict."""
        if diversity not in DIVERSITIES:
            raise UnknownName(f"unknown diversity {diversity!r}"
                              f" (use one of {', '.join(DIVERSITIES)})")
        src, dst = self.topo.resolve_site(src), self.topo.resolve_site(dst)
        out: dict[str, Any]
        out = {"src": src, "dst": dst, "diversity": diversity, "metric": self.metric, "paths": [],
               "total": None, "diverse": False, "shared": {"spans": [], "sites": [], "srlgs": []},
               "method": None, "guarantee": None, "reason": None}
        missing = [s for s in (src, dst) if s not in self.index]
        if missing:
            out["reason"] = f"site {missing[0]!r} is not in the IP layer (no router, or down)"
        elif src == dst:
            out["reason"] = "source and destination are the same site"
        elif not self._reachable(src, dst):
            out["reason"] = f"no path between {src} and {dst}"
        else:
            found = self._srlg_pair(src, dst) if diversity == "srlg" else \
                self._flow_pair(src, dst, diversity)
            paths, out["method"], out["guarantee"], note = found
            self._fill(out, [self.path_dict(s, k) for s, k in paths], note)
        return out

    def path_dict(self, sites: list[str], links: list[str]) -> dict:
        """The JSON form of one path: sites, links, spans in travel order, hops, km, latency,
        cost."""
        spans: list[str] = []
        km = latency = cost = 0.0
        for here, link in zip(sites, links):
            lkm, llat, w, route = self.info[link]
            spans.extend(route if self.link_a[link] == here else reversed(route))
            km, latency, cost = km + lkm, latency + llat, cost + w
        return {"sites": list(sites), "links": list(links), "spans": spans, "hops": len(links),
                "km": round(km, 3), "latency_ms": round(latency, 6), "cost": round(cost, 6)}

    # --- link and node diversity -----------------------------------------------------------
    def _flow_pair(self, src: str, dst: str, diversity: str) -> Found:
        root, other = sorted((src, dst), key=self._root_rank)
        split = diversity == "node"
        s, t = self.index[root], self.index[other]
        if split:
            s, t = 2 * s + 1, 2 * t
        method = "suurballe" + (" (node-split)" if split else "")
        for relaxed in (False, True):
            g = self._digraph(diversity, relaxed)
            found = g.pair(s, t)
            if found is not None:
                break
        assert found is not None, "pair() runs only on reachable endpoints"
        paths = [self._walk(g, arcs, split) for arcs in found]
        if root != src:
            paths = [(sites[::-1], links[::-1]) for sites, links in paths]
        if relaxed:
            method += ", sharing allowed at a penalty"
            note = f"no fully {diversity}-diverse pair exists: fewest shared " \
                   f"{'links' if diversity == 'link' else 'sites and links'}, then cheapest"
            return paths, method, "optimal", note
        return paths, method, "optimal", None

    def _reachable(self, src: str, dst: str) -> bool:
        root, other = sorted((src, dst), key=self._root_rank)
        g = self._digraph("link", False)
        return g.shortest(self.index[root], self.index[other]) is not None

    def _root_rank(self, site: str) -> tuple[int, str]:
        return KIND_RANK.get(self.topo.sites[site].kind, 3), site

    # --- SRLG diversity --------------------------------------------------------------------
    def _elements(self, link: str) -> frozenset[Element]:
        spans = self.info[link][3]
        return frozenset([("span", s) for s in spans] +
                         [("srlg", g) for s in spans for g in self.topo.spans[s].srlgs])

    def _srlg_pair(self, src: str, dst: str) -> Found:
        elements = {k: self._elements(k) for k in self.info}
        by_element: dict[Element, set[str]] = {}
        for k, els in elements.items():
            for el in els:
                by_element.setdefault(el, set()).add(k)
        shortest = self.best(src, dst)
        assert shortest is not None, "pair() runs only on reachable endpoints"
        on_best = set().union(*(elements[k] for k in shortest["links"]))
        mandatory = {el for el in on_best if not self._connected(src, dst, by_element[el])}
        method = "k-shortest first paths + shortest conflict-free second path"
        best, stop, exhausted = self._enumerate(src, dst, elements, by_element, mandatory)
        if best is not None:
            note = None
            if mandatory:
                note = "no fully srlg-diverse pair exists: every path uses " + \
                       ", ".join(f"{kind} {ident}" for kind, ident in sorted(mandatory))
            return best, method, stop or "optimal", note
        return self._fewest_shared(src, dst, elements, exhausted)

    def _enumerate(self, src: str, dst: str, elements: dict[str, frozenset[Element]],
                   by_element: dict[Element, set[str]], mandatory: set[Element]):
        """Best pair sharing only `mandatory` elements: (pair or None, None if exact else the
        bound reached, whether every simple path was seen)."""
        best, best_total = None, float("inf")
        deadline = time.monotonic() + TIME_BUDGET_S
        for count, (sites, links, cost) in enumerate(self._simple_paths(src, dst), 1):
            if 2 * cost >= best_total:
                return best, None, False
            banned: set[str] = set()
            for el in set().union(*(elements[k] for k in links)) - mandatory:
                banned |= by_element[el]
            second = self._dijkstra(src, dst, banned)
            if second is not None and cost + second[2] < best_total:
                best, best_total = [(sites, links), second[:2]], cost + second[2]
            if count >= MAX_PATHS or time.monotonic() > deadline:
                why = f"{count} first paths" if count >= MAX_PATHS else f"{TIME_BUDGET_S:g} s"
                return best, f"not proven optimal: stopped after {why}; optimum total >= " \
                             f"{min(best_total, 2 * cost):g}", False
        return best, None, True

    def _fewest_shared(self, src: str, dst: str, elements: dict[str, frozenset[Element]],
                       exhausted: bool) -> Found:
        """Pair up the cheapest simple paths: fewest shared spans + SRLGs, then cheapest."""
        cands = list(islice(self._simple_paths(src, dst), FALLBACK_PATHS))
        sets = [set().union(*(elements[k] for k in links)) for _, links, _ in cands]
        best_key, best = None, None
        for i, (si, li, ci) in enumerate(cands):
            for j in range(i + 1, len(cands)):
                key = (len(sets[i] & sets[j]), ci + cands[j][2])
                if best_key is None or key < best_key:
                    best_key, best = key, [(si, li), cands[j][:2]]
        if best is None:  # a single simple path
            best = [cands[0][:2]]
        complete = exhausted or len(cands) < FALLBACK_PATHS
        method = "all pairs of the cheapest simple paths"
        guarantee = "optimal" if complete else \
            f"best among pairs of the {FALLBACK_PATHS} cheapest paths; not proven optimal"
        return best, method, guarantee, "no fully srlg-diverse pair exists: fewest shared " \
                                        "spans and SRLGs, then cheapest"

    def _simple_paths(self, src: str, dst: str) -> Iterator[tuple[list[str], list[str], float]]:
        """Simple paths by increasing cost, parallel links told apart (each link is a node)."""
        h = nx.Graph()
        for k, u, v, w in self.edges:
            h.add_edge(u, ("link", k), weight=w)
            h.add_edge(("link", k), v, weight=0.0)  # w in either direction
        for nodes in nx.shortest_simple_paths(h, src, dst, weight="weight"):
            links = [n[1] for n in nodes if isinstance(n, tuple)]
            sites = [n for n in nodes if not isinstance(n, tuple)]
            yield sites, links, sum(self.info[k][2] for k in links)

    def _dijkstra(self, src: str, dst: str,
                  banned: set[str]) -> tuple[list[str], list[str], float] | None:
        """Shortest path avoiding `banned` links: (sites, links, cost) or None."""
        g = self.graph
        view = nx.subgraph_view(g, filter_edge=lambda u, v, k: k not in banned)
        attr = METRICS[self.metric]
        try:
            nodes = nx.dijkstra_path(view, src, dst, weight=lambda u, v, d: min(
                x[attr] for k, x in d.items() if k not in banned))
        except nx.NetworkXNoPath:
            return None
        links = [min((k for k in g[u][v] if k not in banned), key=lambda k: (self.info[k][2], k))
                 for u, v in zip(nodes, nodes[1:])]
        return nodes, links, sum(self.info[k][2] for k in links)

    def _connected(self, src: str, dst: str, banned: set[str]) -> bool:
        view = nx.subgraph_view(self.graph, filter_edge=lambda u, v, k: k not in banned)
        return nx.has_path(view, src, dst)

    # --- result ----------------------------------------------------------------------------
    def _fill(self, out: dict, paths: list[dict], note: str | None) -> None:
        if len(paths) == 2 and paths[0]["links"] == paths[1]["links"]:
            paths, note = paths[:1], f"only one path exists between {out['src']} and {out['dst']}"
        paths.sort(key=lambda p: (p["cost"], p["hops"], p["links"]))
        out["paths"] = paths
        out["total"] = round(sum(p["cost"] for p in paths), 6)
        if len(paths) == 1:
            out["reason"] = note
            return
        shared = shared_elements(self.topo, paths[0], paths[1])
        out["shared"] = shared
        common_links = sorted(set(paths[0]["links"]) & set(paths[1]["links"]))
        violated = {"link": common_links, "node": common_links + shared["sites"],
                    "srlg": shared["spans"] + shared["srlgs"]}[out["diversity"]]
        out["diverse"] = not violated
        out["reason"] = note


def shared_elements(topo: Topology, p: dict, q: dict) -> dict[str, list[str]]:
    """Spans, transit sites and SRLGs two paths have in common (sorted)."""
    def srlgs(path: dict) -> set[str]:
        return {g for s in path["spans"] for g in topo.spans[s].srlgs}
    ends = {p["sites"][0], p["sites"][-1]}
    return {"spans": sorted(set(p["spans"]) & set(q["spans"])),
            "sites": sorted((set(p["sites"]) & set(q["sites"])) - ends),
            "srlgs": sorted(srlgs(p) & srlgs(q))}


def diverse_pair(topo: Topology, src: str, dst: str, diversity: str = "link",
                 metric: str = "latency", graph: nx.MultiGraph | None = None) -> dict:
    """The optimal `diversity`-diverse pair of paths from src to dst (the `ngk paths` JSON)."""
    return PathFinder(topo, metric, graph).pair(src, dst, diversity)


def diverse_pairs(topo: Topology, pairs: Iterable[tuple[str, str]], diversity: str = "link",
                  metric: str = "latency", graph: nx.MultiGraph | None = None) -> list[dict]:
    """`diverse_pair` for many (src, dst) pairs, sharing shortest-path trees between them."""
    finder = PathFinder(topo, metric, graph)
    return [finder.pair(src, dst, diversity) for src, dst in pairs]


def best_path(topo: Topology, graph: nx.MultiGraph | None, src: str, dst: str,
              metric: str = "latency") -> dict | None:
    """The shortest path (a path dict as in `diverse_pair`), None when src/dst are not connected
    in `graph` (default: the full site graph)."""
    return PathFinder(topo, metric, graph).best(topo.resolve_site(src), topo.resolve_site(dst))
