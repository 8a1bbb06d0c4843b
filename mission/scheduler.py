"""The scheduler loop: due runs of enabled schedules become missions, started on a ready drone.

Every ``tick_s`` (and once at start-up, which is where the missed-run policy bites: runs that fell due
while the service was down are more than ``grace`` old)::

    for each schedule: due_runs(since=last_run_at or created_at, now)      (mission.schedule, pure)
        -> drone: the schedule's own, or choose_drone(ready drones, docks, area centroid)
        -> mission id = run_key(schedule, due time)   deterministic: the primary key makes it idempotent
        -> create (ConflictError = already created for this due time: skip) -> mark_schedule_run -> start

A run with no ready drone is retried on the next tick (until it is late and the policy decides).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from shapely.geometry import shape

from geo.errors import PatrolError
from geo.frames import LonLat
from mission.errors import ConflictError
from mission.model import Schedule, utcnow
from mission.schedule import DueRun, choose_drone, due_runs, runs_between
from mission.service import MissionService

__all__ = ["Scheduler", "run_key"]

log = logging.getLogger(__name__)


def run_key(schedule_id: str, due: datetime) -> str:
    """The mission id of one run of one schedule: the same inputs always give the same id.

    >>> run_key("s1", datetime(2026, 12, 2, 20, 0, tzinfo=UTC))
    'm-20261202-s-b9b5e540c5eb'
    """
    due = due.astimezone(UTC)
    digest = hashlib.sha256(f"{schedule_id}|{due.isoformat()}".encode()).hexdigest()[:12]
    return f"m-{due:%Y%m%d}-s-{digest}"


class Scheduler:
    def __init__(
        self,
        service: MissionService,
        *,
        tick_s: float = 1.0,
        grace: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._svc = service
        self._tick_s = tick_s
        self._grace = grace
        self._clock = clock

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except PatrolError:
                log.exception("scheduler tick failed; trying again")
            await asyncio.sleep(self._tick_s)

    async def tick(self) -> list[str]:
        """Handle every run due now; the ids of the missions started."""
        started = []
        now = self._clock()
        for schedule in await self._svc.store.list_schedules(enabled_only=True):
            since = schedule.last_run_at or schedule.created_at - timedelta(seconds=1)
            for run in due_runs(schedule, since=since, now=now, grace=self._grace):
                mission_id = await self._handle(schedule, run)
                if mission_id is None:
                    break  # no drone now: keep this and later runs for the next tick
                started.append(mission_id)
            else:
                # Runs the policy dropped (skipped missed runs) are handled too: remember how far we got.
                if (last := _last_run(schedule, since, now)) is not None:
                    await self._svc.store.mark_schedule_run(schedule.id, last)
        return started

    async def _handle(self, schedule: Schedule, run: DueRun) -> str | None:
        if schedule.drone_id is not None:  # its own drone, once it is ready (not busy, charged, linked)
            drone_id = schedule.drone_id if self._ready(schedule.drone_id) else None
        else:
            drone_id = await self._choose(schedule)
        if drone_id is None:
            log.info("schedule %s: no ready drone for the run at %s", schedule.id, run.scheduled_for)
            return None
        mission_id = run_key(schedule.id, run.scheduled_for)
        try:
            await self._svc.create_mission(
                schedule.plan_id, drone_id, actor="scheduler", schedule_id=schedule.id, mission_id=mission_id
            )
        except ConflictError:
            log.info(
                "schedule %s: run at %s already has mission %s", schedule.id, run.scheduled_for, mission_id
            )
            await self._svc.store.mark_schedule_run(schedule.id, run.scheduled_for)
            return mission_id
        await self._svc.store.mark_schedule_run(schedule.id, run.scheduled_for)
        try:
            await self._svc.start(mission_id, actor="scheduler")
        except PatrolError as exc:
            log.warning("schedule %s: mission %s not started: %s", schedule.id, mission_id, exc)
        return mission_id

    def _ready(self, drone_id: str) -> bool:
        try:
            return self._svc.fleet.health(drone_id).ready
        except PatrolError:
            return False

    async def _choose(self, schedule: Schedule) -> str | None:
        """Any ready drone at the dock nearest the schedule's area (or the plan's)."""
        area_id = schedule.area_id or (await self._svc.store.get_plan(schedule.plan_id)).area_id
        if area_id is None:
            return None
        c = shape((await self._svc.store.get_area(area_id)).geometry).centroid
        docks = {d.id: LonLat(d.lon, d.lat) for d in self._svc.fleet.docks.values()}
        return choose_drone(self._svc.fleet.readiness(), docks, LonLat(c.x, c.y))


def _last_run(schedule: Schedule, since: datetime, now: datetime) -> datetime | None:
    runs = runs_between(schedule, since, now)
    return runs[-1] if runs else None
