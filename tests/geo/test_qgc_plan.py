"""QGroundControl .plan: import of QGC's own sample, export in QGC's exact shape, round trips."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPoint, Polygon

from geo.areas import Kind
from geo.errors import FormatError
from geo.frames import LonLat
from geo.items import (
    MavCmd,
    MavFrame,
    MissionItem,
    change_speed,
    jump,
    land,
    loiter_time,
    roi_location,
    takeoff,
    waypoint,
)
from geo.loader import check_areas
from geo.qgc_plan import (
    FenceCircle,
    QgcPlan,
    RallyPoint,
    dump_plan,
    load_plan,
    make_plan,
    parse_plan,
    plan_to_geojson,
    plan_to_json,
    plan_to_kml,
)

FENCE = Polygon([(-99.25, 19.34), (-99.18, 19.34), (-99.18, 19.39), (-99.25, 19.39)])
SCHOOL = Polygon([(-99.2056, 19.3707), (-99.2034, 19.3707), (-99.2034, 19.3728), (-99.2056, 19.3728)])


def _plan() -> QgcPlan:
    items = (
        takeoff(30.0),
        change_speed(8.0),
        waypoint(19.3687, -99.2221, 40.0),
        roi_location(19.3650, -99.2150, 0.0),
        loiter_time(19.3700, -99.2200, 45.0, 20.0),
        jump(2, 3),
        MissionItem(command=MavCmd.NAV_WAYPOINT, frame=MavFrame.GLOBAL, lat=19.36, lon=-99.21, alt=2345.5),
        MissionItem(
            command=MavCmd.NAV_WAYPOINT, frame=MavFrame.GLOBAL_TERRAIN_ALT, lat=19.361, lon=-99.211, alt=35.0
        ),
        land(19.3687, -99.2221),
    )
    return QgcPlan(
        items=items,
        home=LonLat(-99.2221414, 19.3687091),
        home_alt_m=2310.0,
        cruise_speed_mps=10.0,
        hover_speed_mps=6.0,
        inclusion=(FENCE,),
        exclusion=(SCHOOL,),
        circles=(FenceCircle(center=LonLat(-99.2273783, 19.3631907), radius_m=180.0, inclusion=False),),
        rally=(RallyPoint(position=LonLat(-99.2388045, 19.3713325), alt_m=30.0),),
    )


def test_imports_qgc_sample(qgc_plan_path: Path) -> None:
    p = load_plan(qgc_plan_path)
    assert len(p.items) == 11
    assert [int(i.command) for i in p.items] == [22, 16, 178, 16, 195, 16, 19, 16, 16, 16, 21]
    assert [int(i.frame) for i in p.items] == [3, 3, 2, 0, 3, 10, 3, 10, 3, 3, 3]
    takeoff_item, speed, amsl, roi, terrain, loiter, landing = (p.items[k] for k in (0, 2, 3, 4, 5, 6, 10))
    assert math.isnan(takeoff_item.param4) and takeoff_item.alt == 30.0  # null → NaN
    assert (speed.param1, speed.param2, speed.param3) == (1.0, 10.0, -1.0)  # ground speed 10 m/s
    assert amsl.alt == 638.056 and amsl.frame == MavFrame.GLOBAL
    assert (roi.lat, roi.lon, roi.param4) == (47.3700507, 8.585312, 0.0)
    assert terrain.alt == 80.0  # "calc above terrain" with no stored AMSL → terrain frame, Altitude
    assert (loiter.param1, loiter.param3, loiter.alt) == (30.0, 50.0, 100.0)
    assert landing.command == MavCmd.NAV_LAND and (landing.lat, landing.lon) == (47.3996949, 8.5455)
    assert p.home == LonLat(8.5455, 47.397) and p.home_alt_m == 488.056
    assert (p.cruise_speed_mps, p.hover_speed_mps) == (15.0, 5.0)


def test_sample_round_trips(qgc_plan_path: Path) -> None:
    p = load_plan(qgc_plan_path)
    assert parse_plan(dump_plan(p)) == p


def test_export_has_qgc_structure() -> None:
    doc = plan_to_json(_plan())
    assert list(doc) == ["fileType", "geoFence", "groundStation", "mission", "rallyPoints", "version"]
    assert (doc["fileType"], doc["version"], doc["groundStation"]) == ("Plan", 1, "QGroundControl")
    m = doc["mission"]
    assert (m["version"], m["firmwareType"], m["vehicleType"], m["cruiseSpeed"], m["hoverSpeed"]) == (
        2,
        12,
        2,
        10.0,
        6.0,
    )
    assert m["plannedHomePosition"] == [19.3687091, -99.2221414, 2310.0]
    assert [it["doJumpId"] for it in m["items"]] == list(range(1, 10))
    wp = m["items"][2]
    assert set(wp) == {
        "AMSLAltAboveTerrain",
        "Altitude",
        "AltitudeMode",
        "autoContinue",
        "command",
        "doJumpId",
        "frame",
        "params",
        "type",
    }
    assert wp["params"] == [0, 0, 0, None, 19.3687, -99.2221, 40] and wp["type"] == "SimpleItem"
    assert (wp["AltitudeMode"], m["items"][6]["AltitudeMode"], m["items"][7]["AltitudeMode"]) == (1, 2, 4)
    assert "AltitudeMode" not in m["items"][1]  # DO_CHANGE_SPEED has no altitude
    assert m["items"][5]["params"][:2] == [3, 3]  # DO_JUMP to item index 2 = doJumpId 3, 3 repeats
    fence = doc["geoFence"]
    assert fence["version"] == 2
    assert fence["polygons"][0] == {
        "inclusion": True,
        "polygon": [[19.34, -99.25], [19.34, -99.18], [19.39, -99.18], [19.39, -99.25]],
        "version": 1,
    }
    assert fence["polygons"][1]["inclusion"] is False
    assert fence["circles"] == [
        {"circle": {"center": [19.3631907, -99.2273783], "radius": 180.0}, "inclusion": False, "version": 1}
    ]
    assert doc["rallyPoints"] == {"points": [[19.3713325, -99.2388045, 30.0]], "version": 2}
    text = dump_plan(_plan())
    assert "NaN" not in text and "null" in text


def test_export_import_round_trip() -> None:
    p = _plan()
    back = parse_plan(dump_plan(p))
    assert back.items == p.items  # compare ignores nothing but NaN: NaN params compared below
    for a, b in zip(p.items, back.items, strict=True):
        assert [math.isnan(x) for x in a.params] == [math.isnan(x) for x in b.params]
    assert back.items[5].param1 == 2.0  # DO_JUMP target back to our 0-based index
    assert back.inclusion[0].equals(FENCE) and back.exclusion[0].equals(SCHOOL)
    assert back == p


def test_plan_areas_and_survey_complex_item() -> None:
    doc = plan_to_json(_plan())
    survey = {
        "type": "ComplexItem",
        "complexItemType": "survey",
        "version": 5,
        "polygon": [[19.36, -99.21], [19.36, -99.20], [19.37, -99.20], [19.37, -99.21]],
        "TransectStyleComplexItem": {
            "Items": [
                {
                    "autoContinue": True,
                    "command": 16,
                    "doJumpId": 10,
                    "frame": 3,
                    "params": [0, 0, 0, None, 19.361, -99.209, 50],
                    "type": "SimpleItem",
                },
                {
                    "autoContinue": True,
                    "command": 16,
                    "doJumpId": 11,
                    "frame": 3,
                    "params": [0, 0, 0, None, 19.369, -99.209, 50],
                    "type": "SimpleItem",
                },
            ]
        },
    }
    doc["mission"]["items"].insert(8, survey)
    p = parse_plan(json.dumps(doc))
    assert len(p.items) == 11 and p.items[8].lat == 19.361
    assert len(p.surveys) == 1
    result = check_areas(json.dumps(doc), fmt="plan")
    assert result.ok, result.faults
    s = result.areas
    assert s.area("Survey 1").polygon.equals(
        Polygon([(-99.21, 19.36), (-99.20, 19.36), (-99.20, 19.37), (-99.21, 19.37)])
    )
    assert s["Fence inclusion 1"].polygon.equals(FENCE)
    assert s.no_fly_zone("Fence exclusion 1").polygon.equals(SCHOOL)
    assert s.no_fly_zone("Fence circle 1").shape.radius_m == 180.0
    assert s.dock("Planned home").alt_m == 2310.0 and s.dock("Rally point 1").position == LonLat(
        -99.2388045, 19.3713325
    )


def test_geojson_and_kml_export() -> None:
    p = _plan()
    gj = plan_to_geojson(p)
    kinds = [f["properties"]["kind"] for f in gj["features"]]
    positioned = [i for i in p.items if i.command in (16, 19, 21, 195)]  # takeoff at (0, 0) means "here"
    assert kinds.count("mission_item") == len(positioned)
    path = next(f for f in gj["features"] if f["properties"]["kind"] == "mission_path")
    assert path["geometry"]["type"] == "LineString" and path["geometry"]["coordinates"][0] == [
        -99.2221414,
        19.3687091,
    ]
    assert {Kind.KEEP_IN.value, Kind.NO_FLY.value, Kind.DOCK.value} <= set(kinds)
    json.dumps(gj, allow_nan=False)  # NaN was turned into null
    root = ET.fromstring(plan_to_kml(p))
    names = [el.text for el in root.iter("{http://www.opengis.net/kml/2.2}name")]
    assert "Path" in names and "Fence exclusion 1" in names


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", ["empty file"]),
        ('{"fileType": "Plan",\n "mission": }', ["JSON syntax error at line 2"]),
        ('{"fileType": "Mission"}', ['"fileType" is not "Plan"']),
        (
            '{"fileType": "Plan", "mission": {"items": [{"type": "SimpleItem", "command": 16, "frame": 3, "params": [0, 0]}]}}',
            ["7 values"],
        ),
        (
            '{"fileType": "Plan", "mission": {"items": [{"type": "SimpleItem", "frame": 3, "params": [0, 0, 0, 0, 0, 0, 0]}]}}',
            ['missing key "command"'],
        ),
        (
            '{"fileType": "Plan", "geoFence": {"polygons": [{"inclusion": true, "polygon": [[1, 2], [3, 4]]}]}}',
            ["2 vertices"],
        ),
    ],
    ids=["empty", "syntax", "not-plan", "short-params", "no-command", "short-fence"],
)
def test_bad_plans_raise_format_error(text: str, words: list[str], tmp_path: Path) -> None:
    path = tmp_path / "bad.plan"
    path.write_text(text)
    with pytest.raises(FormatError) as err:
        load_plan(path)
    assert str(err.value).startswith(str(path))
    for word in words:
        assert word in str(err.value)


_d = st.floats(-0.02, 0.02)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(_d, _d), min_size=3, max_size=8), st.floats(1.0, 120.0))
def test_fence_and_items_round_trip(offsets: list[tuple[float, float]], alt: float) -> None:
    hull = MultiPoint([(-99.2 + dx, 19.36 + dy) for dx, dy in offsets]).convex_hull
    assume(hull.geom_type == "Polygon" and hull.area > 1e-10)
    ring = list(hull.exterior.coords)[:-1]
    items = tuple(waypoint(y, x, alt) for x, y in ring)
    p = QgcPlan(items=items, home=LonLat(*ring[0]), exclusion=(Polygon(ring),))
    back = parse_plan(dump_plan(p))
    assert back.items == items
    assert back.exclusion[0].equals_exact(Polygon(ring), 1e-9)


def test_make_plan_takes_the_fence_from_an_area_set(sample_areas_path: Path) -> None:
    from geo.loader import load_areas

    s = load_areas(sample_areas_path)
    home = s.dock("Base CAI").position
    p = make_plan([takeoff(40.0), land()], home=home, home_alt_m=2310.0, areas=s, cruise_speed_mps=9.0)
    assert len(p.exclusion) == 2 and p.inclusion == () and p.circles == ()
    assert p.exclusion[0].equals(s.no_fly_zone("Hospital - zona de exclusión").polygon)
    back = parse_plan(dump_plan(p))
    assert back == p
