"""QGroundControl ``.plan`` files: mission items, geofence and rally points, in and out.

The JSON is written exactly as QGroundControl writes it (``MissionController::save``,
``SimpleMissionItem::save``, ``GeoFenceController::save``, ``RallyPointController::save``):
keys sorted, ``doJumpId`` numbering from 1, NaN params as ``null``, coordinates ``[lat, lon]``,
fence polygons without the closing vertex.

Conventions for ``MissionItem`` values:

* ``AltitudeMode`` 1 (relative) → frame 3, 2 (AMSL) → frame 0, 4 (terrain frame) → frame 10;
  3 ("calc above terrain") keeps QGC's AMSL frame 0 with its computed altitude, and when QGC
  stored none (``params[6]`` null) becomes frame 10 with ``Altitude`` above terrain.
* ``DO_JUMP`` ``param1`` is the 0-based index of the target in our item list (what PX4 gets);
  in the file it is the target's ``doJumpId``.
* Survey / corridor complex items contribute the simple items QGC saved in their
  ``TransectStyleComplexItem.Items``; a survey's ``polygon`` becomes a patrol area on import.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shapely.geometry import LineString, Polygon

from geo.areas import AreaSet, Circle, Kind, RawFeature
from geo.errors import FormatError, parse_json
from geo.frames import LonLat
from geo.items import MavCmd, MavFrame, MissionItem

FIRMWARE_PX4 = 12
VEHICLE_MULTIROTOR = 2
_ALT_MODE_TO_FRAME = {1: MavFrame.GLOBAL_RELATIVE_ALT, 2: MavFrame.GLOBAL, 4: MavFrame.GLOBAL_TERRAIN_ALT}
_FRAME_TO_ALT_MODE = {MavFrame.GLOBAL_RELATIVE_ALT: 1, MavFrame.GLOBAL: 2, MavFrame.GLOBAL_TERRAIN_ALT: 4}
_CALC_ABOVE_TERRAIN = 3
# Commands whose params 5-7 are a position, for which QGC writes Altitude/AltitudeMode.
_POSITIONED = frozenset(
    {
        MavCmd.NAV_WAYPOINT,
        MavCmd.NAV_LOITER_UNLIM,
        MavCmd.NAV_LOITER_TIME,
        MavCmd.NAV_LAND,
        MavCmd.NAV_TAKEOFF,
        MavCmd.DO_SET_ROI_LOCATION,
        18,  # NAV_LOITER_TURNS
        31,  # NAV_LOITER_TO_ALT
        84,  # NAV_VTOL_TAKEOFF
        85,  # NAV_VTOL_LAND
    }
)
_PATH_COMMANDS = frozenset({16, 17, 18, 19, 21, 22, 31, 84, 85})


@dataclass(frozen=True, kw_only=True)
class FenceCircle:
    center: LonLat
    radius_m: float
    inclusion: bool = False


@dataclass(frozen=True, kw_only=True)
class RallyPoint:
    position: LonLat
    alt_m: float  # above home


@dataclass(frozen=True, kw_only=True)
class QgcPlan:
    """A whole ``.plan``: what the planner hands to ``dump_plan`` and what ``parse_plan`` returns."""

    items: tuple[MissionItem, ...] = ()
    home: LonLat | None = None
    home_alt_m: float = 0.0  # AMSL
    cruise_speed_mps: float = 15.0
    hover_speed_mps: float = 5.0
    inclusion: tuple[Polygon, ...] = ()
    exclusion: tuple[Polygon, ...] = ()
    circles: tuple[FenceCircle, ...] = ()
    rally: tuple[RallyPoint, ...] = ()
    surveys: tuple[Polygon, ...] = ()  # polygons of Survey complex items (import only)
    skipped: tuple[str, ...] = ()  # complex items whose waypoints the file does not hold
    firmware_type: int = FIRMWARE_PX4
    vehicle_type: int = VEHICLE_MULTIROTOR

    def __post_init__(self) -> None:
        # Accept lists and plain (lon, lat) tuples from callers; store the canonical forms.
        for name in ("items", "inclusion", "exclusion", "circles", "rally", "surveys", "skipped"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.home is not None:
            object.__setattr__(self, "home", LonLat(float(self.home[0]), float(self.home[1])))


def make_plan(
    items: Sequence[MissionItem],
    *,
    home: LonLat,
    home_alt_m: float = 0.0,
    areas: AreaSet | None = None,
    cruise_speed_mps: float = 15.0,
    hover_speed_mps: float = 5.0,
    rally: Sequence[RallyPoint] = (),
) -> QgcPlan:
    """A plan for ``items`` whose geofence comes from an ``AreaSet``.

    Keep-in zones become inclusion polygons or circles, no-fly zones exclusion ones. QGC
    fence polygons have no holes: each polygon's holes are dropped and each part of a
    MultiPolygon becomes its own fence polygon. Docks are not made rally points on their
    own (a rally altitude is a safety decision): pass ``rally`` explicitly.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> from geo.areas import NoFlyZone
    >>> s = AreaSet(no_fly=(NoFlyZone(name="school", shape=box(-99.206, 19.370, -99.203, 19.373)),))
    >>> p = make_plan([], home=LonLat(-99.22, 19.37), areas=s)
    >>> len(p.exclusion), p.inclusion
    (1, ())
    """
    s = areas or AreaSet()
    inclusion, exclusion, circles = [], [], []
    for zones, polys, inc in ((s.keep_in, inclusion, True), (s.no_fly, exclusion, False)):
        for z in zones:
            if isinstance(z.shape, Circle):
                circles.append(FenceCircle(center=z.shape.center, radius_m=z.shape.radius_m, inclusion=inc))
            else:
                parts = z.shape.geoms if z.shape.geom_type == "MultiPolygon" else [z.shape]
                polys.extend(Polygon(p.exterior.coords) for p in parts)
    return QgcPlan(
        items=tuple(items),
        home=home,
        home_alt_m=home_alt_m,
        cruise_speed_mps=cruise_speed_mps,
        hover_speed_mps=hover_speed_mps,
        inclusion=tuple(inclusion),
        exclusion=tuple(exclusion),
        circles=tuple(circles),
        rally=tuple(rally),
    )


# --- reading --------------------------------------------------------------------------------


def parse_plan(text: str, *, source: str | None = None) -> QgcPlan:
    """Read a QGroundControl ``.plan`` (JSON text).

    Examples
    --------
    >>> p = parse_plan(dump_plan(QgcPlan(items=(MissionItem(command=16, lat=19.36, lon=-99.21, alt=40),))))
    >>> p.items[0].alt, int(p.items[0].frame), math.isnan(p.items[0].param4)
    (40.0, 3, True)
    """
    doc = parse_json(text, source=source)
    if not isinstance(doc, dict) or doc.get("fileType") != "Plan":
        raise FormatError('not a QGroundControl plan: "fileType" is not "Plan"', source=source)
    try:
        return _plan(doc)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise FormatError(f"malformed plan: {_why(exc)}", source=source) from exc


def _why(exc: Exception) -> str:
    return f'missing key "{exc.args[0]}"' if isinstance(exc, KeyError) else str(exc)


def _plan(doc: dict[str, Any]) -> QgcPlan:
    mission = doc.get("mission") or {}
    items, surveys, skipped = _items(mission.get("items") or [])
    home = mission.get("plannedHomePosition")
    fence = doc.get("geoFence") or {}
    inclusion, exclusion = [], []
    for i, p in enumerate(fence.get("polygons") or []):
        poly = _fence_polygon(p["polygon"], f"geoFence polygon #{i}")
        (inclusion if p.get("inclusion", True) else exclusion).append(poly)
    if fence.get("polygon"):  # version 1 files: one inclusion polygon
        inclusion.append(_fence_polygon(fence["polygon"], "geoFence polygon"))
    circles = tuple(
        FenceCircle(
            center=LonLat(float(c["circle"]["center"][1]), float(c["circle"]["center"][0])),
            radius_m=float(c["circle"]["radius"]),
            inclusion=bool(c.get("inclusion", True)),
        )
        for c in fence.get("circles") or []
    )
    rally = tuple(
        RallyPoint(position=LonLat(float(p[1]), float(p[0])), alt_m=_num(p[2]) if len(p) > 2 else 0.0)
        for p in (doc.get("rallyPoints") or {}).get("points") or []
    )
    return QgcPlan(
        items=tuple(items),
        home=LonLat(float(home[1]), float(home[0])) if home else None,
        home_alt_m=_num(home[2]) if home and len(home) > 2 else 0.0,
        cruise_speed_mps=_num(mission.get("cruiseSpeed", 15.0)),
        hover_speed_mps=_num(mission.get("hoverSpeed", 5.0)),
        inclusion=tuple(inclusion),
        exclusion=tuple(exclusion),
        circles=circles,
        rally=rally,
        surveys=tuple(surveys),
        skipped=tuple(skipped),
        firmware_type=int(mission.get("firmwareType", FIRMWARE_PX4)),
        vehicle_type=int(mission.get("vehicleType", VEHICLE_MULTIROTOR)),
    )


def _fence_polygon(points: list[list[float]], what: str) -> Polygon:
    if len(points) < 3:
        raise ValueError(f"{what} has {len(points)} vertices; at least 3 are needed")
    return Polygon([(float(p[1]), float(p[0])) for p in points])


def _items(raw: list[dict[str, Any]]) -> tuple[list[MissionItem], list[Polygon], list[str]]:
    simple: list[dict[str, Any]] = []
    surveys: list[Polygon] = []
    skipped: list[str] = []
    for n, it in enumerate(raw):
        if it.get("type") == "ComplexItem":
            kind = it.get("complexItemType", "?")
            if kind == "survey" and it.get("polygon"):
                surveys.append(_fence_polygon(it["polygon"], f"survey item #{n} polygon"))
            saved = (it.get("TransectStyleComplexItem") or {}).get("Items")
            if saved:
                simple.extend(saved)
            else:
                skipped.append(f"item #{n}: {kind} complex item without saved waypoints")
        else:
            simple.append(it)
    jump_index = {int(it["doJumpId"]): i for i, it in enumerate(simple) if it.get("doJumpId") is not None}
    items = [_simple(it, jump_index) for it in simple]
    return items, surveys, skipped


def _simple(it: dict[str, Any], jump_index: dict[int, int]) -> MissionItem:
    params = [_num(v) for v in it["params"]]
    if len(params) != 7:
        raise ValueError(f"item doJumpId {it.get('doJumpId')}: params must have 7 values, not {len(params)}")
    command, frame = int(it["command"]), int(it["frame"])
    alt = params[6]
    mode = it.get("AltitudeMode")
    if mode is not None and "AltitudeMode" in it:
        mode = int(mode)
        if mode == _CALC_ABOVE_TERRAIN:
            if math.isnan(alt):
                frame, alt = MavFrame.GLOBAL_TERRAIN_ALT, _num(it.get("Altitude"))
            else:
                frame = MavFrame.GLOBAL
        elif mode in _ALT_MODE_TO_FRAME:
            frame = _ALT_MODE_TO_FRAME[mode]
    if command == MavCmd.DO_JUMP and not math.isnan(params[0]):
        target = int(params[0])
        params[0] = float(jump_index.get(target, target - 1))
    lat, lon = params[4], params[5]
    return MissionItem(
        command=command,
        frame=frame,
        param1=params[0],
        param2=params[1],
        param3=params[2],
        param4=params[3],
        lat=0.0 if math.isnan(lat) else lat,
        lon=0.0 if math.isnan(lon) else lon,
        alt=alt,
        autocontinue=bool(it.get("autoContinue", True)),
    )


def _num(v: Any) -> float:
    return math.nan if v is None else float(v)


# --- writing --------------------------------------------------------------------------------


def plan_to_json(plan: QgcPlan) -> dict[str, Any]:
    """The plan as the JSON object QGroundControl writes."""
    items = [_item_json(it, n + 1) for n, it in enumerate(plan.items)]
    home = plan.home or _first_position(plan.items)
    return {
        "fileType": "Plan",
        "geoFence": {
            "circles": [
                {
                    "circle": {"center": [c.center.lat, c.center.lon], "radius": c.radius_m},
                    "inclusion": c.inclusion,
                    "version": 1,
                }
                for c in plan.circles
            ],
            "polygons": [
                {"inclusion": inc, "polygon": _latlon_ring(p), "version": 1}
                for inc, polys in ((True, plan.inclusion), (False, plan.exclusion))
                for p in polys
            ],
            "version": 2,
        },
        "groundStation": "QGroundControl",
        "mission": {
            "cruiseSpeed": plan.cruise_speed_mps,
            "firmwareType": plan.firmware_type,
            "globalPlanAltitudeMode": _global_alt_mode(plan.items),
            "hoverSpeed": plan.hover_speed_mps,
            "items": items,
            "plannedHomePosition": [home.lat, home.lon, _null(plan.home_alt_m)],
            "vehicleType": plan.vehicle_type,
            "version": 2,
        },
        "rallyPoints": {
            "points": [[r.position.lat, r.position.lon, _null(r.alt_m)] for r in plan.rally],
            "version": 2,
        },
        "version": 1,
    }


def dump_plan(plan: QgcPlan) -> str:
    """The plan as ``.plan`` text (4-space indented, sorted keys, like QGC)."""
    return json.dumps(plan_to_json(plan), indent=4, sort_keys=True, allow_nan=False) + "\n"


def write_plan(plan: QgcPlan, path: Path) -> None:
    path.write_text(dump_plan(plan), encoding="utf-8")


def load_plan(path: Path) -> QgcPlan:
    return parse_plan(path.read_text(encoding="utf-8-sig"), source=str(path))


def _item_json(it: MissionItem, jump_id: int) -> dict[str, Any]:
    params = [it.param1, it.param2, it.param3, it.param4, it.lat, it.lon, it.alt]
    if it.command == MavCmd.DO_JUMP:
        params[0] = float(int(it.param1) + 1)  # our 0-based index → the target's doJumpId
    out: dict[str, Any] = {
        "autoContinue": bool(it.autocontinue),
        "command": int(it.command),
        "doJumpId": jump_id,
        "frame": int(it.frame),
        "params": [_null(_int_if_whole(p)) for p in params],
        "type": "SimpleItem",
    }
    if it.command in _POSITIONED and it.frame in _FRAME_TO_ALT_MODE:
        out["AMSLAltAboveTerrain"] = None
        out["Altitude"] = _null(it.alt)
        out["AltitudeMode"] = _FRAME_TO_ALT_MODE[MavFrame(it.frame)]
    return out


def _global_alt_mode(items: tuple[MissionItem, ...]) -> int:
    modes = {_FRAME_TO_ALT_MODE.get(it.frame) for it in items if it.command in _POSITIONED} - {None}
    return modes.pop() if len(modes) == 1 else 0  # type: ignore[return-value]  # 0 = mixed


def _first_position(items: tuple[MissionItem, ...]) -> LonLat:
    for it in items:
        if it.command in _POSITIONED and (it.lat or it.lon):
            return LonLat(it.lon, it.lat)
    return LonLat(0.0, 0.0)


def _latlon_ring(p: Polygon) -> list[list[float]]:
    coords = list(p.exterior.coords)[:-1]  # QGC polygons are implicitly closed
    return [[y, x] for x, y, *_ in coords]


def _null(v: float) -> float | None:
    return None if isinstance(v, float) and math.isnan(v) else v


def _int_if_whole(v: float) -> float | int:
    # QGC writes 0 and 1, not 0.0 and 1.0; JSON numbers compare equal either way.
    return int(v) if isinstance(v, float) and v.is_integer() and abs(v) < 2**53 else v


# --- to areas, GeoJSON, KML -----------------------------------------------------------------


def plan_features(plan: QgcPlan) -> list[RawFeature]:
    """The plan's shapes as raw area features: surveys → patrol areas, fences → keep-in / no-fly,
    home and rally points → docks."""
    out: list[RawFeature] = []

    def add(kind: Kind, name: str, geometry: dict[str, Any], props: dict[str, Any] | None = None) -> None:
        out.append(
            RawFeature(kind=kind, name=name, index=len(out), geometry=geometry, properties=props or {})
        )

    for i, p in enumerate(plan.surveys, start=1):
        add(Kind.PATROL_AREA, f"Survey {i}", _polygon_json(p), {"pattern": "sweep"})
    for i, p in enumerate(plan.inclusion, start=1):
        add(Kind.KEEP_IN, f"Fence inclusion {i}", _polygon_json(p))
    for i, p in enumerate(plan.exclusion, start=1):
        add(Kind.NO_FLY, f"Fence exclusion {i}", _polygon_json(p), {"reason": "QGC exclusion fence"})
    for i, c in enumerate(plan.circles, start=1):
        kind = Kind.KEEP_IN if c.inclusion else Kind.NO_FLY
        name = f"Fence circle {i}"
        add(kind, name, {"type": "Circle", "coordinates": list(c.center), "radius": c.radius_m})
    if plan.home is not None:
        alt = plan.home_alt_m
        add(Kind.DOCK, "Planned home", {"type": "Point", "coordinates": list(plan.home)}, {"alt_m": alt})
    for i, r in enumerate(plan.rally, start=1):
        add(
            Kind.DOCK, f"Rally point {i}", {"type": "Point", "coordinates": list(r.position)}, {"rally": True}
        )
    return out


def _polygon_json(p: Polygon) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[list(c[:2]) for c in p.exterior.coords]]}


def mission_path(plan: QgcPlan) -> LineString | None:
    """The flight path through the positioned navigation items (take-off at 0,0 means "here")."""
    pts = [(it.lon, it.lat) for it in plan.items if it.command in _PATH_COMMANDS and (it.lat or it.lon)]
    if plan.home is not None:
        pts.insert(0, tuple(plan.home))
    return LineString(pts) if len(pts) >= 2 else None


def plan_to_geojson(plan: QgcPlan) -> dict[str, Any]:
    """The plan as GeoJSON: items as Points, the path as a LineString, fences as Polygons with kind."""
    feats: list[dict[str, Any]] = []

    def feat(geometry: dict[str, Any], **props: Any) -> None:
        props = {k: _null(v) for k, v in props.items()}
        feats.append({"type": "Feature", "properties": props, "geometry": geometry})

    for seq, it in enumerate(plan.items):
        if it.command in _POSITIONED and (it.lat or it.lon):
            feat(
                {"type": "Point", "coordinates": [it.lon, it.lat]},
                kind="mission_item",
                seq=seq,
                command=int(it.command),
                command_name=_command_name(it.command),
                frame=int(it.frame),
                alt_m=it.alt,
            )
    path = mission_path(plan)
    if path is not None:
        feat({"type": "LineString", "coordinates": [list(c) for c in path.coords]}, kind="mission_path")
    for f in plan_features(plan):
        g = f.geometry
        props = {"name": f.name, "kind": f.kind.value, **f.properties}
        if g["type"] == "Circle":
            feat({"type": "Point", "coordinates": g["coordinates"]}, radius_m=g["radius"], **props)
        else:
            feat(g, **props)
    return {"type": "FeatureCollection", "features": feats}


def plan_to_kml(plan: QgcPlan, *, name: str = "Mission") -> str:
    """The plan as KML: items as Points, the path as a LineString, fences as Polygons."""
    import xml.etree.ElementTree as ET

    from geo.io_kml import KML_NS, add_placemark

    ET.register_namespace("", KML_NS)
    root = ET.Element(f"{{{KML_NS}}}kml")
    doc = ET.SubElement(root, f"{{{KML_NS}}}Document")
    ET.SubElement(doc, f"{{{KML_NS}}}name").text = name
    for seq, it in enumerate(plan.items):
        if it.command in _POSITIONED and (it.lat or it.lon):
            data = {"kind": "mission_item", "seq": seq, "command": int(it.command), "alt_m": it.alt}
            add_placemark(doc, f"{seq} {_command_name(it.command)}", LonLat(it.lon, it.lat), data)
    path = mission_path(plan)
    if path is not None:
        add_placemark(doc, "Path", path, {"kind": "mission_path"})
    for f in plan_features(plan):
        g = f.geometry
        if g["type"] == "Circle":
            shape: Any = Circle(center=LonLat(*g["coordinates"]), radius_m=g["radius"])
        elif g["type"] == "Point":
            shape = LonLat(*g["coordinates"][:2])
        else:
            shape = Polygon(g["coordinates"][0])
        add_placemark(doc, f.name, shape, {"kind": f.kind.value})
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _command_name(command: int) -> str:
    try:
        return MavCmd(command).name
    except ValueError:
        return f"CMD_{command}"
