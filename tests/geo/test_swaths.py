import math

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon, box

from geo.metrics import coverage
from geo.swaths import (
    LINE_SLACK,
    cell_swaths,
    from_swath_frame,
    line_heights,
    ring_edges,
    shared_margins,
    strip_extents,
    to_swath_frame,
)


@pytest.mark.parametrize("height", [10.0, 50.0, 51.0, 120.0, 333.3, 1000.0])
def test_lines_start_and_end_half_a_swath_inside_and_never_leave_gaps(height: float) -> None:
    ys = line_heights(0.0, height, 50.0)
    if height <= 50.0:
        assert ys.tolist() == [height / 2]
    else:
        assert ys[0] == pytest.approx(25.0) and ys[-1] == pytest.approx(height - 25.0)
        assert np.diff(ys).max() <= 50.0 + 1e-9
        assert len(ys) == int(np.ceil((height - 50.0) / 50.0 - 1e-9)) + 1  # no more lines than needed


def test_rectangle_swaths_cover_it_exactly() -> None:
    rows = cell_swaths(box(0, 0, 300, 220), 50.0)
    assert len(rows) == 5
    assert all(len(r) == 1 and r[0].x0 == 0 and r[0].x1 == 300 for r in rows)


def test_slanted_cell_is_covered_beyond_the_chords() -> None:
    tri = Polygon([(0, 0), (400, 0), (0, 300)])
    rows = cell_swaths(tri, 50.0)
    path = np.array(
        [p for i, r in enumerate(rows) for p in ((r[0].x0, r[0].y), (r[0].x1, r[0].y))[:: 1 - 2 * (i % 2)]]
    )
    assert coverage(tri, path, 50.0) >= 0.995


def test_swaths_are_clipped_to_the_flyable_region() -> None:
    cell = box(0, 0, 300, 100)
    flyable = box(-25, -25, 325, 125).difference(box(140, 40, 160, 60))
    rows = cell_swaths(cell, 50.0, flyable)
    hole = box(140, 40, 160, 60)
    for row in rows:
        for s in row:
            assert not hole.intersects(box(s.x0, s.y, s.x1, s.y).buffer(-1e-6)) or s.y < 40 or s.y > 60


def test_swath_frame_round_trip() -> None:
    g = box(0, 0, 10, 5)
    back = from_swath_frame(to_swath_frame(g, 37.0), 37.0)
    assert back.symmetric_difference(g).area < 1e-9


@pytest.mark.parametrize(
    ("height", "lines"), [(300.1, 6), (250.09, 5), (701.0, 14), (300.0 * (1 + 3 * LINE_SLACK), 7)]
)
def test_a_cell_a_hair_taller_than_whole_swaths_gets_no_extra_line(height: float, lines: int) -> None:
    ys = line_heights(0.0, height, 50.0)
    assert len(ys) == lines
    gaps = np.diff(np.concatenate([[0.0], ys, [height]])) * np.array([2.0] + [1.0] * (lines - 1) + [2.0])
    assert gaps.max() <= 50.0 * (1.0 + LINE_SLACK) + 1e-9  # slivers at most the slack, never a strip
    rect = box(0, 0, 400, height)
    path = np.array([p for i, y in enumerate(ys) for p in ((0, y), (400, y))[:: 1 - 2 * (i % 2)]])
    assert coverage(rect, path, 50.0) >= 1.0 - LINE_SLACK


def star(draw, cx: float, cy: float, rmin: float, rmax: float) -> Polygon:
    radii = draw(st.lists(st.floats(rmin, rmax), min_size=5, max_size=12))
    a = draw(st.floats(0, 1)) + np.linspace(0, 2 * math.pi, len(radii), endpoint=False)
    return Polygon(np.column_stack((cx + np.array(radii) * np.cos(a), cy + np.array(radii) * np.sin(a))))


@st.composite
def shapes_and_strips(draw):
    shape = star(draw, 0, 0, 50, 300)
    if draw(st.booleans()):  # a hole, as the region shrunk by the inset has
        hole = star(draw, draw(st.floats(-40, 40)), draw(st.floats(-40, 40)), 10, 40)
        if shape.buffer(-5).contains(hole):
            shape = shape.difference(hole)
    ya = np.array(draw(st.lists(st.floats(-320, 320), min_size=1, max_size=8)))
    height = np.array(draw(st.lists(st.sampled_from([0.0, 15.0, 40.0]), min_size=len(ya), max_size=len(ya))))
    x = np.array(draw(st.lists(st.floats(-320, 320), min_size=2 * len(ya), max_size=2 * len(ya)))).reshape(
        -1, 2
    )
    x = np.sort(x, axis=1)
    x[:, 1] = np.maximum(x[:, 1], x[:, 0] + 1.0)  # windows are x-ranges of swaths, never points
    return shape, ya, ya + height, x


def strip(x0: float, x1: float, y0: float, y1: float):
    return shapely.box(x0, y0, x1, y1) if y1 > y0 else shapely.linestrings([(x0, y0), (x1, y0)])


@settings(max_examples=60, deadline=None)
@given(shapes_and_strips())
def test_strip_extents_match_the_bounds_of_a_geos_intersection(sample) -> None:
    shape, ya, yb, window = sample
    shapely.prepare(shape)
    edges = ring_edges(shape)
    for win in (None, window):
        got = strip_extents(edges, ya, yb, win, shape)
        lo = np.full(len(ya), -1e4) if win is None else win[:, 0]
        hi = np.full(len(ya), 1e4) if win is None else win[:, 1]
        clips = [
            shapely.intersection(shape, strip(a, b, y0, y1))
            for a, b, y0, y1 in zip(lo, hi, ya, yb, strict=True)
        ]
        want = np.array([c.bounds if not c.is_empty else (np.nan,) * 4 for c in clips])[:, [0, 2]]
        assert np.allclose(got, want, atol=1e-6, equal_nan=True), (got, want)


def test_shared_margins_only_across_a_cut_the_sharing_cell_spans() -> None:
    from geo.decompose import boustrophedon_cells

    cells = boustrophedon_cells(box(0, 0, 600, 800).difference(box(200, 270, 400, 530)))
    shifts = dict(zip((c.bounds for c in cells), shared_margins(cells, 50.0), strict=True))
    assert shifts[(0.0, 0.0, 600.0, 270.0)] == (0.0, pytest.approx(9.5, abs=0.01))  # bottom reaches up
    assert shifts[(0.0, 270.0, 200.0, 530.0)] == (pytest.approx(9.5, abs=0.01), 0.0)  # its lines start higher
    assert shifts[(0.0, 530.0, 600.0, 800.0)] == (0.0, 0.0)  # already relieved from below: nothing to do
    # An L: the upper leg overhangs nothing it could take from the lower one, and vice versa.
    l_shape = [box(0, 0, 600, 260), box(0, 260, 200, 800)]
    assert shared_margins(l_shape, 50.0) == [(0.0, 0.0), (0.0, 0.0)]
