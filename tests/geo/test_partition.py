import pytest
from shapely.geometry import Polygon, box

from geo.energy import FlightModel
from geo.partition import assign_docks, split_equal
from geo.sweep import sweep_at_angle
from geo.visibility import VisibilityGraph


def test_equal_area_parts_tile_the_region() -> None:
    region = Polygon([(0, 0), (600, 0), (600, 200), (300, 500), (0, 500)])
    parts = split_equal(region, 3, angle_deg=0.0, spacing=50.0)
    assert len(parts) == 3
    assert sum(p.area for p in parts) == pytest.approx(region.area)
    assert max(p.area for p in parts) / min(p.area for p in parts) < 1.5  # snapped to the 50 m lattice


def test_time_balanced_parts_with_docks() -> None:
    region = box(0, 0, 800, 600)
    graph = VisibilityGraph(region.buffer(25, join_style="mitre"))
    model = FlightModel()
    docks = [(-300.0, 0.0), (-300.0, 600.0)]

    def cost(part, i):
        near = min(docks, key=lambda d: part.distance(__import__("shapely").Point(d)))
        return sweep_at_angle(part, graph, 50.0, 0.0, model=model, start=near, join=False).est_time_s

    parts = split_equal(region, 2, angle_deg=0.0, spacing=50.0, cost=cost)
    times = [cost(p, i) for i, p in enumerate(parts)]
    assert max(times) / min(times) < 1.15
    assert assign_docks(parts, docks) == [0, 1]


def test_docks_are_shared_only_when_there_are_too_few() -> None:
    parts = [box(0, 0, 10, 10), box(0, 100, 10, 110), box(0, 200, 10, 210)]
    assert sorted(assign_docks(parts, [(0, 0), (0, 100), (0, 200), (0, 1000)])) == [0, 1, 2]
    assert assign_docks(parts, [(0, 0)]) == [0, 0, 0]
