"""Shortest obstacle-avoiding paths inside a free region: visibility graph + Dijkstra, in a metric frame.

The shortest path between two points of a polygonal region bends only at reflex vertices of the region
(convex corners of holes, concave corners of the outer boundary). The graph's nodes are those vertices of
the region shrunk by a small clearance, so paths keep a margin from the boundary instead of grazing it;
edges join mutually visible nodes. It is built on the first query that cannot go straight.
"""

from __future__ import annotations

import heapq
import math

import numpy as np
import shapely
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from geo.decompose import polygons_of
from geo.errors import PlanningError

XY = tuple[float, float]

# Slack on containment tests: points clipped onto the boundary must still count as inside.
TOLERANCE_M = 0.01


class VisibilityGraph:
    """Shortest paths inside ``free`` (a Polygon or MultiPolygon in metres).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> g = VisibilityGraph(box(0, 0, 100, 100).difference(box(40, 0, 60, 80)), clearance=1.0)
    >>> path = g.shortest_path((10, 10), (90, 10))
    >>> [tuple(round(c) for c in p) for p in path]
    [(10, 10), (39, 81), (61, 81), (90, 10)]
    """

    def __init__(self, free: BaseGeometry, *, clearance: float = 0.5) -> None:
        self._free = free
        self._check = free.buffer(TOLERANCE_M, join_style="mitre")
        shapely.prepare(self._check)
        self._clearance = clearance
        self._nodes: np.ndarray | None = None
        self._dist: np.ndarray | None = None

    @property
    def free(self) -> BaseGeometry:
        return self._free

    def contains(self, p: XY) -> bool:
        return bool(self._check.covers(Point(p)))

    def is_visible(self, a: XY, b: XY) -> bool:
        if a == b:
            return self.contains(a)
        return bool(self._check.covers(LineString([a, b])))

    def visible_many(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Element-wise visibility of segments ``starts[i] -> ends[i]`` ((n, 2) arrays)."""
        if len(starts) == 0:
            return np.zeros(0, dtype=bool)
        coords = np.stack([starts, ends], axis=1)
        coords[:, 1, :] += np.where(np.all(coords[:, 0] == coords[:, 1], axis=1), 1e-9, 0.0)[:, None]
        return shapely.covers(self._check, shapely.linestrings(coords))

    def distance(self, a: XY, b: XY) -> float:
        return path_length(self.shortest_path(a, b))

    def shortest_path(self, a: XY, b: XY) -> list[XY]:
        """Shortest path from ``a`` to ``b`` as a list of points (both ends included)."""
        a, b = (float(a[0]), float(a[1])), (float(b[0]), float(b[1]))
        if self.is_visible(a, b):
            return [a, b]
        nodes, dist = self._graph()
        n = len(nodes)
        ends = np.array([a, b])
        from_a = self.visible_many(np.repeat(ends[:1], n, axis=0), nodes)
        to_b = self.visible_many(nodes, np.repeat(ends[1:], n, axis=0))
        da = np.where(from_a, np.hypot(*(nodes - ends[0]).T), np.inf)
        db = np.where(to_b, np.hypot(*(nodes - ends[1]).T), np.inf)
        order = _dijkstra(dist, da, db)
        if order is None:
            raise PlanningError(f"no obstacle-free path from {_fmt(a)} to {_fmt(b)} (in the local frame)")
        return [a, *[(float(nodes[i][0]), float(nodes[i][1])) for i in order], b]

    def _graph(self) -> tuple[np.ndarray, np.ndarray]:
        if self._nodes is None or self._dist is None:
            self._nodes = reflex_vertices(self._free, self._clearance)
            n = len(self._nodes)
            dist = np.full((n, n), np.inf)
            if n > 1:
                i, j = np.triu_indices(n, k=1)
                ok = self.visible_many(self._nodes[i], self._nodes[j])
                d = np.hypot(*(self._nodes[i] - self._nodes[j]).T)
                dist[i[ok], j[ok]] = d[ok]
                dist[j[ok], i[ok]] = d[ok]
            self._dist = dist
        return self._nodes, self._dist


def reflex_vertices(free: BaseGeometry, clearance: float) -> np.ndarray:
    """Reflex vertices (w.r.t. the free space) of ``free`` shrunk by ``clearance``, as an (n, 2) array."""
    shrunk = free.buffer(-clearance, join_style="mitre") if clearance > 0 else free
    out = []
    for poly in polygons_of(shrunk):
        poly = orient(poly, 1.0)  # free space on the left of every ring: reflex = right turn
        for ring in (poly.exterior, *poly.interiors):
            pts = np.asarray(ring.coords)[:-1]
            if len(pts) < 3:
                continue
            prev, nxt = np.roll(pts, 1, axis=0), np.roll(pts, -1, axis=0)
            u, v = pts - prev, nxt - pts
            cross = u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]
            out.extend(pts[cross < -1e-9].tolist())
    return np.array(out, dtype=float).reshape(-1, 2)


def _dijkstra(dist: np.ndarray, from_start: np.ndarray, to_goal: np.ndarray) -> list[int] | None:
    """Node sequence of the shortest start -> nodes -> goal path (start/goal implicit), or None."""
    n = len(from_start)
    best = from_start.copy()
    prev = np.full(n, -1)
    done = np.zeros(n, dtype=bool)
    heap = [(d, i) for i, d in enumerate(best) if math.isfinite(d)]
    heapq.heapify(heap)
    goal_cost, goal_prev = math.inf, -1
    while heap:
        d, i = heapq.heappop(heap)
        if done[i] or d > best[i]:
            continue
        if d >= goal_cost:
            break
        done[i] = True
        if d + to_goal[i] < goal_cost:
            goal_cost, goal_prev = d + to_goal[i], i
        row = d + dist[i]
        better = np.nonzero((row < best) & ~done)[0]
        for j in better:
            best[j], prev[j] = row[j], i
            heapq.heappush(heap, (row[j], j))
    if goal_prev < 0:
        return None
    order = []
    i = goal_prev
    while i >= 0:
        order.append(int(i))
        i = prev[i]
    return order[::-1]


def path_length(points: list[XY] | np.ndarray) -> float:
    """Length of a polyline.

    Examples
    --------
    >>> path_length([(0, 0), (3, 4), (3, 0)])
    9.0
    """
    pts = np.asarray(points, dtype=float)
    if len(pts) < 2:
        return 0.0
    return float(np.hypot(*np.diff(pts, axis=0).T).sum())


def _fmt(p: XY) -> str:
    return f"({p[0]:.1f}, {p[1]:.1f})"
