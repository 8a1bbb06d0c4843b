"""Check an area's geometry and say exactly what is wrong and where; repair what can be repaired.

``validate`` works on the coordinates as the file wrote them (a GeoJSON-like mapping, nested
lists, or a shapely geometry), because shapely silently closes rings and so hides faults.
Each fault has its own ``FaultCode``; see ``geo.areas.FaultCode``.

Latitude/longitude swaps are found two ways:

* impossible values: a latitude beyond ±90 whose longitude would be a valid latitude (e.g.
  ``(19.36, -99.21)``, Mexico City written lat-first) is ``latlon_swapped``;
* plausible swaps: when both orders are in range (e.g. Zürich's ``(47.39, 8.54)``), a
  ``reference`` position (a dock, the planned home) decides: if the geometry lies more than
  ``SWAP_DISTANCE_M`` from it and the swapped geometry lies within that distance, it is
  ``latlon_probably_swapped``.

``repair`` never fixes silently: it returns the list of what it changed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import shapely
from pyproj import Geod
from shapely.geometry import GeometryCollection, LinearRing, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from geo.areas import Fault, FaultCode
from geo.errors import AreaValidationError
from geo.frames import LonLat

DEFAULT_MAX_AREA_KM2 = 100.0
ZERO_AREA_M2 = 1.0  # below this a polygon encloses nothing a drone could patrol
SWAP_DISTANCE_M = 50_000.0
SIMILAR_AREA = 0.05  # make_valid may change the area by at most 5 % to count as a repair

XY = tuple[float, float]
Ring = list[XY]
Parts = list[list[Ring]]  # polygons → rings (shell first) → vertices

_GEOD = Geod(ellps="WGS84")
_REASON_XY = re.compile(r"\[\s*(-?[\d.eE+-]+)\s+(-?[\d.eE+-]+)")


def as_parts(geom: Any) -> Parts:
    """Normalise a polygon-ish value to polygons → rings → (x, y), keeping faults intact.

    Examples
    --------
    >>> as_parts({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1]]]})
    [[[(0.0, 0.0), (1.0, 0.0), (1.0, 1.0)]]]
    """
    if isinstance(geom, Polygon):
        return [] if geom.is_empty else [_poly_rings(geom)]
    if isinstance(geom, MultiPolygon):
        return [_poly_rings(p) for p in geom.geoms if not p.is_empty]
    if isinstance(geom, BaseGeometry):
        raise TypeError(f"expected a Polygon or MultiPolygon, got a {geom.geom_type}")
    if isinstance(geom, dict):
        kind = geom.get("type")
        coords = geom.get("coordinates")
        if kind == "Polygon":
            return [_rings(coords)]
        if kind == "MultiPolygon":
            return [_rings(p) for p in coords or []]
        raise TypeError(f"expected a Polygon or MultiPolygon, got a {kind}")
    depth = _depth(geom)
    if depth == 2:
        return [[_ring(geom)]]
    if depth == 3:
        return [_rings(geom)]
    if depth == 4:
        return [_rings(p) for p in geom]
    raise TypeError(f"cannot read polygon coordinates from {type(geom).__name__}")


def _poly_rings(p: Polygon) -> list[Ring]:
    return [_ring(p.exterior.coords), *(_ring(h.coords) for h in p.interiors)]


def _rings(coords: Any) -> list[Ring]:
    return [_ring(r) for r in coords or []]


def _ring(coords: Any) -> Ring:
    return [(float(c[0]), float(c[1])) for c in coords]


def _depth(value: Any) -> int:
    d = 0
    while isinstance(value, list | tuple) and value:
        value, d = value[0], d + 1
    return d


# --- validate -------------------------------------------------------------------------------


def validate(
    geom: Any,
    *,
    max_area_km2: float = DEFAULT_MAX_AREA_KM2,
    name: str | None = None,
    index: int | None = None,
    reference: LonLat | None = None,
) -> list[Fault]:
    """Every fault in a polygon or multipolygon, each with its own code, message and location.

    Examples
    --------
    >>> square = [[-99.21, 19.36], [-99.20, 19.36], [-99.20, 19.37], [-99.21, 19.37], [-99.21, 19.36]]
    >>> validate({"type": "Polygon", "coordinates": [square]})
    []
    >>> [f.code.value for f in validate({"type": "Polygon", "coordinates": [square[:-1]]})]
    ['unclosed_ring']
    >>> swapped = [[y, x] for x, y in square]
    >>> print(validate([swapped], name="Parque")[0])  # doctest: +ELLIPSIS
    Parque: latlon_swapped at (19.3600000, -99.2100000): latitude -99.21 is beyond ±90...
    """

    def mk(code: FaultCode, message: str, at: XY | None = None) -> Fault:
        loc = LonLat(*at) if at is not None else None
        return Fault(code=code, message=message, location=loc, feature=name, index=index)

    try:
        parts = as_parts(geom)
    except (TypeError, ValueError, IndexError) as exc:
        return [mk(FaultCode.NOT_A_POLYGON, str(exc))]
    if not parts or not any(ring for rings in parts for ring in rings):
        return [mk(FaultCode.EMPTY, "the geometry has no coordinates")]
    faults = _range_faults([xy for rings in parts for ring in rings for xy in ring], mk, reference)
    if faults:
        return faults  # geometry on misplaced coordinates would only add noise
    multi = len(parts) > 1
    shells: list[Polygon] = []
    for pi, rings in enumerate(parts):
        if not rings:
            faults.append(mk(FaultCode.EMPTY, f"{_where(pi, 0, multi)} has no rings"))
            continue
        cleaned: list[Ring | None] = []
        for ri, ring in enumerate(rings):
            ring_faults, clean = _ring_faults(ring, _where(pi, ri, multi), mk)
            faults += ring_faults
            cleaned.append(clean)
        faults += _polygon_faults(cleaned, pi, multi, mk, max_area_km2)
        if cleaned[0] is not None:
            shells.append(Polygon(cleaned[0], [c for c in cleaned[1:] if c is not None]))
    faults += _parts_overlap(shells, mk)
    return faults


def validate_point(
    p: Sequence[float], *, name: str | None = None, index: int | None = None, reference: LonLat | None = None
) -> list[Fault]:
    """Range and swap faults of a single (lon, lat) position (a dock, a circle's centre)."""

    def mk(code: FaultCode, message: str, at: XY | None = None) -> Fault:
        return Fault(
            code=code, message=message, location=LonLat(*at) if at else None, feature=name, index=index
        )

    return _range_faults([(float(p[0]), float(p[1]))], mk, reference)


def _where(pi: int, ri: int, multi: bool) -> str:
    ring = "shell" if ri == 0 else f"hole {ri}"
    return f"{ring} of part {pi + 1}" if multi else ring


def _range_faults(points: list[XY], mk: Callable[..., Fault], reference: LonLat | None) -> list[Fault]:
    bad = [p for p in points if not (math.isfinite(p[0]) and math.isfinite(p[1]))]
    if bad:
        return [mk(FaultCode.OUT_OF_RANGE, f"{len(bad)} coordinate(s) are not finite numbers: {bad[0]}")]
    swapped = [p for p in points if abs(p[1]) > 90.0 and abs(p[0]) <= 90.0 and abs(p[1]) <= 180.0]
    if swapped:
        x, y = swapped[0]
        return [
            mk(
                FaultCode.LATLON_SWAPPED,
                f"latitude {y:g} is beyond ±90 but longitude {x:g} would be a valid latitude: "
                f"{len(swapped)} vertex(es) look like (lat, lon) where (lon, lat) is expected",
                swapped[0],
            )
        ]
    out = [p for p in points if abs(p[0]) > 180.0 or abs(p[1]) > 90.0]
    if out:
        x, y = out[0]
        return [
            mk(
                FaultCode.OUT_OF_RANGE,
                f"{len(out)} vertex(es) out of range (lon must be within ±180, lat within ±90), e.g. ({x:g}, {y:g})",
                out[0],
            )
        ]
    if reference is not None and _probably_swapped(points, reference):
        c = _mean(points)
        return [
            mk(
                FaultCode.LATLON_PROBABLY_SWAPPED,
                f"the geometry lies {_haversine(c, reference) / 1000:.0f} km from the reference "
                f"({reference.lon:g}, {reference.lat:g}), but only "
                f"{_haversine((c[1], c[0]), reference) / 1000:.1f} km with lat and lon swapped",
                c,
            )
        ]
    return []


def _ring_faults(ring: Ring, where: str, mk: Callable[..., Fault]) -> tuple[list[Fault], Ring | None]:
    """Faults of one ring, and the ring closed and de-duplicated (None if unusable)."""
    faults: list[Fault] = []
    closed = len(ring) >= 2 and ring[0] == ring[-1]
    body = ring[:-1] if closed else list(ring)
    distinct = len(set(body))
    if distinct < 3:
        n = len(ring)
        msg = (
            f"{where} has {distinct} distinct vertex(es) ({n} coordinate(s)); a ring needs at least 3 "
            f"distinct vertices, 4 coordinates including the closing one"
        )
        return [mk(FaultCode.TOO_FEW_POINTS, msg, ring[0] if ring else None)], None
    if not closed:
        faults.append(
            mk(
                FaultCode.UNCLOSED_RING,
                f"{where} is not closed: the last vertex {_fmt(ring[-1])} differs from the first {_fmt(ring[0])}",
                ring[-1],
            )
        )
    dups = [i for i in range(len(body)) if body[i] == body[(i + 1) % len(body)]]
    if dups:
        i = dups[0]
        faults.append(
            mk(
                FaultCode.DUPLICATE_VERTEX,
                f"{where} repeats vertex {i} at {_fmt(body[i])} consecutively"
                + (f" ({len(dups)} repeats in all)" if len(dups) > 1 else ""),
                body[i],
            )
        )
    clean = _dedup(body)
    clean.append(clean[0])
    hull = shapely.MultiPoint(clean).convex_hull
    if _area_m2(hull) < ZERO_AREA_M2:
        faults.append(
            mk(FaultCode.ZERO_AREA, f"{where} encloses no area: its vertices are collinear", clean[0])
        )
        return faults, None
    lr = LinearRing(clean)
    if not lr.is_simple:
        at = _reason_xy(shapely.is_valid_reason(Polygon(clean))) or clean[0]
        faults.append(
            mk(FaultCode.SELF_INTERSECTION, f"{where} crosses itself at {_fmt(at)}", at),
        )
        return faults, None
    return faults, clean


def _polygon_faults(
    rings: list[Ring | None], pi: int, multi: bool, mk: Callable[..., Fault], max_area_km2: float
) -> list[Fault]:
    if rings[0] is None:
        return []
    shell = Polygon(rings[0])
    holes = [(ri, Polygon(r)) for ri, r in enumerate(rings) if ri > 0 and r is not None]
    faults: list[Fault] = []
    for ri, hole in holes:
        where = _where(pi, ri, multi)
        if shell.intersection(hole).area <= 1e-12 * hole.area:
            at = hole.representative_point()
            faults.append(mk(FaultCode.HOLE_OUTSIDE_SHELL, f"{where} lies outside the shell", (at.x, at.y)))
        elif not shell.covers(hole):
            at = _first_point(shell.exterior.intersection(hole.exterior)) or hole.representative_point()
            faults.append(
                mk(
                    FaultCode.HOLE_CROSSES_SHELL,
                    f"{where} crosses the shell at {_fmt((at.x, at.y))}",
                    (at.x, at.y),
                )
            )
    for i, (ri, a) in enumerate(holes):
        for rj, b in holes[i + 1 :]:
            common = a.intersection(b)
            if common.area > 1e-12 * min(a.area, b.area):
                at = common.representative_point()
                msg = (
                    f"{_where(pi, ri, multi)} and {_where(pi, rj, multi)} overlap around {_fmt((at.x, at.y))}"
                )
                faults.append(mk(FaultCode.HOLES_OVERLAP, msg, (at.x, at.y)))
    if faults:
        return faults
    poly = Polygon(rings[0], [h.exterior.coords for _, h in holes])
    km2 = _area_m2(poly) / 1e6
    if km2 > max_area_km2:
        c = poly.centroid
        what = f"part {pi + 1}" if multi else "the polygon"
        msg = f"{what} covers {km2:.1f} km², more than the limit of {max_area_km2:g} km²"
        faults.append(mk(FaultCode.HUGE_AREA, msg, (c.x, c.y)))
    if not poly.is_valid:
        reason = shapely.is_valid_reason(poly)
        faults.append(mk(FaultCode.INVALID, f"{_where(pi, 0, multi)}: {reason}", _reason_xy(reason)))
    return faults


def _parts_overlap(shells: list[Polygon], mk: Callable[..., Fault]) -> list[Fault]:
    faults = []
    for i, a in enumerate(shells):
        for j in range(i + 1, len(shells)):
            b = shells[j]
            try:
                common = a.intersection(b)
            except shapely.errors.GEOSException:
                continue
            if common.area > 1e-12 * min(a.area, b.area):
                at = common.representative_point()
                msg = f"parts {i + 1} and {j + 1} overlap around {_fmt((at.x, at.y))}"
                faults.append(mk(FaultCode.PARTS_OVERLAP, msg, (at.x, at.y)))
    return faults


# --- repair ---------------------------------------------------------------------------------


def repair(geom: Any, *, reference: LonLat | None = None) -> tuple[Polygon | MultiPolygon, list[str]]:
    """Fix what can be fixed safely and say what changed; never changes anything silently.

    Closes unclosed rings, drops repeated vertices, swaps lat/lon when clearly swapped (or
    probably swapped given ``reference``), drops holes outside the shell and rings too short
    to be rings, and fixes self-intersections with ``shapely.make_valid`` only when the result
    is one polygon of similar area (within 5 %). What cannot be fixed is left for ``validate``
    to report.

    Examples
    --------
    >>> ring = [[-99.21, 19.36], [-99.20, 19.36], [-99.20, 19.36], [-99.20, 19.37], [-99.21, 19.37]]
    >>> fixed, changes = repair([ring])
    >>> fixed.is_valid, len(fixed.exterior.coords)
    (True, 5)
    >>> for c in changes:
    ...     print(c)
    shell: dropped 1 repeated vertex
    shell: closed the ring (appended the first vertex)
    """
    try:
        parts = as_parts(geom)
    except (TypeError, ValueError, IndexError) as exc:
        fault = Fault(code=FaultCode.NOT_A_POLYGON, message=str(exc))
        raise AreaValidationError([fault]) from exc
    changes: list[str] = []
    parts = _repair_swap(parts, reference, changes)
    multi = len(parts) > 1
    polygons: list[Polygon] = []
    for pi, rings in enumerate(parts):
        fixed = [_repair_ring(ring, _where(pi, ri, multi), changes) for ri, ring in enumerate(rings)]
        if not fixed or fixed[0] is None:
            changes.append(
                f"dropped {'part ' + str(pi + 1) if multi else 'the polygon'}: its shell is unusable"
            )
            continue
        shell = Polygon(fixed[0])
        holes = []
        for ri, hole in enumerate(fixed[1:], start=1):
            if hole is None:
                changes.append(f"dropped {_where(pi, ri, multi)}: too few distinct vertices")
            elif _outside(shell, Polygon(hole)):
                changes.append(f"dropped {_where(pi, ri, multi)}: it lies outside the shell")
            else:
                holes.append(hole)
        label = f"part {pi + 1}" if multi else "polygon"
        polygons.append(_repair_validity(Polygon(fixed[0], holes), label, changes))
    if not polygons:
        return Polygon(), changes
    return (polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)), changes


def _repair_swap(parts: Parts, reference: LonLat | None, changes: list[str]) -> Parts:
    points = [xy for rings in parts for ring in rings for xy in ring]
    finite = all(math.isfinite(x) and math.isfinite(y) for x, y in points)
    if not points or not finite or not all(abs(x) <= 90.0 and abs(y) <= 180.0 for x, y in points):
        return parts
    if any(abs(y) > 90.0 for _, y in points):
        changes.append("swapped latitude and longitude: the coordinates were written (lat, lon)")
    elif reference is not None and _probably_swapped(points, reference):
        changes.append(
            "swapped latitude and longitude: only the swapped coordinates lie near the reference "
            f"({reference.lon:g}, {reference.lat:g})"
        )
    else:
        return parts
    return [[[(y, x) for x, y in ring] for ring in rings] for rings in parts]


def _repair_ring(ring: Ring, where: str, changes: list[str]) -> Ring | None:
    closed = len(ring) >= 2 and ring[0] == ring[-1]
    body = ring[:-1] if closed else list(ring)
    clean = _dedup(body)
    if len(clean) < len(body):
        n = len(body) - len(clean)
        changes.append(f"{where}: dropped {n} repeated vertex" + ("es" if n > 1 else ""))
    if len(set(clean)) < 3:
        return None
    if not closed:
        changes.append(f"{where}: closed the ring (appended the first vertex)")
    return [*clean, clean[0]]


def _repair_validity(poly: Polygon, where: str, changes: list[str]) -> Polygon:
    if poly.is_valid:
        return poly
    reason = shapely.is_valid_reason(poly)
    fixed = shapely.make_valid(poly)
    parts = sorted(_polygons_of(fixed), key=lambda p: p.area, reverse=True)
    before = _area_m2(poly)
    if before <= 0.0:
        changes.append(
            f"{where}: left unrepaired ({reason}): its loops cancel out, so the intended area is unknown"
        )
        return poly
    if not parts:
        changes.append(f"{where}: left unrepaired ({reason}): make_valid gave no polygon")
        return poly
    main = parts[0]
    after = _area_m2(main)
    change = (after - before) / before
    if abs(change) > SIMILAR_AREA:
        changes.append(
            f"{where}: left unrepaired ({reason}): make_valid would change the area from "
            f"{before:.0f} m² to {after:.0f} m² ({change:+.0%})"
        )
        return poly
    dropped = sum(_area_m2(p) for p in parts[1:])
    changes.append(
        f"{where}: fixed {reason} with make_valid: area {before:.0f} m² → {after:.0f} m² ({change:+.1%})"
        + (f", dropped {len(parts) - 1} sliver(s) of {dropped:.0f} m²" if len(parts) > 1 else "")
    )
    return main


def _outside(shell: Polygon, hole: Polygon) -> bool:
    if not (shell.is_valid and hole.is_valid):
        return False  # no reliable overlay on invalid rings; make_valid sorts them out
    return shell.intersection(hole).area <= 0.0


def _polygons_of(g: BaseGeometry) -> list[Polygon]:
    if isinstance(g, Polygon):
        return [] if g.is_empty else [g]
    if isinstance(g, MultiPolygon | GeometryCollection):
        return [p for sub in g.geoms for p in _polygons_of(sub)]
    return []


# --- helpers --------------------------------------------------------------------------------


def _dedup(points: Ring) -> Ring:
    out = [p for i, p in enumerate(points) if i == 0 or p != points[i - 1]]
    while len(out) > 1 and out[-1] == out[0]:
        out.pop()
    return out


def _area_m2(g: BaseGeometry) -> float:
    """Geodesic area on the WGS84 ellipsoid (no projection to build: fast enough per ring)."""
    if g.is_empty or g.geom_type not in ("Polygon", "MultiPolygon"):
        return 0.0
    return abs(float(_GEOD.geometry_area_perimeter(g)[0]))


def _probably_swapped(points: list[XY], reference: LonLat) -> bool:
    if not all(abs(x) <= 90.0 for x, _ in points):
        return False
    c = _mean(points)
    return (
        _haversine(c, reference) > SWAP_DISTANCE_M and _haversine((c[1], c[0]), reference) <= SWAP_DISTANCE_M
    )


def _mean(points: list[XY]) -> XY:
    return (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))


def _haversine(a: Sequence[float], b: Sequence[float]) -> float:
    lon1, lat1, lon2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(min(1.0, math.sqrt(h)))


def _reason_xy(reason: str) -> XY | None:
    m = _REASON_XY.search(reason)
    return (float(m.group(1)), float(m.group(2))) if m else None


def _first_point(g: BaseGeometry) -> Point | None:
    if g.is_empty:
        return None
    x, y = shapely.get_coordinates(g)[0]
    return Point(x, y)


def _fmt(p: Sequence[float]) -> str:
    return f"({p[0]:.7f}, {p[1]:.7f})"
