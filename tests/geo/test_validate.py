"""Every fault has its own code, message and location; repair fixes what it says; valid input passes."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Polygon

from geo.areas import FaultCode
from geo.errors import AreaValidationError
from geo.frames import LonLat
from geo.validate import repair, validate, validate_point

# A 1.1 km square in Álvaro Obregón, (lon, lat), closed.
SQ = [(-99.21, 19.36), (-99.20, 19.36), (-99.20, 19.37), (-99.21, 19.37), (-99.21, 19.36)]
HOLE = [(-99.208, 19.362), (-99.204, 19.362), (-99.204, 19.366), (-99.208, 19.362)]
HOLE2 = [(-99.207, 19.362), (-99.203, 19.362), (-99.203, 19.366), (-99.207, 19.362)]  # overlaps HOLE
HOLE_FAR = [(-99.0, 19.0), (-98.99, 19.0), (-98.99, 19.01), (-99.0, 19.0)]
HOLE_CROSSING = [(-99.212, 19.362), (-99.204, 19.362), (-99.204, 19.366), (-99.212, 19.362)]
BOWTIE = [(-99.21, 19.36), (-99.20, 19.37), (-99.20, 19.36), (-99.21, 19.37), (-99.21, 19.36)]
BIG = [(-99.5, 19.0), (-99.0, 19.0), (-99.0, 19.5), (-99.5, 19.5), (-99.5, 19.0)]
COLLINEAR = [(-99.21, 19.36), (-99.20, 19.36), (-99.19, 19.36), (-99.21, 19.36)]
DUPLICATE = [SQ[0], SQ[1], SQ[1], SQ[2], SQ[3], SQ[4]]
SWAPPED = [(lat, lon) for lon, lat in SQ]
ZURICH_SWAPPED = [(47.39, 8.54), (47.40, 8.54), (47.40, 8.55), (47.39, 8.54)]  # (lat, lon), both in range
HOME_ZURICH = LonLat(8.5455, 47.397)
SECOND = [(-99.205, 19.365), (-99.19, 19.365), (-99.19, 19.38), (-99.205, 19.365)]  # overlaps SQ

CASES = [
    # (code, rings or parts, expected location or None, words in the message)
    (FaultCode.UNCLOSED_RING, [SQ[:-1]], SQ[3], ["shell", "not closed"]),
    (FaultCode.TOO_FEW_POINTS, [[SQ[0], SQ[1], SQ[0]]], SQ[0], ["2 distinct", "at least 3"]),
    (
        FaultCode.SELF_INTERSECTION,
        [BOWTIE],
        (-99.205, 19.365),
        ["crosses itself", "(-99.2050000, 19.3650000)"],
    ),
    (FaultCode.LATLON_SWAPPED, [SWAPPED], (19.36, -99.21), ["latitude -99.21", "(lat, lon)"]),
    (
        FaultCode.OUT_OF_RANGE,
        [[(-199.0, 19.36), (-99.2, 19.36), (-99.2, 19.37), (-199.0, 19.36)]],
        None,
        ["±180"],
    ),
    (FaultCode.HOLE_OUTSIDE_SHELL, [SQ, HOLE_FAR], None, ["hole 1", "outside the shell"]),
    (FaultCode.HOLE_CROSSES_SHELL, [SQ, HOLE_CROSSING], (-99.21, 19.362), ["hole 1", "crosses the shell"]),
    (FaultCode.ZERO_AREA, [COLLINEAR], SQ[0], ["collinear"]),
    (FaultCode.HUGE_AREA, [BIG], (-99.25, 19.25), ["km²", "limit of 100"]),
    (FaultCode.DUPLICATE_VERTEX, [DUPLICATE], SQ[1], ["repeats vertex 1"]),
    (FaultCode.HOLES_OVERLAP, [SQ, HOLE, HOLE2], None, ["hole 1 and hole 2 overlap"]),
    (FaultCode.PARTS_OVERLAP, [[SQ], [SECOND]], None, ["parts 1 and 2 overlap"]),
    (FaultCode.EMPTY, {"type": "Polygon", "coordinates": []}, None, ["no coordinates"]),
    (FaultCode.NOT_A_POLYGON, {"type": "LineString", "coordinates": SQ}, None, ["LineString"]),
]


@pytest.mark.parametrize(("code", "geom", "where", "words"), CASES, ids=[c[0].value for c in CASES])
def test_each_fault_has_its_own_code_message_and_location(code, geom, where, words) -> None:
    faults = validate(geom, name="Barranca", index=3)
    assert [f.code for f in faults] == [code], faults
    fault = faults[0]
    for word in words:
        assert word in fault.message
    assert fault.feature == "Barranca" and fault.index == 3
    assert str(fault).startswith(f"Barranca: {code.value}")
    if where is not None:
        assert fault.location is not None
        assert fault.location.lon == pytest.approx(where[0], abs=1e-9)
        assert fault.location.lat == pytest.approx(where[1], abs=1e-9)


def test_codes_are_distinct() -> None:
    assert len({c[0] for c in CASES}) == len(CASES)


def test_probable_swap_needs_a_reference() -> None:
    assert validate([ZURICH_SWAPPED]) == []
    faults = validate([ZURICH_SWAPPED], reference=HOME_ZURICH)
    assert [f.code for f in faults] == [FaultCode.LATLON_PROBABLY_SWAPPED]
    assert "km from the reference" in faults[0].message


def test_huge_area_limit_is_configurable() -> None:
    assert validate([BIG], max_area_km2=5000) == []
    assert [f.code for f in validate([SQ], max_area_km2=0.5)] == [FaultCode.HUGE_AREA]


def test_shapely_input_and_valid_hole() -> None:
    assert validate(Polygon(SQ, [HOLE])) == []
    assert validate(MultiPolygon([Polygon(SQ), Polygon(HOLE_FAR)])) == []


def test_point_faults() -> None:
    assert validate_point((-99.22, 19.37)) == []
    assert [f.code for f in validate_point((19.37, -99.22), name="Base")] == [FaultCode.LATLON_SWAPPED]
    assert [f.code for f in validate_point((8.54, 47.39), reference=LonLat(-99.2, 19.36))] == []


# --- repair ---------------------------------------------------------------------------------


def _codes(geom) -> list[FaultCode]:
    return [f.code for f in validate(geom)]


def test_repair_closes_and_deduplicates() -> None:
    fixed, changes = repair([DUPLICATE[:-1]])
    assert _codes(fixed) == []
    assert fixed.equals(Polygon(SQ))
    assert changes == [
        "shell: dropped 1 repeated vertex",
        "shell: closed the ring (appended the first vertex)",
    ]


def test_repair_swaps_clear_swaps_only() -> None:
    fixed, changes = repair([SWAPPED])
    assert fixed.equals(Polygon(SQ)) and "swapped latitude and longitude" in changes[0]
    same, none = repair([ZURICH_SWAPPED])
    assert none == [] and same.equals(Polygon(ZURICH_SWAPPED))
    fixed, changes = repair([ZURICH_SWAPPED], reference=HOME_ZURICH)
    assert validate(fixed, reference=HOME_ZURICH) == [] and "near the reference" in changes[0]


def test_repair_drops_holes_outside_the_shell() -> None:
    fixed, changes = repair([SQ, HOLE, HOLE_FAR])
    assert _codes(fixed) == [] and len(fixed.interiors) == 1
    assert changes == ["dropped hole 2: it lies outside the shell"]


def test_repair_fixes_a_small_kink_with_make_valid() -> None:
    # A pilot's slip: a tiny loop near the top edge.
    kink = [SQ[0], SQ[1], SQ[2], (-99.2049, 19.37), (-99.2051, 19.3702), (-99.2051, 19.3698)]
    kink += [(-99.2049, 19.3702), (-99.205, 19.37), SQ[3], SQ[0]]
    assert FaultCode.SELF_INTERSECTION in _codes([kink])
    fixed, changes = repair([kink])
    assert _codes(fixed) == []
    assert isinstance(fixed, Polygon)
    assert fixed.area == pytest.approx(Polygon(SQ).area, rel=0.01)
    assert any("fixed Self-intersection" in c and "make_valid" in c for c in changes)


def test_repair_refuses_a_bowtie() -> None:
    fixed, changes = repair([BOWTIE])
    assert _codes(fixed) == [FaultCode.SELF_INTERSECTION]
    assert "left unrepaired" in changes[0]


def test_repair_leaves_valid_input_alone() -> None:
    fixed, changes = repair(Polygon(SQ, [HOLE]))
    assert changes == [] and fixed.equals(Polygon(SQ, [HOLE]))


def test_repair_rejects_non_polygons() -> None:
    with pytest.raises(AreaValidationError) as err:
        repair({"type": "Point", "coordinates": [0, 0]})
    assert err.value.faults[0].code is FaultCode.NOT_A_POLYGON


# --- property: random valid polygons with holes have no faults ----------------------------------


@st.composite
def polygons_with_holes(draw: st.DrawFn) -> Polygon:
    """Star-shaped shells (simple by construction) with up to 3 small disjoint holes near the centre."""
    cx = draw(st.floats(-99.30, -99.10))
    cy = draw(st.floats(19.30, 19.42))
    r = draw(st.floats(0.002, 0.02))  # ~200 m to 2 km
    n = draw(st.integers(8, 24))  # angular gaps under 100°: the inner disc stays inside
    jit = draw(st.lists(st.floats(0.0, 0.8), min_size=n, max_size=n))
    rad = draw(st.lists(st.floats(0.55, 1.0), min_size=n, max_size=n))
    shell = [
        (cx + r * k * math.cos(2 * math.pi * (i + j) / n), cy + r * k * math.sin(2 * math.pi * (i + j) / n))
        for i, (j, k) in enumerate(zip(jit, rad, strict=True))
    ]
    holes = []
    for h in range(draw(st.integers(0, 3))):
        a = 2 * math.pi * h / 3
        hx, hy, hr = cx + 0.25 * r * math.cos(a), cy + 0.25 * r * math.sin(a), 0.08 * r
        holes.append([(hx + hr * math.cos(t), hy + hr * math.sin(t)) for t in (0.0, 2.1, 4.2)])
    return Polygon(shell, holes)


@settings(max_examples=60, deadline=None)
@given(polygons_with_holes())
def test_random_valid_polygons_have_no_faults(poly: Polygon) -> None:
    assert poly.is_valid
    assert validate(poly) == []
    fixed, changes = repair(poly)
    assert changes == [] and fixed.equals(poly)


@settings(max_examples=25, deadline=None)
@given(polygons_with_holes())
def test_random_polygons_round_trip_through_every_format(poly: Polygon) -> None:
    from geo.areas import AreaSet, PatrolArea
    from geo.io_geojson import dump_geojson
    from geo.io_kml import dump_kml
    from geo.io_wkt import dump_wkt
    from geo.loader import load_areas
    from geo.qgc_plan import QgcPlan, dump_plan, parse_plan

    s = AreaSet(areas=(PatrolArea(name="p", polygon=poly, altitude_m=50.0),))
    for dump in (dump_geojson, dump_kml, dump_wkt):
        back = load_areas(dump(s)).areas[0].polygon
        assert back.equals_exact(poly, 1e-9), dump.__name__
    shell = Polygon(poly.exterior.coords)  # QGC fences have no holes
    fence = parse_plan(dump_plan(QgcPlan(exclusion=(shell,)))).exclusion[0]
    assert fence.equals_exact(shell, 1e-9)
