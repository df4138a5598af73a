"""Every single and double failure: what it disconnects and how far datacentre paths stretch.

Works on the site layer (`site_links`, as `site_graph` without networkx); what an element takes
down follows `outage` (indexed here so a sweep of thousands of elements stays linear). A site
that fails leaves the count of surviving sites; a router failure only takes down the router's
links (its site survives, maybe isolated). Exact, and fast on large models (docs/failures.md):

1. Random 64-bit XOR labels on the site multigraph (non-tree edges random, tree edges the XOR of
   the non-tree edges whose cycle covers them) make edge cuts exactly the label sets that XOR to
   0. Removing edges E and sites N adds k = |E| - rank(E) - dim(N) parts among the survivors,
   never fewer than computed: k <= 0 is a proven "nothing disconnected"; k > 0 is verified.
2. A disconnecting scenario is resolved by interleaved searches from the ends of the removed
   links, stopped as soon as the k extra parts are found or one search per component is left, so
   cutting a member off costs the member's side only.
3. Datacentre latency: a failure changes a distance only if it hits the baseline shortest path;
   for pairs, the single-failure path is cached and reused when the other element misses it.
4. Pairs: only candidates can have any impact (an element with impact alone; labels of both
   spanning a common XOR value; shared links; both removing datacentres or a whole component; the
   second element hitting the first one's detour). The rest are counted, never evaluated.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from functools import partial
from heapq import heappop, heappush
from itertools import combinations
from typing import Any, Collection, Iterable, TextIO

from controller.errors import InputError, UnknownName
from controller.model.layers import FAILURE_KINDS, Element, outage, site_links
from controller.model.topology import Topology

DEFAULT_KINDS = ("span", "srlg", "site")
LABEL_EDGES_MAX = 40  # more failed links than this: labels cannot certify "no cut", search
SPAN_RANK_MAX = 12  # elements whose labels span more dimensions are paired with every element
SEED = 0x6E676B
Path = tuple[float, frozenset[int]]  # latency and site-graph edges of a shortest path


@dataclass(frozen=True, slots=True)
class Effect:
    """What one or more failed elements take down: link ids, site-graph edges and nodes."""

    links: frozenset[str]
    edges: frozenset[int]
    nodes: frozenset[int]

    def __or__(self, other: Effect) -> Effect:
        return Effect(self.links | other.links, self.edges | other.edges, self.nodes | other.nodes)


def elements(topo: Topology, kinds: Iterable[str]) -> list[Element]:
    """Every element of the given kinds, in kind order then by id; UnknownName for a bad kind."""
    tables: dict[str, Collection[str]] = {"span": topo.spans, "srlg": topo.srlgs(),
                                          "site": topo.sites, "router": topo.routers,
                                          "link": topo.links}
    out: list[Element] = []
    for kind in kinds:
        if kind not in tables:
            raise UnknownName(f"unknown failure kind {kind!r} (use {', '.join(FAILURE_KINDS)})")
        out.extend(Element(kind, i) for i in sorted(tables[kind]))
    return out


class FailureAnalysis:
    """The site graph of a topology compiled for many failure scenarios."""

    def __init__(self, topo: Topology, seed: int = SEED):
        self.topo = topo
        nodes, edges = site_links(topo)
        self.sites = sorted(nodes)
        self.index = {s: i for i, s in enumerate(self.sites)}
        self.kind = [topo.sites[s].kind for s in self.sites]
        self.ends: list[tuple[int, int]] = []
        self.ms: list[float] = []
        self.link_edge: dict[str, int] = {}
        self.adj: list[list[tuple[int, int]]] = [[] for _ in self.sites]
        for u, v, link in sorted(edges, key=lambda e: e[2].id):
            e, iu, iv = len(self.ends), self.index[u], self.index[v]
            self.ends.append((iu, iv))
            self.ms.append(float(link.latency_ms))
            self.link_edge[link.id] = e
            self.adj[iu].append((iv, e))
            self.adj[iv].append((iu, e))
        self._components()
        self.labels = self._labels(random.Random(seed))
        self.dcs = [i for i, k in enumerate(self.kind) if k == "datacentre"]
        self.base: dict[tuple[int, int], Path] = {}
        for a, b in combinations(self.dcs, 2):
            if self.comp[a] == self.comp[b]:
                found = self._dijkstra(a, b, frozenset(), frozenset())
                self.base[(a, b)] = found  # type: ignore[assignment]
        self.comp_dcs = [0] * len(self.comp_nodes)
        for d in self.dcs:
            self.comp_dcs[self.comp[d]] += 1
        self.orphans = frozenset(i for i, k in enumerate(self.kind)
                                 if k == "member" and not self.comp_dcs[self.comp[i]])
        self._effects: dict[Element, Effect] = {}
        self._detours: dict[tuple[Element, tuple[int, int]], Path | None] = {}
        self._as_dict: dict[Element, dict[str, str]] = {}
        self._orphan_names = sorted(self.sites[v] for v in self.orphans)

    # --- compilation ---------------------------------------------------------------------
    def _components(self) -> None:
        self.comp = [-1] * len(self.sites)
        self.comp_nodes: list[list[int]] = []
        self.parent: list[tuple[int, int]] = [(-1, -1)] * len(self.sites)  # BFS tree (node, edge)
        self.order: list[int] = []
        for root in range(len(self.sites)):
            if self.comp[root] >= 0:
                continue
            c, queue = len(self.comp_nodes), [root]
            self.comp[root] = c
            for u in queue:
                for w, e in self.adj[u]:
                    if self.comp[w] < 0:
                        self.comp[w] = c
                        self.parent[w] = (u, e)
                        queue.append(w)
            self.comp_nodes.append(queue)
            self.order.extend(queue)

    def _labels(self, rng: random.Random) -> list[int]:
        labels = [0] * len(self.ends)
        acc = [0] * len(self.sites)
        tree = {e for _, e in self.parent if e >= 0}
        for e, (u, v) in enumerate(self.ends):
            if e not in tree:
                labels[e] = rng.getrandbits(64) or 1
                acc[u] ^= labels[e]
                acc[v] ^= labels[e]
        for w in reversed(self.order):
            u, e = self.parent[w]
            if e >= 0:
                labels[e] = acc[w]
                acc[u] ^= acc[w]
        return labels

    # --- what fails -----------------------------------------------------------------------
    def elements(self, kinds: Iterable[str]) -> list[Element]:
        """Every element of the given kinds, in kind order then by id."""
        return elements(self.topo, kinds)

    def effect(self, el: Element) -> Effect:
        """`outage(topo, [el])` as link ids, site-graph edges and nodes (cached); UnknownName if
        unknown."""
        if el in self._effects:
            return self._effects[el]
        down = outage(self.topo, [el])
        links = down.links
        nodes = {self.index[s] for s in down.sites if s in self.index}
        edges = frozenset(self.link_edge[k] for k in links if k in self.link_edge)
        eff = Effect(frozenset(links), edges, frozenset(nodes))
        self._effects[el] = eff
        return eff

    def combined(self, elements: Iterable[Element]) -> Effect:
        out = Effect(frozenset(), frozenset(), frozenset())
        for el in elements:
            out = out | self.effect(el)
        return out

    # --- connectivity ----------------------------------------------------------------------
    def rank(self, edges: Iterable[int]) -> int:
        """Rank over GF(2) of the edges' labels."""
        return len(self._basis(edges))

    def extra_parts_bound(self, eff: Effect) -> int | None:
        """Upper bound (exact when <= 0) on the parts the survivors gain; None: must search."""
        if len(eff.edges) > LABEL_EDGES_MAX:
            return None
        removed: dict[int, int] = {}
        dim = 0
        for v in eff.nodes:
            removed[self.comp[v]] = removed.get(self.comp[v], 0) + 1
            dim += bool(self.adj[v])
        dim -= sum(1 for c, n in removed.items() if n == len(self.comp_nodes[c]) and n > 1)
        return len(eff.edges) - self.rank(eff.edges) - dim

    def split(self, eff: Effect) -> dict[int, list[list[int]]]:
        """Component -> the parts cut off in it (all but one part, listed), for split components."""
        bound = self.extra_parts_bound(eff)
        if bound is not None and bound <= 0:
            return {}
        return self._search(eff.edges, eff.nodes, bound)

    def _search(self, edges: frozenset[int], nodes: frozenset[int],
                bound: int | None) -> dict[int, list[list[int]]]:
        """Interleaved searches from the surviving ends of the removed edges (small side first)."""
        starts = sorted({v for e in edges for v in self.ends[e]} - nodes)
        owner = {v: i for i, v in enumerate(starts)}
        root = list(range(len(starts)))
        found: list[list[int]] = [[v] for v in starts]
        pos = [0] * len(starts)
        active: dict[int, set[int]] = {}
        for i, v in enumerate(starts):
            active.setdefault(self.comp[v], set()).add(i)
        done: dict[int, list[list[int]]] = {c: [] for c in active}
        crowded = sum(1 for a in active.values() if len(a) > 1)
        extra = 0

        def find(i: int) -> int:
            while root[i] != i:
                root[i] = root[root[i]]
                i = root[i]
            return i

        while crowded and extra != bound:
            for i in [i for a in active.values() if len(a) > 1 for i in a]:
                c = self.comp[starts[i]]
                if root[i] != i or len(active[c]) < 2:
                    continue
                if pos[i] == len(found[i]):
                    active[c].discard(i)
                    done[c].append(found[i])
                    crowded -= len(active[c]) == 1
                    extra += 1
                else:
                    u = found[i][pos[i]]
                    pos[i] += 1
                    cur = i
                    for w, e in self.adj[u]:
                        if e in edges or w in nodes:
                            continue
                        o = owner.get(w)
                        if o is None:
                            owner[w] = cur
                            found[cur].append(w)
                        elif (o := find(o)) != cur:
                            big = self._merge(cur, o, root, found, pos)
                            active[c].discard(o if big == cur else cur)
                            cur = big
                            crowded -= len(active[c]) == 1
                if not crowded or extra == bound:
                    break
        return {c: parts for c, parts in done.items() if parts}

    @staticmethod
    def _merge(a: int, b: int, root: list[int], found: list[list[int]], pos: list[int]) -> int:
        """Join two searches that met; returns the surviving one (the larger)."""
        big, small = (a, b) if len(found[a]) >= len(found[b]) else (b, a)
        root[small] = big
        f, g, p, q = found[big], found[small], pos[big], pos[small]
        found[big] = f[:p] + g[:q] + f[p:] + g[q:]
        pos[big] = p + q
        return big

    # --- datacentre latency ----------------------------------------------------------------
    def _dijkstra(self, src: int, dst: int, edges: frozenset[int],
                  nodes: frozenset[int]) -> Path | None:
        dist = {src: 0.0}
        via: dict[int, int] = {}
        heap = [(0.0, src)]
        while heap:
            d, u = heappop(heap)
            if u == dst:
                path, v = [], dst
                while v != src:
                    e = via[v]
                    path.append(e)
                    v = self.ends[e][0] if self.ends[e][1] == v else self.ends[e][1]
                return d, frozenset(path)
            if d > dist[u]:
                continue
            for w, e in self.adj[u]:
                if e in edges or w in nodes:
                    continue
                nd = d + self.ms[e]
                if nd < dist.get(w, float("inf")):
                    dist[w] = nd
                    via[w] = e
                    heappush(heap, (nd, w))
        return None

    def detour(self, el: Element, pair: tuple[int, int]) -> Path | None:
        """Shortest (latency, edges) between a datacentre pair with `el` failed, cached."""
        key = (el, pair)
        if key not in self._detours:
            eff = self.effect(el)
            self._detours[key] = self._dijkstra(pair[0], pair[1], eff.edges, eff.nodes)
        return self._detours[key]

    def distance(self, elements: tuple[Element, ...], eff: Effect,
                 pair: tuple[int, int]) -> float | None:
        d0, p0 = self.base[pair]
        if p0.isdisjoint(eff.edges):
            return d0
        for el in elements:
            if not p0.isdisjoint(self.effect(el).edges):
                single = self.detour(el, pair)
                if single is None or single[1].isdisjoint(eff.edges):
                    return None if single is None else single[0]
        found = self._dijkstra(pair[0], pair[1], eff.edges, eff.nodes)
        return None if found is None else found[0]

    # --- one scenario --------------------------------------------------------------------
    def evaluate(self, elements: tuple[Element, ...] | list[Element]) -> dict[str, Any]:
        """The JSON dict of one scenario (docs/failures.md)."""
        elements = tuple(elements)
        eff = self.combined(elements)
        parts = self.split(eff)
        part_of = {v: (c, i) for c, ps in parts.items() for i, p in enumerate(ps) for v in p}
        lost = 0
        for c, ps in parts.items():
            alive = len(self.comp_nodes[c]) - sum(1 for v in eff.nodes if self.comp[v] == c)
            sizes = [len(p) for p in ps]
            rest = alive - sum(sizes)
            lost += (alive * alive - rest * rest - sum(s * s for s in sizes)) // 2
        dc_cut, worst, survives = [], 0.0, False
        for pair, (d0, _) in self.base.items():
            if pair[0] in eff.nodes or pair[1] in eff.nodes:
                continue
            if part_of.get(pair[0]) != part_of.get(pair[1]):
                dc_cut.append(sorted((self.sites[pair[0]], self.sites[pair[1]])))
                continue
            survives = True
            worst = max(worst, self.distance(elements, eff, pair) - d0)  # type: ignore[operator]
        orphans = self._orphans(eff, parts, part_of)
        return {
            "failed": [self._failed(el) for el in elements],
            "links_down": sorted(eff.links),
            "disconnected_pairs": lost,
            "failed_site_pairs": self.failed_site_pairs(eff.nodes),
            "datacentre_pairs_disconnected": sorted(dc_cut),
            "members_without_datacentre": sorted(self.sites[v] for v in orphans),
            "worst_dc_latency_increase_ms": round(max(worst, 0.0), 6) + 0.0 if survives else None,
            "new_members_without_datacentre": len(orphans - self.orphans),
        }

    def _orphans(self, eff: Effect, parts: dict[int, list[list[int]]],
                 part_of: dict[int, tuple[int, int]]) -> set[int]:
        """Surviving member sites that reach no surviving datacentre."""
        out = set(self.orphans - eff.nodes)
        lost_dcs: dict[int, int] = {}
        for v in eff.nodes:
            if self.kind[v] == "datacentre":
                lost_dcs[self.comp[v]] = lost_dcs.get(self.comp[v], 0) + 1
        for c in set(parts) | set(lost_dcs):
            alive = [d for d in self.dcs if self.comp[d] == c and d not in eff.nodes]
            reached = {part_of.get(d) for d in alive}
            suspects = self.comp_nodes[c] if None not in reached else \
                [v for p in parts.get(c, ()) for v in p]
            for v in suspects:
                if self.kind[v] == "member" and v not in eff.nodes \
                        and part_of.get(v) not in reached:
                    out.add(v)
        return out

    def quiet(self, elements: tuple[Element, ...]) -> dict[str, Any]:
        """The scenario dict of elements known to have no impact (no evaluation needed; cheap,
        as a full depth-2 sweep writes one per pair)."""
        effs = [self.effect(el) for el in elements]
        links = effs[0].links.union(*(e.links for e in effs[1:]))
        nodes = effs[0].nodes.union(*(e.nodes for e in effs[1:]))
        if nodes:
            survives = any(a not in nodes and b not in nodes for a, b in self.base)
            members = sorted(self.sites[v] for v in self.orphans - nodes)
        else:
            survives, members = bool(self.base), self._orphan_names
        return {"failed": [self._failed(el) for el in elements], "links_down": sorted(links),
                "disconnected_pairs": 0, "failed_site_pairs": self.failed_site_pairs(nodes),
                "datacentre_pairs_disconnected": [], "members_without_datacentre": members,
                "worst_dc_latency_increase_ms": 0.0 if survives else None}

    def _failed(self, el: Element) -> dict[str, str]:
        """`el.as_dict()`, made once per element (a sweep repeats each element n times)."""
        if el not in self._as_dict:
            self._as_dict[el] = el.as_dict()
        return self._as_dict[el]

    def failed_site_pairs(self, nodes: frozenset[int]) -> int:
        """Site pairs connected in the intact network that have a failed site as an end: they
        leave the count of `disconnected_pairs`, which counts pairs of surviving sites."""
        failed: dict[int, int] = {}
        for v in nodes:
            failed[self.comp[v]] = failed.get(self.comp[v], 0) + 1
        total = 0
        for c, f in failed.items():
            n = len(self.comp_nodes[c])
            total += (n * (n - 1) - (n - f) * (n - f - 1)) // 2
        return total

    # --- pairs that may matter -----------------------------------------------------------
    def candidate_pairs(self, elements: list[Element], impactful: set[int]) -> set[tuple[int, int]]:
        """Index pairs (i < j) that can have an impact; every other pair has none (exact)."""
        effs = [self.effect(el) for el in elements]
        n = len(elements)
        out: set[tuple[int, int]] = set()

        def add(i: int, j: int) -> None:
            if i != j:
                out.add((i, j) if i < j else (j, i))

        by_edge: dict[int, list[int]] = {}
        by_node: dict[int, list[int]] = {}
        for i, eff in enumerate(effs):
            for e in eff.edges:
                by_edge.setdefault(e, []).append(i)
            for v in eff.nodes:
                by_node.setdefault(v, []).append(i)
        by_xor: dict[int, list[int]] = {}
        for i, eff in enumerate(effs):
            basis = self._basis(eff.edges)
            if i in impactful or len(eff.edges) > LABEL_EDGES_MAX or len(basis) > SPAN_RANK_MAX:
                for j in range(n):
                    add(i, j)
                continue
            value = 0
            for step in range(1, 1 << len(basis)):
                value ^= basis[(step & -step).bit_length() - 1]
                by_xor.setdefault(value, []).append(i)
        for group in (*by_edge.values(), *by_xor.values()):
            for i, j in combinations(group, 2):
                add(i, j)
        removers = [i for v in self.dcs for i in by_node.get(v, [])]
        for c, members in enumerate(self.comp_nodes):
            if 1 < len(members) <= 2:
                removers.extend(i for v in members for i in by_node.get(v, []))
        for i, j in combinations(removers, 2):
            add(i, j)
        for pair, (_, p0) in self.base.items():
            hitters = {i for e in p0 for i in by_edge.get(e, [])}
            for i in hitters - impactful:
                found = self.detour(elements[i], pair)
                for e in found[1] if found else ():
                    for j in by_edge.get(e, []):
                        add(i, j)
        return out

    def _basis(self, edges: Iterable[int]) -> list[int]:
        """A GF(2) basis of the edges' labels (Gaussian elimination on the top bit)."""
        basis: dict[int, int] = {}
        for e in edges:
            x = self.labels[e]
            while x:
                top = x.bit_length()
                if top not in basis:
                    basis[top] = x
                    break
                x ^= basis[top]
        return list(basis.values())


def has_impact(s: dict[str, Any]) -> bool:
    """Disconnects a pair of sites, cuts a member off every datacentre, or stretches a DC path."""
    return bool(s["disconnected_pairs"] or s["new_members_without_datacentre"]
                or (s["worst_dc_latency_increase_ms"] or 0.0) > 0)


def disconnecting(s: dict[str, Any]) -> bool:
    return bool(s["disconnected_pairs"] or s["new_members_without_datacentre"])


def element_sites(topo: Topology, el: Element, srlgs: dict[str, tuple[str, ...]]) -> list[str]:
    """Names of the sites an element touches."""
    if el.kind == "span":
        ids = set(topo.span_sites(topo.spans[el.id]))
    elif el.kind == "srlg":
        ids = {s for span in srlgs[el.id] for s in topo.span_sites(topo.spans[span])}
    elif el.kind == "site":
        ids = {el.id}
    elif el.kind == "router":
        ids = {topo.routers[el.id].site}
    else:
        ids = set(topo.link_sites(topo.links[el.id]))
    return sorted(topo.sites[s].name for s in ids)


@dataclass
class _Sweep:
    """What a sweep evaluated: the elements, every single scenario, the pairs with impact."""

    fa: FailureAnalysis
    depth: int
    kinds: tuple[str, ...]
    impact_only: bool
    elements: list[Element]
    head: list[dict[str, Any]]  # the single scenarios listed (all, or those with impact)
    found: dict[tuple[int, int], dict[str, Any]]  # the pairs with impact
    summary: dict[str, Any]


def _run(topo: Topology, depth: int, kinds: Iterable[str], impact_only: bool,
         analysis: FailureAnalysis | None) -> _Sweep:
    if depth not in (1, 2):
        raise InputError(f"depth must be 1 or 2, got {depth}")
    kinds = tuple(dict.fromkeys(kinds))
    fa = analysis or FailureAnalysis(topo)
    elements = fa.elements(kinds)
    singles = [fa.evaluate((el,)) for el in elements]
    srlgs = topo.srlgs()
    spofs = [{"kind": el.kind, "id": el.id, "sites": element_sites(topo, el, srlgs)}
             for el, s in zip(elements, singles) if disconnecting(s)]
    count, hits = len(singles), sum(1 for s in singles if disconnecting(s))
    found: dict[tuple[int, int], dict[str, Any]] = {}
    if depth == 2:
        impactful = {i for i, s in enumerate(singles) if has_impact(s)}
        for i, j in sorted(fa.candidate_pairs(elements, impactful)):
            s = fa.evaluate((elements[i], elements[j]))
            if has_impact(s):
                found[(i, j)] = s
                hits += disconnecting(s)
        count += len(elements) * (len(elements) - 1) // 2
    head = [s for s in singles if has_impact(s) or not impact_only]
    for s in (*singles, *found.values()):
        del s["new_members_without_datacentre"]
    return _Sweep(fa, depth, kinds, impact_only, elements, head, found,
                  {"scenarios": count, "disconnecting": hits, "single_points_of_failure": spofs})


def sweep(topo: Topology, depth: int = 1, kinds: Iterable[str] = DEFAULT_KINDS,
          impact_only: bool = False, analysis: FailureAnalysis | None = None) -> dict[str, Any]:
    """Every single failure (and with depth 2 every pair) of the given kinds: the JSON dict."""
    run = _run(topo, depth, kinds, impact_only, analysis)
    scenarios = list(run.head)
    n, els = len(run.elements), run.elements
    if run.depth == 2 and run.impact_only:
        scenarios.extend(run.found.values())
    elif run.depth == 2:
        for i, j in combinations(range(n), 2):
            s = run.found.get((i, j))
            scenarios.append(s if s is not None else run.fa.quiet((els[i], els[j])))
    return {"depth": run.depth, "kinds": list(run.kinds), "scenarios": scenarios,
            "summary": run.summary}


def write_sweep_json(out: TextIO, topo: Topology, depth: int = 1,
                     kinds: Iterable[str] = DEFAULT_KINDS, impact_only: bool = False) -> None:
    """`json.dumps(sweep(...), separators=(",", ":"))` written to `out`, without building the
    quiet pairs' dicts: a depth-2 sweep is mostly quiet pairs, each formatted from per-element
    JSON fragments (the same text, ~5x faster than dicts + encoder)."""
    run = _run(topo, depth, kinds, impact_only, None)
    dump = partial(json.dumps, separators=(",", ":"))
    out.write(f'{{"depth":{run.depth},"kinds":{dump(list(run.kinds))},"scenarios":[')

    def flush(parts: list[str], sep: str) -> str:
        if not parts:
            return sep
        out.write(sep + ",".join(parts))
        parts.clear()
        return ","

    sep, parts = "", [dump(s) for s in list(run.head)]
    if run.depth == 2 and run.impact_only:
        parts.extend(dump(s) for s in run.found.values())
    elif run.depth == 2:
        fa, els = run.fa, run.elements
        effs = [fa.effect(el) for el in els]
        failed = [dump(fa._failed(el)) for el in els]
        quoted = {k: dump(k) for e in effs for k in e.links}
        tail = (f',"datacentre_pairs_disconnected":[],"members_without_datacentre":'
                f'{dump(fa._orphan_names)},"worst_dc_latency_increase_ms":'
                f'{"0.0" if fa.base else "null"}}}')
        for i, j in combinations(range(len(els)), 2):
            s = run.found.get((i, j))
            if s is not None:
                parts.append(dump(s))
            elif effs[i].nodes or effs[j].nodes:
                parts.append(dump(fa.quiet((els[i], els[j]))))
            else:
                links = ",".join(quoted[k] for k in sorted(effs[i].links | effs[j].links))
                parts.append(f'{{"failed":[{failed[i]},{failed[j]}],"links_down":[{links}],'
                             f'"disconnected_pairs":0,"failed_site_pairs":0{tail}')
            if len(parts) >= 4096:
                sep = flush(parts, sep)
    flush(parts, sep)
    out.write(f'],"summary":{dump(run.summary)}}}\n')
