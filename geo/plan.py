"""``plan_patrol``: from an area (WGS84) to a flyable ``Plan`` of sorties with MAVLink mission items.

Stages, each in its own module and all in metres in a ``LocalFrame`` centred on the area: the pattern's
work path (``sweep`` / ``perimeter`` / ``route`` / ``orbit``), the split among drones (``partition``), the
split into battery sorties from and back to a dock (``energy``), then conversion back to ``LonLat`` and
to mission items, with the geofence (area + margin as inclusion polygon, no-fly zones as exclusions).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from shapely.geometry import LineString, MultiPoint, Point, Polygon, box
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from geo import items as mi
from geo.camera import Camera, line_spacing_m
from geo.decompose import polygons_of
from geo.energy import Battery, FlightModel, SortieLeg, count_turns, split_sorties
from geo.errors import PlanningError
from geo.frames import LocalFrame, LonLat, frame_for
from geo.metrics import length_inside
from geo.orbit import check_orbit_clear, orbit_item, orbit_points
from geo.partition import assign_docks, split_equal
from geo.perimeter import perimeter_path
from geo.route import route_path
from geo.sweep import plan_sweep, sweep_at_angle
from geo.visibility import VisibilityGraph, path_length

PATTERNS = ("sweep", "perimeter", "route", "orbit")
LEGAL_MAX_ALTITUDE_M = 120.0
MAX_SPEED_MPS = 20.0
TRANSIT_MARGIN_M = 1000.0  # how far around the area and docks transit paths may wander


@dataclass(frozen=True, kw_only=True)
class Sortie:
    """One flight of one drone: dock, path flown (LonLat, dock to dock) and its mission items."""

    drone: int
    index: int
    dock: LonLat
    path: tuple[LonLat, ...]
    items: tuple[mi.MissionItem, ...]
    length_m: float
    est_time_s: float
    turns: int


@dataclass(frozen=True, kw_only=True)
class PlanStats:
    length_m: float  # all sorties, transits included
    work_length_m: float  # the pattern itself (swaths and moves between them)
    est_time_s: float
    turns: int
    coverage: float | None  # sweep only: share of area minus no-fly (+ buffer) within W/2 of the path
    lower_bound_m: float | None
    efficiency: float | None
    length_in_no_fly_m: float
    angle_deg: float | None


@dataclass(frozen=True, kw_only=True)
class Plan:
    pattern: str
    altitude_m: float
    speed_mps: float
    spacing_m: float
    origin: LonLat  # the LocalFrame the plan was made in
    work_paths: tuple[tuple[LonLat, ...], ...]  # one per drone
    sorties: tuple[Sortie, ...]
    fence: tuple[mi.MissionItem, ...]
    stats: PlanStats

    @property
    def drones(self) -> int:
        return len(self.work_paths)


@dataclass(frozen=True, kw_only=True)
class _World:
    """The inputs in the local frame."""

    frame: LocalFrame
    area: BaseGeometry | None
    region: BaseGeometry | None  # area minus holes and no-fly zones with their buffer
    obstacles: BaseGeometry  # holes + no-fly zones, buffered
    no_fly_raw: BaseGeometry
    docks: tuple[tuple[float, float], ...]


def plan_patrol(
    area: Any = None,
    *,
    pattern: str = "sweep",
    altitude_m: float = 60.0,
    spacing_m: float | None = None,
    camera: Camera | None = None,
    overlap_pct: float = 30.0,
    no_fly: Sequence[Any] = (),
    buffer_m: float = 10.0,
    docks: Sequence[Any] = (),
    drones: int = 1,
    battery: Battery | None = None,
    max_altitude_m: float = LEGAL_MAX_ALTITUDE_M,
    speed_mps: float = 8.0,
    margin_m: float | None = None,
    angle_deg: float | None = None,
    laps: int = 1,
    clockwise: bool = True,
    waypoints: Sequence[LonLat] = (),
    orbit_center: LonLat | None = None,
    orbit_radius_m: float | None = None,
    orbit_as_item: bool = False,
) -> Plan:
    """Plan a patrol. ``area``: a shapely (Multi)Polygon in (lon, lat) or anything with ``.polygon``;
    ``no_fly`` likewise; ``docks``: ``LonLat`` or anything with ``.position``. Raises ``PlanningError``."""
    _check_limits(pattern, altitude_m, max_altitude_m, speed_mps, overlap_pct, buffer_m, drones)
    spacing = (
        spacing_m if spacing_m is not None else line_spacing_m(camera or Camera(), altitude_m, overlap_pct)
    )
    if not (spacing > 0 and math.isfinite(spacing)):
        raise PlanningError(f"line spacing must be positive, got {spacing}")
    margin = spacing / 2.0 if margin_m is None else margin_m
    model = FlightModel(speed_mps=speed_mps)
    world = _world(area, no_fly, docks, buffer_m, waypoints, orbit_center)
    local = world.frame.to_local
    transit = VisibilityGraph(_transit_free(world, margin))
    angle, homes = None, None
    if pattern != "sweep" and drones > 1:
        raise PlanningError(f"only a sweep can be shared among drones, not a {pattern}")
    if pattern == "sweep":
        works, angle, homes = _sweep_works(
            world, spacing, margin, model, drones, angle_deg, battery, altitude_m
        )
    elif pattern == "perimeter":
        graph = _area_graph(world, margin + spacing)
        dock0 = world.docks[0] if world.docks else None
        works = [
            perimeter_path(
                world.area, graph, margin_m=margin, laps=laps, clockwise=clockwise, start_near=dock0
            )
        ]
    elif pattern == "route":
        works = [route_path([local(p) for p in waypoints], transit)]
    else:
        works = [_orbit_work(world, orbit_center, orbit_radius_m, laps, clockwise)]
    homes = homes or _homes(world, works)
    legs_per_drone = [
        _sorties(work, home, model=model, battery=battery, altitude_m=altitude_m, graph=transit)
        for work, home in zip(works, homes, strict=True)
    ]
    ctx = _ItemContext(
        world, pattern, altitude_m, speed_mps, orbit_center, orbit_radius_m, orbit_as_item, clockwise
    )
    sorties = tuple(
        _sortie(ctx, d, i, homes[d], leg, model, altitude_m)
        for d, legs in enumerate(legs_per_drone)
        for i, leg in enumerate(legs)
    )
    stats = _stats(world, works, legs_per_drone, sorties, spacing, angle, pattern)
    return Plan(
        pattern=pattern,
        altitude_m=altitude_m,
        speed_mps=speed_mps,
        spacing_m=spacing,
        origin=world.frame.origin,
        work_paths=tuple(_to_lonlat(world.frame, w) for w in works),
        sorties=sorties,
        fence=geofence_items(world, legs_per_drone, margin),
        stats=stats,
    )


def _check_limits(pattern, altitude_m, max_altitude_m, speed_mps, overlap_pct, buffer_m, drones) -> None:
    if pattern not in PATTERNS:
        raise PlanningError(f"unknown pattern {pattern!r}: use one of {', '.join(PATTERNS)}")
    if not (0 < max_altitude_m <= LEGAL_MAX_ALTITUDE_M):
        raise PlanningError(f"max altitude {max_altitude_m} m outside (0, {LEGAL_MAX_ALTITUDE_M:.0f}] m")
    if not (0 < altitude_m <= max_altitude_m):
        raise PlanningError(f"altitude {altitude_m} m outside (0, {max_altitude_m:.0f}] m above take-off")
    if not (0 < speed_mps <= MAX_SPEED_MPS):
        raise PlanningError(f"speed {speed_mps} m/s outside (0, {MAX_SPEED_MPS:.0f}] m/s")
    if not (0 <= overlap_pct < 100):
        raise PlanningError(f"side overlap {overlap_pct} % outside [0, 100) %")
    if not (buffer_m >= 0 and math.isfinite(buffer_m)):
        raise PlanningError(f"no-fly buffer must be >= 0 m, got {buffer_m}")
    if drones < 1:
        raise PlanningError(f"number of drones must be at least 1, got {drones}")


def _shape_of(x: Any) -> BaseGeometry:
    geom = getattr(x, "polygon", x)
    if not isinstance(geom, BaseGeometry) or geom.is_empty:
        raise PlanningError(f"expected a polygon, got {type(x).__name__}")
    return geom


def _lonlat_of(x: Any) -> LonLat:
    p = getattr(x, "position", x)
    return LonLat(float(p[0]), float(p[1]))


def _world(area, no_fly, docks, buffer_m, waypoints, orbit_center) -> _World:
    area_ll = None if area is None else _shape_of(area)
    if area_ll is None and not waypoints and orbit_center is None:
        raise PlanningError("nothing to plan: give an area, route waypoints or an orbit centre")
    dock_ll = [_lonlat_of(d) for d in docks]
    anchor = (
        area_ll
        if area_ll is not None
        else MultiPoint([*waypoints, *([orbit_center] if orbit_center else [])])
    )
    frame = frame_for(anchor)
    nf = [frame.geometry_to_local(_shape_of(z)) for z in no_fly]
    a = frame.geometry_to_local(area_ll) if area_ll is not None else None
    holes = [Polygon(r) for p in polygons_of(a) for r in p.interiors] if a is not None else []
    raw = unary_union(nf) if nf else Polygon()
    obstacles = unary_union([*holes, *nf])
    if buffer_m > 0 and not obstacles.is_empty:
        obstacles = obstacles.buffer(buffer_m, join_style="mitre")
    region = a.difference(obstacles) if a is not None else None
    local_docks = tuple(tuple(frame.to_local(d)) for d in dock_ll)
    for d, ll in zip(local_docks, dock_ll, strict=True):
        if obstacles.contains(Point(d)):
            raise PlanningError(f"dock at {ll.lat:.6f},{ll.lon:.6f} lies in a no-fly zone or its buffer")
    return _World(frame=frame, area=a, region=region, obstacles=obstacles, no_fly_raw=raw, docks=local_docks)


def _area_graph(world: _World, margin: float) -> VisibilityGraph:
    shell = unary_union([Polygon(p.exterior) for p in polygons_of(world.area)])
    return VisibilityGraph(shell.buffer(margin, join_style="mitre").difference(world.obstacles))


def _transit_free(world: _World, margin: float) -> BaseGeometry:
    parts = [Point(d) for d in world.docks]
    if world.area is not None:
        parts.append(world.area.buffer(margin, join_style="mitre"))
    hull = unary_union(parts).envelope if parts else box(-1, -1, 1, 1)
    return hull.buffer(TRANSIT_MARGIN_M, join_style="mitre").difference(world.obstacles)


def _sweep_works(world, spacing, margin, model, drones, angle_deg, battery, altitude_m):
    if world.region is None or world.region.area <= 0:
        raise PlanningError("a sweep needs an area, and the area minus no-fly zones is empty")
    graph = _area_graph(world, margin)
    start = world.docks[0] if world.docks else None
    whole = plan_sweep(world.region, graph, spacing, model=model, start=start, angle_deg=angle_deg)
    if drones == 1:
        return [whole.path], whole.angle_deg, None
    docks = world.docks or (tuple(whole.path[0]),)

    def cost(part: BaseGeometry, i: int) -> float:
        # All the sorties the part needs, straight transits: balances what each drone will really fly.
        near = min(docks, key=lambda d: part.distance(Point(d)))
        work = sweep_at_angle(part, graph, spacing, whole.angle_deg, model=model, start=near, join=False).path
        budget = battery.usable_s if battery else math.inf
        legs = split_sorties(
            work, near, model=model, budget_s=budget, altitude_m=altitude_m, connect=lambda a, b: [a, b]
        )
        return sum(leg.time_s for leg in legs)

    parts = split_equal(
        world.region, drones, angle_deg=whole.angle_deg, spacing=spacing, cost=cost, iterations=3
    )
    chosen = assign_docks(parts, docks)
    works = [
        plan_sweep(p, graph, spacing, model=model, start=docks[j], angle_deg=whole.angle_deg).path
        for p, j in zip(parts, chosen, strict=True)
    ]
    return works, whole.angle_deg, [docks[j] for j in chosen]


def _orbit_work(world, center, radius, laps, clockwise) -> np.ndarray:
    if center is None or radius is None:
        raise PlanningError("an orbit needs a centre and a radius")
    c = world.frame.to_local(center)
    start = 0.0
    if world.docks:  # begin on the side facing the dock
        start = math.degrees(math.atan2(world.docks[0][1] - c[1], world.docks[0][0] - c[0]))
    pts = orbit_points(c, radius, laps=laps, clockwise=clockwise, start_angle_deg=start)
    check_orbit_clear(pts, world.obstacles)
    return pts


def _homes(world: _World, works: list[np.ndarray]) -> list[tuple[float, float]]:
    if not world.docks:  # no dock: each drone takes off where its work starts
        return [tuple(w[0]) for w in works]
    return [world.docks[i % len(world.docks)] for i in range(len(works))]


def _sorties(work, home, *, model, battery, altitude_m, graph) -> list[SortieLeg]:
    budget = battery.usable_s if battery else math.inf
    cache: dict = {}

    def connect(a, b):
        key = (a, b)
        if key not in cache:
            cache[key] = graph.shortest_path(a, b)
        return cache[key]

    return split_sorties(work, home, model=model, budget_s=budget, altitude_m=altitude_m, connect=connect)


@dataclass(frozen=True)
class _ItemContext:
    world: _World
    pattern: str
    altitude_m: float
    speed_mps: float
    orbit_center: LonLat | None
    orbit_radius_m: float | None
    orbit_as_item: bool
    clockwise: bool


def _sortie(ctx: _ItemContext, drone: int, index: int, home, leg: SortieLeg, model, alt) -> Sortie:
    frame = ctx.world.frame
    path = leg.path
    dock = frame.to_lonlat(home)
    items = [mi.takeoff(alt, lat=dock.lat, lon=dock.lon), mi.change_speed(ctx.speed_mps)]
    if ctx.pattern == "orbit" and ctx.orbit_center is not None:
        c = ctx.orbit_center
        items.append(mi.roi_location(c.lat, c.lon, 0.0))
    else:
        items.append(mi.gimbal_pitch_yaw(-90.0 if ctx.pattern == "sweep" else -45.0))
    if ctx.pattern == "orbit" and ctx.orbit_as_item and ctx.orbit_center is not None:
        first = frame.to_lonlat(tuple(leg.work[0]))
        c = ctx.orbit_center
        items += [mi.waypoint(p.lat, p.lon, alt) for p in _to_lonlat(frame, leg.transit_out[1:])]
        items.append(orbit_item(c.lat, c.lon, alt, float(ctx.orbit_radius_m), clockwise=ctx.clockwise))
        items += [mi.waypoint(first.lat, first.lon, alt)]
        items += [mi.waypoint(p.lat, p.lon, alt) for p in _to_lonlat(frame, leg.transit_back[1:-1])]
    else:
        items += [mi.waypoint(p.lat, p.lon, alt) for p in _to_lonlat(frame, path[1:-1])]
    items.append(mi.return_to_launch())
    return Sortie(
        drone=drone,
        index=index,
        dock=dock,
        path=_to_lonlat(frame, path),
        items=tuple(items),
        length_m=path_length(path),
        est_time_s=leg.time_s,
        turns=count_turns(path),
    )


def _to_lonlat(frame: LocalFrame, xy: np.ndarray) -> tuple[LonLat, ...]:
    if len(xy) == 0:
        return ()
    line = frame.geometry_to_lonlat(LineString(xy) if len(xy) > 1 else Point(xy[0]))
    return tuple(LonLat(float(x), float(y)) for x, y in line.coords)


def _stats(world, works, legs_per_drone, sorties, spacing, angle, pattern) -> PlanStats:
    cov = bound = eff = None
    work_len = sum(path_length(w) for w in works)
    if pattern == "sweep" and world.region is not None:
        swept = unary_union(
            [LineString(w).buffer(spacing / 2, cap_style="flat") for w in works if len(w) > 1]
        )
        cov = float(world.region.intersection(swept).area / world.region.area)
        bound = world.region.area / spacing
        eff = work_len / (cov * bound) if cov > 0 else None
    in_nf = sum(length_inside(leg.path, world.no_fly_raw) for legs in legs_per_drone for leg in legs)
    return PlanStats(
        length_m=sum(s.length_m for s in sorties),
        work_length_m=work_len,
        est_time_s=sum(s.est_time_s for s in sorties),
        turns=sum(s.turns for s in sorties),
        coverage=cov,
        lower_bound_m=bound,
        efficiency=eff,
        length_in_no_fly_m=in_nf,
        angle_deg=angle,
    )


def geofence_items(world: _World, legs_per_drone, margin: float) -> tuple[mi.MissionItem, ...]:
    """Inclusion polygon (area + margin and the transit corridors), then one exclusion per no-fly zone."""
    corridors = [
        LineString(leg.path).buffer(margin + 5.0)
        for legs in legs_per_drone
        for leg in legs
        if len(leg.path) > 1
    ]
    keep = [world.area.buffer(margin + 5.0, join_style="mitre")] if world.area is not None else []
    inside = unary_union(keep + corridors).simplify(2.0)
    shells = polygons_of(inside)
    shell = max(shells, key=lambda p: p.area) if len(shells) == 1 else inside.convex_hull
    out = _polygon_items(world.frame, Polygon(shell.exterior), mi.MavCmd.NAV_FENCE_POLYGON_VERTEX_INCLUSION)
    for zone in polygons_of(world.no_fly_raw):
        out += _polygon_items(
            world.frame, Polygon(zone.exterior), mi.MavCmd.NAV_FENCE_POLYGON_VERTEX_EXCLUSION
        )
    return tuple(out)


def _polygon_items(frame: LocalFrame, poly: Polygon, command: int) -> list[mi.MissionItem]:
    ring = frame.geometry_to_lonlat(poly).exterior.coords[:-1]
    return [
        mi.MissionItem(command=command, frame=mi.MavFrame.GLOBAL, param1=float(len(ring)), lat=lat, lon=lon)
        for lon, lat in ring
    ]
