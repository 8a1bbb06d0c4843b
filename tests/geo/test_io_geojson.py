"""GeoJSON areas: the sample file, round trips, and clear errors for bad files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon

from geo.areas import AreaSet, Circle, Dock, FaultCode, NoFlyZone, PatrolArea
from geo.errors import AreaValidationError, FormatError
from geo.frames import LonLat
from geo.io_geojson import dump_geojson, parse_geojson
from geo.loader import check_areas, load_areas

SQ = [[-99.21, 19.36], [-99.20, 19.36], [-99.20, 19.37], [-99.21, 19.37], [-99.21, 19.36]]


def test_sample_file_loads_with_its_properties(sample_areas_path: Path) -> None:
    s = load_areas(sample_areas_path)
    assert (len(s.areas), len(s.no_fly), len(s.docks)) == (4, 2, 3)
    assert s.source == str(sample_areas_path)
    tarango = s.area("Barranca Tarango - tramo norte")
    assert (tarango.pattern, tarango.altitude_m) == ("sweep", 60.0)
    assert tarango.properties["notes"] == "winding ravine, hard to reach on foot"
    cai = s.area("Predio CAI - perímetro")
    assert (cai.pattern, cai.altitude_m) == ("perimeter", 40.0)
    becerra = s.area("Barranca Becerra - sector con escuela")
    assert len(becerra.polygon.interiors) == 1  # the school is cut out
    assert s.no_fly_zone("Hospital - zona de exclusión").reason == "hospital helipad"
    assert s.dock("Base Sur").position == LonLat(-99.215, 19.3577628)
    assert {a.name for a in s.areas} | {z.name for z in s.no_fly} | {d.name for d in s.docks} == set(
        s.names()
    )
    with pytest.raises(KeyError, match="known"):
        s.area("Nowhere")


def test_sample_round_trips_exactly(sample_areas_path: Path) -> None:
    s = load_areas(sample_areas_path)
    again = load_areas(dump_geojson(s))
    assert again == s  # frozen dataclasses: names, shapes (exact coordinates), patterns, altitudes


def test_bare_geometry_and_single_feature() -> None:
    s = load_areas(json.dumps({"type": "Polygon", "coordinates": [SQ]}))
    assert [a.name for a in s.areas] == ["patrol area 1"]
    feat = {
        "type": "Feature",
        "properties": {"name": "A", "altitude_m": 45},
        "geometry": {"type": "Polygon", "coordinates": [SQ]},
    }
    assert load_areas(json.dumps(feat)).area("A").altitude_m == 45.0


def test_multipolygon_and_circular_no_fly() -> None:
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "M"},
                "geometry": {"type": "MultiPolygon", "coordinates": [[SQ]]},
            },
            {
                "type": "Feature",
                "properties": {"name": "Helipad", "kind": "no_fly", "radius_m": 150},
                "geometry": {"type": "Point", "coordinates": [-99.22, 19.36]},
            },
        ],
    }
    s = load_areas(json.dumps(doc))
    assert s.area("M").polygon.geom_type == "MultiPolygon"
    zone = s.no_fly_zone("Helipad")
    assert zone.shape == Circle(center=LonLat(-99.22, 19.36), radius_m=150.0)
    assert zone.polygon.area > 0
    assert load_areas(dump_geojson(s)) == s


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", ["empty file"]),
        ('{"type": "FeatureCollection",\n "features": [,]}', ["JSON syntax error at line 2, column"]),
        ('{"type": "Polygon"}', ['no "coordinates"']),
        ('{"type": "LineString", "coordinates": [[0, 0], [1, 1]]}', ["'LineString' is not an area"]),
        ('{"type": "Polygon", "coordinates": [[["a", 0]]]}', ["[lon, lat] numbers"]),
        ("[1, 2]", ["not GeoJSON"]),
        ('{"type": "FeatureCollection"}', ['no "features"']),
        (
            '{"type": "Feature", "properties": {"kind": "lake"}, "geometry": {"type": "Polygon", "coordinates": []}}',
            ["unknown kind 'lake'"],
        ),
    ],
    ids=[
        "empty",
        "syntax",
        "no-coordinates",
        "wrong-type",
        "bad-number",
        "not-object",
        "no-features",
        "bad-kind",
    ],
)
def test_bad_files_raise_format_error(text: str, words: list[str], tmp_path: Path) -> None:
    path = tmp_path / "bad.geojson"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FormatError) as err:
        load_areas(path)
    assert str(err.value).startswith(str(path))
    for word in words:
        assert word in str(err.value)


def test_faults_are_reported_per_feature_and_raised_by_load_areas() -> None:
    unclosed = {
        "type": "Feature",
        "properties": {"name": "Loma"},
        "geometry": {"type": "Polygon", "coordinates": [SQ[:-1]]},
    }
    good = {
        "type": "Feature",
        "properties": {"name": "OK"},
        "geometry": {"type": "Polygon", "coordinates": [SQ]},
    }
    text = json.dumps({"type": "FeatureCollection", "features": [unclosed, good]})
    result = check_areas(text)
    assert [r.ok for r in result.reports] == [False, True]
    assert [a.name for a in result.areas.areas] == ["OK"]
    with pytest.raises(AreaValidationError) as err:
        load_areas(text)
    assert [f.code for f in err.value.faults] == [FaultCode.UNCLOSED_RING]
    assert err.value.faults[0].feature == "Loma"
    fixed = load_areas(text, repair=True)
    assert fixed.area("Loma").polygon.equals(Polygon(SQ))


def test_swapped_dock_is_repaired() -> None:
    dock = {
        "type": "Feature",
        "properties": {"name": "Base", "kind": "dock"},
        "geometry": {"type": "Point", "coordinates": [19.36, -99.21]},
    }
    text = json.dumps({"type": "FeatureCollection", "features": [dock]})
    assert [f.code for f in check_areas(text).faults] == [FaultCode.LATLON_SWAPPED]
    result = check_areas(text, repair=True)
    assert result.ok and result.areas.dock("Base").position == LonLat(-99.21, 19.36)
    assert result.changes == ["Base: swapped latitude and longitude"]


def test_parse_keeps_raw_coordinates() -> None:
    f = parse_geojson(json.dumps({"type": "Polygon", "coordinates": [SQ[:-1]]}))[0]
    assert len(f.geometry["coordinates"][0]) == 4  # not silently closed


_coord = st.floats(-1e-2, 1e-2, allow_nan=False)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(_coord, _coord), min_size=1, max_size=4))
def test_round_trip_preserves_coordinates(offsets: list[tuple[float, float]]) -> None:
    areas = []
    for i, (dx, dy) in enumerate(offsets):
        x, y = -99.2 + dx + i * 0.05, 19.36 + dy
        shell = [(x, y), (x + 0.01, y), (x + 0.01, y + 0.011), (x, y + 0.013)]
        hole = [(x + 0.002, y + 0.002), (x + 0.004, y + 0.002), (x + 0.003, y + 0.004)]
        areas.append(PatrolArea(name=f"a{i}", polygon=Polygon(shell, [hole]), altitude_m=50.0))
    s = AreaSet(
        areas=tuple(areas),
        no_fly=(NoFlyZone(name="z", shape=Circle(center=LonLat(-99.3, 19.3), radius_m=80.0), reason="r"),),
        docks=(Dock(name="d", position=LonLat(-99.25, 19.35), alt_m=2300.0),),
    )
    back = load_areas(dump_geojson(s))
    for a, b in zip(s.areas, back.areas, strict=True):
        assert a.name == b.name and a.altitude_m == b.altitude_m
        assert a.polygon.equals_exact(b.polygon, 1e-9)
    assert back.no_fly == s.no_fly and back.docks == s.docks
    assert not math.isnan(back.docks[0].alt_m or math.nan)


@pytest.mark.parametrize(
    ("props", "words"),
    [({"pattern": "zigzag"}, "unknown pattern 'zigzag'"), ({"altitude_m": 900}, "altitude_m 900")],
)
def test_bad_properties_are_faults(props: dict, words: str) -> None:
    feat = {
        "type": "Feature",
        "properties": {"name": "A", **props},
        "geometry": {"type": "Polygon", "coordinates": [SQ]},
    }
    faults = check_areas(json.dumps(feat)).faults
    assert [f.code for f in faults] == [FaultCode.BAD_PROPERTY]
    assert words in faults[0].message and faults[0].feature == "A"
