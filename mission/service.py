"""``MissionService``: the facade the CLI, the web app and the tests call.

Registration (docks, drones, areas), planning an area into stored plans, missions and schedules, and
the pilot's commands (start, pause, resume, abort, land, go to). Every call that changes something
is written to the audit log with its outcome ("ok" or the error); domain tables are only written when
the call succeeds (the store's methods are single transactions). Errors are ``mission.errors``.

A started mission runs as one named task, ``mission[<id>]``, in the service's task group; the
``MissionRunner`` inside drives it and the fleet marks the drone busy until it ends.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from geo.errors import PatrolError
from geo.frames import LonLat
from geo.items import MavCmd
from geo.plan import plan_patrol
from mission.errors import ConfigError, InvalidTransitionError, NotFoundError, VehicleNotFoundError
from mission.fleet import Fleet
from mission.model import (
    Area,
    AreaKind,
    AuditEntry,
    Dock,
    Drone,
    Mission,
    PlanRecord,
    Schedule,
    item_to_json,
    new_id,
    utcnow,
)
from mission.ports import TelemetrySample
from mission.preflight import PreflightLimits
from mission.progress import to_geojson
from mission.runner import EventSink, MissionRunner, RunnerConfig
from mission.states import Event, MissionState, transition
from mission.storage.repository import Store

__all__ = ["MissionService", "PlanRequest", "ServiceConfig"]

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class ServiceConfig:
    reattach_link_wait_s: float = 30.0  # after a restart, how long to wait for a flying drone's link
    max_altitude_m: float = 120.0
    runner: RunnerConfig = field(default_factory=RunnerConfig)


@dataclass(frozen=True, kw_only=True)
class PlanRequest:
    """How to plan an area (the subset of ``geo.plan.plan_patrol`` the service exposes)."""

    pattern: str = "sweep"
    altitude_m: float = 40.0
    speed_mps: float = 8.0
    spacing_m: float | None = None
    dock_id: str | None = None


class MissionService:
    def __init__(
        self,
        *,
        store: Store,
        fleet: Fleet,
        tg: asyncio.TaskGroup,
        events: EventSink | None = None,
        config: ServiceConfig = ServiceConfig(),
    ) -> None:
        self.store, self.fleet = store, fleet
        self._tg, self._events, self._cfg = tg, events, config
        self._runners: dict[str, MissionRunner] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    # --- audit -------------------------------------------------------------------------------

    async def _audited(
        self, actor: str, command: str, target: str, args: dict[str, Any], call: Callable[[], Awaitable[T]]
    ) -> T:
        try:
            result = await call()
        except ValueError as exc:  # a domain value refused its fields
            await self._audit(actor, command, target, args, str(exc))
            raise ConfigError(str(exc)) from exc
        except PatrolError as exc:
            await self._audit(actor, command, target, args, str(exc))
            raise
        await self._audit(actor, command, target, args, "ok")
        return result

    async def _audit(self, actor: str, command: str, target: str, args: dict[str, Any], result: str) -> None:
        entry = AuditEntry(at=utcnow(), actor=actor, command=command, target=target, args=args, result=result)
        try:
            await self.store.add_audit(entry)
        except PatrolError:
            log.exception("audit entry not written: %s", entry)

    # --- registration ------------------------------------------------------------------------

    async def add_dock(self, dock: Dock, *, actor: str = "api") -> Dock:
        async def call() -> Dock:
            await self.store.add_dock(dock)
            self.fleet.add_dock(dock)
            return dock

        return await self._audited(actor, "dock.add", dock.id, {"lat": dock.lat, "lon": dock.lon}, call)

    async def add_drone(self, drone: Drone, *, actor: str = "api", discover: bool = False) -> Drone:
        async def call() -> Drone:
            await self.store.add_drone(drone)
            self.fleet.add(drone, discover=discover)
            return drone

        args = {
            "connection_url": drone.connection_url,
            "system_id": drone.system_id,
            "dock_id": drone.dock_id,
        }
        return await self._audited(actor, "drone.add", drone.id, args, call)

    async def load_fleet(self) -> None:
        """Follow every drone and dock already in the store (at start-up)."""
        for dock in await self.store.list_docks():
            self.fleet.add_dock(dock)
        for drone in await self.store.list_drones():
            self.fleet.add(drone)

    async def add_area(self, area: Area, *, actor: str = "api") -> Area:
        return await self._audited(
            actor, "area.add", area.id, {"kind": area.kind.value}, lambda: self.store.add_area(area)
        )

    async def plan_area(
        self, area_id: str, request: PlanRequest = PlanRequest(), *, actor: str = "api"
    ) -> list[PlanRecord]:
        """Plan an area and store one plan per sortie (``PlanningError`` / ``ConfigError`` when out of limits)."""
        args = {k: v for k, v in vars(request).items() if v is not None}
        return await self._audited(
            actor, "plan.create", area_id, args, lambda: self._plan_area(area_id, request)
        )

    async def _plan_area(self, area_id: str, req: PlanRequest) -> list[PlanRecord]:
        area = await self.store.get_area(area_id)
        no_fly = [shape(z.geometry) for z in await self.store.list_no_fly_zones()]
        docks = [] if req.dock_id is None else [await self.store.get_dock(req.dock_id)]
        plan = await asyncio.to_thread(
            plan_patrol,
            shape(area.geometry),
            pattern=req.pattern,
            altitude_m=req.altitude_m,
            speed_mps=req.speed_mps,
            spacing_m=req.spacing_m,
            no_fly=no_fly,
            docks=[LonLat(d.lon, d.lat) for d in docks],
            max_altitude_m=min(self._cfg.max_altitude_m, 120.0),
        )
        fence = [item_to_json(i) for i in plan.fence]
        records = []
        for s in plan.sorties:
            stats = {
                "pattern": plan.pattern, "altitude_m": plan.altitude_m, "speed_mps": plan.speed_mps,
                "spacing_m": plan.spacing_m, "length_m": s.length_m, "est_time_s": s.est_time_s,
                "sortie": s.index, "fence": fence,
            }  # fmt: skip
            rec = PlanRecord(
                id=new_id("p"),
                name=f"{area.name} #{s.index + 1}",
                items=s.items,
                area_id=area.id,
                stats=stats,
            )
            records.append(rec)
        limits = PreflightLimits(max_alt_rel_m=self._cfg.max_altitude_m)
        for rec in records:  # normally one sortie; each plan is its own transaction
            await self.store.add_plan(rec, limits=limits)
        return records

    async def add_plan(self, plan: PlanRecord, *, actor: str = "api") -> PlanRecord:
        limits = PreflightLimits(max_alt_rel_m=self._cfg.max_altitude_m)
        return await self._audited(
            actor,
            "plan.add",
            plan.id,
            {"items": len(plan.items)},
            lambda: self.store.add_plan(plan, limits=limits),
        )

    # --- missions and schedules --------------------------------------------------------------

    async def create_mission(
        self,
        plan_id: str,
        drone_id: str,
        *,
        actor: str = "api",
        schedule_id: str | None = None,
        mission_id: str | None = None,
    ) -> Mission:
        m = Mission(id=mission_id or new_id("m"), plan_id=plan_id, drone_id=drone_id, schedule_id=schedule_id)
        args = {"plan_id": plan_id, "drone_id": drone_id, "schedule_id": schedule_id}
        return await self._audited(actor, "mission.create", m.id, args, lambda: self.store.add_mission(m))

    async def add_schedule(self, schedule: Schedule, *, actor: str = "api") -> Schedule:
        args = {"plan_id": schedule.plan_id, "drone_id": schedule.drone_id, "cron": schedule.cron}
        args["run_at"] = schedule.run_at.isoformat() if schedule.run_at else None
        return await self._audited(
            actor, "schedule.add", schedule.id, args, lambda: self.store.add_schedule(schedule)
        )

    # --- commands ----------------------------------------------------------------------------

    async def start(self, mission_id: str, *, actor: str = "api") -> Mission:
        return await self._audited(actor, "start", mission_id, {}, lambda: self._start(mission_id))

    async def _start(self, mission_id: str) -> Mission:
        m = await self.store.get_mission(mission_id)
        if m.state is not MissionState.SCHEDULED or mission_id in self._runners:
            raise InvalidTransitionError(m.state.value, "start")
        link = self.fleet.link(m.drone_id)  # VehicleNotFoundError: the drone is not connected
        self.fleet.assign(m.drone_id, m.id)
        try:
            runner = await self._runner_for(m, link)
        except BaseException:
            self.fleet.release(m.drone_id, m.id)
            raise
        self._spawn(runner, reattach=False)
        return m

    async def _runner_for(self, m: Mission, link: Any) -> MissionRunner:
        plan = await self.store.get_plan(m.plan_id)
        area = shape((await self.store.get_area(plan.area_id)).geometry) if plan.area_id else None
        return MissionRunner(
            mission=m,
            plan=plan,
            link=link,
            store=self.store,
            events=self._events,
            area=area,
            follow_up=self._follow_up_for(plan),
            config=self._cfg.runner,
        )

    def _spawn(self, runner: MissionRunner, *, reattach: bool) -> None:
        self._runners[runner.mission_id] = runner
        self._tasks[runner.mission_id] = self._tg.create_task(
            self._run(runner, reattach), name=f"mission[{runner.mission_id}]"
        )

    async def _run(self, runner: MissionRunner, reattach: bool) -> None:
        try:
            status = await runner.run(reattach=reattach)
            log.info("mission %s ended %s", runner.mission_id, status.state.value)
        except Exception:  # one mission's failure (even a bug) must not stop the service and the others
            log.exception("mission %s: runner stopped on an error", runner.mission_id)
        finally:
            self._runners.pop(runner.mission_id, None)
            self._tasks.pop(runner.mission_id, None)
            self.fleet.release(runner.drone_id, runner.mission_id)

    def _runner(self, mission_id: str) -> MissionRunner:
        try:
            return self._runners[mission_id]
        except KeyError:
            raise NotFoundError("running mission", mission_id) from None

    async def pause(self, mission_id: str, *, actor: str = "api") -> None:
        await self._audited(actor, "pause", mission_id, {}, lambda: self._runner(mission_id).pause(actor))

    async def resume(self, mission_id: str, *, actor: str = "api") -> None:
        await self._audited(actor, "resume", mission_id, {}, lambda: self._runner(mission_id).resume(actor))

    async def land(self, mission_id: str, *, actor: str = "api") -> None:
        await self._audited(actor, "land", mission_id, {}, lambda: self._runner(mission_id).land(actor))

    async def goto(
        self, mission_id: str, lat: float, lon: float, alt_rel_m: float, *, actor: str = "api"
    ) -> None:
        args = {"lat": lat, "lon": lon, "alt_rel_m": alt_rel_m}
        await self._audited(
            actor, "goto", mission_id, args, lambda: self._runner(mission_id).goto(lat, lon, alt_rel_m, actor)
        )

    async def abort(self, mission_id: str, *, actor: str = "api") -> None:
        async def call() -> None:
            if mission_id in self._runners:
                await self._runners[mission_id].abort(actor)
                return
            m = await self.store.get_mission(mission_id)  # not started: abort it on paper
            await self.store.record_transition(
                m.id, transition(m.state, Event.ABORT, at=utcnow(), reason=actor)
            )

        await self._audited(actor, "abort", mission_id, {}, call)

    # --- running missions --------------------------------------------------------------------

    def running(self) -> dict[str, MissionRunner]:
        return dict(self._runners)

    async def wait(self, mission_id: str, timeout_s: float) -> Mission:
        """Until the mission's runner ends (tests, demo); the stored mission."""
        task = self._tasks.get(mission_id)
        if task is not None:
            async with asyncio.timeout(timeout_s):
                await asyncio.shield(task)
        return await self.store.get_mission(mission_id)

    async def recover(self) -> list[str]:
        """Re-attach every mission the store says was in flight when the service stopped."""
        ids = []
        for m in await self.store.missions_in_flight():
            if m.id in self._runners:
                continue
            self.fleet.assign(m.drone_id, m.id)
            await self._republish(m.id)
            self._tasks[m.id] = self._tg.create_task(self._reattach(m), name=f"mission[{m.id}]")
            ids.append(m.id)
        return ids

    async def _reattach(self, m: Mission) -> None:
        try:
            link = await self.fleet.wait_link(m.drone_id, self._cfg.reattach_link_wait_s)
            runner = await self._runner_for(m, link)
        except (VehicleNotFoundError, PatrolError):
            log.exception("mission %s: cannot re-attach; left %s for the next start", m.id, m.state.value)
            self._tasks.pop(m.id, None)
            self.fleet.release(m.drone_id, m.id)
            return
        self._runners[m.id] = runner
        await self._run(runner, reattach=True)

    async def _republish(self, mission_id: str) -> None:
        """Events are published at least once: after a crash some may not have left; consumers dedupe by seq."""
        if self._events is None:
            return
        m = await self.store.get_mission(mission_id)
        for ev in await self.store.events_after(mission_id, 0):
            await self._events.event(
                mission_id, "transition", drone=m.drone_id, from_state=ev.from_state.value, to_state=ev.to_state.value,
                reason=ev.reason or None, data=dict(ev.data), at=ev.at, seq=ev.seq - 1,
            )  # fmt: skip

    # --- follow-up plans ---------------------------------------------------------------------

    def _follow_up_for(
        self, plan: PlanRecord
    ) -> Callable[[BaseGeometry, TelemetrySample | None], Awaitable[dict[str, Any]]]:
        async def follow_up(left: BaseGeometry, sample: TelemetrySample | None) -> dict[str, Any]:
            """Store the leftover as an area and plan it from the drone's home; its ids for the event."""
            area = Area(
                id=new_id("a"), name=f"left of {plan.name}", kind=AreaKind.PATROL, geometry=to_geojson(left)
            )
            await self.store.add_area(area)
            home = _dock_of(plan, sample)
            st = plan.stats
            new = await asyncio.to_thread(
                plan_patrol,
                left,
                altitude_m=float(st.get("altitude_m", 40.0)),
                speed_mps=float(st.get("speed_mps", 8.0)),
                spacing_m=float(st.get("spacing_m", 20.0)),
                docks=home,
            )
            fence = [item_to_json(i) for i in new.fence]
            s = new.sorties[0]
            rec = PlanRecord(
                id=new_id("p"), name=f"follow-up of {plan.name}", items=s.items, area_id=area.id,
                stats={**{k: st[k] for k in ("pattern", "altitude_m", "speed_mps", "spacing_m") if k in st},
                       "length_m": s.length_m, "est_time_s": s.est_time_s, "fence": fence},
            )  # fmt: skip
            await self.store.add_plan(rec)
            return {
                "follow_up_plan_id": rec.id,
                "follow_up_area_id": area.id,
                "follow_up_sorties": len(new.sorties),
            }

        return follow_up


def _dock_of(plan: PlanRecord, sample: TelemetrySample | None) -> list[LonLat]:
    """Where the plan took off (its take-off item; the planner puts the dock there), else the vehicle's home."""
    first = plan.items[0] if plan.items else None
    if (
        first is not None
        and first.command == MavCmd.NAV_TAKEOFF
        and math.isfinite(first.lat)
        and first.lat != 0
    ):
        return [LonLat(first.lon, first.lat)]
    if sample is not None and sample.home_lat is not None and sample.home_lon is not None:
        return [LonLat(sample.home_lon, sample.home_lat)]
    return []
