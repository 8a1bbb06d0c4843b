import numpy as np
import pytest
from shapely.geometry import Polygon, box

from geo.metrics import coverage
from geo.swaths import cell_swaths, from_swath_frame, line_heights, to_swath_frame


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
