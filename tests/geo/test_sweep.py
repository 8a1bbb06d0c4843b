"""The sweep planner on the sample areas (W = 50 m, no-fly + 10 m): snapshot-ish, with tolerances."""

import time

import numpy as np
import pytest
from shapely.geometry import LineString, Polygon, box
from shapely.ops import unary_union

from geo.energy import FlightModel
from geo.frames import frame_for
from geo.loader import load_areas
from geo.metrics import measure
from geo.sweep import plan_sweep, sweep_at_angle
from geo.visibility import VisibilityGraph

W = 50.0
# name -> (path length m, tolerance) measured when the planner was written; a regression guard.
EXPECTED_LENGTH = {
    "Barranca Tarango - tramo norte": 13400,
    "Parque La Loma - ladera": 6700,
    "Barranca Becerra - sector con escuela": 20000,
    "Predio CAI - perímetro": 1670,
}


def setup(area_polygon, no_fly):
    frame = frame_for(area_polygon)
    a = frame.geometry_to_local(area_polygon)
    raw = unary_union([frame.geometry_to_local(z) for z in no_fly])
    obstacles = unary_union([Polygon(r) for r in a.interiors] + [raw]).buffer(10, join_style="mitre")
    region = a.difference(obstacles)
    flyable = Polygon(a.exterior).buffer(W / 2, join_style="mitre").difference(obstacles)
    return a, region, raw, obstacles, VisibilityGraph(flyable)


@pytest.fixture(scope="module")
def samples(sample_areas_path):
    s = load_areas(sample_areas_path)
    return {a.name: setup(a.polygon, [z.polygon for z in s.no_fly]) for a in s.areas}


@pytest.mark.parametrize("name", list(EXPECTED_LENGTH))
def test_sample_area_meets_the_bar(samples, name: str) -> None:
    a, region, raw, obstacles, graph = samples[name]
    t0 = time.perf_counter()
    r = plan_sweep(region, graph, W, model=FlightModel())
    elapsed = time.perf_counter() - t0
    m = measure(region, r.path, W, raw)
    assert m.coverage >= 0.995
    assert m.length_in_no_fly_m == 0.0
    assert LineString(r.path).intersection(obstacles.buffer(-0.05)).length < 1e-6
    assert a.buffer(W / 2 + 0.1, join_style="mitre").covers(LineString(r.path))
    assert m.length_m == pytest.approx(EXPECTED_LENGTH[name], rel=0.08)
    assert elapsed < 2.0  # generous for a loaded CI box; the bench measures the real figure


def test_becerra_routes_around_the_school(samples) -> None:
    a, region, _raw, _obstacles, graph = samples["Barranca Becerra - sector con escuela"]
    r = plan_sweep(region, graph, W, model=FlightModel(), angle_deg=0.0)  # lines run straight at the school
    school = Polygon(a.interiors[0])
    assert LineString(r.path).intersection(school.buffer(9.9)).length == 0.0
    assert r.cells >= 3  # decomposed around the hole


def test_chosen_angle_is_near_the_best_of_a_brute_force_search(samples) -> None:
    _, region, _, _, graph = samples["Parque La Loma - ladera"]
    model = FlightModel()
    chosen = plan_sweep(region, graph, W, model=model)
    brute = min(sweep_at_angle(region, graph, W, a, model=model).est_time_s for a in range(0, 180, 6))
    assert chosen.est_time_s <= brute * 1.05


def test_rectangle_is_swept_along_its_long_side() -> None:
    rect = box(0, 0, 1000, 200)
    r = plan_sweep(rect, VisibilityGraph(rect.buffer(25, join_style="mitre")), W, model=FlightModel())
    assert r.angle_deg % 180 == pytest.approx(0.0, abs=1.0) or r.angle_deg == pytest.approx(180.0, abs=1.0)
    assert r.swaths == 4
    assert np.ptp(r.path[:, 1]) == pytest.approx(150.0, abs=1e-6)
