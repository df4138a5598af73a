"""Two arc-disjoint paths of minimum total weight (Suurballe/Bhandari), fast for many targets.

`DisjointPaths` is a digraph of integer vertices with weighted, labelled arcs (parallel arcs
allowed, weights >= 0). `pair(s, t)` returns the optimal pair: a min-cost flow of 2 found by two
successive shortest paths. The first is read from a shortest-path tree of `s`, computed once and
cached, so many targets of one source cost one full Dijkstra. The second is searched backwards
from `t` in the residual graph with reduced costs `w + d(u) - d(v)` (>= 0, 0 along the tree): from
the target side only the detour around the first path is explored, and the search stops as soon
as `s` is settled. Node-disjoint pairs are the same problem on a node-split graph.

Relays (e.g. dual-homed member sites: a chain of vertices with one way in and one way out on each
side) can be registered as shortcuts: the backward search then jumps over them, using the cheapest
relay between two vertices that is not the source, the target or on the first path — exact, and
it spares visiting thousands of member sites hanging off each PoP.
"""
from __future__ import annotations

from bisect import insort
from heapq import heappop, heappush

INF = float("inf")
Tree = tuple[list[float], list[int]]
Shortcut = tuple[float, tuple[int, ...], frozenset[int]]


class DisjointPaths:
    """A digraph compiled for repeated shortest-path and disjoint-pair queries."""

    def __init__(self, vertices: int):
        self.tail: list[int] = []
        self.head: list[int] = []
        self.weight: list[float] = []
        self.label: list[object] = []
        self.out_arcs: list[list[int]] = [[] for _ in range(vertices)]
        self.in_arcs: list[list[int]] = [[] for _ in range(vertices)]
        self.relay = [False] * vertices  # arcs out of it into a shortcut's end are covered
        # end -> start -> [(weight, arcs, middle vertices)], cheapest first
        self.shortcuts: dict[int, dict[int, list[Shortcut]]] = {}
        self._trees: dict[int, Tree] = {}
        self._plain_in: list[list[int]] | None = None  # in-arcs whose tail is no relay

    def add_arc(self, u: int, v: int, weight: float, label: object = None) -> int:
        """Add the arc u -> v; returns its index. `label` travels with the arc (e.g. a link id)."""
        arc = len(self.tail)
        self.tail.append(u)
        self.head.append(v)
        self.weight.append(weight)
        self.label.append(label)
        self.out_arcs[u].append(arc)
        self.in_arcs[v].append(arc)
        self._trees.clear()
        self._plain_in = None
        return arc

    def add_shortcut(self, arcs: tuple[int, ...]) -> None:
        """Register the chain `arcs` (u -> ... -> v) as the only use of its middle vertices:
        they must have no other arcs than the chain's and its reverse."""
        u, v = self.tail[arcs[0]], self.head[arcs[-1]]
        middle = frozenset(self.head[a] for a in arcs[:-1])
        self.relay[self.tail[arcs[-1]]] = True
        options = self.shortcuts.setdefault(v, {}).setdefault(u, [])
        insort(options, (sum(self.weight[a] for a in arcs), arcs, middle))
        self._plain_in = None

    def tree(self, source: int) -> Tree:
        """Distances from `source` and the arc into each vertex on a shortest path (-1: none)."""
        if source not in self._trees:
            self._trees[source] = self._dijkstra(source)
        return self._trees[source]

    def _dijkstra(self, source: int) -> Tree:
        head, weight, out_arcs = self.head, self.weight, self.out_arcs
        dist = [INF] * len(out_arcs)
        pred = [-1] * len(out_arcs)
        dist[source] = 0.0
        heap = [(0.0, source)]
        while heap:
            d, u = heappop(heap)
            if d > dist[u]:
                continue
            for arc in out_arcs[u]:
                v = head[arc]
                nd = d + weight[arc]
                if nd < dist[v]:
                    dist[v] = nd
                    pred[v] = arc
                    heappush(heap, (nd, v))
        return dist, pred

    def shortest(self, source: int, target: int) -> list[int] | None:
        """Arcs of a shortest path, None when `target` is unreachable."""
        dist, pred = self.tree(source)
        if dist[target] == INF:
            return None
        arcs, v = [], target
        while v != source:
            arc = pred[v]
            arcs.append(arc)
            v = self.tail[arc]
        arcs.reverse()
        return arcs

    def pair(self, source: int, target: int) -> tuple[list[int], list[int]] | None:
        """Two arc-disjoint paths (arc lists) of minimum total weight; None if there are none."""
        first = self.shortest(source, target)
        if first is None or source == target:
            return None
        second = self._residual_path(source, target, first)
        if second is None:
            return None
        return self._decompose(source, target, first, second)

    def _residual_path(self, source: int, target: int,
                       first: list[int]) -> list[tuple[int, bool]] | None:
        """Shortest source-target path in the residual graph of `first`, as (arc, forward?)."""
        dist = self.tree(source)[0]
        tail, head, weight = self.tail, self.head, self.weight
        if self._plain_in is None:
            self._plain_in = [[a for a in arcs if not self.relay[tail[a]]]
                              for arcs in self.in_arcs]
        plain_in, shortcuts = self._plain_in, self.shortcuts
        p1_in = {head[a]: a for a in first}
        p1_out = {tail[a]: a for a in first}
        excluded = {source, target, *p1_in}
        extra_in: dict[int, list[int]] = {}  # arcs out of excluded relays: searched plainly
        for x in excluded:
            if self.relay[x]:
                for a in self.out_arcs[x]:
                    extra_in.setdefault(head[a], []).append(a)
        best = {target: 0.0}
        step: dict[int, tuple[tuple[int, ...], bool]] = {}
        done: set[int] = set()
        heap = [(0.0, target)]
        while heap:
            d, v = heappop(heap)
            if v in done:
                continue
            done.add(v)
            if v == source:
                break
            dv, skip = dist[v], p1_in.get(v)
            for arc in (plain_in[v] + extra_in[v]) if v in extra_in else plain_in[v]:
                u = tail[arc]
                if arc == skip or u in done or dist[u] == INF:
                    continue
                rc = weight[arc] + dist[u] - dv
                nd = d + (rc if rc > 0.0 else 0.0)
                if nd < best.get(u, INF):
                    best[u] = nd
                    step[u] = ((arc,), True)
                    heappush(heap, (nd, u))
            for u, options in shortcuts.get(v, {}).items():
                if u in done or dist[u] == INF:
                    continue
                for w, arcs, middle in options:
                    if middle.isdisjoint(excluded):
                        rc = w + dist[u] - dv
                        nd = d + (rc if rc > 0.0 else 0.0)
                        if nd < best.get(u, INF):
                            best[u] = nd
                            step[u] = (arcs, True)
                            heappush(heap, (nd, u))
                        break
            back = p1_out.get(v)  # first path's arc v -> z, reversed: z -> v at reduced cost 0
            if back is not None:
                u = head[back]
                if u not in done and d < best.get(u, INF):
                    best[u] = d
                    step[u] = ((back,), False)
                    heappush(heap, (d, u))
        if source not in done:
            return None
        path: list[tuple[int, bool]] = []
        u = source
        while u != target:
            arcs, forward = step[u]
            path.extend((arc, forward) for arc in arcs)
            u = head[arcs[-1]] if forward else tail[arcs[-1]]
        return path

    def _decompose(self, source: int, target: int, first: list[int],
                   second: list[tuple[int, bool]]) -> tuple[list[int], list[int]]:
        """Split the flow first + second into two simple paths, dropping cycles."""
        flow = set(first)
        for arc, forward in second:
            if forward:
                flow.add(arc)
            else:
                flow.discard(arc)
        self._cancel_opposed(flow)
        outgoing: dict[int, list[int]] = {}
        for arc in sorted(flow, key=lambda a: (self.weight[a], a), reverse=True):
            outgoing.setdefault(self.tail[arc], []).append(arc)
        paths = []
        for _ in range(2):
            arcs: list[int] = []
            seen = {source: 0}
            v = source
            while v != target:
                arc = outgoing[v].pop()
                v = self.head[arc]
                if v in seen:  # a cycle: cut it out
                    del arcs[seen[v]:]
                    seen = {self.tail[a]: i for i, a in enumerate(arcs)} | {v: len(arcs)}
                    continue
                arcs.append(arc)
                seen[v] = len(arcs)
            paths.append(arcs)
        return paths[0], paths[1]

    def _cancel_opposed(self, flow: set[int]) -> None:
        """Drop pairs of flow arcs that are exact reverses with the same label (one edge used
        both ways: possible with zero weights, never part of a disjoint pair)."""
        by_label: dict[object, list[int]] = {}
        for arc in flow:
            if self.label[arc] is not None:
                by_label.setdefault(self.label[arc], []).append(arc)
        for arcs in by_label.values():
            if len(arcs) < 2:
                continue
            arcs.sort(key=lambda a: (-self.weight[a], a))
            for i, a in enumerate(arcs):
                for b in arcs[i + 1:]:
                    if a in flow and b in flow and self.tail[a] == self.head[b] \
                            and self.head[a] == self.tail[b]:
                        flow.discard(a)
                        flow.discard(b)
