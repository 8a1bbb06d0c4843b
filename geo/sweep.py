"""The sweep (lawnmower) planner: angle choice, cell order and swath order, joined by obstacle-free moves.

All in metres in the local frame. For a candidate angle: decompose the region into boustrophedon cells
(``geo.decompose``), lay swaths in each (``geo.swaths``), visit the cells in the order that minimises the
moves between them (each cell entered from any of its four corners), sweep each cell back and forth, and
join consecutive swaths by the shortest path inside the flyable region (``geo.visibility``). The angle is
the one with the least estimated flight time (``geo.energy``), searched among edge-aligned angles and a
coarse grid, then refined at 1° steps; each candidate is planned with its turns inside the boundary (see
``FINAL_STEPS``), and one that falls short of the coverage goal pays for the shorter insets it will need.
The final plan then takes the shortest turns that keep the goal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo.decompose import boustrophedon_cells, polygons_of
from geo.energy import FlightModel
from geo.errors import PlanningError
from geo.metrics import coverage
from geo.swaths import (
    CellTour,
    cell_tours,
    fill_notches,
    notch_overshoot,
    points_from_swath_frame,
    shared_margins,
    to_swath_frame,
)
from geo.visibility import VisibilityGraph

XY = tuple[float, float]

COARSE_STEP_DEG = 15.0
EDGE_CANDIDATES = 6  # longest-edge directions tried besides the coarse grid
FULL_EVALUATIONS = 5  # candidates planned in full after the cheap estimate
COVERAGE_TARGET = 0.995
# The final plan must reach this: a hair above the target, so that rounding never drops it below.
COVERAGE_GOAL = 0.996
FIRST_CELL_TRIES = 12  # first cells (with their way in) tried by the greedy cell order
# Turns may run inside the boundary instead of on it (the inset, a share of W): a turn's own sweep
# covers the strip along the boundary, so each turn saves twice the inset in swath length but leaves
# a notch between the rows that do not turn there; running each turn on past its rows (the fill, a
# share of the overshoot that closes a notch fully, see ``notch_overshoot``) covers most of the notch
# for a few metres. The final plan takes the first of these (inset, fill) steps, shortest path first,
# that keeps the coverage goal. Measured on the sample areas (see bench/coverage.py): no single step
# suits all: Tarango and Predio CAI need fill 0.5, Becerra passes at 0.2.
FINAL_STEPS = (
    (0.45, 0.2),
    (0.45, 0.35),
    (0.45, 0.5),
    (0.4, 0.5),
    (0.35, 0.5),
    (0.3, 0.5),
    (0.25, 0.5),
    (0.2, 0.5),
    (0.1, 0.5),
    (0.0, 0.0),
)
SEARCH_STEP = 1  # the step the angle search assumes
STUB = 0.5  # length (share of W) of a row's end bent towards the overshooting turn
# Where the boundary runs nearly along the swaths, the shrunk region's end of a row falls far back and
# the notch grows: a row stops at most this many insets short of the boundary's own end (1.5 took
# Tarango from 1.193 to 1.173 at the same coverage goal).
PULLBACK_CAP = 1.5
COVERAGE_MARGIN = 0.001  # search coverage this far above the goal: the final plan starts at step 0
SHORTFALL_COST = 10.0  # search penalty: share of time added per unit of coverage below the goal
# Regions filling less than this share of their convex hull (a winding ravine) have the whole coarse grid
# of angles planned in full: the cheap estimate misranks them.
WINDING = 0.5
HILL_STEPS = (2.0, 1.0)  # the hill-climb from the best candidate, ending at 1°


@dataclass(frozen=True, kw_only=True)
class SweepResult:
    """A coverage path in the local frame (east, north metres), first swath to last."""

    angle_deg: float
    path: np.ndarray
    swaths: int
    cells: int
    est_time_s: float
    inset: float = 0.0  # share of W the turns run inside the boundary
    fill: float = 0.0  # share of the notch-closing overshoot the turns run past their rows


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
        return _final_sweep(region, graph, spacing, angle_deg, model, start, FINAL_STEPS, {})
    candidates = candidate_angles(region, spacing)
    if region.area < WINDING * region.convex_hull.area:
        # Winding shapes: the estimate counts each line as crossing once, so it cannot rank them; their
        # many short edges say little either. Plan the whole coarse grid.
        first = candidates[-round(180.0 / COARSE_STEP_DEG) :]
    else:
        first = _distinct(
            sorted(candidates, key=lambda a: estimate_time_s(region, spacing, a, model)), FULL_EVALUATIONS
        )
    shrunk: dict[float, BaseGeometry] = {}
    search = _AngleSearch(region, graph, spacing, model, start, shrunk)
    search.offer(first)
    for step in HILL_STEPS:
        search.offer([search.best.angle_deg - step, search.best.angle_deg + step])
    # Start from the largest inset the search's coverage suggests will keep the goal.
    if search.best_coverage >= COVERAGE_GOAL + COVERAGE_MARGIN:
        steps = FINAL_STEPS
    else:
        steps = FINAL_STEPS[SEARCH_STEP if search.best_coverage >= COVERAGE_GOAL else SEARCH_STEP + 1 :]
    return _final_sweep(region, graph, spacing, search.best.angle_deg, model, start, steps, shrunk)


class _AngleSearch:
    """Sweeps at candidate angles (straight joins, the search step's inset), scored by estimated time
    plus a penalty for coverage below the goal: there the final plan must lower the inset, about 10 %
    more time per 1 % of coverage on the sample areas. The penalty only adds, so the coverage (a costly
    buffer of the path) is measured only for sweeps quick enough to win."""

    def __init__(self, region, graph, spacing, model, start, shrunk) -> None:
        self._args = (region, graph, spacing)
        self._kw = {"model": model, "start": start, "join": False}
        self._inset, self._fill = FINAL_STEPS[SEARCH_STEP]
        self._inner = _shrunk(region, self._inset * spacing, shrunk)
        self._sweeps: dict[float, SweepResult] = {}
        self.best: SweepResult | None = None
        self.best_coverage = math.nan
        self._best_score = math.inf

    def offer(self, angles: list[float]) -> None:
        for r in sorted((self._sweep(a) for a in angles), key=lambda r: r.est_time_s):
            if r.est_time_s >= self._best_score:
                break
            region, _, spacing = self._args
            cov = coverage(region, r.path, spacing)
            score = r.est_time_s * (1.0 + SHORTFALL_COST * max(0.0, COVERAGE_GOAL - cov))
            if score < self._best_score:
                self.best, self.best_coverage, self._best_score = r, cov, score

    def _sweep(self, a: float) -> SweepResult:
        a = round(a % 180.0, 6)
        if a not in self._sweeps:
            self._sweeps[a] = sweep_at_angle(
                *self._args, a, **self._kw, inset=self._inset, fill=self._fill, inner=self._inner
            )
        return self._sweeps[a]


def _shrunk(region: BaseGeometry, by: float, cache: dict[float, BaseGeometry]) -> BaseGeometry:
    if by not in cache:
        cache[by] = region.buffer(-by)
    return cache[by]


def _final_sweep(region, graph, spacing, angle_deg, model, start, steps, shrunk) -> SweepResult:
    """The sweep at the first (inset, fill) of ``steps`` that keeps the coverage goal; untrimmed if none."""
    for inset, fill in steps:
        inner = _shrunk(region, inset * spacing, shrunk)
        result = sweep_at_angle(
            region, graph, spacing, angle_deg, model=model, start=start, inset=inset, fill=fill, inner=inner
        )
        if coverage(region, result.path, spacing) >= COVERAGE_GOAL:
            return result
    # Spiky shapes: even ends on the boundary leave more than the target uncovered.
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
    """Cheap estimate: swaths, the turns between them and one corner per swath end.

    The number of swath ends is the boundary's extent across the swaths divided by W (each boundary
    stretch rising by W meets one more line). The turns run along the boundary between every other
    pair of ends, so about half of each edge crossed by lines is flown, less the inset at each end.
    """
    a = math.radians(angle_deg)
    across = along = 0.0
    for poly in polygons_of(region):
        for ring in (poly.exterior, *poly.interiors):
            d = np.diff(np.asarray(ring.coords), axis=0)
            rise = np.abs(-math.sin(a) * d[:, 0] + math.cos(a) * d[:, 1])
            across += float(rise.sum())
            along += float((0.5 * np.hypot(d[:, 0], d[:, 1]) * np.minimum(1.0, rise / spacing)).sum())
    ends = across / spacing
    length = region.area / spacing + along - ends * FINAL_STEPS[SEARCH_STEP][0] * spacing
    return length / model.speed_mps + ends * model.turn_time_s(math.pi / 2.0)


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
    inset: float = 0.0,
    fill: float = 0.0,
    inner: BaseGeometry | None = None,
) -> SweepResult:
    """The sweep at one angle. ``join=False`` joins swaths straight (a cheaper estimate for the search).

    ``inset`` (share of ``spacing``): how far inside the boundary the turns between rows may run;
    ``fill``: the share of ``notch_overshoot`` the turns run on past their rows; ``inner``, if given,
    is ``region`` already shrunk by the inset (the search reuses one for every angle).
    """
    region_r = to_swath_frame(region, angle_deg)
    flyable_r = to_swath_frame(graph.free, angle_deg)
    shapely.prepare(flyable_r)
    cells = boustrophedon_cells(region_r)
    inner_r, overshoot = None, 0.0
    if trim and inset > 0:
        inner_r = to_swath_frame(region.buffer(-inset * spacing) if inner is None else inner, angle_deg)
        overshoot = fill * notch_overshoot(inset * spacing, spacing)
    cap = PULLBACK_CAP * inset * spacing
    shifts = shared_margins(cells, spacing)
    tours = [
        cell_tours(cell, spacing, flyable_r, trim, inner_r, cap, shift)
        for cell, shift in zip(cells, shifts, strict=True)
    ]
    tours = [t for t in tours if t]
    if not tours:
        raise PlanningError("the area is too small or too thin to lay a single swath")
    start_r = None if start is None else _rotate_point(start, -angle_deg)
    order = _order_cells(tours, start_r)
    pts_r = np.vstack([tours[c][v].points for c, v in order])
    legs = [tours[c][v].is_swath_leg for c, v in order]
    swath_leg = np.concatenate([np.append(leg, False) for leg in legs])[:-1]
    if overshoot > 0:
        offsets = np.cumsum([0, *(len(tours[c][v].points) for c, v in order)])
        turns = np.concatenate([tours[c][v].turns + k for (c, v), k in zip(order, offsets, strict=False)])
        pts_r, swath_leg = fill_notches(pts_r, swath_leg, turns, overshoot, spacing * STUB, flyable_r)
    path = points_from_swath_frame(pts_r, angle_deg)
    if join:
        path = _join_obstacle_free(path, swath_leg, graph)
    path = simplify_path(path)
    full = path if start is None else np.vstack([start, path, start])
    est = model.path_time_s(full)
    n_swaths = int(sum(leg.sum() for leg in legs))
    return SweepResult(
        angle_deg=angle_deg % 180.0,
        path=path,
        swaths=n_swaths,
        cells=len(tours),
        est_time_s=est,
        inset=inset if trim else 0.0,
        fill=fill if trim and inset > 0 else 0.0,
    )


def _rotate_point(p: XY, angle_deg: float) -> np.ndarray:
    return points_from_swath_frame(np.array([p], dtype=float), angle_deg)[0]


def _order_cells(tours: list[list[CellTour]], start: np.ndarray | None) -> list[tuple[int, int]]:
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
    # hop[c, v, c2, v2]: from the exit of cell c's way v to the entry of cell c2's way v2.
    hop = np.hypot(*(exits[:, :, None, None, :] - entries[None, None, :, :, :]).transpose(4, 0, 1, 2, 3))
    for c0, v0 in firsts:
        cost = 0.0 if start is None else float(np.hypot(*(entries[c0, v0] - start)))
        order = [(c0, v0)]
        done = np.zeros(n, dtype=bool)
        done[c0] = True
        c, v = c0, v0
        for _ in range(n - 1):
            d = np.where(done[:, None], np.inf, hop[c, v])
            c, v = divmod(int(np.argmin(d)), d.shape[1])
            cost += float(d[c, v])
            order.append((c, v))
            done[c] = True
            if cost >= best[0]:
                break
        if start is not None:
            cost += float(np.hypot(*(exits[c, v] - start)))
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
    if len(path) < 2:
        return path
    keep = path[np.concatenate([[True], np.hypot(*np.diff(path, axis=0).T) > tol])]
    if len(keep) < 3:
        return keep
    u, v = keep[1:-1] - keep[:-2], keep[2:] - keep[1:-1]
    cross = u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]
    bend = np.abs(cross) > tol * np.maximum(1.0, np.hypot(*u.T) * np.hypot(*v.T))
    return np.vstack([keep[:1], keep[1:-1][bend | ((u * v).sum(axis=1) < 0)], keep[-1:]])
