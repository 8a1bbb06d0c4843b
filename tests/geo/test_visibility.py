import math

import numpy as np
import pytest
from shapely.geometry import LineString, box

from geo.errors import PlanningError
from geo.visibility import VisibilityGraph, path_length


def test_straight_when_visible() -> None:
    g = VisibilityGraph(box(0, 0, 100, 100))
    assert g.shortest_path((1, 1), (99, 99)) == [(1.0, 1.0), (99.0, 99.0)]


def test_goes_around_an_obstacle_by_the_shorter_side() -> None:
    wall = box(45, 20, 55, 100)  # open only below
    free = box(0, 0, 100, 100).difference(wall)
    g = VisibilityGraph(free, clearance=0.5)
    path = g.shortest_path((10, 90), (90, 90))
    assert LineString(path).intersection(wall).length == pytest.approx(0.0, abs=1e-6)
    ideal = 2 * math.hypot(35, 70) + 10
    assert path_length(path) == pytest.approx(ideal, rel=0.02)
    assert min(p[1] for p in path) < 20


def test_concave_outer_boundary() -> None:
    u_shape = box(0, 0, 100, 100).difference(box(30, 30, 70, 100))
    g = VisibilityGraph(u_shape, clearance=0.5)
    path = g.shortest_path((10, 90), (90, 90))
    assert g.free.buffer(0.01).covers(LineString(path))
    assert 2 * math.hypot(20, 60) + 40 - 1 < path_length(path) < 2 * math.hypot(20, 60) + 40 + 5


def test_disconnected_regions_raise() -> None:
    free = box(0, 0, 10, 10).union(box(20, 0, 30, 10))
    with pytest.raises(PlanningError, match="no obstacle-free path"):
        VisibilityGraph(free).shortest_path((5, 5), (25, 5))


def test_visible_many_matches_single_checks() -> None:
    g = VisibilityGraph(box(0, 0, 100, 100).difference(box(40, 40, 60, 60)))
    a = np.array([[10.0, 50.0], [10.0, 10.0], [50.0, 10.0]])
    b = np.array([[90.0, 50.0], [90.0, 10.0], [50.0, 90.0]])
    assert g.visible_many(a, b).tolist() == [False, True, False]
