"""The demo patrol: three drones, three patrols over the sample areas, flown at once.

Domain only: the composition root (``mission/cli.py``) starts the simulator and the vehicle links
and hands them in as ``VehicleLink``s; this module plans each patrol from the sample areas and flies
them concurrently, reporting progress through a callback.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from shapely.geometry import Point
from shapely.ops import nearest_points

from geo.areas import AreaSet
from geo.frames import LonLat
from geo.items import MavCmd, MissionItem
from geo.plan import Plan, plan_patrol
from mission.flight import FlightProgress, FlightSummary, FlightTimeouts, fly_route
from mission.ports import VehicleLink


@dataclass(frozen=True, kw_only=True)
class DemoPatrol:
    """One drone's patrol: which dock it starts from and what it flies."""

    drone: str
    dock: str
    area: str
    pattern: str  # perimeter | orbit | sweep
    altitude_m: float
    orbit_radius_m: float | None = None


# Short enough to finish in about a minute at the demo's speed factor, and one of each kind.
DEMO_PATROLS: tuple[DemoPatrol, ...] = (
    DemoPatrol(
        drone="drone-1", dock="Base CAI", area="Predio CAI - perímetro", pattern="perimeter", altitude_m=40
    ),
    DemoPatrol(
        drone="drone-2",
        dock="Base Poniente",
        area="Barranca Tarango - tramo norte",
        pattern="orbit",
        altitude_m=60,
        orbit_radius_m=100,
    ),
    DemoPatrol(
        drone="drone-3", dock="Base Sur", area="Parque La Loma - ladera", pattern="perimeter", altitude_m=50
    ),
)


def dock_homes(areas: AreaSet, patrols: Sequence[DemoPatrol] = DEMO_PATROLS) -> list[LonLat]:
    """Where each drone stands at the start: its dock."""
    return [areas.dock(p.dock).position for p in patrols]


def plan_demo(areas: AreaSet, patrols: Sequence[DemoPatrol] = DEMO_PATROLS) -> list[Plan]:
    """A one-sortie plan per patrol, avoiding every no-fly zone in the set."""
    plans = []
    for p in patrols:
        area = areas.area(p.area)
        kwargs: dict = {}
        if p.pattern == "orbit":
            # Circle the part of the area nearest the dock: a quick look, not a full sweep.
            dock = areas.dock(p.dock).position
            c = nearest_points(area.polygon, Point(dock.lon, dock.lat))[0]
            kwargs = {"orbit_center": LonLat(c.x, c.y), "orbit_radius_m": p.orbit_radius_m}
        plans.append(
            plan_patrol(
                None if p.pattern == "orbit" else area,
                pattern=p.pattern,
                altitude_m=p.altitude_m,
                no_fly=areas.no_fly,
                docks=[areas.dock(p.dock)],
                **kwargs,
            )
        )
    return plans


def mission_items(plan: Plan) -> list[MissionItem]:
    """The demo flies the first sortie of each plan (each fits one battery)."""
    return list(plan.sorties[0].items)


def waypoint_count(items: Sequence[MissionItem]) -> int:
    return sum(1 for i in items if i.command == MavCmd.NAV_WAYPOINT)


async def fly_demo(
    links: Sequence[VehicleLink],
    plans: Sequence[Plan],
    *,
    on_progress: Callable[[int, FlightProgress], None],
    timeouts: FlightTimeouts = FlightTimeouts(),
) -> list[FlightSummary]:
    """Fly plan i with link i, all at once; the first failure cancels the others (each made safe)."""
    async with asyncio.TaskGroup() as tg:
        tasks = [
            tg.create_task(
                fly_route(
                    link, mission_items(plan), progress_cb=lambda p, i=i: on_progress(i, p), timeouts=timeouts
                ),
                name=f"demo.fly[{i}]",
            )
            for i, (link, plan) in enumerate(zip(links, plans, strict=True))
        ]
    return [t.result() for t in tasks]
