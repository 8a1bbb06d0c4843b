"""Route: given waypoints, joined by the shortest path that keeps out of no-fly zones (local frame)."""

from __future__ import annotations

import itertools

import numpy as np

from geo.errors import PlanningError
from geo.sweep import simplify_path
from geo.visibility import VisibilityGraph

XY = tuple[float, float]


def route_path(waypoints: list[XY] | np.ndarray, graph: VisibilityGraph) -> np.ndarray:
    """Every leg replaced by its shortest obstacle-free path.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> g = VisibilityGraph(box(-100, -100, 200, 200).difference(box(40, -10, 60, 10)), clearance=1.0)
    >>> route_path([(0, 0), (100, 0)], g).round().tolist()
    [[0.0, 0.0], [39.0, 11.0], [61.0, 11.0], [100.0, 0.0]]
    """
    pts = np.asarray(waypoints, dtype=float)
    if len(pts) < 2:
        raise PlanningError("a route needs at least two waypoints")
    for p in pts:
        if not graph.contains((p[0], p[1])):
            raise PlanningError(
                f"route waypoint ({p[0]:.0f}, {p[1]:.0f}) m lies in a no-fly zone or its buffer"
            )
    out = [pts[0]]
    for a, b in itertools.pairwise(pts):
        out.extend(np.asarray(q) for q in graph.shortest_path(tuple(a), tuple(b))[1:])
    return simplify_path(np.array(out))
