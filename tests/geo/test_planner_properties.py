"""Property tests: random areas with holes and no-fly zones → a safe, complete, flyable plan."""

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, Polygon
from shapely.ops import unary_union

from geo.energy import Battery
from geo.frames import LocalFrame, LonLat
from geo.plan import plan_patrol

ORIGIN = LocalFrame(origin=LonLat(-99.21, 19.36))
W = 50.0
BUFFER = 10.0
TOL = 0.05  # metres: numerical slack allowed at boundaries


def star(cx, cy, radii, phase):
    n = len(radii)
    a = phase + np.linspace(0, 2 * math.pi, n, endpoint=False)
    return Polygon(np.column_stack((cx + np.array(radii) * np.cos(a), cy + np.array(radii) * np.sin(a))))


@st.composite
def areas(draw):
    radii = draw(st.lists(st.floats(180, 450), min_size=5, max_size=11))
    shell = star(0, 0, radii, draw(st.floats(0, 1)))
    holes = []
    for _ in range(draw(st.integers(0, 2))):
        cx, cy = draw(st.floats(-150, 150)), draw(st.floats(-150, 150))
        hole = star(cx, cy, draw(st.lists(st.floats(20, 60), min_size=3, max_size=6)), draw(st.floats(0, 1)))
        if shell.buffer(-40).contains(hole) and all(hole.distance(h) > 40 for h in holes):
            holes.append(hole)
    area = Polygon(shell.exterior, [h.exterior for h in holes])
    no_fly = []
    if draw(st.booleans()):
        cx, cy = draw(st.floats(-200, 200)), draw(st.floats(-200, 200))
        zone = Point(cx, cy).buffer(draw(st.floats(15, 50)), quad_segs=4)
        if area.buffer(-30).contains(zone) and all(zone.distance(h) > 40 for h in holes):
            no_fly.append(zone)
    return area, no_fly


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(areas())
def test_random_area_plan_is_safe_complete_and_flyable(sample) -> None:
    area, no_fly = sample
    battery = Battery(flight_min=12, reserve_pct=25)
    plan = plan_patrol(
        ORIGIN.geometry_to_lonlat(area),
        spacing_m=W,
        no_fly=[ORIGIN.geometry_to_lonlat(z) for z in no_fly],
        buffer_m=BUFFER,
        docks=[ORIGIN.to_lonlat((-650.0, 0.0))],
        battery=battery,
    )
    frame = LocalFrame(origin=plan.origin)
    local_area = frame.geometry_to_local(ORIGIN.geometry_to_lonlat(area))
    forbidden = unary_union(
        [Polygon(r) for r in local_area.interiors]
        + [frame.geometry_to_local(ORIGIN.geometry_to_lonlat(z)) for z in no_fly]
    )
    for s in plan.sorties:
        line = frame.geometry_to_local(LineString(s.path))
        if not forbidden.is_empty:
            assert line.intersection(forbidden.buffer(BUFFER - TOL)).length < 1e-6
        assert s.est_time_s <= battery.usable_s + 1e-6
    outer = Polygon(local_area.exterior).buffer(W / 2 + TOL, join_style="mitre")
    for work in plan.work_paths:
        assert outer.covers(frame.geometry_to_local(LineString(work)))
    assert plan.stats.coverage >= 0.99
    assert plan.stats.length_in_no_fly_m == 0.0
