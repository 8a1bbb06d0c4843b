"""KML in and out: Placemarks with Polygon (outer/innerBoundaryIs), MultiGeometry and Point.

A Placemark's kind comes from its ``ExtendedData`` (``<Data name="kind">``), else from words
in its own or its Folder's name ("no fly", "exclusión", "dock", "base", ...), else from its
geometry (polygons are patrol areas, points are docks). ``pattern``, ``altitude_m``,
``reason``, ``radius_m`` are read from ``ExtendedData`` too.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from geo.areas import AreaSet, Circle, Kind, RawFeature
from geo.errors import FormatError

KML_NS = "http://www.opengis.net/kml/2.2"
_NO_FLY_WORDS = ("no fly", "no-fly", "nofly", "no_fly", "exclusion", "exclusión", "restricted", "prohibid")


def parse_kml(text: str | bytes, *, source: str | None = None) -> list[RawFeature]:
    """Read KML text into raw features.

    Examples
    --------
    >>> kml = '''<kml><Placemark><name>Zona sin vuelo</name><ExtendedData>
    ...   <Data name="kind"><value>no_fly</value></Data></ExtendedData>
    ...   <Polygon><outerBoundaryIs><LinearRing><coordinates>
    ...     -99.21,19.36 -99.20,19.36 -99.20,19.37 -99.21,19.36
    ...   </coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></kml>'''
    >>> f = parse_kml(kml)[0]
    >>> f.kind.value, f.name, len(f.geometry["coordinates"][0])
    ('no_fly', 'Zona sin vuelo', 4)
    """
    if not text.strip():
        raise FormatError("empty file", source=source)
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        line, col = exc.position
        raise FormatError(
            f"XML syntax error at line {line}, column {col + 1}: {exc.msg}", source=source
        ) from exc
    if _local(root.tag) != "kml":
        raise FormatError(f"not KML: the root element is <{_local(root.tag)}>, expected <kml>", source=source)
    out: list[RawFeature] = []
    _walk(root, "", out, source)
    if not out:
        raise FormatError("no Placemark with a Polygon, MultiGeometry or Point found", source=source)
    return out


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(el: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in el if _local(c.tag) == name), None)


def _children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if _local(c.tag) == name]


def _walk(el: ET.Element, folder: str, out: list[RawFeature], source: str | None) -> None:
    for c in el:
        tag = _local(c.tag)
        if tag in ("Document", "Folder"):
            name_el = _child(c, "name")
            _walk(c, (name_el.text or "").strip() if name_el is not None else folder, out, source)
        elif tag == "Placemark":
            raw = _placemark(c, folder, len(out), source)
            if raw is not None:
                out.append(raw)


def _placemark(pm: ET.Element, folder: str, index: int, source: str | None) -> RawFeature | None:
    name_el = _child(pm, "name")
    name = (name_el.text or "").strip() if name_el is not None else ""
    props = _extended_data(pm)
    label = f"Placemark #{index}" + (f" ({name!r})" if name else "")
    geom_el = next(
        (c for c in pm if _local(c.tag) in ("Polygon", "MultiGeometry", "Point", "LineString")), None
    )
    if geom_el is None:
        return None  # a placemark without geometry (a note) is not an area
    gtype, coords = _geometry(geom_el, label, source)
    kind = _kind(props.get("kind"), gtype, f"{folder} {name}".lower(), label, source)
    if gtype == "Point" and kind is not Kind.DOCK:
        if "radius_m" not in props:
            raise FormatError(
                f"{label}: a {kind.value} Point needs a radius_m in ExtendedData", source=source
            )
        geom: dict[str, Any] = {"type": "Circle", "coordinates": coords, "radius": float(props["radius_m"])}
    elif gtype != "Point" and kind is Kind.DOCK:
        raise FormatError(f"{label}: a dock must be a Point", source=source)
    else:
        geom = {"type": gtype, "coordinates": coords}
    props.setdefault("name", name)
    if folder:
        props.setdefault("folder", folder)
    return RawFeature(
        kind=kind,
        name=name or f"{kind.value.replace('_', ' ')} {index + 1}",
        index=index,
        geometry=geom,
        properties=props,
    )


def _extended_data(pm: ET.Element) -> dict[str, Any]:
    props: dict[str, Any] = {}
    ext = _child(pm, "ExtendedData")
    if ext is None:
        return props
    for el in ext.iter():
        tag = _local(el.tag)
        if tag == "Data" and el.get("name"):
            value = _child(el, "value")
            props[el.get("name", "")] = (value.text or "").strip() if value is not None else ""
        elif tag == "SimpleData" and el.get("name"):
            props[el.get("name", "")] = (el.text or "").strip()
    return props


def _kind(value: Any, gtype: str, words: str, label: str, source: str | None) -> Kind:
    if value:
        try:
            return Kind(value)
        except ValueError:
            raise FormatError(f"{label}: unknown kind {value!r}", source=source) from None
    if gtype == "Point":
        return Kind.DOCK
    if any(w in words for w in _NO_FLY_WORDS):
        return Kind.NO_FLY
    return Kind.PATROL_AREA


def _geometry(el: ET.Element, label: str, source: str | None) -> tuple[str, Any]:
    tag = _local(el.tag)
    if tag == "Point":
        return "Point", _coordinates(el, label, source)[0]
    if tag == "Polygon":
        return "Polygon", _polygon(el, label, source)
    if tag == "MultiGeometry":
        parts = [c for c in el if _local(c.tag) in ("Polygon", "Point", "LineString", "MultiGeometry")]
        polys = [c for c in parts if _local(c.tag) == "Polygon"]
        if polys and len(polys) == len(parts):
            return "MultiPolygon", [_polygon(p, label, source) for p in polys]
        points = [c for c in parts if _local(c.tag) == "Point"]
        if len(points) == 1 and len(parts) == 1:
            return "Point", _coordinates(points[0], label, source)[0]
        raise FormatError(f"{label}: MultiGeometry must hold only Polygons (or one Point)", source=source)
    raise FormatError(
        f"{label}: geometry {tag} is not an area (Polygon, MultiGeometry) or a dock (Point)", source=source
    )


def _polygon(el: ET.Element, label: str, source: str | None) -> list[list[list[float]]]:
    outer = _child(el, "outerBoundaryIs")
    if outer is None:
        raise FormatError(f"{label}: Polygon has no outerBoundaryIs", source=source)
    rings = [_ring(outer, label, source)]
    rings += [_ring(inner, label, source) for inner in _children(el, "innerBoundaryIs")]
    return rings


def _ring(boundary: ET.Element, label: str, source: str | None) -> list[list[float]]:
    lr = _child(boundary, "LinearRing")
    if lr is None:
        raise FormatError(f"{label}: boundary has no LinearRing", source=source)
    return _coordinates(lr, label, source)


def _coordinates(el: ET.Element, label: str, source: str | None) -> list[list[float]]:
    c = _child(el, "coordinates")
    if c is None or not (c.text or "").strip():
        raise FormatError(f"{label}: <{_local(el.tag)}> has no coordinates", source=source)
    out = []
    for tup in (c.text or "").split():
        try:
            values = [float(v) for v in tup.split(",")]
        except ValueError:
            raise FormatError(
                f"{label}: bad coordinate {tup!r} (expected lon,lat[,alt])", source=source
            ) from None
        if len(values) < 2:
            raise FormatError(f"{label}: bad coordinate {tup!r} (expected lon,lat[,alt])", source=source)
        out.append(values)
    return out


# --- writing ----------------------------------------------------------------------------------


def dump_kml(areas: AreaSet, *, name: str = "Patrol areas") -> str:
    """An ``AreaSet`` as a KML document that ``parse_kml`` reads back (kind in ExtendedData)."""
    ET.register_namespace("", KML_NS)
    root = ET.Element(f"{{{KML_NS}}}kml")
    doc = _sub(root, "Document")
    _sub(doc, "name", name)
    folder = _sub(doc, "Folder")
    _sub(folder, "name", "Patrol areas")
    for a in areas.areas:
        data = {"kind": "patrol_area", "pattern": a.pattern, "altitude_m": a.altitude_m}
        add_placemark(folder, a.name, a.polygon, data)
    folder = _sub(doc, "Folder")
    _sub(folder, "name", "No-fly zones")
    for z in areas.no_fly:
        add_placemark(folder, z.name, z.shape, {"kind": "no_fly", "reason": z.reason})
    for k in areas.keep_in:
        add_placemark(folder, k.name, k.shape, {"kind": "keep_in"})
    folder = _sub(doc, "Folder")
    _sub(folder, "name", "Docks")
    for d in areas.docks:
        add_placemark(folder, d.name, d.position, {"kind": "dock", "alt_m": d.alt_m})
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def add_placemark(parent: ET.Element, name: str, shape: Any, data: dict[str, Any]) -> ET.Element:
    """Append a Placemark for a polygon, multipolygon, circle, line or (lon, lat) point."""
    pm = _sub(parent, "Placemark")
    _sub(pm, "name", name)
    if isinstance(shape, Circle):
        data = {**data, "radius_m": shape.radius_m}
        shape = shape.center
    ext = _sub(pm, "ExtendedData")
    for key, value in data.items():
        if value not in (None, ""):
            d = _sub(ext, "Data")
            d.set("name", key)
            _sub(d, "value", str(value))
    _shape(pm, shape)
    return pm


def _shape(parent: ET.Element, shape: Any) -> None:
    if isinstance(shape, tuple):  # LonLat
        _sub(_sub(parent, "Point"), "coordinates", _coords([shape]))
    elif shape.geom_type == "Polygon":
        poly = _sub(parent, "Polygon")
        ring = _sub(_sub(poly, "outerBoundaryIs"), "LinearRing")
        _sub(ring, "coordinates", _coords(shape.exterior.coords))
        for hole in shape.interiors:
            _sub(_sub(_sub(poly, "innerBoundaryIs"), "LinearRing"), "coordinates", _coords(hole.coords))
    elif shape.geom_type == "MultiPolygon":
        multi = _sub(parent, "MultiGeometry")
        for p in shape.geoms:
            _shape(multi, p)
    elif shape.geom_type == "LineString":
        line = _sub(parent, "LineString")
        _sub(line, "coordinates", _coords(shape.coords))
    else:
        raise TypeError(f"cannot write a {shape.geom_type} to KML")


def _coords(points: Any) -> str:
    return " ".join(",".join(repr(float(v)) for v in p) for p in points)


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, f"{{{KML_NS}}}{tag}")
    if text is not None:
        el.text = text
    return el


def load_kml(path: Path) -> list[RawFeature]:
    return parse_kml(path.read_bytes(), source=str(path))
