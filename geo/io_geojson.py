"""GeoJSON in and out: FeatureCollection, Feature or a bare geometry.

``properties.kind`` says what a feature is: ``patrol_area`` (with ``pattern``, ``altitude_m``),
``no_fly`` (with ``reason``; a ``Point`` with ``radius_m`` is a circular zone), ``keep_in`` or
``dock`` (a ``Point``; ``alt_m`` optional). Without a kind, polygons are patrol areas and
points are docks.
"""

from __future__ import annotations

import json
import math
from typing import Any

from shapely.geometry import mapping

from geo.areas import AreaSet, Circle, Kind, RawFeature
from geo.errors import FormatError, parse_json

_AREA_TYPES = ("Polygon", "MultiPolygon")


def parse_geojson(text: str, *, source: str | None = None) -> list[RawFeature]:
    """Read GeoJSON text into raw features (coordinates untouched).

    Examples
    --------
    >>> fs = parse_geojson('{"type": "Point", "coordinates": [-99.22, 19.37]}')
    >>> fs[0].kind.value, fs[0].name
    ('dock', 'dock 1')
    """
    doc = parse_json(text, source=source)
    if not isinstance(doc, dict) or "type" not in doc:
        raise FormatError('not GeoJSON: the top level must be an object with a "type"', source=source)
    kind = doc["type"]
    if kind == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list):
            raise FormatError('FeatureCollection has no "features" array', source=source)
    elif kind == "Feature":
        features = [doc]
    else:
        features = [{"type": "Feature", "properties": {}, "geometry": doc}]
    out: list[RawFeature] = []
    for i, f in enumerate(features):
        out.extend(_feature(f, i, source))
    return out


def _feature(f: Any, i: int, source: str | None) -> list[RawFeature]:
    if not isinstance(f, dict) or f.get("type") != "Feature":
        raise FormatError(f'feature #{i}: not a GeoJSON Feature (missing "type": "Feature")', source=source)
    props = f.get("properties") or {}
    if not isinstance(props, dict):
        raise FormatError(f'feature #{i}: "properties" must be an object', source=source)
    label = f"feature #{i}" + (f" ({props['name']!r})" if props.get("name") else "")
    geom = f.get("geometry")
    if not isinstance(geom, dict):
        raise FormatError(f'{label}: has no "geometry" object', source=source)
    gtype = geom.get("type")
    if gtype == "GeometryCollection":
        parts = geom.get("geometries") or []
        return [
            r
            for g in parts
            for r in _feature({"type": "Feature", "properties": props, "geometry": g}, i, source)
        ]
    if "coordinates" not in geom:
        raise FormatError(f'{label}: {gtype or "geometry"} has no "coordinates"', source=source)
    coords = geom["coordinates"]
    depth = {"Point": 0, "Polygon": 2, "MultiPolygon": 3}.get(gtype)
    if depth is None:
        raise FormatError(
            f"{label}: geometry type {gtype!r} is not an area (Polygon, MultiPolygon) or a dock (Point)",
            source=source,
        )
    _check_positions(coords, depth, label, source)
    kind = _kind(props.get("kind"), gtype, label, source)
    name = str(props.get("name") or f"{kind.value.replace('_', ' ')} {i + 1}")
    raw = {"type": gtype, "coordinates": coords}
    if gtype == "Point" and kind in (Kind.NO_FLY, Kind.KEEP_IN):
        radius = props.get("radius_m", props.get("radius"))
        if not isinstance(radius, int | float) or not radius > 0:
            raise FormatError(f"{label}: a {kind.value} Point needs a positive radius_m", source=source)
        raw = {"type": "Circle", "coordinates": coords, "radius": float(radius)}
    elif gtype == "Point" and kind is not Kind.DOCK:
        raise FormatError(
            f"{label}: a {kind.value} must be a Polygon or MultiPolygon, not a Point", source=source
        )
    elif gtype != "Point" and kind is Kind.DOCK:
        raise FormatError(f"{label}: a dock must be a Point, not a {gtype}", source=source)
    return [RawFeature(kind=kind, name=name, index=i, geometry=raw, properties=dict(props))]


def _kind(value: Any, gtype: str, label: str, source: str | None) -> Kind:
    if value is None:
        return Kind.DOCK if gtype == "Point" else Kind.PATROL_AREA
    try:
        return Kind(str(value))
    except ValueError:
        known = ", ".join(k.value for k in Kind)
        raise FormatError(
            f"{label}: unknown kind {value!r} (expected one of {known})", source=source
        ) from None


def _check_positions(coords: Any, depth: int, label: str, source: str | None) -> None:
    if depth == 0:
        ok = (
            isinstance(coords, list)
            and len(coords) >= 2
            and all(isinstance(c, int | float) and not isinstance(c, bool) for c in coords)
        )
        if not ok:
            raise FormatError(
                f"{label}: a position must be [lon, lat] numbers, got {coords!r:.60}", source=source
            )
        return
    if not isinstance(coords, list):
        raise FormatError(f"{label}: coordinates must be nested arrays, got {coords!r:.60}", source=source)
    for c in coords:
        _check_positions(c, depth - 1, label, source)


def dump_geojson(areas: AreaSet, *, indent: int | None = 1) -> str:
    """An ``AreaSet`` as a GeoJSON FeatureCollection that ``parse_geojson`` reads back."""
    return json.dumps(areas_to_geojson(areas), indent=indent, ensure_ascii=False)


def areas_to_geojson(areas: AreaSet) -> dict[str, Any]:
    features = []
    for a in areas.areas:
        props = {**a.properties, "name": a.name, "kind": Kind.PATROL_AREA.value, "pattern": a.pattern}
        if a.altitude_m is not None:
            props["altitude_m"] = a.altitude_m
        features.append(_feature_out(props, _geometry(a.polygon)))
    for z in areas.no_fly:
        props = {**z.properties, "name": z.name, "kind": Kind.NO_FLY.value, "reason": z.reason}
        features.append(_zone_out(props, z.shape))
    for k in areas.keep_in:
        features.append(_zone_out({**k.properties, "name": k.name, "kind": Kind.KEEP_IN.value}, k.shape))
    for d in areas.docks:
        props = {**d.properties, "name": d.name, "kind": Kind.DOCK.value}
        if d.alt_m is not None:
            props["alt_m"] = d.alt_m
        features.append(
            _feature_out(props, {"type": "Point", "coordinates": [d.position.lon, d.position.lat]})
        )
    return {"type": "FeatureCollection", "features": features}


def _zone_out(props: dict[str, Any], shape: Any) -> dict[str, Any]:
    if isinstance(shape, Circle):
        geom = {"type": "Point", "coordinates": [shape.center.lon, shape.center.lat]}
        return _feature_out({**props, "radius_m": shape.radius_m}, geom)
    return _feature_out(props, _geometry(shape))


def _feature_out(props: dict[str, Any], geometry: dict[str, Any]) -> dict[str, Any]:
    clean = {k: v for k, v in props.items() if not (isinstance(v, float) and math.isnan(v))}
    return {"type": "Feature", "properties": clean, "geometry": geometry}


def _geometry(geom: Any) -> dict[str, Any]:
    return _lists(dict(mapping(geom)))


def _lists(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _lists(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_lists(x) for x in v]
    return v


def load_geojson(path: Any) -> list[RawFeature]:
    """Read a GeoJSON file (``pathlib.Path``) into raw features."""
    return parse_geojson(path.read_text(encoding="utf-8"), source=str(path))
