"""Rows <-> domain values. Kept apart from the repository so both stay short."""

from __future__ import annotations

from typing import Any

from mission.model import (
    Area,
    AuditEntry,
    Dock,
    Drone,
    Mission,
    MissionEvent,
    PlanRecord,
    Progress,
    Schedule,
    TimeWindow,
    TrackPoint,
    item_from_json,
    item_to_json,
)
from mission.states import MissionState
from mission.storage.tables import (
    AreaRow,
    AuditRow,
    DockRow,
    DroneRow,
    MissionEventRow,
    MissionRow,
    PlanRow,
    ScheduleRow,
    TrackPointRow,
)


def area_row(a: Area, created_at: Any) -> AreaRow:
    return AreaRow(
        id=a.id,
        name=a.name,
        kind=a.kind.value,
        geometry=dict(a.geometry),
        properties=dict(a.properties),
        created_at=created_at,
    )


def area(r: AreaRow) -> Area:
    return Area(id=r.id, name=r.name, kind=r.kind, geometry=r.geometry, properties=r.properties)


def dock_row(d: Dock) -> DockRow:
    return DockRow(id=d.id, name=d.name, lat=d.lat, lon=d.lon, alt_amsl_m=d.alt_amsl_m)


def dock(r: DockRow) -> Dock:
    return Dock(id=r.id, name=r.name, lat=r.lat, lon=r.lon, alt_amsl_m=r.alt_amsl_m)


def drone_row(d: Drone) -> DroneRow:
    return DroneRow(
        id=d.id, name=d.name, connection_url=d.connection_url, system_id=d.system_id, dock_id=d.dock_id
    )


def drone(r: DroneRow) -> Drone:
    return Drone(
        id=r.id, name=r.name, connection_url=r.connection_url, system_id=r.system_id, dock_id=r.dock_id
    )


def plan_row(p: PlanRecord) -> PlanRow:
    return PlanRow(
        id=p.id,
        name=p.name,
        area_id=p.area_id,
        items=[item_to_json(i) for i in p.items],
        stats=dict(p.stats),
        created_at=p.created_at,
    )


def plan(r: PlanRow) -> PlanRecord:
    return PlanRecord(
        id=r.id,
        name=r.name,
        area_id=r.area_id,
        items=tuple(item_from_json(i) for i in r.items),
        stats=r.stats,
        created_at=r.created_at,
    )


def schedule_row(s: Schedule) -> ScheduleRow:
    return ScheduleRow(
        id=s.id,
        name=s.name,
        plan_id=s.plan_id,
        drone_id=s.drone_id,
        area_id=s.area_id,
        cron=s.cron,
        run_at=s.run_at,
        time_window=str(s.window) if s.window else None,
        timezone=s.timezone,
        duration_s=s.duration_s,
        missed_policy=s.missed_policy.value,
        enabled=s.enabled,
        created_at=s.created_at,
        last_run_at=s.last_run_at,
    )


def schedule(r: ScheduleRow) -> Schedule:
    return Schedule(
        id=r.id,
        name=r.name,
        plan_id=r.plan_id,
        drone_id=r.drone_id,
        area_id=r.area_id,
        cron=r.cron,
        run_at=r.run_at,
        window=TimeWindow.parse(r.time_window) if r.time_window else None,
        timezone=r.timezone,
        duration_s=r.duration_s,
        missed_policy=r.missed_policy,
        enabled=r.enabled,
        created_at=r.created_at,
        last_run_at=r.last_run_at,
    )


def mission_row(m: Mission) -> MissionRow:
    return MissionRow(
        id=m.id,
        plan_id=m.plan_id,
        drone_id=m.drone_id,
        schedule_id=m.schedule_id,
        state=m.state.value,
        ending=m.ending.value,
        created_at=m.created_at,
        started_at=m.started_at,
        ended_at=m.ended_at,
        current_item=m.progress.current_item,
        total_items=m.progress.total_items,
        distance_m=m.progress.distance_m,
        covered_fraction=m.progress.covered_fraction,
        last_seq=m.last_seq,
    )


def mission(r: MissionRow) -> Mission:
    return Mission(
        id=r.id,
        plan_id=r.plan_id,
        drone_id=r.drone_id,
        schedule_id=r.schedule_id,
        state=r.state,
        ending=r.ending,
        created_at=r.created_at,
        started_at=r.started_at,
        ended_at=r.ended_at,
        progress=Progress(
            current_item=r.current_item,
            total_items=r.total_items,
            distance_m=r.distance_m,
            covered_fraction=r.covered_fraction,
        ),
        last_seq=r.last_seq,
    )


def event(r: MissionEventRow) -> MissionEvent:
    return MissionEvent(
        mission_id=r.mission_id,
        seq=r.seq,
        at=r.at,
        kind=r.kind,
        from_state=MissionState(r.from_state),
        to_state=MissionState(r.to_state),
        reason=r.reason,
        data=r.data,
    )


def track_point(r: TrackPointRow) -> TrackPoint:
    return TrackPoint(t=r.t, lat=r.lat, lon=r.lon, alt=r.alt)


def audit(r: AuditRow) -> AuditEntry:
    return AuditEntry(
        id=r.id, at=r.at, actor=r.actor, command=r.command, target=r.target, args=r.args, result=r.result
    )
