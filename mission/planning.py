"""CLI glue for ``patrol plan``: options → ``geo.plan.plan_patrol`` call → summary table and files.

Pure parsing helpers raise ``PlanningError`` (one line, shown by the CLI); the writers here are the only
I/O: the QGC ``.plan`` files (through ``geo.qgc_plan``), GeoJSON of the sorties, the folium map.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table
from shapely.geometry import Polygon, mapping

from geo.areas import AreaSet, PatrolArea
from geo.camera import Camera
from geo.energy import Battery
from geo.errors import PlanningError
from geo.frames import LonLat
from geo.items import MavCmd
from geo.loader import load_areas
from geo.plan import Plan, Sortie, plan_patrol
from geo.qgc_plan import QgcPlan, write_plan


@dataclass(frozen=True, kw_only=True)
class PlanOptions:
    """What the ``plan`` command was asked, already parsed."""

    area_name: str | None = None
    pattern: str | None = None  # None: the area's own pattern
    altitude_m: float | None = None  # None: the area's own altitude, else 60
    overlap_pct: float = 30.0
    spacing_m: float | None = None
    camera_hfov_deg: float | None = None
    docks: tuple[LonLat, ...] = ()
    drones: int = 1
    speed_mps: float = 8.0
    battery_min: float = 20.0
    reserve_pct: float = 25.0
    buffer_m: float = 10.0
    max_altitude_m: float = 120.0
    laps: int = 1
    waypoints: tuple[LonLat, ...] = ()
    orbit_center: LonLat | None = None
    orbit_radius_m: float | None = None


def parse_latlon(text: str) -> LonLat:
    """``"LAT,LON"`` → ``LonLat``.

    Examples
    --------
    >>> parse_latlon("19.36, -99.21")
    LonLat(lon=-99.21, lat=19.36)
    """
    try:
        lat, lon = (float(x) for x in text.split(","))
    except ValueError:
        raise PlanningError(f"expected LAT,LON, got {text!r}") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise PlanningError(f"LAT,LON out of range: {text!r}")
    return LonLat(lon, lat)


def pick_area(areas: AreaSet, name: str | None) -> PatrolArea:
    if not areas.areas:
        raise PlanningError("the file holds no patrol area")
    if name is None:
        if len(areas.areas) > 1:
            known = ", ".join(repr(a.name) for a in areas.areas)
            raise PlanningError(f"the file holds several areas; choose one with --area ({known})")
        return areas.areas[0]
    try:
        return areas.area(name)
    except KeyError as exc:
        raise PlanningError(str(exc.args[0])) from None


def make_plan(path: Path, opts: PlanOptions) -> tuple[PatrolArea, AreaSet, Plan]:
    areas = load_areas(path)
    area = pick_area(areas, opts.area_name)
    docks = opts.docks or tuple(d.position for d in areas.docks)
    plan = plan_patrol(
        area.polygon,
        pattern=opts.pattern or area.pattern,
        altitude_m=opts.altitude_m or area.altitude_m or 60.0,
        spacing_m=opts.spacing_m,
        camera=Camera(hfov_deg=opts.camera_hfov_deg) if opts.camera_hfov_deg else None,
        overlap_pct=opts.overlap_pct,
        no_fly=[z.polygon for z in areas.no_fly],
        buffer_m=opts.buffer_m,
        docks=docks,
        drones=opts.drones,
        battery=Battery(flight_min=opts.battery_min, reserve_pct=opts.reserve_pct),
        max_altitude_m=opts.max_altitude_m,
        speed_mps=opts.speed_mps,
        laps=opts.laps,
        waypoints=opts.waypoints,
        orbit_center=opts.orbit_center,
        orbit_radius_m=opts.orbit_radius_m,
    )
    return area, areas, plan


def summary_table(area: PatrolArea, plan: Plan) -> Table:
    s = plan.stats
    t = Table(
        title=f"{area.name}: {plan.pattern}, {plan.altitude_m:.0f} m, lines {plan.spacing_m:.1f} m apart"
    )
    t.add_column("drone")
    t.add_column("sortie")
    t.add_column("length m", justify="right")
    t.add_column("time min", justify="right")
    t.add_column("turns", justify="right")
    t.add_column("items", justify="right")
    for so in plan.sorties:
        t.add_row(
            str(so.drone + 1),
            str(so.index + 1),
            f"{so.length_m:.0f}",
            f"{so.est_time_s / 60:.1f}",
            str(so.turns),
            str(len(so.items)),
        )
    cov = "-" if s.coverage is None else f"{100 * s.coverage:.2f} %"
    t.add_section()
    t.add_row(
        "all",
        str(len(plan.sorties)),
        f"{s.length_m:.0f}",
        f"{s.est_time_s / 60:.1f}",
        str(s.turns),
        f"coverage {cov}",
    )
    return t


def print_summary(area: PatrolArea, plan: Plan, console: Console | None = None) -> None:
    console = console or Console()
    console.print(summary_table(area, plan))
    s = plan.stats
    cov = "n/a" if s.coverage is None else f"{100 * s.coverage:.2f} %"
    console.print(
        f"path length {s.length_m:.0f} m, estimated flight time {s.est_time_s / 60:.1f} min, "
        f"sorties {len(plan.sorties)}, turns {s.turns}, coverage {cov}, in no-fly {s.length_in_no_fly_m:.1f} m",
        soft_wrap=True,
    )


def fence_polygons(plan: Plan) -> tuple[tuple[Polygon, ...], tuple[Polygon, ...]]:
    """The plan's fence items regrouped into (inclusion, exclusion) polygons."""
    inc: list[Polygon] = []
    exc: list[Polygon] = []
    items = list(plan.fence)
    i = 0
    while i < len(items):
        n = int(items[i].param1)
        ring = [(it.lon, it.lat) for it in items[i : i + n]]
        target = inc if items[i].command == MavCmd.NAV_FENCE_POLYGON_VERTEX_INCLUSION else exc
        target.append(Polygon(ring))
        i += max(n, 1)
    return tuple(inc), tuple(exc)


def sortie_files(out: Path, plan: Plan) -> list[tuple[Sortie, Path]]:
    """One ``.plan`` per sortie: ``out`` itself when there is one, else ``out-d1-s1.plan`` …"""
    if len(plan.sorties) == 1:
        return [(plan.sorties[0], out)]
    return [(s, out.with_name(f"{out.stem}-d{s.drone + 1}-s{s.index + 1}{out.suffix}")) for s in plan.sorties]


def write_plans(out: Path, plan: Plan) -> list[Path]:
    inc, exc = fence_polygons(plan)
    written = []
    for sortie, path in sortie_files(out, plan):
        qgc = QgcPlan(
            items=sortie.items,
            home=sortie.dock,
            cruise_speed_mps=plan.speed_mps,
            inclusion=inc,
            exclusion=exc,
        )
        write_plan(qgc, path)
        written.append(path)
    return written


def plan_geojson(area: PatrolArea, plan: Plan) -> dict:
    feats = [
        {
            "type": "Feature",
            "geometry": mapping(area.polygon),
            "properties": {"kind": "patrol_area", "name": area.name},
        }
    ]
    for s in plan.sorties:
        feats.append(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": [list(p) for p in s.path]},
                "properties": {
                    "kind": "sortie",
                    "drone": s.drone + 1,
                    "sortie": s.index + 1,
                    "length_m": round(s.length_m, 1),
                    "est_time_s": round(s.est_time_s, 1),
                },
            }
        )
    return {"type": "FeatureCollection", "features": feats}


def write_geojson(path: Path, area: PatrolArea, plan: Plan) -> None:
    path.write_text(json.dumps(plan_geojson(area, plan), indent=1), encoding="utf-8")
