"""Parallel swaths clipped to a cell, in the *swath frame*: the local frame rotated so swaths run along +x.

Within one cell the lines are spread evenly between W/2 inside the bottom edge and W/2 inside the top
edge, so no strip is left uncovered (Fields2Cover drops the last swath instead). Each swath spans the
x-extent of the band of width W it is responsible for, not only the line's own chord: where the cell's
side slants, the chord alone would leave triangles uncovered. The extension stays within W/2 of the cell
and is clipped to the flyable region, so it never enters a hole or a no-fly zone.

The ways through a cell (``cell_tours``) sweep its rows back and forth. A row's end where a turn joins
the next row need not reach the boundary: the turn runs along the boundary and sweeps the strip itself.
So the turns may run inside the boundary by an inset (the region shrunk by it gives each swath its
``inner_*`` extents), which saves twice the inset per turn but leaves a notch between the two rows that
do not turn there; ``fill_notches`` runs the turns on past their rows to close most of it.
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
# A cell up to this share taller than n swaths gets n lines, not n + 1: leaves at most this share of
# it in slivers (La Loma's legs are 250.09 m and 450.19 m across, its height 701.0 m: 5, 9 and 14 lines).
LINE_SLACK = 0.002
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
    # The same within the region shrunk away from its boundary (``inner``): where a turn runs along the
    # boundary, its own sweep covers the strip, so the swath may stop short of it.
    inner_chord: tuple[float, float] = (math.nan, math.nan)
    inner_lower: tuple[float, float] = (math.nan, math.nan)
    inner_upper: tuple[float, float] = (math.nan, math.nan)

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

    A cell a hair taller than a whole number of swaths (up to ``LINE_SLACK``) gets that number of lines,
    spread so that the hair is shared out as slivers between them, rather than one more line.

    Examples
    --------
    >>> line_heights(0.0, 100.0, 50.0).tolist()
    [25.0, 75.0]
    >>> line_heights(0.0, 101.0, 50.0).tolist()
    [25.0, 50.5, 76.0]
    >>> line_heights(0.0, 30.0, 50.0).tolist()
    [15.0]
    >>> line_heights(0.0, 300.1, 50.0).round(3).tolist()
    [25.008, 75.025, 125.042, 175.058, 225.075, 275.092]
    """
    h = ymax - ymin
    n = max(1, math.ceil(h / (spacing * (1.0 + LINE_SLACK)) - 1e-9))
    step = h / n
    if step >= spacing or n == 1:
        return ymin + step * (np.arange(n) + 0.5)
    return np.linspace(ymin + spacing / 2.0, ymax - spacing / 2.0, n)


def cell_swaths(
    cell: Polygon,
    spacing: float,
    flyable: BaseGeometry | None = None,
    *,
    reach: float = DEFAULT_REACH,
    inner: BaseGeometry | None = None,
    shift: tuple[float, float] = (0.0, 0.0),
) -> list[list[Swath]]:
    """Rows of swaths (bottom to top; each row left to right) covering ``cell`` in the swath frame.

    ``flyable`` (swath frame, prepared or not) clips the swaths; without it they are not clipped.
    ``inner`` (the region shrunk by the turns' inset) gives each swath its ``inner_chord``.
    ``shift`` moves the span the lines cover up at the bottom and at the top (see ``shared_margins``).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> rows = cell_swaths(box(0, 0, 200, 100), 50.0)
    >>> [(s.y, s.x0, s.x1) for row in rows for s in row]
    [(25.0, 0.0, 200.0), (75.0, 0.0, 200.0)]
    """
    minx, ymin, maxx, ymax = cell.bounds
    ys = line_heights(ymin + shift[0], ymax + shift[1], spacing)
    half = reach * spacing / 2.0
    edges = ring_edges(cell)
    bands = strip_extents(edges, np.concatenate([ys - half, ys]), np.concatenate([ys, ys + half]))
    lo, hi = np.split(bands, 2)
    x0s, x1s = np.fmin(lo[:, 0], hi[:, 0]), np.fmax(lo[:, 1], hi[:, 1])
    keep = np.isfinite(x0s) & (x1s - x0s > 0.0)
    ys, x0s, x1s, lo, hi = ys[keep], x0s[keep], x1s[keep], lo[keep], hi[keep]
    n = len(ys)
    lines = shapely.linestrings(np.stack([np.column_stack([x0s, ys]), np.column_stack([x1s, ys])], axis=1))
    chords = strip_extents(edges, ys, ys)
    inside = np.ones(n, dtype=bool) if flyable is None else shapely.covers(flyable, lines)
    if inner is None:
        chords_in = lo_in = hi_in = np.full((n, 2), np.nan)
    else:  # within the cell's own x-extents, so that only the region's boundary pulls them in
        inner = shapely.clip_by_rect(inner, minx - 1.0, ymin - 1.0, maxx + 1.0, ymax + 1.0)
        shapely.prepare(inner)
        both = strip_extents(
            ring_edges(inner),
            np.concatenate([ys - half, ys, ys]),
            np.concatenate([ys, ys + half, ys]),
            np.vstack([lo, hi, chords]),
            inner,
        )
        lo_in, hi_in, chords_in = both[:n], both[n : 2 * n], both[2 * n :]
    rows: list[list[Swath]] = []
    for k, (y, a, b, ok) in enumerate(zip(ys, x0s, x1s, inside, strict=True)):
        extra = {
            "chord": (float(chords[k, 0]), float(chords[k, 1])),
            "lower": (float(lo[k, 0]), float(lo[k, 1])),
            "upper": (float(hi[k, 0]), float(hi[k, 1])),
            "inner_chord": (float(chords_in[k, 0]), float(chords_in[k, 1])),
            "inner_lower": (float(lo_in[k, 0]), float(lo_in[k, 1])),
            "inner_upper": (float(hi_in[k, 0]), float(hi_in[k, 1])),
        }
        if ok:
            row = [Swath(y=float(y), x0=float(a), x1=float(b), **extra)]
        else:
            row = _clip_row(float(y), lines[k], flyable, extra)
        if row:
            rows.append(row)
    return rows


def ring_edges(geom: BaseGeometry) -> np.ndarray:
    """Every edge of every ring of a (Multi)Polygon as an (m, 4) array ``x0, y0, x1, y1``."""
    rings = shapely.get_rings(shapely.get_parts(geom))
    if len(rings) == 0:
        return np.zeros((0, 4))
    return np.vstack([np.hstack([c[:-1], c[1:]]) for c in (shapely.get_coordinates(r) for r in rings)])


def strip_extents(
    edges: np.ndarray,
    ya: np.ndarray,
    yb: np.ndarray,
    window: np.ndarray | None = None,
    shape: BaseGeometry | None = None,
) -> np.ndarray:
    """x-extents ``(n, 2)`` of a polygon (its ``edges``) within each strip ``ya[i] <= y <= yb[i]``.

    With ``window`` (``(n, 2)`` x-ranges) only the part within the window counts; ``shape`` (the polygon,
    prepared) then tells whether a window side with no edge across it lies inside. NaN where empty.
    The same as the bounds of a GEOS intersection with each strip, at a fraction of its cost.

    Examples
    --------
    >>> from shapely.geometry import Polygon
    >>> tri = ring_edges(Polygon([(0, 0), (100, 0), (0, 100)]))
    >>> strip_extents(tri, np.array([0.0, 50.0]), np.array([10.0, 50.0])).tolist()
    [[0.0, 100.0], [0.0, 50.0]]
    """
    x0, y0, x1, y1 = edges.T
    dx = x1 - x0
    ya, yb = ya[:, None], yb[:, None]
    # Candidates: the vertices inside the strip and the edges' crossings of its two sides (an edge
    # along a side crosses it nowhere: its NaN or infinite parameter fails the test; its ends count).
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / (y1 - y0)
        ta, tb = (ya - y0) * inv, (yb - y0) * inv
        cands = (
            (x0[None, :], (y0 >= ya) & (y0 <= yb)),
            (x0 + ta * dx, (ta >= 0) & (ta <= 1)),
            (x0 + tb * dx, (tb >= 0) & (tb <= 1)),
        )
    if window is not None:
        xa, xb = window[:, :1], window[:, 1:]
        cands = tuple((x, ok & (x >= xa) & (x <= xb)) for x, ok in cands)
    lo = np.min([np.where(ok, x, np.inf).min(axis=1, initial=np.inf) for x, ok in cands], axis=0)
    hi = np.max([np.where(ok, x, -np.inf).max(axis=1, initial=-np.inf) for x, ok in cands], axis=0)
    if window is not None:
        x0, y0, x1, y1 = (edges[:, k][None, :] for k in range(4))
        lo = np.where(_side_inside(x0, y0, x1, y1, xa, ya, yb, shape), xa[:, 0], lo)
        hi = np.where(_side_inside(x0, y0, x1, y1, xb, ya, yb, shape), xb[:, 0], hi)
    out = np.column_stack([lo, hi])
    out[~(out[:, 0] <= out[:, 1])] = np.nan
    return out


def _side_inside(x0, y0, x1, y1, x, ya, yb, shape) -> np.ndarray:
    """Whether some of each vertical segment ``x, ya..yb`` lies in the polygon of these edges."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (x - x0) / (x1 - x0)
        yc = y0 + t * (y1 - y0)
    crossed = ((t >= 0) & (t <= 1) & (yc >= ya) & (yc <= yb)).any(axis=1)
    ok = np.isfinite(x[:, 0])
    # No edge across: the segment is wholly inside or wholly outside; its midpoint tells which.
    mid = shapely.contains_xy(shape, np.where(ok, x[:, 0], 0.0), (ya[:, 0] + yb[:, 0]) / 2.0)
    return ok & (crossed | mid)


def _clip_row(y: float, line: LineString, flyable: BaseGeometry, extra: dict) -> list[Swath]:
    clipped = shapely.intersection(line, flyable)
    pieces = clipped.geoms if isinstance(clipped, MultiLineString) else [clipped]
    row = []
    for piece in pieces:
        if isinstance(piece, LineString) and not piece.is_empty and piece.length >= MIN_SWATH_M:
            xs = [c[0] for c in piece.coords]
            row.append(Swath(y=float(y), x0=min(xs), x1=max(xs), **extra))
    return sorted(row, key=lambda s: s.x0)


# Ways through a cell: its rows swept back and forth, the turns between them.


@dataclass(frozen=True, kw_only=True)
class CellTour:
    """One way through a cell: swath-frame waypoints, which legs are swaths, which legs turn."""

    points: np.ndarray  # swath-frame waypoints of one way through the cell
    is_swath_leg: np.ndarray  # per leg (len(points) - 1): True where the leg is a swath
    turns: np.ndarray  # indices of the legs that turn from one row to the next


def notch_overshoot(inset_m: float, spacing: float) -> float:
    """How far a turn ``inset_m`` inside a square-on boundary must run past each row to close the notch.

    The notch's far corner lies on the boundary, on the line between two rows that do not turn there,
    W/2 from each row: a turn point W/2 from it sits ``W/2 - sqrt((W/2)² - inset²)`` past the row.

    Examples
    --------
    >>> notch_overshoot(15.0, 50.0), notch_overshoot(0.0, 50.0)
    (5.0, 0.0)
    """
    half = spacing / 2.0
    return half - math.sqrt(max(0.0, half * half - min(inset_m, half) ** 2))


def cell_tours(
    cell: Polygon,
    spacing: float,
    flyable_r: BaseGeometry,
    trim: bool,
    inner_r: BaseGeometry | None = None,
    cap: float = math.inf,
    shift: tuple[float, float] = (0.0, 0.0),
) -> list[CellTour]:
    """The four ways through a cell: from the bottom or the top row, first row left-to-right or not.

    ``trim`` cuts each row's ends back to what the turns at them do not sweep; ``inner_r`` (the region
    shrunk by the turns' inset) lets the turns run inside the boundary, at most ``cap`` short of it.
    """
    rows = cell_swaths(cell, spacing, flyable_r, inner=inner_r, shift=shift)
    if not rows:
        return []
    ends = [[_end_extents(sw, cap) if trim else None for sw in row] for row in rows]
    tours = []
    for up, order in ((True, range(len(rows))), (False, range(len(rows) - 1, -1, -1))):
        # Which half-band each end must sweep itself: the turn at it sweeps the other one.
        entry_kind, exit_kind = ("upper", "lower") if up else ("lower", "upper")
        for first_ltr in (True, False):
            pts: list[tuple[float, float]] = []
            legs: list[bool] = []
            turns: list[int] = []
            last = len(rows) - 1
            for i, r in enumerate(order):
                ltr = first_ltr == (i % 2 == 0)
                row = rows[r]
                if i > 0:
                    turns.append(len(legs))
                entry = ends[r][0 if ltr else -1]["open" if i == 0 else entry_kind] if trim else None
                exit_ = ends[r][-1 if ltr else 0]["open" if i == last else exit_kind] if trim else None
                for j in range(len(row)) if ltr else range(len(row) - 1, -1, -1):
                    sw = row[j]
                    a, b = sw.x0, sw.x1  # trim the row's outer ends only
                    if trim and j == 0:
                        a = max(a, (entry if ltr else exit_)[0])
                    if trim and j == len(row) - 1:
                        b = min(b, (exit_ if ltr else entry)[1])
                    if pts:
                        legs.append(False)
                    pts.extend([(a, sw.y), (b, sw.y)] if ltr else [(b, sw.y), (a, sw.y)])
                    legs.append(True)
            tours.append(
                CellTour(
                    points=np.array(pts),
                    is_swath_leg=np.array(legs, dtype=bool),
                    turns=np.array(turns, dtype=int),
                )
            )
    return tours


def fill_notches(
    pts: np.ndarray,
    swath_leg: np.ndarray,
    turns: np.ndarray,
    overshoot: float,
    stub: float,
    flyable_r: BaseGeometry,
) -> tuple[np.ndarray, np.ndarray]:
    """Run each turn ``overshoot`` past both rows, reached by bending the rows' last ``stub`` metres.

    A turn inside the boundary leaves a notch beyond each of its rows (``notch_overshoot``); running the
    turn on past the row covers most of it for a few metres of path. Turns whose overshoot would leave
    the flyable region stay as they are.
    """
    if len(turns) == 0:
        return pts, swath_leg
    e, s = pts[turns], pts[turns + 1]  # end of the row before the turn, start of the row after
    length = np.hypot(*(s - e).T)
    u = (s - e) / np.maximum(length, 1e-9)[:, None]
    e2, s2 = e - overshoot * u, s + overshoot * u
    inside = shapely.covers(flyable_r, shapely.points(np.vstack([e2, s2]))).reshape(2, -1).all(axis=0)
    ok = (length > 1e-6) & inside
    if not ok.any():
        return pts, swath_leg
    idx, e, s, e2, s2 = turns[ok], e[ok], s[ok], e2[ok], s2[ok]
    before, after = pts[idx - 1], pts[idx + 2]
    lb, la = np.hypot(*(e - before).T), np.hypot(*(after - s).T)
    new = pts.copy()
    # The row before stops short and bends out to the overshoot; the row after bends back in.
    new[idx] = e + (before - e) * (np.minimum(stub, lb / 2.0) / np.maximum(lb, 1e-9))[:, None]
    new[idx + 1] = s + (after - s) * (np.minimum(stub, la / 2.0) / np.maximum(la, 1e-9))[:, None]
    new = np.insert(new, np.repeat(idx + 1, 2), np.stack([e2, s2], axis=1).reshape(-1, 2), axis=0)
    return new, np.insert(swath_leg, np.repeat(idx, 2), False)


def _end_extents(sw: Swath, cap: float = math.inf) -> dict[str, tuple[float, float]]:
    """x-extent each end of a swath must reach: at an open end (first or last row of a cell), and at a
    turn that sweeps the other half-band ("lower": the end must sweep its lower half-band itself).

    At a turn the swath stops where the region shrunk by the inset (``inner_*``) needs it, if it has one.
    """
    if not (math.isfinite(sw.chord[0]) and math.isfinite(sw.chord[1])):
        whole = (sw.x0, sw.x1)
        return {"open": whole, "lower": whole, "upper": whole}
    out = {"open": _end_needs(sw.chord, (sw.lower, sw.upper))}
    for kind, half, inner_half in (("lower", sw.lower, sw.inner_lower), ("upper", sw.upper, sw.inner_upper)):
        outer = _end_needs(sw.chord, (half,))
        if math.isfinite(sw.inner_chord[0]):
            inner = _end_needs(sw.inner_chord, (inner_half,))
            # Where the boundary runs nearly along the swaths, the shrunk region's end falls far back and
            # the notch it leaves grows: stop at most ``cap`` short of the boundary's end.
            outer = (min(inner[0], outer[0] + cap), max(inner[1], outer[1] - cap))
        out[kind] = outer
    return out


def _end_needs(chord: tuple[float, float], halves) -> tuple[float, float]:
    """x-extent of the chord and the given half-bands (NaN where absent)."""
    # Plain min/max over the finite values: np.nanmin costs more than the rest of the planner here.
    left = min([chord[0], *(h[0] for h in halves if math.isfinite(h[0]))])
    right = max([chord[1], *(h[1] for h in halves if math.isfinite(h[1]))])
    return left, right


def shared_margins(cells: list[Polygon], spacing: float) -> list[tuple[float, float]]:
    """``shift`` for each cell's lines: where a cell's outer row can sweep a strip of its neighbour.

    Each cell lays its own lines, so a cell a little taller than a whole number of swaths pays a whole
    line (the two cells beside Becerra's school are 5.2 swaths tall: 6 lines each). Where the cell on the
    other side of a cut spans the whole cut and has room to spare under its own number of lines, its lines
    move towards the cut to sweep the excess, and the neighbour's lines start that much further in: one
    line fewer there, none more in the cell that shares.
    """
    if len(cells) < 2:
        return [(0.0, 0.0)] * len(cells)
    bounds = [c.bounds for c in cells]
    # Per cell: x-extents of its top and bottom edges, and of its strips W/2 deep along them.
    t = _CUT_TOL_M
    ext = []
    for c, (_, y0, _, y1) in zip(cells, bounds, strict=True):
        ya = np.array([y1 - t, y0 + t, y1 - spacing / 2.0, y0 + t])
        yb = np.array([y1 - t, y0 + t, y1 - t, y0 + spacing / 2.0])
        ext.append(strip_extents(ring_edges(c), ya, yb))
    shift = [[0.0, 0.0] for _ in cells]
    for up in (True, False):
        for i, b in enumerate(bounds):
            y = b[3] if up else b[1]  # the cut this cell may share across
            others = [j for j, o in enumerate(bounds) if abs((o[1] if up else o[3]) - y) <= t]
            need = _needs(ext, bounds, i, others, up, spacing, shift)
            room = _room(b[3] - b[1], spacing) - abs(shift[i][0]) - abs(shift[i][1])
            if need and max(need.values()) <= min(room, spacing / 2.0):
                e = max(need.values()) + t
                shift[i][1 if up else 0] = e if up else -e
                for j in need:
                    shift[j][0 if up else 1] = e if up else -e
    return [(a, b) for a, b in shift]


_CUT_TOL_M = 1e-3


def _needs(ext, bounds, i, others, up, spacing, shift) -> dict[int, float]:
    """How far each neighbour across the cut must start further in to lose a line ({} if one cannot)."""
    mine = ext[i][0 if up else 1]  # this cell's edge on the cut
    out = {}
    for j in others:
        theirs = ext[j][3 if up else 2]  # the neighbour's strip along the cut
        if not (mine[0] - _CUT_TOL_M <= theirs[0] and theirs[1] <= mine[1] + _CUT_TOL_M):
            return {}  # the neighbour overhangs the cut: this cell's outer row could not sweep it
        if shift[j][1 if up else 0] != 0.0:
            return {}  # already relieved across its other cut: one line fewer is all it can lose
        h = bounds[j][3] - bounds[j][1]
        out[j] = h - (len(line_heights(0.0, h, spacing)) - 1) * spacing * (1.0 + LINE_SLACK)
    return out


def _room(height: float, spacing: float) -> float:
    """How much taller a cell could be and keep its number of lines."""
    return len(line_heights(0.0, height, spacing)) * spacing * (1.0 + LINE_SLACK) - height
