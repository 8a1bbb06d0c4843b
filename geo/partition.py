"""Multi-drone split: an area cut into K parts of about equal flight time, each given the nearest free dock.

Cuts run parallel to the swaths (in the swath frame they are horizontal lines), snapped to the swath
lattice so the parts' swaths line up as one drone's would. The first cut positions share the area
equally; then each part's estimated time (a callable, so the caller can include transit from its dock)
reweights the area and the cuts are placed again, a couple of times.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo.errors import PlanningError
from geo.swaths import from_swath_frame, to_swath_frame

XY = tuple[float, float]


def split_equal(
    region: BaseGeometry,
    k: int,
    *,
    angle_deg: float,
    spacing: float,
    cost: Callable[[BaseGeometry, int], float] | None = None,
    iterations: int = 2,
) -> list[BaseGeometry]:
    """``k`` parts of ``region`` (local frame) split by cuts parallel to swaths at ``angle_deg``.

    ``cost(part, index)`` estimates a part's flight time; without it parts get equal areas.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> parts = split_equal(box(0, 0, 100, 400), 2, angle_deg=0.0, spacing=50.0)
    >>> [round(p.area) for p in parts]
    [20000, 20000]
    """
    if k < 1:
        raise PlanningError(f"number of drones must be at least 1, got {k}")
    if k == 1:
        return [region]
    rot = to_swath_frame(region, angle_deg)
    density = np.ones(k)
    parts_r = _cut(rot, k, density, spacing)
    for _ in range(iterations if cost else 0):
        parts = [from_swath_frame(p, angle_deg) for p in parts_r]
        times = np.array([cost(p, i) if not p.is_empty else 0.0 for i, p in enumerate(parts)])
        areas = np.array([max(p.area, 1e-9) for p in parts_r])
        if times.max() <= 0 or times.max() - times.min() < 0.02 * times.max():
            break
        density = times / areas
        parts_r = _cut(rot, k, density, spacing, previous=parts_r)
    return [from_swath_frame(p, angle_deg) for p in parts_r]


def _cut(rot: BaseGeometry, k: int, density: np.ndarray, spacing: float, previous=None) -> list[BaseGeometry]:
    minx, ymin, maxx, ymax = rot.bounds
    zones = previous or [rot]
    dens = density if previous else np.ones(1)

    def weight_below(y: float) -> float:
        below = shapely.box(minx - 1, ymin - 1, maxx + 1, y)
        return float(sum(d * z.intersection(below).area for d, z in zip(dens, zones, strict=True)))

    total = weight_below(ymax + 1)
    cuts = []
    for i in range(1, k):
        target = total * i / k
        lo, hi = ymin, ymax
        for _ in range(50):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if weight_below(mid) < target else (lo, mid)
        y = ymin + round((lo - ymin) / spacing) * spacing  # on the swath lattice
        cuts.append(y if ymin < y < ymax else lo)
    cuts = sorted(cuts)
    edges = [ymin - 1, *cuts, ymax + 1]
    parts = [rot.intersection(shapely.box(minx - 1, a, maxx + 1, b)) for a, b in itertools.pairwise(edges)]
    if any(p.is_empty or p.area < 1.0 for p in parts):
        raise PlanningError(f"the area is too small to share among {k} drones")
    return parts


def assign_docks(parts: Sequence[BaseGeometry], docks: Sequence[XY]) -> list[int]:
    """Index of the dock for each part: the assignment with the least total distance, docks distinct while
    there are enough (several drones share a dock only when docks run out).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> assign_docks([box(0, 0, 10, 10), box(100, 0, 110, 10)], [(105, 5), (-5, 5)])
    [1, 0]
    """
    if not docks:
        raise PlanningError("no dock to fly from")
    d = np.array([[p.distance(shapely.Point(x, y)) for x, y in docks] for p in parts])
    k, m = d.shape
    if m < k:  # not enough docks: each part takes its nearest
        return [int(i) for i in d.argmin(axis=1)]
    if math.perm(m, k) <= 50_000:
        best = min(
            itertools.permutations(range(m), k), key=lambda perm: sum(d[i, j] for i, j in enumerate(perm))
        )
        return list(best)
    free = set(range(m))
    out = []
    for i in range(k):  # greedy beyond brute-force sizes
        j = min(free, key=lambda j: d[i, j])
        free.remove(j)
        out.append(j)
    return out
