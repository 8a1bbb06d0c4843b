"""The scheduler loop on a real store, fleet and service: missed runs at start-up, one mission per due time.

The vehicle is a 40-line fake (``ParkedVehicle``): it reports a healthy drone on the ground and times out
on every command, so a started mission fails its preflight at once -- the scheduler's side is what these
tests look at; flights are in test_service_e2e.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from geo.items import return_to_launch, takeoff, waypoint
from mission.errors import VehicleTimeoutError
from mission.fleet import Fleet
from mission.model import Drone, MissedRunPolicy, PlanRecord, Schedule
from mission.ports import TelemetrySample
from mission.scheduler import Scheduler, run_key
from mission.service import MissionService
from mission.states import MissionState
from mission.storage.repository import Store

NOW = datetime(2026, 12, 2, 18, 5, 30, tzinfo=UTC)  # 12:05:30 in Mexico City
GROUND = TelemetrySample(
    time=NOW, lat=19.365, lon=-99.215, alt_amsl_m=2300, alt_rel_m=0, heading_deg=0, ground_speed_mps=0,
    climb_rate_mps=0, roll_deg=0, pitch_deg=0, battery_pct=95, battery_v=16.4, mode="HOLD", armed=False,
    in_air=False, landed_state="ON_GROUND", gps_fix=3, satellites=12, mission_item=None, mission_count=0,
    home_lat=19.365, home_lon=-99.215, home_alt_amsl_m=2300,
)  # fmt: skip


class ParkedVehicle:
    """A drone on the ground that streams a healthy sample and never answers a command."""

    system_id = 1

    async def _stream(self) -> AsyncIterator[TelemetrySample]:
        while True:
            yield GROUND
            await asyncio.sleep(0.05)

    async def _never(self) -> AsyncIterator[Any]:
        await asyncio.Event().wait()
        yield  # pragma: no cover

    def telemetry(self) -> AsyncIterator[TelemetrySample]:
        return self._stream()

    def mission_progress(self) -> AsyncIterator[Any]:
        return self._never()

    status_texts = mission_progress

    async def latest(self) -> TelemetrySample:
        return GROUND

    def __getattr__(self, name: str) -> Any:
        async def refuse(*args: object, **kw: object) -> None:
            raise VehicleTimeoutError(name, 0.0)

        return refuse


class Provider:
    async def add_connection(self, url: str, timeout_s: float = 5.0) -> None:
        pass

    async def system_ids(self) -> list[int]:
        return [1]

    @asynccontextmanager
    async def link(
        self, sysid: int | None = None, *, timeout_s: float = 15.0, telemetry_rate_hz: float | None = None
    ) -> AsyncIterator[ParkedVehicle]:
        yield ParkedVehicle()


@asynccontextmanager
async def service(tmp_path: Path) -> AsyncIterator[MissionService]:
    async with Store(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}") as store, asyncio.TaskGroup() as tg:
        fleet = Fleet(Provider(), tg=tg)
        svc = MissionService(store=store, fleet=fleet, tg=tg)
        await svc.add_drone(Drone(id="d1", name="d1", connection_url="udpin://127.0.0.1:17098"))
        items = (takeoff(20), waypoint(19.3655, -99.215, 20), return_to_launch())
        await store.add_plan(PlanRecord(id="p1", name="p1", items=items))
        try:
            yield svc
        finally:
            for task in asyncio.all_tasks():
                if task.get_name().startswith(("fleet", "mission")):
                    task.cancel()


async def ready(svc: MissionService, why_not: tuple[str, ...] = ()) -> None:
    """Until the drone's health says it is ready (or not ready for exactly ``why_not``)."""
    async with asyncio.timeout(5):
        while True:
            h = svc.fleet.health("d1")
            if h.not_ready == why_not and h.link_up:
                return
            await asyncio.sleep(0.02)


def every_ten_minutes(policy: MissedRunPolicy) -> Schedule:
    """Created two hours before NOW, never run: the service was down for the last 12 runs."""
    return Schedule(
        id="s1", name="patrol", plan_id="p1", drone_id="d1", cron="*/10 * * * *", duration_s=60,
        missed_policy=policy, created_at=NOW - timedelta(hours=2),
    )  # fmt: skip


async def test_missed_runs_are_skipped_at_start_up(tmp_path: Path) -> None:
    async with service(tmp_path) as svc:
        await svc.add_schedule(every_ten_minutes(MissedRunPolicy.SKIP), actor="test")
        await ready(svc)
        assert await Scheduler(svc, clock=lambda: NOW).tick() == []
        assert await svc.store.count("missions") == 0
        assert (await svc.store.get_schedule("s1")).last_run_at == datetime(2026, 12, 2, 18, 0, tzinfo=UTC)


async def test_run_once_now_creates_one_mission_and_never_again(tmp_path: Path) -> None:
    async with service(tmp_path) as svc:
        await svc.add_schedule(every_ten_minutes(MissedRunPolicy.RUN_ONCE_NOW), actor="test")
        await ready(svc)
        latest_missed = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)
        assert await Scheduler(svc, clock=lambda: NOW, grace=timedelta(minutes=1)).tick() == [
            run_key("s1", latest_missed)
        ]
        done = await svc.wait(run_key("s1", latest_missed), 5)
        assert done.state is MissionState.FAILED  # the parked vehicle never gets ready: preflight fails
        assert done.schedule_id == "s1"
        # the same due time again, and after a restart (a new scheduler on the same store): nothing new
        for _ in range(2):
            await svc.store.mark_schedule_run("s1", NOW - timedelta(hours=1))  # as if the mark had been lost
            await ready(svc)
            assert await Scheduler(svc, clock=lambda: NOW, grace=timedelta(minutes=1)).tick() == [
                run_key("s1", latest_missed)
            ]
        assert await svc.store.count("missions") == 1


async def test_a_run_waits_for_its_drone(tmp_path: Path) -> None:
    """No mission while the drone is not ready; the run goes once it is, on time."""
    async with service(tmp_path) as svc:
        due = NOW - timedelta(seconds=20)
        await svc.add_schedule(
            Schedule(
                id="s1",
                name="once",
                plan_id="p1",
                drone_id="d1",
                run_at=due,
                created_at=due - timedelta(hours=1),
            )
        )
        sched = Scheduler(svc, clock=lambda: NOW)
        svc.fleet.assign("d1", "m-other")  # busy with another mission
        await ready(svc, why_not=("on mission m-other",))
        assert await sched.tick() == [] and await svc.store.count("missions") == 0
        svc.fleet.release("d1", "m-other")
        assert await sched.tick() == [run_key("s1", due)]


@pytest.mark.parametrize("bad", ["*/10 * * *", "0 25 * * *"])
async def test_invalid_cron_is_refused_with_nothing_written(tmp_path: Path, bad: str) -> None:
    from mission.errors import ConfigError

    async with service(tmp_path) as svc:
        with pytest.raises(ConfigError, match="cron"):
            await svc.add_schedule(Schedule(id="s9", name="bad", plan_id="p1", drone_id="d1", cron=bad))
        assert await svc.store.count("schedules") == 0
        (entry,) = await svc.store.audit_log(target="s9")
        assert entry.command == "schedule.add" and "cron" in entry.result
