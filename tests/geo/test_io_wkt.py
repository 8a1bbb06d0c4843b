"""WKT areas: one per line or one over several lines, metadata comments, round trips, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Polygon

from geo.areas import AreaSet, Circle, Dock, FaultCode, NoFlyZone, PatrolArea
from geo.errors import FormatError
from geo.frames import LonLat
from geo.io_wkt import dump_wkt, parse_wkt
from geo.loader import check_areas, load_areas

SHELL = [(-99.21, 19.36), (-99.20, 19.36), (-99.20, 19.37), (-99.21, 19.37), (-99.21, 19.36)]
HOLE = [(-99.208, 19.362), (-99.204, 19.362), (-99.204, 19.366), (-99.208, 19.362)]


def test_one_geometry_per_line_with_metadata(tmp_path: Path) -> None:
    text = (
        "# name=Parque La Loma; kind=patrol_area; pattern=perimeter; altitude_m=50\n"
        "POLYGON ((-99.21 19.36, -99.20 19.36, -99.20 19.37, -99.21 19.36))\n"
        "\n"
        "# name=Escuela; kind=no_fly; reason=school\n"
        "POLYGON ((-99.208 19.362, -99.204 19.362, -99.204 19.366, -99.208 19.362))\n"
        "POINT (-99.2221414 19.3687091)\n"
    )
    path = tmp_path / "areas.wkt"
    path.write_text(text)
    s = load_areas(path)
    loma = s.area("Parque La Loma")
    assert (loma.pattern, loma.altitude_m) == ("perimeter", 50.0)
    assert s.no_fly_zone("Escuela").reason == "school"
    assert s.docks[0].position == LonLat(-99.2221414, 19.3687091)


def test_single_geometry_over_several_lines() -> None:
    text = "MULTIPOLYGON (\n  ((-99.21 19.36, -99.20 19.36, -99.20 19.37, -99.21 19.36)),\n  ((-99.1 19.3, -99.09 19.3, -99.09 19.31, -99.1 19.3))\n)\n"
    s = load_areas(text)
    assert isinstance(s.areas[0].polygon, MultiPolygon) and len(s.areas[0].polygon.geoms) == 2


def test_unclosed_ring_is_reported_not_rejected() -> None:
    result = check_areas("POLYGON ((-99.21 19.36, -99.20 19.36, -99.20 19.37))")
    assert [f.code for f in result.faults] == [FaultCode.UNCLOSED_RING]
    assert (
        load_areas("POLYGON ((-99.21 19.36, -99.20 19.36, -99.20 19.37))", repair=True)
        .areas[0]
        .polygon.is_valid
    )


def test_round_trip_is_exact() -> None:
    s = AreaSet(
        areas=(
            PatrolArea(
                name="Tarango; norte", polygon=Polygon(SHELL, [HOLE]), pattern="sweep", altitude_m=60.0
            ),
        ),
        no_fly=(
            NoFlyZone(
                name="Helipuerto", shape=Circle(center=LonLat(-99.2, 19.35), radius_m=120.0), reason="helipad"
            ),
        ),
        docks=(Dock(name="Base", position=LonLat(-99.2221414, 19.3687091), alt_m=2310.5),),
    )
    back = load_areas(dump_wkt(s))
    assert back.areas[0].name == "Tarango, norte"  # ';' separates metadata, so it is replaced
    assert back.areas[0].polygon.equals_exact(s.areas[0].polygon, 0.0)
    assert back.no_fly == s.no_fly and back.docks == s.docks


@settings(max_examples=30, deadline=None)
@given(st.floats(-0.05, 0.05), st.floats(-0.05, 0.05), st.floats(0.001, 0.01))
def test_round_trip_within_1e9(dx: float, dy: float, size: float) -> None:
    x, y = -99.2 + dx, 19.36 + dy
    poly = Polygon([(x, y), (x + size, y), (x + size, y + size * 1.3), (x + size / 3, y + size)])
    back = load_areas(dump_wkt(AreaSet(areas=(PatrolArea(name="a", polygon=poly),))))
    assert back.areas[0].polygon.equals_exact(poly, 1e-9)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", ["empty file"]),
        ("POLYGON ((0 0, 1 0, 1 1, 0 0)", ["not finished"]),
        ("LINESTRING (0 0, 1 1)", ["line 1", "LINESTRING is not an area"]),
        ("POLYGON ((0 0, 1 x, 1 1, 0 0))", ["line 1"]),
        ("CIRCLE (0 0)", ["expected a geometry type"]),
        ("# kind=lake\nPOLYGON ((0 0, 1 0, 1 1, 0 0))", ["unknown kind 'lake'"]),
    ],
    ids=["empty", "unbalanced", "line", "bad-number", "unknown-type", "bad-kind"],
)
def test_bad_files_raise_format_error(text: str, words: list[str], tmp_path: Path) -> None:
    path = tmp_path / "bad.wkt"
    path.write_text(text)
    with pytest.raises(FormatError) as err:
        load_areas(path)
    assert str(err.value).startswith(str(path))
    for word in words:
        assert word in str(err.value)


def test_parse_geometry_collection_and_z() -> None:
    fs = parse_wkt("GEOMETRYCOLLECTION (POLYGON Z ((0 0 1, 1 0 1, 1 1 1, 0 0 1)), POINT (0.5 0.2))")
    assert [f.kind.value for f in fs] == ["patrol_area", "dock"]
