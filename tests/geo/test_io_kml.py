"""KML areas: Placemarks with holes, MultiGeometry, docks; kind from ExtendedData or names; round trips."""

from __future__ import annotations

from pathlib import Path

import pytest
from shapely.geometry import MultiPolygon, Polygon

from geo.areas import AreaSet, Circle, Dock, FaultCode, KeepInZone, NoFlyZone, PatrolArea
from geo.errors import FormatError
from geo.frames import LonLat
from geo.io_kml import dump_kml, parse_kml
from geo.loader import check_areas, load_areas

SHELL = [(-99.21, 19.36), (-99.20, 19.36), (-99.20, 19.37), (-99.21, 19.37), (-99.21, 19.36)]
HOLE = [(-99.208, 19.362), (-99.204, 19.362), (-99.204, 19.366), (-99.208, 19.362)]


def _coords(points) -> str:
    return " ".join(f"{x},{y},0" for x, y in points)


KML = f"""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>Álvaro Obregón</name>
<Folder><name>Zonas de exclusión</name>
  <Placemark><name>Hospital</name>
    <Polygon><outerBoundaryIs><LinearRing><coordinates>{_coords(HOLE)}</coordinates></LinearRing></outerBoundaryIs></Polygon>
  </Placemark>
</Folder>
<Folder><name>Barrancas</name>
  <Placemark><name>Tarango</name>
    <ExtendedData><Data name="pattern"><value>perimeter</value></Data><Data name="altitude_m"><value>55</value></Data></ExtendedData>
    <Polygon>
      <outerBoundaryIs><LinearRing><coordinates>{_coords(SHELL)}</coordinates></LinearRing></outerBoundaryIs>
      <innerBoundaryIs><LinearRing><coordinates>{_coords(HOLE)}</coordinates></LinearRing></innerBoundaryIs>
    </Polygon>
  </Placemark>
  <Placemark><name>Dos partes</name>
    <MultiGeometry>
      <Polygon><outerBoundaryIs><LinearRing><coordinates>{_coords(SHELL)}</coordinates></LinearRing></outerBoundaryIs></Polygon>
      <Polygon><outerBoundaryIs><LinearRing><coordinates>{_coords([(x + 0.05, y) for x, y in SHELL])}</coordinates></LinearRing></outerBoundaryIs></Polygon>
    </MultiGeometry>
  </Placemark>
  <Placemark><name>Nota sin geometría</name></Placemark>
</Folder>
<Placemark><name>Base CAI</name><Point><coordinates>-99.2221414,19.3687091,2310</coordinates></Point></Placemark>
</Document></kml>
"""


def test_reads_holes_multigeometry_docks_and_kinds() -> None:
    s = load_areas(KML)
    tarango = s.area("Tarango")
    assert (tarango.pattern, tarango.altitude_m, len(tarango.polygon.interiors)) == ("perimeter", 55.0, 1)
    assert tarango.properties["folder"] == "Barrancas"
    assert isinstance(s.area("Dos partes").polygon, MultiPolygon)
    assert s.no_fly_zone("Hospital").polygon.equals(Polygon(HOLE))  # kind from the folder's name
    assert s.dock("Base CAI").position == LonLat(-99.2221414, 19.3687091)
    assert s.dock("Base CAI").alt_m == 2310.0
    assert len(s) == 4


def test_round_trip_is_exact() -> None:
    s = AreaSet(
        areas=(
            PatrolArea(name="Tarango", polygon=Polygon(SHELL, [HOLE]), pattern="sweep", altitude_m=60.0),
            PatrolArea(
                name="M", polygon=MultiPolygon([Polygon(SHELL), Polygon([(x + 0.05, y) for x, y in SHELL])])
            ),
        ),
        no_fly=(
            NoFlyZone(name="Escuela", shape=Polygon(HOLE), reason="school"),
            NoFlyZone(
                name="Helipuerto", shape=Circle(center=LonLat(-99.2, 19.35), radius_m=120.0), reason="helipad"
            ),
        ),
        keep_in=(KeepInZone(name="Fence", shape=Polygon([(-99.3, 19.3), (-99.1, 19.3), (-99.1, 19.45)])),),
        docks=(Dock(name="Base", position=LonLat(-99.2221414, 19.3687091), alt_m=2310.5),),
    )
    text = dump_kml(s)
    assert text.startswith("<?xml") and '<kml xmlns="http://www.opengis.net/kml/2.2">' in text
    assert load_areas(text) == s


def test_unclosed_kml_ring_is_a_fault_not_hidden() -> None:
    kml = KML.replace(_coords(SHELL), _coords(SHELL[:-1]), 1).replace(_coords(SHELL), _coords(SHELL[:-1]))
    result = check_areas(kml)
    codes = {r.name: [f.code for f in r.faults] for r in result.reports}
    assert codes["Tarango"] == [FaultCode.UNCLOSED_RING]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", ["empty file"]),
        ("<kml><Document>\n<Placemark></Document></kml>", ["XML syntax error at line 2, column"]),
        ("<gpx></gpx>", ["root element is <gpx>"]),
        (
            "<kml><Placemark><Point><coordinates>1;2</coordinates></Point></Placemark></kml>",
            ["bad coordinate"],
        ),
        (
            "<kml><Placemark><LineString><coordinates>1,2 3,4</coordinates></LineString></Placemark></kml>",
            ["LineString is not an area"],
        ),
        ("<kml><Placemark><Polygon></Polygon></Placemark></kml>", ["no outerBoundaryIs"]),
        ("<kml><Document/></kml>", ["no Placemark"]),
    ],
    ids=["empty", "syntax", "not-kml", "bad-coordinate", "line", "no-outer", "no-placemark"],
)
def test_bad_files_raise_format_error(text: str, words: list[str], tmp_path: Path) -> None:
    path = tmp_path / "bad.kml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FormatError) as err:
        load_areas(path)
    assert str(err.value).startswith(str(path))
    for word in words:
        assert word in str(err.value)


def test_parse_kml_accepts_bytes_without_namespace() -> None:
    kml = b"<kml><Placemark><name>P</name><Point><coordinates>-99.2,19.3</coordinates></Point></Placemark></kml>"
    assert parse_kml(kml)[0].geometry == {"type": "Point", "coordinates": [-99.2, 19.3]}
