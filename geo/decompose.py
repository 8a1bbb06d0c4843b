"""Boustrophedon cell decomposition (Choset) of a region with holes, in the swath frame.

A horizontal slice line swept from bottom to top meets the region in some number of intervals; the number
changes only at *critical* vertices, local extrema in y where the region lies on both sides of the vertex
along the slice (a split or a merge). Cutting the region along the slice's interval through each critical
vertex leaves cells that every horizontal line meets in at most one interval: each can be swept back and
forth with no detour. Convex extrema (where a cell simply starts or ends) need no cut.
"""

from __future__ import annotations

import math

import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

# Heights closer than this are one plateau (an edge parallel to the swaths).
_FLAT_M = 1e-6
# How far beside a critical vertex we look for the region on both sides.
_PROBE_M = 1e-3
_OVERSHOOT_M = 1e-4
# Edges within this slope of the swaths count as parallel to them (a step).
_STEP_SLOPE = math.tan(math.radians(0.2))
# Cells smaller than this are numerical slivers from noding.
_MIN_CELL_M2 = 1e-3


def polygons_of(geom: BaseGeometry) -> list[Polygon]:
    """The non-empty polygons of a Polygon, MultiPolygon or collection."""
    if isinstance(geom, Polygon):
        return [] if geom.is_empty else [geom]
    if hasattr(geom, "geoms"):
        return [p for g in geom.geoms for p in polygons_of(g)]
    return []


def critical_heights(region: Polygon | MultiPolygon) -> list[tuple[float, float, float]]:
    """``(y, x_left, x_right)`` of every split/merge vertex (or plateau) of the region's rings.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> critical_heights(box(0, 0, 10, 10).difference(box(4, 4, 6, 6)))
    [(4.0, 4.0, 6.0), (6.0, 4.0, 6.0)]
    """
    found = []
    for poly in polygons_of(region):
        for ring in (poly.exterior, *poly.interiors):
            for y, xl, xr in _ring_extrema(list(ring.coords)[:-1]):
                if _inside_both_sides(region, y, xl, xr):
                    found.append((y, xl, xr))
    return sorted(set(found))


def _ring_steps(pts: list[tuple[float, float]]) -> list[tuple[float, float, float]]:
    """``(y, x, direction)`` where an edge (nearly) parallel to the swaths ends and the slice runs on.

    At a step, like the inner corner of an L, the swath lattice of the wider part would run on past the
    step, leaving the strip along the step's edge (narrower than W/2 but long) between lattice lines.
    Cutting from the corner away from the edge gives each side its own lattice.
    """
    out = []
    n = len(pts)
    for i in range(n):
        (x0, y0), (x1, y1) = pts[i], pts[(i + 1) % n]
        dx, dy = x1 - x0, y1 - y0
        if abs(dx) > 1.0 and abs(dy) <= max(_FLAT_M, abs(dx) * _STEP_SLOPE):
            left, right = ((x0, y0), (x1, y1)) if x0 < x1 else ((x1, y1), (x0, y0))
            out.append((left[1], left[0], -1.0))
            out.append((right[1], right[0], 1.0))
    return out


def _ring_extrema(pts: list[tuple[float, float]]) -> list[tuple[float, float, float]]:
    """Local y-extrema of a closed ring, plateaus (runs of equal y) merged into one."""
    n = len(pts)
    if n < 3:
        return []
    # Start just after a change of height so that no plateau wraps around the start.
    start = next((i for i in range(n) if abs(pts[i][1] - pts[i - 1][1]) > _FLAT_M), None)
    if start is None:
        return []
    order = [pts[(start + k) % n] for k in range(n)]
    runs: list[list[tuple[float, float]]] = []
    for p in order:
        if runs and abs(p[1] - runs[-1][0][1]) <= _FLAT_M:
            runs[-1].append(p)
        else:
            runs.append([p])
    out = []
    m = len(runs)
    for i, run in enumerate(runs):
        y = run[0][1]
        before, after = runs[i - 1][0][1], runs[(i + 1) % m][0][1]
        if (before > y and after > y) or (before < y and after < y):
            xs = [p[0] for p in run]
            out.append((y, min(xs), max(xs)))
    return out


def _inside_both_sides(region: BaseGeometry, y: float, xl: float, xr: float) -> bool:
    left = Point(xl - _PROBE_M, y)
    right = Point(xr + _PROBE_M, y)
    return bool(region.contains(left) and region.contains(right))


def cut_lines(region: Polygon | MultiPolygon) -> list[LineString]:
    """The slice intervals through each critical vertex: the cuts of the decomposition."""
    minx, _, maxx, _ = region.bounds
    cuts = _step_cuts(region, minx, maxx)
    for y, xl, xr in critical_heights(region):
        chord = region.intersection(LineString([(minx - 1.0, y), (maxx + 1.0, y)]))
        for piece in _merged_pieces(chord):
            x0, _, x1, _ = piece.bounds
            if x0 - _PROBE_M <= xl and xr <= x1 + _PROBE_M:
                # Overshoot the boundary a little: computed ends may fall a hair short, and a cut that
                # does not reach the boundary is a dangle that polygonize ignores.
                cuts.append(LineString([(x0 - _OVERSHOOT_M, y), (x1 + _OVERSHOOT_M, y)]))
    return cuts


def _merged_pieces(chord: BaseGeometry) -> list[LineString]:
    """Collinear horizontal pieces touching end to end, merged (a chord through a vertex may come split)."""
    spans = sorted((g.bounds[0], g.bounds[2]) for g in getattr(chord, "geoms", [chord]) if g.length > 0)
    merged: list[list[float]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1] + _PROBE_M:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    y = chord.bounds[1] if not chord.is_empty else 0.0
    return [LineString([(a, y), (b, y)]) for a, b in merged]


def _step_cuts(region: Polygon | MultiPolygon, minx: float, maxx: float) -> list[LineString]:
    cuts = []
    for poly in polygons_of(region):
        for ring in (poly.exterior, *poly.interiors):
            for y, x, direction in _ring_steps(list(ring.coords)[:-1]):
                if not region.contains(Point(x + direction * _PROBE_M, y)):
                    continue
                chord = region.intersection(LineString([(minx - 1.0, y), (maxx + 1.0, y)]))
                for piece in _merged_pieces(chord):
                    x0, _, x1, _ = piece.bounds
                    if x0 - _PROBE_M <= x <= x1 + _PROBE_M:
                        end = x1 + _OVERSHOOT_M if direction > 0 else x0 - _OVERSHOOT_M
                        cuts.append(LineString([(x - direction * _OVERSHOOT_M, y), (end, y)]))
    return cuts


def boustrophedon_cells(region: Polygon | MultiPolygon) -> list[Polygon]:
    """Cells of the region (swath frame) that every horizontal line meets in at most one interval.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> cells = boustrophedon_cells(box(0, 0, 10, 10).difference(box(4, 4, 6, 6)))
    >>> len(cells), round(sum(c.area for c in cells), 6)
    (4, 96.0)
    """
    cuts = cut_lines(region)
    if not cuts:
        return polygons_of(region)
    noded = shapely.union_all([region.boundary, *cuts])
    faces = polygons_of(shapely.polygonize(list(getattr(noded, "geoms", [noded]))))
    cells = [f for f in faces if f.area > _MIN_CELL_M2 and region.contains(f.representative_point())]
    if not math.isclose(sum(c.area for c in cells), region.area, rel_tol=1e-6, abs_tol=1.0):
        return polygons_of(region)  # noding failed: fall back to the whole region rather than lose area
    return cells
