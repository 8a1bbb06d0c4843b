import math

import pytest
from shapely.geometry import LineString, Point, box

from geo.energy import Battery
from geo.errors import PlanningError
from geo.frames import LocalFrame, LonLat, frame_for
from geo.items import MavCmd
from geo.loader import load_areas
from geo.plan import plan_patrol

BECERRA = "Barranca Becerra - sector con escuela"
CAI = "Predio CAI - perímetro"


@pytest.fixture(scope="module")
def areas(sample_areas_path):
    return load_areas(sample_areas_path)


def _nf(areas):
    return [z.polygon for z in areas.no_fly]


def test_sweep_plan_items_fence_and_stats(areas) -> None:
    area = areas.area(CAI)
    dock = areas.docks[0]
    plan = plan_patrol(area.polygon, altitude_m=40, spacing_m=50, no_fly=_nf(areas), docks=[dock])
    assert plan.stats.coverage >= 0.995 and plan.stats.length_in_no_fly_m == 0
    assert len(plan.sorties) == 1
    items = plan.sorties[0].items
    assert items[0].command == MavCmd.NAV_TAKEOFF and items[0].alt == 40
    assert items[1].command == MavCmd.DO_CHANGE_SPEED and items[1].param2 == 8.0
    assert items[2].command == MavCmd.DO_GIMBAL_MANAGER_PITCHYAW and items[2].param1 == -90.0
    assert items[-1].command == MavCmd.NAV_RETURN_TO_LAUNCH
    assert all(it.command == MavCmd.NAV_WAYPOINT and it.alt == 40 for it in items[3:-1])
    assert plan.sorties[0].path[0] == pytest.approx(dock.position) and plan.sorties[0].dock == pytest.approx(
        dock.position
    )
    inc = [it for it in plan.fence if it.command == MavCmd.NAV_FENCE_POLYGON_VERTEX_INCLUSION]
    exc = [it for it in plan.fence if it.command == MavCmd.NAV_FENCE_POLYGON_VERTEX_EXCLUSION]
    assert len(inc) == int(inc[0].param1) >= 3 and len(exc) > 0
    fence = __import__("shapely").geometry.Polygon([(it.lon, it.lat) for it in inc])
    assert all(fence.covers(Point(p)) for s in plan.sorties for p in s.path)


def test_becerra_sorties_fit_the_battery_and_avoid_the_school(areas) -> None:
    area = areas.area(BECERRA)
    battery = Battery(flight_min=20, reserve_pct=25)
    plan = plan_patrol(
        area.polygon,
        spacing_m=50,
        no_fly=_nf(areas),
        docks=[d.position for d in areas.docks],
        battery=battery,
        drones=2,
    )
    assert plan.drones == 2 and {s.drone for s in plan.sorties} == {0, 1}
    assert all(s.est_time_s <= battery.usable_s + 1e-6 for s in plan.sorties)
    assert plan.stats.coverage >= 0.995
    frame = LocalFrame(origin=plan.origin)
    school = frame.geometry_to_local(areas.no_fly_zone("Escuela secundaria - zona de exclusión").polygon)
    for s in plan.sorties:
        line = frame.geometry_to_local(LineString(s.path))
        assert line.intersection(school.buffer(9.9)).length == 0.0
    per_drone = [sum(s.est_time_s for s in plan.sorties if s.drone == d) for d in (0, 1)]
    assert max(per_drone) / min(per_drone) < 1.35


def test_perimeter_starts_near_the_dock_and_is_inside(areas) -> None:
    area = areas.area(CAI)
    dock = areas.dock("Base CAI").position
    plan = plan_patrol(area.polygon, pattern="perimeter", altitude_m=40, margin_m=10, laps=2, docks=[dock])
    frame = frame_for(area.polygon)
    work = [frame.to_local(p) for p in plan.work_paths[0]]
    poly = frame.geometry_to_local(area.polygon)
    assert poly.buffer(-9.9).exterior.distance(Point(work[0])) < 0.5
    assert poly.covers(LineString(work))
    assert plan.stats.work_length_m == pytest.approx(
        2 * poly.buffer(-10, join_style="mitre").exterior.length, rel=0.01
    )


def test_route_goes_around_a_no_fly_zone() -> None:
    f = LocalFrame(origin=LonLat(-99.2, 19.36))
    zone = f.geometry_to_lonlat(box(-50, -50, 50, 50))
    a, b = f.to_lonlat((-300, 0)), f.to_lonlat((300, 0))
    plan = plan_patrol(pattern="route", waypoints=[a, b], no_fly=[zone], buffer_m=10)
    assert plan.stats.length_in_no_fly_m == 0.0
    assert 600 < plan.stats.work_length_m < 700


def test_orbit_as_waypoints_and_refused_through_no_fly() -> None:
    c = LonLat(-99.2, 19.36)
    plan = plan_patrol(pattern="orbit", orbit_center=c, orbit_radius_m=100, docks=[c])
    assert plan.stats.work_length_m == pytest.approx(2 * math.pi * 100, rel=0.01)
    assert any(it.command == MavCmd.DO_SET_ROI_LOCATION for it in plan.sorties[0].items)
    f = LocalFrame(origin=c)
    with pytest.raises(PlanningError, match="orbit crosses"):
        plan_patrol(
            pattern="orbit",
            orbit_center=c,
            orbit_radius_m=100,
            no_fly=[f.geometry_to_lonlat(box(90, -10, 130, 10))],
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"altitude_m": 150}, "altitude 150"),
        ({"altitude_m": 100, "max_altitude_m": 80}, "altitude 100"),
        ({"pattern": "zigzag"}, "unknown pattern"),
        ({"speed_mps": 0}, "speed"),
        ({"drones": 0}, "drones"),
        ({"pattern": "orbit"}, "centre and a radius"),
        ({"battery": Battery(flight_min=1, reserve_pct=50)}, "battery"),
    ],
)
def test_bad_input_raises_a_clear_planning_error(areas, kwargs, message) -> None:
    area = areas.area(CAI)
    far_dock = areas.dock("Base Sur").position
    with pytest.raises(PlanningError, match=message):
        plan_patrol(area.polygon, docks=[far_dock], **kwargs)


def test_dock_inside_a_no_fly_zone_is_refused(areas) -> None:
    hospital = areas.no_fly_zone("Hospital - zona de exclusión").polygon
    c = hospital.representative_point()
    with pytest.raises(PlanningError, match="dock"):
        plan_patrol(areas.area(CAI).polygon, no_fly=[hospital], docks=[LonLat(c.x, c.y)])


def test_perimeter_detours_around_a_no_fly_zone_on_the_ring() -> None:
    f = LocalFrame(origin=LonLat(-99.2, 19.36))
    zone = box(150, -30, 260, 30)
    plan = plan_patrol(
        f.geometry_to_lonlat(box(-200, -200, 200, 200)),
        pattern="perimeter",
        margin_m=20,
        no_fly=[f.geometry_to_lonlat(zone)],
        docks=[f.to_lonlat((-250, -250))],
    )
    frame = LocalFrame(origin=plan.origin)
    work = frame.geometry_to_local(LineString(plan.work_paths[0]))
    assert work.intersection(frame.geometry_to_local(f.geometry_to_lonlat(zone)).buffer(9.9)).length == 0.0
    assert work.is_ring or work.coords[0] == pytest.approx(work.coords[-1])
