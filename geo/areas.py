"""The area model: what pilots patrol, where they must not fly, and where drones start.

Everything is WGS84 ``(lon, lat)`` degrees, shapely geometries for shapes. Readers of the
file formats (``io_geojson``, ``io_kml``, ``io_wkt``, ``qgc_plan``) first produce
``RawFeature`` values holding the coordinates exactly as written (unclosed rings and
duplicate vertices included), so that ``geo.validate`` can report what the file says rather
than what shapely silently made of it; ``geo.loader`` then builds an ``AreaSet``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from shapely.geometry import MultiPolygon, Point, Polygon

from geo.frames import LocalFrame, LonLat

Shape = Polygon | MultiPolygon

PATTERNS = frozenset({"sweep", "perimeter", "route", "orbit"})


class Kind(StrEnum):
    """``properties.kind`` of a feature."""

    PATROL_AREA = "patrol_area"
    NO_FLY = "no_fly"
    KEEP_IN = "keep_in"  # an inclusion geofence (QGC ``inclusion: true``)
    DOCK = "dock"


class FaultCode(StrEnum):
    """One code per kind of fault, stable for tests and for the UI."""

    EMPTY = "empty"
    NOT_A_POLYGON = "not_a_polygon"
    OUT_OF_RANGE = "out_of_range"
    LATLON_SWAPPED = "latlon_swapped"
    LATLON_PROBABLY_SWAPPED = "latlon_probably_swapped"
    TOO_FEW_POINTS = "too_few_points"
    UNCLOSED_RING = "unclosed_ring"
    DUPLICATE_VERTEX = "duplicate_vertex"
    SELF_INTERSECTION = "self_intersection"
    ZERO_AREA = "zero_area"
    HUGE_AREA = "huge_area"
    HOLE_OUTSIDE_SHELL = "hole_outside_shell"
    HOLE_CROSSES_SHELL = "hole_crosses_shell"
    HOLES_OVERLAP = "holes_overlap"
    PARTS_OVERLAP = "parts_overlap"
    INVALID = "invalid_geometry"
    BAD_PROPERTY = "bad_property"  # pattern, altitude, radius that the model rejects


@dataclass(frozen=True, kw_only=True)
class Fault:
    """One problem in one feature: what (``code``, ``message``) and where (``location``, ``feature``)."""

    code: FaultCode
    message: str
    location: LonLat | None = None
    feature: str | None = None  # the feature's name, if it has one
    index: int | None = None  # the feature's position in its file

    def __str__(self) -> str:
        who = self.feature if self.feature else (f"feature #{self.index}" if self.index is not None else "")
        at = f" at ({self.location.lon:.7f}, {self.location.lat:.7f})" if self.location else ""
        return f"{who + ': ' if who else ''}{self.code}{at}: {self.message}"


@dataclass(frozen=True, kw_only=True)
class Circle:
    """A circle on the ground: centre and radius in metres."""

    center: LonLat
    radius_m: float

    def __post_init__(self) -> None:
        if not (self.radius_m > 0 and math.isfinite(self.radius_m)):
            raise ValueError(f"circle radius must be positive, got {self.radius_m}")

    def to_polygon(self, segments: int = 64) -> Polygon:
        """The circle as a polygon in (lon, lat), inscribed with ``segments`` vertices.

        Examples
        --------
        >>> c = Circle(center=LonLat(-99.2, 19.36), radius_m=100.0)
        >>> len(c.to_polygon(16).exterior.coords)
        17
        """
        frame = LocalFrame(origin=self.center)
        disc = Point(0.0, 0.0).buffer(self.radius_m, quad_segs=max(1, segments // 4))
        return frame.geometry_to_lonlat(disc)


def _props(value: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict(value or {})


@dataclass(frozen=True, kw_only=True)
class PatrolArea:
    """An area to patrol with one pattern at one altitude above take-off."""

    name: str
    polygon: Shape
    pattern: str = "sweep"
    altitude_m: float | None = None
    properties: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.polygon, Polygon | MultiPolygon):
            raise TypeError(f"area {self.name!r}: polygon must be a Polygon or MultiPolygon")
        if self.pattern not in PATTERNS:
            known = ", ".join(sorted(PATTERNS))
            raise ValueError(
                f"area {self.name!r}: unknown pattern {self.pattern!r} (expected one of {known})"
            )
        if self.altitude_m is not None and not (0 < self.altitude_m <= 500):
            raise ValueError(f"area {self.name!r}: altitude_m {self.altitude_m} outside (0, 500]")


@dataclass(frozen=True, kw_only=True)
class NoFlyZone:
    """An exclusion zone: a polygon or a circle the planner must keep out of."""

    name: str
    shape: Shape | Circle
    reason: str = ""
    properties: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def polygon(self) -> Shape:
        """The zone as a polygon (a circle approximated with 64 vertices)."""
        return self.shape.to_polygon() if isinstance(self.shape, Circle) else self.shape


@dataclass(frozen=True, kw_only=True)
class KeepInZone:
    """An inclusion geofence: flight must stay inside."""

    name: str
    shape: Shape | Circle
    properties: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def polygon(self) -> Shape:
        return self.shape.to_polygon() if isinstance(self.shape, Circle) else self.shape


@dataclass(frozen=True, kw_only=True)
class Dock:
    """Where a drone takes off and lands; ``alt_m`` AMSL when known."""

    name: str
    position: LonLat
    alt_m: float | None = None
    properties: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        lon, lat = self.position
        if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
            raise ValueError(f"dock {self.name!r}: position out of range {self.position}")


@dataclass(frozen=True, kw_only=True)
class AreaSet:
    """Everything read from one area file.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> s = AreaSet(areas=(PatrolArea(name="A", polygon=box(-99.21, 19.36, -99.20, 19.37)),))
    >>> s["A"].pattern, s.area("A").name, len(s)
    ('sweep', 'A', 1)
    """

    areas: tuple[PatrolArea, ...] = ()
    no_fly: tuple[NoFlyZone, ...] = ()
    docks: tuple[Dock, ...] = ()
    keep_in: tuple[KeepInZone, ...] = ()
    source: str | None = field(default=None, compare=False)

    def __len__(self) -> int:
        return len(self.areas) + len(self.no_fly) + len(self.docks) + len(self.keep_in)

    def __getitem__(self, name: str) -> PatrolArea | NoFlyZone | Dock | KeepInZone:
        for item in (*self.areas, *self.no_fly, *self.docks, *self.keep_in):
            if item.name == name:
                return item
        raise KeyError(name)

    def names(self) -> list[str]:
        return [x.name for x in (*self.areas, *self.no_fly, *self.docks, *self.keep_in)]

    def area(self, name: str) -> PatrolArea:
        return _find(self.areas, name, "patrol area")

    def no_fly_zone(self, name: str) -> NoFlyZone:
        return _find(self.no_fly, name, "no-fly zone")

    def dock(self, name: str) -> Dock:
        return _find(self.docks, name, "dock")


def _find(items: tuple, name: str, what: str) -> Any:
    for item in items:
        if item.name == name:
            return item
    known = ", ".join(repr(i.name) for i in items) or "none"
    raise KeyError(f"no {what} named {name!r} (known: {known})")


@dataclass(frozen=True, kw_only=True)
class RawFeature:
    """A feature as written in its file, before validation.

    ``geometry`` is GeoJSON-like, (lon, lat) order, coordinates untouched:
    ``{"type": "Polygon" | "MultiPolygon" | "Point" | "Circle", "coordinates": ..., "radius": m}``.
    """

    kind: Kind
    name: str
    index: int
    geometry: dict[str, Any]
    properties: dict[str, Any] = field(default_factory=dict)
