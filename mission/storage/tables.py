"""The database schema: SQLAlchemy 2 declarative tables, portable across SQLite and PostgreSQL.

JSON columns use ``sqlalchemy.JSON``; timestamps are stored as UTC through ``UtcDateTime`` (SQLite has
no timezone type, so values come back naive there: the decorator makes them aware again). The schema
is created by the Alembic migrations in ``migrations/``, never by ``create_all``; a test checks the
two agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, MetaData, String, Text, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime, stored in UTC; naive values are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give a timezone-aware one")
        value = value.astimezone(UTC)
        # SQLite stores text: a naive UTC value keeps the text sortable.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Named constraints, so migrations can refer to them on both databases.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = String(40)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}  # noqa: RUF012


class AreaRow(Base):
    __tablename__ = "areas"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), index=True)  # patrol | no_fly
    geometry: Mapped[dict[str, Any]]
    properties: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class DockRow(Base):
    __tablename__ = "docks"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    alt_amsl_m: Mapped[float] = mapped_column(Float)


class DroneRow(Base):
    __tablename__ = "drones"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    connection_url: Mapped[str] = mapped_column(String(500))
    system_id: Mapped[int] = mapped_column(Integer)
    dock_id: Mapped[str | None] = mapped_column(ForeignKey("docks.id"))


class PlanRow(Base):
    __tablename__ = "plans"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    area_id: Mapped[str | None] = mapped_column(ForeignKey("areas.id"))
    items: Mapped[list[Any]]
    stats: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class ScheduleRow(Base):
    __tablename__ = "schedules"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"))
    drone_id: Mapped[str | None] = mapped_column(ForeignKey("drones.id"), index=True)
    area_id: Mapped[str | None] = mapped_column(ForeignKey("areas.id"))
    cron: Mapped[str | None] = mapped_column(String(200))
    run_at: Mapped[datetime | None]
    time_window: Mapped[str | None] = mapped_column(String(20))  # "HH:MM-HH:MM"
    timezone: Mapped[str] = mapped_column(String(64))
    duration_s: Mapped[float] = mapped_column(Float)
    missed_policy: Mapped[str] = mapped_column(String(20))
    enabled: Mapped[bool]
    created_at: Mapped[datetime]
    last_run_at: Mapped[datetime | None]


class MissionRow(Base):
    __tablename__ = "missions"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"))
    drone_id: Mapped[str] = mapped_column(ForeignKey("drones.id"), index=True)
    schedule_id: Mapped[str | None] = mapped_column(ForeignKey("schedules.id"))
    state: Mapped[str] = mapped_column(String(20), index=True)
    ending: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    current_item: Mapped[int] = mapped_column(Integer)
    total_items: Mapped[int] = mapped_column(Integer)
    distance_m: Mapped[float] = mapped_column(Float)
    covered_fraction: Mapped[float] = mapped_column(Float)
    last_seq: Mapped[int] = mapped_column(Integer)


class MissionEventRow(Base):
    __tablename__ = "mission_events"
    mission_id: Mapped[str] = mapped_column(ForeignKey("missions.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]]


class TrackPointRow(Base):
    """At most one point per mission per second: the second is part of the key."""

    __tablename__ = "track_points"
    mission_id: Mapped[str] = mapped_column(ForeignKey("missions.id"), primary_key=True)
    second: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # Unix time, floor
    t: Mapped[datetime]
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    alt: Mapped[float] = mapped_column(Float)


class AuditRow(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(200))
    command: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(200), index=True)
    args: Mapped[dict[str, Any]]
    result: Mapped[str] = mapped_column(Text)


__all__ = [
    "AreaRow",
    "AuditRow",
    "Base",
    "DockRow",
    "DroneRow",
    "MissionEventRow",
    "MissionRow",
    "PlanRow",
    "ScheduleRow",
    "TrackPointRow",
    "UtcDateTime",
]
