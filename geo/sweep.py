"""The sweep (lawnmower) planner: angle choice, cell order and swath order, joined by obstacle-free moves.

All in metres in the local frame. For a candidate angle: decompose the region into boustrophedon cells
(``geo.decompose``), lay swaths in each (``geo.swaths``), visit the cells in the order that minimises the
moves between them (each cell entered from any of its four corners), sweep each cell back and forth, and
join consecutive swaths by the shortest path inside the flyable region (``geo.visibility``). The angle is
the one with the least estimated flight time (``geo.energy``), searched among edge-aligned angles and a
coarse grid, then refined at 1° steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from geo.decompose import boustrophedon_cells, polygons_of
from geo.energy import FlightModel
from geo.errors import PlanningError
from geo.metrics import coverage
from geo.swaths import Swath, cell_swaths, points_from_swath_frame, to_swath_frame
from geo.visibility import VisibilityGraph

XY = tuple[float, float]

COARSE_STEP_DEG = 15.0
EDGE_CANDIDATES = 6  # longest-edge directions tried besides the coarse grid
FULL_EVALUATIONS = 4
COVERAGE_TARGET = 0.995
FIRST_CELL_TRIES = 12  # first cells (with their way in) tried by the greedy cell order  # candidates planned in full after the cheap estimate


@dataclass(frozen=True, kw_only=True)
class SweepResult:
    """A coverage path in the local frame (east, north metres), first swath to last."""

    angle_deg: float
    path: np.ndarray
    swaths: int
    cells: int
    est_time_s: float


@dataclass(frozen=True, kw_only=True)
class _CellTour:
    points: np.ndarray  # swath-frame waypoints of one way through the cell
    is_swath_leg: np.ndarray  # per leg (len(points) - 1): True where the leg is a swath


def plan_sweep(
    region: BaseGeometry,
    graph: VisibilityGraph,
    spacing: float,
    *,
    model: FlightModel,
    start: XY | None = None,
    angle_deg: float | None = None,
) -> SweepResult:
    """Cover ``region`` with swaths ``spacing`` apart, flying only inside ``graph.free``.

    With ``angle_deg`` None the angle is searched. ``start`` (the dock) counts in the cost of the tour.
    """
    if region.is_empty or region.area <= 0:
        raise PlanningError("nothing to cover: the area minus no-fly zones is empty")
    if angle_deg is not None:
        return _with_coverage_guard(region, graph, spacing, angle_deg, model, start)
    cheap = sorted(
        candidate_angles(region, spacing), key=lambda a: estimate_time_s(region, spacing, a, model)
    )
    tried: dict[float, SweepResult] = {}

    def run(a: float) -> SweepResult:
        a = round(a % 180.0, 6)
        if a not in tried:
            tried[a] = sweep_at_angle(region, graph, spacing, a, model=model, start=start, join=False)
        return tried[a]

    best = min((run(a) for a in _distinct(cheap, FULL_EVALUATIONS)), key=lambda r: r.est_time_s)
    for step in (4.0, 2.0, 1.0):  # hill-climb at shrinking steps, ending at 1°
        for a in (best.angle_deg - step, best.angle_deg + step):
            r = run(a)
            if r.est_time_s < best.est_time_s:
                best = r
    return _with_coverage_guard(region, graph, spacing, best.angle_deg, model, start)


def _with_coverage_guard(region, graph, spacing, angle_deg, model, start) -> SweepResult:
    """The final sweep; where trimmed ends left more than the target uncovered (spiky shapes), untrimmed."""
    result = sweep_at_angle(region, graph, spacing, angle_deg, model=model, start=start)
    if coverage(region, result.path, spacing) >= COVERAGE_TARGET:
        return result
    return sweep_at_angle(region, graph, spacing, angle_deg, model=model, start=start, trim=False)


def candidate_angles(region: BaseGeometry, spacing: float) -> list[float]:
    """Directions of the longest edges plus a coarse grid, in [0, 180)."""
    edges = []
    for poly in polygons_of(region):
        for ring in (poly.exterior, *poly.interiors):
            pts = np.asarray(ring.coords)
            d = np.diff(pts, axis=0)
            edges.extend(
                zip(
                    np.hypot(d[:, 0], d[:, 1]), np.degrees(np.arctan2(d[:, 1], d[:, 0])) % 180.0, strict=False
                )
            )
    edges.sort(reverse=True)
    longest = [a for _, a in edges[: EDGE_CANDIDATES * 3]]
    grid = list(np.arange(0.0, 180.0, COARSE_STEP_DEG))
    return [float(a) for a in (*_distinct(longest, EDGE_CANDIDATES), *grid)]


def _distinct(angles: list[float], k: int, min_sep: float = 3.0) -> list[float]:
    out: list[float] = []
    for a in angles:
        if all(abs((a - b + 90.0) % 180.0 - 90.0) >= min_sep for b in out):
            out.append(a)
        if len(out) == k:
            break
    return out


def estimate_time_s(region: BaseGeometry, spacing: float, angle_deg: float, model: FlightModel) -> float:
    """Cheap estimate: swath length area/W plus one U-turn per swath end crossing the boundary.

    The number of swath ends is the boundary's extent across the swaths divided by W (each boundary
    stretch rising by W meets one more line).
    """
    a = math.radians(angle_deg)
    across = 0.0
    for poly in polygons_of(region):
        for ring in (poly.exterior, *poly.interiors):
            d = np.diff(np.asarray(ring.coords), axis=0)
            across += float(np.abs(-math.sin(a) * d[:, 0] + math.cos(a) * d[:, 1]).sum())
    ends = across / spacing
    return region.area / spacing / model.speed_mps + ends * model.turn_time_s(math.pi / 2.0)


def sweep_at_angle(
    region: BaseGeometry,
    graph: VisibilityGraph,
    spacing: float,
    angle_deg: float,
    *,
    model: FlightModel,
    start: XY | None = None,
    join: bool = True,
    trim: bool = True,
) -> SweepResult:
    """The sweep at one angle. ``join=False`` joins swaths straight (a cheaper estimate for the search)."""
    region_r = to_swath_frame(region, angle_deg)
    flyable_r = to_swath_frame(graph.free, angle_deg)
    shapely.prepare(flyable_r)
    cells = boustrophedon_cells(region_r)
    tours = [_cell_tours(cell, spacing, flyable_r, trim) for cell in cells]
    tours = [t for t in tours if t]
    if not tours:
        raise PlanningError("the area is too small or too thin to lay a single swath")
    start_r = None if start is None else _rotate_point(start, -angle_deg)
    order = _order_cells(tours, start_r)
    pts_r = [tours[c][v].points for c, v in order]
    legs = [tours[c][v].is_swath_leg for c, v in order]
    path = points_from_swath_frame(np.vstack(pts_r), angle_deg)
    swath_leg = np.concatenate([np.append(leg, False) for leg in legs])[:-1]
    if join:
        path = _join_obstacle_free(path, swath_leg, graph)
    path = simplify_path(path)
    full = path if start is None else np.vstack([start, path, start])
    est = model.path_time_s(full)
    n_swaths = int(sum(leg.sum() for leg in legs))
    return SweepResult(
        angle_deg=angle_deg % 180.0, path=path, swaths=n_swaths, cells=len(tours), est_time_s=est
    )


def _rotate_point(p: XY, angle_deg: float) -> np.ndarray:
    return points_from_swath_frame(np.array([p], dtype=float), angle_deg)[0]


def _cell_tours(cell: Polygon, spacing: float, flyable_r: BaseGeometry, trim: bool) -> list[_CellTour]:
    """The four ways through a cell: from the bottom or the top row, first row left-to-right or not."""
    rows = cell_swaths(cell, spacing, flyable_r)
    if not rows:
        return []
    tours = []
    for up, rows_in_order in ((True, rows), (False, rows[::-1])):
        for first_ltr in (True, False):
            pts: list[tuple[float, float]] = []
            legs: list[bool] = []
            last = len(rows_in_order) - 1
            for i, row in enumerate(rows_in_order):
                ltr = first_ltr == (i % 2 == 0)
                pieces = row if ltr else row[::-1]
                for j, sw in enumerate(pieces):
                    a, b = _trimmed(sw, up, ltr, i == 0, i == last) if trim else (sw.x0, sw.x1)
                    leftmost, rightmost = (j == 0, j == len(pieces) - 1)[:: 1 if ltr else -1]
                    a = a if leftmost else sw.x0  # trim the row's outer ends only
                    b = b if rightmost else sw.x1
                    if pts:
                        legs.append(False)
                    pts.extend([(a, sw.y), (b, sw.y)] if ltr else [(b, sw.y), (a, sw.y)])
                    legs.append(True)
            tours.append(_CellTour(points=np.array(pts), is_swath_leg=np.array(legs, dtype=bool)))
    return tours


def _trimmed(sw: Swath, up: bool, ltr: bool, first: bool, last: bool) -> tuple[float, float]:
    """Swath ends cut back to the half-bands the turns at them do not sweep.

    The turn into a row comes from the previous row and sweeps the half-band on that side; the turn out
    sweeps the half-band towards the next row. The first and last rows of a cell have an open end.
    """
    c0, c1 = sw.chord
    if not (math.isfinite(c0) and math.isfinite(c1)):
        return sw.x0, sw.x1
    entry_needs = (sw.lower, sw.upper) if first else ((sw.upper,) if up else (sw.lower,))
    exit_needs = (sw.lower, sw.upper) if last else ((sw.lower,) if up else (sw.upper,))
    left_needs, right_needs = (entry_needs, exit_needs) if ltr else (exit_needs, entry_needs)
    # Plain min/max over the finite values: np.nanmin costs more than the rest of the planner here.
    left = min([c0, *(h[0] for h in left_needs if math.isfinite(h[0]))])
    right = max([c1, *(h[1] for h in right_needs if math.isfinite(h[1]))])
    return max(sw.x0, left), min(sw.x1, right)


def _order_cells(tours: list[list[_CellTour]], start: np.ndarray | None) -> list[tuple[int, int]]:
    """Greedy nearest-entry order of the cells, tried from every first cell and way; the cheapest wins."""
    n = len(tours)
    entries = np.array([[t.points[0] for t in ways] for ways in tours])  # (n, 4, 2)
    exits = np.array([[t.points[-1] for t in ways] for ways in tours])
    best: tuple[float, list[tuple[int, int]]] = (math.inf, [])
    firsts = [(c, v) for c in range(n) for v in range(len(tours[c]))]
    if len(firsts) > FIRST_CELL_TRIES:  # the entries nearest the dock, or the lowest ones without one
        ref = start if start is not None else entries.reshape(-1, 2).min(axis=0)
        firsts.sort(key=lambda cv: float(np.hypot(*(entries[cv] - ref))))
        firsts = firsts[:FIRST_CELL_TRIES]
    for c0, v0 in firsts:
        cost = 0.0 if start is None else float(np.hypot(*(entries[c0, v0] - start)))
        order = [(c0, v0)]
        left = np.ones(n, dtype=bool)
        left[c0] = False
        here = exits[c0, v0]
        for _ in range(n - 1):
            d = np.hypot(*(entries - here).transpose(2, 0, 1))
            d[~left] = np.inf
            c, v = np.unravel_index(int(np.argmin(d)), d.shape)
            cost += float(d[c, v])
            order.append((int(c), int(v)))
            left[c] = False
            here = exits[c, v]
            if cost >= best[0]:
                break
        if start is not None:
            cost += float(np.hypot(*(here - start)))
        if len(order) == n and cost < best[0]:
            best = (cost, order)
    return best[1]


def _join_obstacle_free(path: np.ndarray, swath_leg: np.ndarray, graph: VisibilityGraph) -> np.ndarray:
    """Replace every move between swaths that leaves the flyable region by the shortest path around."""
    joins = np.nonzero(~swath_leg)[0]
    ok = graph.visible_many(path[joins], path[joins + 1])
    if ok.all():
        return path
    detours = {int(i): graph.shortest_path(tuple(path[i]), tuple(path[i + 1]))[1:-1] for i in joins[~ok]}
    out = []
    for i, p in enumerate(path):
        out.append(p)
        out.extend(np.asarray(q) for q in detours.get(i, []))
    return np.array(out)


def simplify_path(path: np.ndarray, tol: float = 1e-6) -> np.ndarray:
    """Drop repeated points and points on a straight line between their neighbours.

    Examples
    --------
    >>> simplify_path(np.array([[0, 0], [0, 0], [5, 0], [10, 0], [10, 5.0]])).tolist()
    [[0.0, 0.0], [10.0, 0.0], [10.0, 5.0]]
    """
    path = np.asarray(path, dtype=float)
    keep = [path[0]]
    for p in path[1:]:
        if np.hypot(*(p - keep[-1])) > tol:
            keep.append(p)
    if len(keep) < 3:
        return np.array(keep)
    out = [keep[0]]
    for i in range(1, len(keep) - 1):
        a, b, c = out[-1], keep[i], keep[i + 1]
        u, v = b - a, c - b
        cross = u[0] * v[1] - u[1] * v[0]
        if abs(cross) > tol * max(1.0, np.hypot(*u) * np.hypot(*v)) or float(u @ v) < 0:
            out.append(b)
    out.append(keep[-1])
    return np.array(out)
