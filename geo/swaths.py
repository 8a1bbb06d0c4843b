"""Parallel swaths clipped to a cell, in the *swath frame*: the local frame rotated so swaths run along +x.

Within one cell the lines are spread evenly between W/2 inside the bottom edge and W/2 inside the top
edge, so no strip is left uncovered (Fields2Cover drops the last swath instead). Each swath spans the
x-extent of the band of width W it is responsible for, not only the line's own chord: where the cell's
side slants, the chord alone would leave triangles uncovered. The extension stays within W/2 of the cell
and is clipped to the flyable region, so it never enters a hole or a no-fly zone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import LineString, MultiLineString, Polygon
from shapely.geometry.base import BaseGeometry

# Share of each half-band (W/2) whose x-extent a swath end may reach out to. 1.0 sweeps the band whole
# but flies long hooks at slanted ends; 0.6 kept >= 99.7 % coverage on the sample areas with ~5 % less
# path (the turns' own W/2 sweep, round at the corners, covers most of the rest).
DEFAULT_REACH = 0.6
# Shorter pieces are slivers from clipping at a corner: not worth a pass.
MIN_SWATH_M = 1.0


@dataclass(frozen=True, kw_only=True)
class Swath:
    """One pass along +x at height ``y`` in the swath frame, from ``x0`` to ``x1`` (``x0 < x1``)."""

    y: float
    x0: float
    x1: float
    # x-extents of the cell within the chord and the lower / upper half-band (W/2 below / above the
    # line): the planner trims each end to what the turn at that end does not already sweep.
    chord: tuple[float, float] = (math.nan, math.nan)
    lower: tuple[float, float] = (math.nan, math.nan)
    upper: tuple[float, float] = (math.nan, math.nan)

    @property
    def length(self) -> float:
        return self.x1 - self.x0


def to_swath_frame(geom: BaseGeometry, angle_deg: float) -> BaseGeometry:
    """Rotate a local-frame geometry so that swaths at ``angle_deg`` (from east, CCW) run along +x."""
    return affinity.rotate(geom, -angle_deg, origin=(0.0, 0.0))


def from_swath_frame(geom: BaseGeometry, angle_deg: float) -> BaseGeometry:
    return affinity.rotate(geom, angle_deg, origin=(0.0, 0.0))


def points_from_swath_frame(xy: np.ndarray, angle_deg: float) -> np.ndarray:
    """Rotate an (n, 2) array of swath-frame points back to the local (east, north) frame.

    Examples
    --------
    >>> points_from_swath_frame(np.array([[1.0, 0.0]]), 90.0).round(9).tolist()
    [[0.0, 1.0]]
    """
    a = math.radians(angle_deg)
    c, s = math.cos(a), math.sin(a)
    return np.column_stack((c * xy[:, 0] - s * xy[:, 1], s * xy[:, 0] + c * xy[:, 1]))


def line_heights(ymin: float, ymax: float, spacing: float) -> np.ndarray:
    """Heights of the lines covering [ymin, ymax]: first and last W/2 inside, evenly spread, gaps <= W.

    Examples
    --------
    >>> line_heights(0.0, 100.0, 50.0).tolist()
    [25.0, 75.0]
    >>> line_heights(0.0, 101.0, 50.0).tolist()
    [25.0, 50.5, 76.0]
    >>> line_heights(0.0, 30.0, 50.0).tolist()
    [15.0]
    """
    h = ymax - ymin
    if h <= spacing:
        return np.array([(ymin + ymax) / 2.0])
    n = math.ceil((h - spacing) / spacing - 1e-9) + 1
    return np.linspace(ymin + spacing / 2.0, ymax - spacing / 2.0, n)


def cell_swaths(
    cell: Polygon, spacing: float, flyable: BaseGeometry | None = None, *, reach: float = DEFAULT_REACH
) -> list[list[Swath]]:
    """Rows of swaths (bottom to top; each row left to right) covering ``cell`` in the swath frame.

    ``flyable`` (swath frame, prepared or not) clips the swaths; without it they are not clipped.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> rows = cell_swaths(box(0, 0, 200, 100), 50.0)
    >>> [(s.y, s.x0, s.x1) for row in rows for s in row]
    [(25.0, 0.0, 200.0), (75.0, 0.0, 200.0)]
    """
    minx, ymin, maxx, ymax = cell.bounds
    ys = line_heights(ymin, ymax, spacing)
    half = reach * spacing / 2.0
    lo = shapely.bounds(shapely.intersection(shapely.box(minx - 1.0, ys - half, maxx + 1.0, ys), cell))
    hi = shapely.bounds(shapely.intersection(shapely.box(minx - 1.0, ys, maxx + 1.0, ys + half), cell))
    x0s, x1s = np.fmin(lo[:, 0], hi[:, 0]), np.fmax(lo[:, 2], hi[:, 2])
    keep = np.isfinite(x0s) & (x1s - x0s > 0.0)
    ys, x0s, x1s, lo, hi = ys[keep], x0s[keep], x1s[keep], lo[keep], hi[keep]
    lines = shapely.linestrings(np.stack([np.column_stack([x0s, ys]), np.column_stack([x1s, ys])], axis=1))
    chords = shapely.bounds(shapely.intersection(lines, cell))
    inside = np.ones(len(ys), dtype=bool) if flyable is None else shapely.covers(flyable, lines)
    rows: list[list[Swath]] = []
    for k, (y, a, b, ok) in enumerate(zip(ys, x0s, x1s, inside, strict=True)):
        extra = {
            "chord": (float(chords[k, 0]), float(chords[k, 2])),
            "lower": (float(lo[k, 0]), float(lo[k, 2])),
            "upper": (float(hi[k, 0]), float(hi[k, 2])),
        }
        if ok:
            row = [Swath(y=float(y), x0=float(a), x1=float(b), **extra)]
        else:
            row = _clip_row(float(y), lines[k], flyable, extra)
        if row:
            rows.append(row)
    return rows


def _clip_row(y: float, line: LineString, flyable: BaseGeometry, extra: dict) -> list[Swath]:
    clipped = shapely.intersection(line, flyable)
    pieces = clipped.geoms if isinstance(clipped, MultiLineString) else [clipped]
    row = []
    for piece in pieces:
        if isinstance(piece, LineString) and not piece.is_empty and piece.length >= MIN_SWATH_M:
            xs = [c[0] for c in piece.coords]
            row.append(Swath(y=float(y), x0=min(xs), x1=max(xs), **extra))
    return sorted(row, key=lambda s: s.x0)
