"""``Store``: the service's persistence, an async context manager over SQLAlchemy 2 (SQLite or PostgreSQL).

Opening a store creates the engine and migrates the schema to head (Alembic, inside ``run_sync``).
Every method is one transaction: bad input raises ``NotFoundError`` / ``ConflictError`` /
``ConfigError`` and leaves nothing written. Each operation runs under ``timeout_s``; a database that
does not answer raises ``StorageError``.

    async with Store("sqlite+aiosqlite:///patrol.db") as store:
        await store.add_drone(Drone(id="d1", name="Alfa", connection_url="udpin://0.0.0.0:14540"))
        ev = await store.record_transition(mission.id, transition(mission.state, "start", at=now))
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from mission.errors import ConfigError, ConflictError, NotFoundError
from mission.model import (
    Area,
    AreaKind,
    AuditEntry,
    Dock,
    Drone,
    Mission,
    MissionEvent,
    PlanRecord,
    Progress,
    Schedule,
    TrackPoint,
    utcnow,
)
from mission.preflight import PreflightLimits, plan_faults, plan_stats
from mission.schedule import check_conflicts, validate_schedule
from mission.states import IN_FLIGHT_STATES, TERMINAL_STATES, MissionState, Transition
from mission.storage import convert
from mission.storage.engine import StorageError, make_engine, migrate
from mission.storage.tables import (
    AreaRow,
    AuditRow,
    Base,
    DockRow,
    DroneRow,
    MissionEventRow,
    MissionRow,
    PlanRow,
    ScheduleRow,
    TrackPointRow,
)

__all__ = ["StorageError", "Store"]

_Row = TypeVar("_Row", bound=Base)


class Store:
    """The repository. Build it from a URL; ``schema`` (PostgreSQL only) isolates e.g. a test run."""

    def __init__(self, url: str, *, schema: str | None = None, timeout_s: float = 10.0, echo: bool = False):
        self.url, self.schema, self.timeout_s, self._echo = url, schema, timeout_s, echo
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None
        self.migrated = False  # whether opening ran any migration

    # --- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        self._engine = make_engine(self.url, schema=self.schema, timeout_s=self.timeout_s, echo=self._echo)
        self._sessions = async_sessionmaker(self._engine, expire_on_commit=False)
        try:
            self.migrated = await migrate(self._engine, schema=self.schema, timeout_s=self.timeout_s * 3)
        except BaseException:
            await self._engine.dispose()
            self._engine = self._sessions = None
            raise
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._engine is not None:
            await self._engine.dispose()
        self._engine = self._sessions = None

    def _safe_url(self) -> str:
        return self._engine.url.render_as_string(hide_password=True) if self._engine else self.url

    @property
    def dialect(self) -> str:
        assert self._engine is not None, "Store used outside 'async with'"
        return self._engine.dialect.name

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[AsyncSession]:
        """One transaction under the store's timeout; rolled back on any error."""
        assert self._sessions is not None, "Store used outside 'async with'"
        try:
            async with asyncio.timeout(self.timeout_s), self._sessions() as s, s.begin():
                yield s
        except TimeoutError as exc:
            raise StorageError(f"database did not answer within {self.timeout_s:g} s") from exc
        except OperationalError as exc:
            raise StorageError(f"database error: {exc.orig}") from exc

    async def _insert(self, row: Base, kind: str, key: str) -> None:
        try:
            async with self._tx() as s:
                s.add(row)
        except IntegrityError as exc:
            raise ConflictError(f"{kind} {key} already exists") from exc

    @staticmethod
    async def _need(s: AsyncSession, row_type: type[_Row], kind: str, key: str | None, *, lock: bool = False):
        if key is None:
            return None
        row = await s.get(row_type, key, with_for_update=lock)
        if row is None:
            raise NotFoundError(kind, key)
        return row

    async def _get(self, row_type: type[_Row], kind: str, key: str) -> _Row:
        async with self._tx() as s:
            return await self._need(s, row_type, kind, key)

    async def _list(self, stmt: Any) -> list[Any]:
        async with self._tx() as s:
            return list((await s.scalars(stmt)).all())

    # --- areas, docks, drones, plans ---------------------------------------------------------

    async def add_area(self, area: Area) -> Area:
        await self._insert(convert.area_row(area, utcnow()), "area", area.id)
        return area

    async def get_area(self, area_id: str) -> Area:
        return convert.area(await self._get(AreaRow, "area", area_id))

    async def list_areas(self, kind: AreaKind | str | None = None) -> list[Area]:
        stmt = select(AreaRow).order_by(AreaRow.id)
        if kind is not None:
            stmt = stmt.where(AreaRow.kind == AreaKind(kind).value)
        return [convert.area(r) for r in await self._list(stmt)]

    async def list_no_fly_zones(self) -> list[Area]:
        return await self.list_areas(AreaKind.NO_FLY)

    async def add_dock(self, dock: Dock) -> Dock:
        await self._insert(convert.dock_row(dock), "dock", dock.id)
        return dock

    async def get_dock(self, dock_id: str) -> Dock:
        return convert.dock(await self._get(DockRow, "dock", dock_id))

    async def list_docks(self) -> list[Dock]:
        return [convert.dock(r) for r in await self._list(select(DockRow).order_by(DockRow.id))]

    async def add_drone(self, drone: Drone) -> Drone:
        try:
            async with self._tx() as s:
                await self._need(s, DockRow, "dock", drone.dock_id)
                s.add(convert.drone_row(drone))
        except IntegrityError as exc:
            raise ConflictError(f"drone {drone.id} already exists") from exc
        return drone

    async def get_drone(self, drone_id: str) -> Drone:
        return convert.drone(await self._get(DroneRow, "drone", drone_id))

    async def list_drones(self) -> list[Drone]:
        return [convert.drone(r) for r in await self._list(select(DroneRow).order_by(DroneRow.id))]

    async def add_plan(self, plan: PlanRecord, *, limits: PreflightLimits = PreflightLimits()) -> PlanRecord:
        """Store a plan; ``ConfigError`` listing every limit it breaks (altitude ceiling, item count)."""
        energy = float(plan.stats.get("energy_pct", 0.0))
        faults = plan_faults(plan_stats(plan.items, energy_pct=energy), limits)
        if faults:
            raise ConfigError(
                f"plan {plan.id} outside limits: " + "; ".join(f"{k}: {v}" for k, v in faults.items())
            )
        try:
            async with self._tx() as s:
                await self._need(s, AreaRow, "area", plan.area_id)
                s.add(convert.plan_row(plan))
        except IntegrityError as exc:
            raise ConflictError(f"plan {plan.id} already exists") from exc
        return plan

    async def get_plan(self, plan_id: str) -> PlanRecord:
        return convert.plan(await self._get(PlanRow, "plan", plan_id))

    async def list_plans(self) -> list[PlanRecord]:
        return [convert.plan(r) for r in await self._list(select(PlanRow).order_by(PlanRow.created_at))]

    # --- missions and their events -----------------------------------------------------------

    async def add_mission(self, mission: Mission) -> Mission:
        try:
            async with self._tx() as s:
                await self._need(s, PlanRow, "plan", mission.plan_id)
                await self._need(s, DroneRow, "drone", mission.drone_id)
                await self._need(s, ScheduleRow, "schedule", mission.schedule_id)
                s.add(convert.mission_row(mission))
        except IntegrityError as exc:
            raise ConflictError(f"mission {mission.id} already exists") from exc
        return mission

    async def get_mission(self, mission_id: str) -> Mission:
        return convert.mission(await self._get(MissionRow, "mission", mission_id))

    async def list_missions(
        self, *, state: MissionState | str | None = None, drone_id: str | None = None, limit: int = 100
    ) -> list[Mission]:
        stmt = select(MissionRow).order_by(MissionRow.created_at.desc()).limit(limit)
        if state is not None:
            stmt = stmt.where(MissionRow.state == MissionState(state).value)
        if drone_id is not None:
            stmt = stmt.where(MissionRow.drone_id == drone_id)
        return [convert.mission(r) for r in await self._list(stmt)]

    async def missions_in_flight(self) -> list[Mission]:
        """Missions past ``scheduled`` and not finished: what recovery re-attaches to after a restart."""
        states = sorted(s.value for s in IN_FLIGHT_STATES)
        stmt = select(MissionRow).where(MissionRow.state.in_(states)).order_by(MissionRow.created_at)
        return [convert.mission(r) for r in await self._list(stmt)]

    async def record_transition(
        self, mission_id: str, t: Transition, *, progress: Progress | None = None
    ) -> MissionEvent:
        """Write the new state and its event in one transaction; returns the event (with its seq).

        ``ConflictError`` when the stored state is not ``t.before`` (someone else moved the mission
        on): the caller recomputes the transition from the fresh state.
        """
        try:
            async with self._tx() as s:
                row = await self._need(s, MissionRow, "mission", mission_id, lock=True)
                if (row.state, row.ending) != (t.before.state.value, t.before.ending.value):
                    raise ConflictError(
                        f"mission {mission_id} is {row.state} (ending {row.ending}), "
                        f"not {t.before.state.value}: {t.event.value} refused"
                    )
                seq = row.last_seq + 1
                values: dict[str, Any] = {
                    "state": t.to_state.value,
                    "ending": t.after.ending.value,
                    "last_seq": seq,
                }
                if (
                    row.started_at is None
                    and t.from_state is MissionState.SCHEDULED
                    and t.to_state is not t.from_state
                ):
                    values["started_at"] = t.at
                if t.to_state in TERMINAL_STATES:
                    values["ended_at"] = t.at
                if progress is not None:
                    values |= _progress_values(progress)
                # Core statements in this order: the state first, then the event, so a failing event
                # insert is visibly undone by the rollback (tested).
                # Compare-and-set on (state, seq): on SQLite the read above holds no lock, so a concurrent
                # writer that got there first makes this match no row.
                done = await s.execute(
                    update(MissionRow)
                    .where(
                        MissionRow.id == mission_id,
                        MissionRow.state == row.state,
                        MissionRow.last_seq == row.last_seq,
                    )
                    .values(**values)
                )
                if done.rowcount != 1:
                    raise ConflictError(f"mission {mission_id} changed meanwhile: {t.event.value} refused")
                ev = MissionEventRow(
                    mission_id=mission_id,
                    seq=seq,
                    at=t.at,
                    kind=t.event.value,
                    from_state=t.from_state.value,
                    to_state=t.to_state.value,
                    reason=t.reason,
                    data=dict(t.data),
                )
                s.add(ev)
                await s.flush()
        except StatementError as exc:
            if isinstance(exc, IntegrityError):
                raise ConflictError(f"mission {mission_id}: concurrent transition, try again") from exc
            raise ConfigError(f"mission {mission_id}: event data cannot be stored: {exc.orig}") from exc
        return convert.event(ev)

    async def update_progress(self, mission_id: str, progress: Progress) -> None:
        async with self._tx() as s:
            await self._need(s, MissionRow, "mission", mission_id)
            await s.execute(
                update(MissionRow).where(MissionRow.id == mission_id).values(**_progress_values(progress))
            )

    async def events_after(self, mission_id: str, seq: int = 0) -> list[MissionEvent]:
        stmt = (
            select(MissionEventRow)
            .where(MissionEventRow.mission_id == mission_id, MissionEventRow.seq > seq)
            .order_by(MissionEventRow.seq)
        )
        return [convert.event(r) for r in await self._list(stmt)]

    # --- schedules ---------------------------------------------------------------------------

    async def add_schedule(
        self, schedule: Schedule, *, now: datetime | None = None, horizon_days: float = 7.0
    ) -> Schedule:
        """Validate, check for clashes with the drone's other schedules over ``horizon_days``, insert.

        The drone row is locked (PostgreSQL) for the check-then-insert, so two concurrent adds for the
        same drone cannot both pass. ``ConfigError`` (bad cron/timezone/window), ``NotFoundError``
        (plan, drone, area), ``ConflictError`` (overlap, naming both schedules and the first clash).
        """
        validate_schedule(schedule)
        try:
            async with self._tx() as s:
                await self._need(s, PlanRow, "plan", schedule.plan_id)
                await self._need(s, AreaRow, "area", schedule.area_id)
                await self._need(s, DroneRow, "drone", schedule.drone_id, lock=True)
                if schedule.drone_id is not None:
                    rows = await s.scalars(
                        select(ScheduleRow).where(
                            ScheduleRow.drone_id == schedule.drone_id, ScheduleRow.enabled
                        )
                    )
                    others = [convert.schedule(r) for r in rows]
                    check_conflicts(schedule, others, start=now or utcnow(), days=horizon_days)
                s.add(convert.schedule_row(schedule))
        except IntegrityError as exc:
            raise ConflictError(f"schedule {schedule.id} already exists") from exc
        return schedule

    async def get_schedule(self, schedule_id: str) -> Schedule:
        return convert.schedule(await self._get(ScheduleRow, "schedule", schedule_id))

    async def list_schedules(self, *, enabled_only: bool = False) -> list[Schedule]:
        stmt = select(ScheduleRow).order_by(ScheduleRow.created_at)
        if enabled_only:
            stmt = stmt.where(ScheduleRow.enabled)
        return [convert.schedule(r) for r in await self._list(stmt)]

    async def set_schedule_enabled(self, schedule_id: str, enabled: bool) -> None:
        async with self._tx() as s:
            row = await self._need(s, ScheduleRow, "schedule", schedule_id)
            row.enabled = enabled

    async def mark_schedule_run(self, schedule_id: str, at: datetime) -> None:
        """Remember the latest run handled, so ``due_runs(since=last_run_at)`` resumes after a restart."""
        async with self._tx() as s:
            row = await self._need(s, ScheduleRow, "schedule", schedule_id)
            row.last_run_at = at

    # --- track points ------------------------------------------------------------------------

    async def add_track_points(self, mission_id: str, points: Iterable[TrackPoint]) -> int:
        """Keep at most one point per second per mission (the first seen); returns how many were kept."""
        by_second: dict[int, TrackPoint] = {}
        for p in points:
            by_second.setdefault(int(p.t.timestamp() // 1), p)
        if not by_second:
            return 0
        async with self._tx() as s:
            await self._need(s, MissionRow, "mission", mission_id)
            lo, hi = min(by_second), max(by_second)
            taken = await s.scalars(
                select(TrackPointRow.second).where(
                    TrackPointRow.mission_id == mission_id, TrackPointRow.second.between(lo, hi)
                )
            )
            for sec in taken:
                by_second.pop(sec, None)
            if by_second:
                rows = [
                    {
                        "mission_id": mission_id,
                        "second": sec,
                        "t": p.t,
                        "lat": p.lat,
                        "lon": p.lon,
                        "alt": p.alt,
                    }
                    for sec, p in sorted(by_second.items())
                ]
                # The key (mission, second) is the real guard: a concurrent writer's point wins quietly.
                ins = (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(TrackPointRow)
                await s.execute(ins.on_conflict_do_nothing(), rows)
        return len(by_second)

    async def track(self, mission_id: str) -> list[TrackPoint]:
        stmt = (
            select(TrackPointRow).where(TrackPointRow.mission_id == mission_id).order_by(TrackPointRow.second)
        )
        return [convert.track_point(r) for r in await self._list(stmt)]

    # --- audit log ---------------------------------------------------------------------------

    async def add_audit(self, entry: AuditEntry) -> AuditEntry:
        try:
            json.dumps(dict(entry.args))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"audit args for {entry.command} are not JSON: {exc}") from exc
        async with self._tx() as s:
            row = AuditRow(
                at=entry.at,
                actor=entry.actor,
                command=entry.command,
                target=entry.target,
                args=dict(entry.args),
                result=entry.result,
            )
            s.add(row)
            await s.flush()
        return convert.audit(row)

    async def audit_log(self, *, target: str | None = None, limit: int = 100) -> list[AuditEntry]:
        stmt = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
        if target is not None:
            stmt = stmt.where(AuditRow.target == target)
        return [convert.audit(r) for r in await self._list(stmt)]

    async def count(self, table: str) -> int:
        """Rows in one of our tables (diagnostics and tests)."""
        t = Base.metadata.tables[table]
        async with self._tx() as s:
            return int(await s.scalar(select(func.count()).select_from(t)) or 0)


def _progress_values(p: Progress) -> dict[str, Any]:
    return {
        "current_item": p.current_item,
        "total_items": p.total_items,
        "distance_m": p.distance_m,
        "covered_fraction": p.covered_fraction,
    }
