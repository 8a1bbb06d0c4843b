"""Load an area file of any supported format into an ``AreaSet``, validating (and optionally repairing).

``load_areas`` is what the planner and the service call: it raises ``AreaValidationError``
when a fault remains. ``check_areas`` is what ``patrol validate`` calls: it returns one
report per feature (faults and repairs) and never raises for faults, only for files that
cannot be read at all (``FormatError``).

``repair=True`` semantics: each feature is repaired (``geo.validate.repair``), every change
is reported, and the repaired geometry is validated again; faults that survive are
reported as usual. Without it, features with faults are reported and left out of the set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shapely.geometry import MultiPolygon, Polygon

from geo.areas import (
    AreaSet,
    Circle,
    Dock,
    Fault,
    FaultCode,
    KeepInZone,
    Kind,
    NoFlyZone,
    PatrolArea,
    RawFeature,
)
from geo.errors import AreaValidationError, FormatError
from geo.frames import LonLat
from geo.validate import DEFAULT_MAX_AREA_KM2, validate, validate_point
from geo.validate import repair as repair_geometry

FORMATS = ("geojson", "kml", "wkt", "plan")
_EXTENSIONS = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".kml": "kml",
    ".wkt": "wkt",
    ".txt": "wkt",
    ".plan": "plan",
}


@dataclass(frozen=True, kw_only=True)
class FeatureReport:
    """What validation found in one feature and what repair changed."""

    name: str
    kind: Kind
    index: int
    faults: list[Fault] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.faults


@dataclass(frozen=True, kw_only=True)
class LoadResult:
    areas: AreaSet  # only the features without remaining faults
    reports: list[FeatureReport]
    fmt: str

    @property
    def faults(self) -> list[Fault]:
        return [f for r in self.reports for f in r.faults]

    @property
    def changes(self) -> list[str]:
        return [f"{r.name}: {c}" for r in self.reports for c in r.changes]

    @property
    def ok(self) -> bool:
        return not self.faults


def load_areas(
    path_or_text: str | bytes | Path,
    *,
    fmt: str | None = None,
    repair: bool = False,
    max_area_km2: float = DEFAULT_MAX_AREA_KM2,
) -> AreaSet:
    """Read, validate (and with ``repair``, repair) an area file; raise if any fault remains.

    Examples
    --------
    >>> s = load_areas("POLYGON ((-99.21 19.36, -99.20 19.36, -99.20 19.37, -99.21 19.36))")
    >>> [a.name for a in s.areas]
    ['patrol area 1']
    """
    result = check_areas(path_or_text, fmt=fmt, repair=repair, max_area_km2=max_area_km2)
    if result.faults:
        raise AreaValidationError(result.faults, source=result.areas.source)
    return result.areas


def check_areas(
    path_or_text: str | bytes | Path,
    *,
    fmt: str | None = None,
    repair: bool = False,
    max_area_km2: float = DEFAULT_MAX_AREA_KM2,
) -> LoadResult:
    """Read an area file and report every feature's faults (and repairs) without raising for them."""
    text, source, ext = _read(path_or_text)
    fmt = fmt or detect_format(text, ext=ext)
    features, reference = parse_features(text, fmt=fmt, source=source)
    return build_area_set(
        features, repair=repair, max_area_km2=max_area_km2, reference=reference, source=source, fmt=fmt
    )


def detect_format(text: str, *, ext: str | None = None) -> str:
    """The format of an area file, from its extension or else its first character."""
    head = text.lstrip()[:1]
    if ext in _EXTENSIONS:
        found = _EXTENSIONS[ext]
        if found == "geojson" and '"fileType"' in text[:2000] and '"Plan"' in text[:2000]:
            return "plan"
        return found
    if head == "{":
        return "plan" if '"fileType"' in text and '"Plan"' in text else "geojson"
    if head == "<":
        return "kml"
    return "wkt"


def parse_features(
    text: str, *, fmt: str, source: str | None = None
) -> tuple[list[RawFeature], LonLat | None]:
    """Raw features of a text in a known format, and a reference position (planned home) if any."""
    if fmt == "geojson":
        from geo.io_geojson import parse_geojson

        return parse_geojson(text, source=source), None
    if fmt == "kml":
        from geo.io_kml import parse_kml

        return parse_kml(text, source=source), None
    if fmt == "wkt":
        from geo.io_wkt import parse_wkt

        return parse_wkt(text, source=source), None
    if fmt == "plan":
        from geo.qgc_plan import parse_plan, plan_features

        plan = parse_plan(text, source=source)
        return plan_features(plan), plan.home
    raise FormatError(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})", source=source)


def build_area_set(
    features: list[RawFeature],
    *,
    repair: bool = False,
    max_area_km2: float = DEFAULT_MAX_AREA_KM2,
    reference: LonLat | None = None,
    source: str | None = None,
    fmt: str = "geojson",
) -> LoadResult:
    """Validate raw features and build the ``AreaSet`` of those without remaining faults.

    The probable-swap check uses ``reference`` (a plan's home) or else the first dock that
    is itself in range.
    """
    if reference is None:
        reference = _first_dock(features)
    areas: list[PatrolArea] = []
    no_fly: list[NoFlyZone] = []
    keep_in: list[KeepInZone] = []
    docks: list[Dock] = []
    reports: list[FeatureReport] = []
    for f in features:
        faults, changes, value = _one(f, repair=repair, max_area_km2=max_area_km2, reference=reference)
        reports.append(FeatureReport(name=f.name, kind=f.kind, index=f.index, faults=faults, changes=changes))
        if faults or value is None:
            continue
        try:
            built = _build(f, value)
        except ValueError as exc:  # an unknown pattern, an altitude outside the allowed range
            fault = Fault(code=FaultCode.BAD_PROPERTY, message=str(exc), feature=f.name, index=f.index)
            reports[-1].faults.append(fault)
            continue
        {PatrolArea: areas, NoFlyZone: no_fly, KeepInZone: keep_in, Dock: docks}[type(built)].append(built)
    area_set = AreaSet(
        areas=tuple(areas), no_fly=tuple(no_fly), docks=tuple(docks), keep_in=tuple(keep_in), source=source
    )
    return LoadResult(areas=area_set, reports=reports, fmt=fmt)


def _one(
    f: RawFeature, *, repair: bool, max_area_km2: float, reference: LonLat | None
) -> tuple[list[Fault], list[str], Any]:
    geom = f.geometry
    if geom["type"] in ("Point", "Circle"):
        coords = geom["coordinates"]
        changes: list[str] = []
        faults = validate_point(coords, name=f.name, index=f.index, reference=reference)
        if faults and repair and _swappable(coords, reference):
            coords = [coords[1], coords[0], *coords[2:]]
            changes.append("swapped latitude and longitude")
            faults = validate_point(coords, name=f.name, index=f.index, reference=reference)
        return faults, changes, {**geom, "coordinates": coords}
    # The size limit catches a patrol area drawn wrong; fences and no-fly zones may be large.
    limit = max_area_km2 if f.kind is Kind.PATROL_AREA else math.inf
    kw = {"max_area_km2": limit, "name": f.name, "index": f.index, "reference": reference}
    faults = validate(geom, **kw)
    if not repair or not faults:
        return faults, [], geom
    fixed, changes = repair_geometry(geom, reference=reference)
    return validate(fixed, **kw), changes, fixed


def _swappable(coords: list[float], reference: LonLat | None) -> bool:
    x, y = coords[0], coords[1]
    if abs(x) <= 90 and 90 < abs(y) <= 180:
        return True
    return reference is not None and validate_point([y, x], reference=reference) == []


def _build(f: RawFeature, value: Any) -> PatrolArea | NoFlyZone | KeepInZone | Dock:
    props = dict(f.properties)
    if isinstance(value, dict) and value["type"] in ("Point", "Circle"):
        lon, lat = float(value["coordinates"][0]), float(value["coordinates"][1])
        if value["type"] == "Circle":
            circle = Circle(center=LonLat(lon, lat), radius_m=float(value["radius"]))
            if f.kind is Kind.KEEP_IN:
                return KeepInZone(name=f.name, shape=circle, properties=props)
            return NoFlyZone(
                name=f.name, shape=circle, reason=str(props.get("reason") or ""), properties=props
            )
        alt = props.get("alt_m", value["coordinates"][2] if len(value["coordinates"]) > 2 else None)
        return Dock(name=f.name, position=LonLat(lon, lat), alt_m=_float(alt), properties=props)
    shape = value if isinstance(value, Polygon | MultiPolygon) else _shape(value)
    if f.kind is Kind.NO_FLY:
        return NoFlyZone(name=f.name, shape=shape, reason=str(props.get("reason") or ""), properties=props)
    if f.kind is Kind.KEEP_IN:
        return KeepInZone(name=f.name, shape=shape, properties=props)
    return PatrolArea(
        name=f.name,
        polygon=shape,
        pattern=str(props.get("pattern") or "sweep"),
        altitude_m=_float(props.get("altitude_m")),
        properties=props,
    )


def _shape(geom: dict[str, Any]) -> Polygon | MultiPolygon:
    def poly(rings: list) -> Polygon:
        return Polygon([tuple(p[:2]) for p in rings[0]], [[tuple(p[:2]) for p in r] for r in rings[1:]])

    if geom["type"] == "Polygon":
        return poly(geom["coordinates"])
    return MultiPolygon([poly(p) for p in geom["coordinates"]])


def _float(v: Any) -> float | None:
    if v is None or v == "":
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"not a number: {v!r}") from None
    return None if math.isnan(x) else x


def _first_dock(features: list[RawFeature]) -> LonLat | None:
    for f in features:
        if f.kind is Kind.DOCK and not validate_point(f.geometry["coordinates"]):
            c = f.geometry["coordinates"]
            return LonLat(float(c[0]), float(c[1]))
    return None


def _read(path_or_text: str | bytes | Path) -> tuple[str, str | None, str | None]:
    if isinstance(path_or_text, bytes):
        return _decode(path_or_text, None), None, None
    if isinstance(path_or_text, str) and (
        "\n" in path_or_text or path_or_text.lstrip()[:1] in ("{", "<") or not _looks_like_path(path_or_text)
    ):
        return path_or_text, None, None
    path = Path(path_or_text)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror or exc}", source=str(path)) from exc
    return _decode(data, str(path)), str(path), path.suffix.lower()


def _looks_like_path(s: str) -> bool:
    return Path(s).suffix.lower() in _EXTENSIONS or Path(s).exists()


def _decode(data: bytes, source: str | None) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(f"not UTF-8 text (byte {exc.start})", source=source) from exc
