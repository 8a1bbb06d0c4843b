"""Route loading: GeoJSON shapes accepted, every bad input a one-line ConfigError."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from geo.items import MavCmd
from mission.errors import ConfigError
from mission.routes import ground_distance_m, load_route, route_length_m

LINE = [[-99.2150, 19.3650], [-99.2145, 19.3650], [-99.2145, 19.3655]]


def write(tmp_path: Path, doc: object, name: str = "route.geojson") -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


@pytest.mark.parametrize(
    "doc",
    [
        {"type": "LineString", "coordinates": LINE},
        {"type": "Feature", "properties": {}, "geometry": {"type": "LineString", "coordinates": LINE}},
        {"type": "MultiPoint", "coordinates": LINE},
        {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": c}}
                for c in LINE
            ],
        },
    ],
    ids=["linestring", "feature", "multipoint", "points"],
)
def test_geojson_shapes_give_takeoff_waypoints_rtl(tmp_path: Path, doc: object) -> None:
    items = load_route(write(tmp_path, doc), alt_m=30)
    assert [i.command for i in items] == [MavCmd.NAV_TAKEOFF] + [MavCmd.NAV_WAYPOINT] * 3 + [
        MavCmd.NAV_RETURN_TO_LAUNCH
    ]
    wps = items[1:-1]
    assert [(w.lon, w.lat) for w in wps] == [tuple(c) for c in LINE]
    assert all(w.alt == 30 for w in wps) and items[0].alt == 30


def test_speed_adds_a_change_speed_item(tmp_path: Path) -> None:
    items = load_route(write(tmp_path, {"type": "LineString", "coordinates": LINE}), alt_m=30, speed_mps=8)
    assert items[1].command == MavCmd.DO_CHANGE_SPEED and items[1].param2 == 8


def test_route_length_is_the_sum_of_legs(tmp_path: Path) -> None:
    items = load_route(write(tmp_path, {"type": "LineString", "coordinates": LINE}), alt_m=30)
    leg1 = ground_distance_m(19.3650, -99.2150, 19.3650, -99.2145)
    leg2 = ground_distance_m(19.3650, -99.2145, 19.3655, -99.2145)
    assert route_length_m(items) == pytest.approx(leg1 + leg2)
    assert leg2 == pytest.approx(55.6, abs=0.1)  # 0.0005° of latitude


@pytest.mark.parametrize(
    ("content", "alt", "reason"),
    [
        (None, 30, "not found"),
        ("", 30, "empty"),
        ("  \n", 30, "empty"),
        ("{not json", 30, "not valid JSON"),
        ({"type": "LineString", "coordinates": []}, 30, "no waypoints"),
        ({"type": "FeatureCollection", "features": []}, 30, "no waypoints"),
        ({"type": "Polygon", "coordinates": [LINE]}, 30, "unsupported GeoJSON type"),
        ({"type": "LineString", "coordinates": [["a", 1]]}, 30, "bad position"),
        ({"type": "LineString", "coordinates": [[-99.2, 95.0]]}, 30, "out of range"),
        ({"type": "LineString", "coordinates": [[200.0, 19.0]]}, 30, "out of range"),
        ([1, 2, 3], 30, "not a GeoJSON route"),
        ({"type": "LineString", "coordinates": LINE}, 0, "outside 1-120"),
        ({"type": "LineString", "coordinates": LINE}, 500, "outside 1-120"),
        ({"type": "LineString", "coordinates": LINE}, float("nan"), "outside 1-120"),
    ],
)
def test_bad_input_is_a_one_line_config_error(
    tmp_path: Path, content: object, alt: float, reason: str
) -> None:
    path = tmp_path / "missing.geojson" if content is None else write(tmp_path, content)
    with pytest.raises(ConfigError) as info:
        load_route(path, alt_m=alt)
    message = str(info.value)
    assert reason in message
    assert "\n" not in message


def test_qgc_plan_waypoints_at_our_altitude(qgc_plan_path: Path) -> None:
    items = load_route(qgc_plan_path, alt_m=25)
    wps = [i for i in items if i.command == MavCmd.NAV_WAYPOINT]
    assert len(wps) == 6 and all(w.alt == 25 for w in wps)
    assert items[0].command == MavCmd.NAV_TAKEOFF and items[-1].command == MavCmd.NAV_RETURN_TO_LAUNCH


def test_bad_qgc_plan_is_a_one_line_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a QGroundControl plan") as info:
        load_route(write(tmp_path, {"fileType": "Nope"}, "x.plan"), alt_m=25)
    assert "\n" not in str(info.value)
