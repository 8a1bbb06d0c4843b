"""The demo: the service with three drones on the sample docks, and patrols scheduled a few seconds ahead.

Domain only: the composition root (``mission/cli.py``) starts the service (with the simulator) and
hands its ``MissionService`` here. This module loads the sample areas into the service, plans one
patrol per drone from its dock, schedules them, and reports until every patrol has ended.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from geo.areas import AreaSet
from mission.model import Area, Mission, Schedule, area_from_geo, new_id, utcnow
from mission.service import MissionService, PlanRequest
from mission.states import is_terminal


@dataclass(frozen=True, kw_only=True)
class DemoPatrol:
    """One drone's patrol: the dock it stands on, the area and how it is flown."""

    dock: str
    area: str
    pattern: str  # sweep | perimeter
    altitude_m: float


# Each finishes in about a minute at the demo's speed factor; the no-fly zones of the set apply to all.
DEMO_PATROLS: tuple[DemoPatrol, ...] = (
    DemoPatrol(dock="Base CAI", area="Predio CAI - perímetro", pattern="sweep", altitude_m=40),
    DemoPatrol(
        dock="Base Poniente", area="Barranca Tarango - tramo norte", pattern="perimeter", altitude_m=60
    ),
    DemoPatrol(dock="Base Sur", area="Parque La Loma - ladera", pattern="perimeter", altitude_m=50),
)


def sim_drone(i: int) -> str:
    """The id the service gives simulated drone i (and ``dock-`` + it, its dock)."""
    return f"sim{i + 1}"


def dock_homes(
    areas: AreaSet, patrols: Sequence[DemoPatrol] = DEMO_PATROLS
) -> list[tuple[float, float, float]]:
    """Where each simulated drone stands at the start: on its patrol's dock (lat, lon, alt AMSL)."""
    homes = []
    for p in patrols:
        dock = areas.dock(p.dock)
        homes.append((dock.position.lat, dock.position.lon, dock.alt_m or 2300.0))
    return homes


async def schedule_demo(
    service: MissionService,
    areas: AreaSet,
    *,
    start_in_s: float,
    patrols: Sequence[DemoPatrol] = DEMO_PATROLS,
) -> list[Schedule]:
    """Load the areas and no-fly zones, plan each patrol from its drone's dock, schedule it once."""
    stored: dict[str, Area] = {}
    for geo_area in (*areas.areas, *areas.no_fly):
        area = area_from_geo(geo_area)
        stored[geo_area.name] = await service.add_area(area, actor="demo")
    run_at = utcnow() + timedelta(seconds=start_in_s)
    schedules = []
    for i, p in enumerate(patrols):
        drone = sim_drone(i)
        request = PlanRequest(pattern=p.pattern, altitude_m=p.altitude_m, dock_id=f"dock-{drone}")
        plan = (await service.plan_area(stored[p.area].id, request, actor="demo"))[0]
        schedule = Schedule(
            id=new_id("s"),
            name=f"{p.area} ({p.pattern})",
            plan_id=plan.id,
            run_at=run_at,
            drone_id=drone,
            area_id=stored[p.area].id,
            duration_s=float(plan.stats.get("est_time_s", 900.0)),
        )
        schedules.append(await service.add_schedule(schedule, actor="demo"))
    return schedules


async def missions_of(service: MissionService, schedules: Sequence[Schedule]) -> list[Mission]:
    """The missions the scheduler made from these schedules so far."""
    ids = {s.id for s in schedules}
    return [m for m in await service.store.list_missions(limit=500) if m.schedule_id in ids]


async def watch_demo(
    service: MissionService,
    schedules: Sequence[Schedule],
    *,
    show: Callable[[list[Mission]], None],
    timeout_s: float,
    every_s: float = 0.5,
) -> list[Mission]:
    """Report every ``every_s`` until each schedule's mission has ended (``TimeoutError`` past ``timeout_s``)."""
    deadline = time.monotonic() + timeout_s
    while True:
        missions = await missions_of(service, schedules)
        show(missions)
        if len(missions) == len(schedules) and all(is_terminal(m.state) for m in missions):
            return missions
        if time.monotonic() > deadline:
            raise TimeoutError(f"the demo patrols did not end within {timeout_s:g} s")
        await asyncio.sleep(every_s)
