"""Perimeter patrol: the area's boundary offset inward by a margin, flown N laps, in the local frame.

The lap starts at the ring vertex nearest the dock and runs clockwise or counter-clockwise. Stretches of
the ring that enter a no-fly zone (plus buffer) are replaced by the shortest way around it.
"""

from __future__ import annotations

import numpy as np
from shapely.geometry import LinearRing, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from geo.decompose import polygons_of
from geo.errors import PlanningError
from geo.sweep import simplify_path
from geo.visibility import VisibilityGraph

XY = tuple[float, float]


def perimeter_ring(area: BaseGeometry, margin_m: float, *, clockwise: bool = True) -> np.ndarray:
    """The outer boundary offset ``margin_m`` inward, as a closed (n, 2) ring in the chosen direction.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> perimeter_ring(box(0, 0, 100, 50), 10.0, clockwise=False)[:4].tolist()
    [[90.0, 10.0], [90.0, 40.0], [10.0, 40.0], [10.0, 10.0]]
    """
    shell = Polygon(max(polygons_of(area), key=lambda p: p.area).exterior)
    inner = shell.buffer(-margin_m, join_style="mitre") if margin_m > 0 else shell
    parts = polygons_of(inner)
    if not parts:
        raise PlanningError(f"the area is too narrow for a perimeter {margin_m:.0f} m inside its edge")
    ring = orient(max(parts, key=lambda p: p.area), -1.0 if clockwise else 1.0).exterior
    return np.asarray(LinearRing(ring).coords)


def perimeter_path(
    area: BaseGeometry,
    graph: VisibilityGraph,
    *,
    margin_m: float,
    laps: int = 1,
    clockwise: bool = True,
    start_near: XY | None = None,
) -> np.ndarray:
    """``laps`` laps of the inset ring, from the vertex nearest ``start_near``, avoiding no-fly zones."""
    if laps < 1:
        raise PlanningError(f"laps must be at least 1, got {laps}")
    ring = perimeter_ring(area, margin_m, clockwise=clockwise)[:-1]
    if start_near is not None:
        k = int(np.argmin(np.hypot(*(ring - np.asarray(start_near)).T)))
        ring = np.roll(ring, -k, axis=0)
    lap = np.vstack([ring, ring[:1]])
    lap = _detour(lap, graph)
    path = np.vstack([lap] + [lap[1:]] * (laps - 1))
    return simplify_path(path)


def _detour(lap: np.ndarray, graph: VisibilityGraph) -> np.ndarray:
    ok = graph.visible_many(lap[:-1], lap[1:])
    if ok.all():
        return lap
    out = [lap[0]]
    i = 0
    n = len(lap)
    while i < n - 1:
        if ok[i]:
            out.append(lap[i + 1])
            i += 1
            continue
        # Skip forward to the next vertex that is itself free, then go around.
        j = i + 1
        while j < n - 1 and not graph.contains(tuple(lap[j])):
            j += 1
        out.extend(np.asarray(p) for p in graph.shortest_path(tuple(lap[i]), tuple(lap[j]))[1:])
        i = j
    return np.array(out)
