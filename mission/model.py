"""Domain values the service stores and passes around: drones, docks, areas, plans, missions, events.

Frozen, keyword-only dataclasses without I/O. Timestamps are timezone-aware (UTC when created here).
IDs are short and readable: ``<prefix>-<yyyymmdd>-<6 hex>`` (``m-20261202-3fa9c1``), unique enough
for one site and sortable by day; the database primary key catches the rare clash.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from enum import StrEnum
from typing import Any

from geo.items import MissionItem
from mission.states import Ending, MissionState, MissionStatus

__all__ = [
    "Area",
    "AreaKind",
    "AuditEntry",
    "Dock",
    "Drone",
    "MissedRunPolicy",
    "Mission",
    "MissionEvent",
    "PlanRecord",
    "Progress",
    "Schedule",
    "TimeWindow",
    "TrackPoint",
    "area_from_geo",
    "dock_from_geo",
    "item_from_json",
    "item_to_json",
    "new_id",
    "utcnow",
]


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str, *, at: datetime | None = None) -> str:
    """A short readable id: ``new_id("m")`` -> ``m-20261202-3fa9c1``."""
    day = (at or utcnow()).astimezone(UTC).strftime("%Y%m%d")
    return f"{prefix}-{day}-{secrets.token_hex(3)}"


def _aware(name: str, value: datetime | None) -> None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class Dock:
    id: str
    name: str
    lat: float
    lon: float
    alt_amsl_m: float = 0.0

    def __post_init__(self) -> None:
        if not (-90.0 <= self.lat <= 90.0 and -180.0 <= self.lon <= 180.0):
            raise ValueError(f"dock {self.id}: position out of range ({self.lat}, {self.lon})")


@dataclass(frozen=True, kw_only=True)
class Drone:
    id: str
    name: str
    connection_url: str  # MAVSDK system address, e.g. udpin://0.0.0.0:14540
    system_id: int = 1
    dock_id: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.system_id <= 255:
            raise ValueError(f"drone {self.id}: MAVLink system id {self.system_id} not in 1..255")


class AreaKind(StrEnum):
    PATROL = "patrol"
    NO_FLY = "no_fly"


@dataclass(frozen=True, kw_only=True)
class Area:
    """A patrol area or no-fly zone by reference: a GeoJSON geometry (WGS84) plus its properties.

    ``geo.areas`` turns it into shapely objects; storage only needs the GeoJSON.
    """

    id: str
    name: str
    kind: AreaKind = AreaKind.PATROL
    geometry: Mapping[str, Any] = field(default_factory=dict)
    properties: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", AreaKind(self.kind))
        if "type" not in self.geometry or "coordinates" not in self.geometry:
            raise ValueError(f"area {self.id}: geometry must be GeoJSON with type and coordinates")


def item_to_json(item: MissionItem) -> dict[str, Any]:
    """A mission item as JSON-safe values (NaN -> None: PostgreSQL's json rejects NaN)."""

    def num(x: float) -> float | None:
        return None if math.isnan(x) else x

    return {
        "command": int(item.command),
        "frame": int(item.frame),
        "params": [num(p) for p in item.params],
        "lat": item.lat,
        "lon": item.lon,
        "alt": item.alt,
        "autocontinue": item.autocontinue,
    }


def item_from_json(d: Mapping[str, Any]) -> MissionItem:
    p1, p2, p3, p4 = (math.nan if p is None else float(p) for p in d["params"])
    return MissionItem(
        command=int(d["command"]),
        frame=int(d["frame"]),
        param1=p1,
        param2=p2,
        param3=p3,
        param4=p4,
        lat=float(d["lat"]),
        lon=float(d["lon"]),
        alt=float(d["alt"]),
        autocontinue=bool(d["autocontinue"]),
    )


@dataclass(frozen=True, kw_only=True)
class PlanRecord:
    """A stored plan: the mission items to upload plus the planner's numbers (length, duration, energy)."""

    id: str
    name: str
    items: tuple[MissionItem, ...]
    area_id: str | None = None
    stats: Mapping[str, Any] = field(default_factory=dict)  # length_m, duration_s, energy_pct, ...
    created_at: datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", tuple(self.items))
        _aware("created_at", self.created_at)


@dataclass(frozen=True, kw_only=True)
class Progress:
    current_item: int = 0
    total_items: int = 0
    distance_m: float = 0.0
    covered_fraction: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.covered_fraction <= 1.0:
            raise ValueError(f"covered_fraction {self.covered_fraction} not in [0, 1]")


@dataclass(frozen=True, kw_only=True)
class Mission:
    id: str
    plan_id: str
    drone_id: str
    state: MissionState = MissionState.SCHEDULED
    ending: Ending = Ending.COMPLETED
    schedule_id: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    started_at: datetime | None = None
    ended_at: datetime | None = None
    progress: Progress = Progress()
    last_seq: int = 0  # seq of the last MissionEvent written

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", MissionState(self.state))
        object.__setattr__(self, "ending", Ending(self.ending))
        for name in ("created_at", "started_at", "ended_at"):
            _aware(name, getattr(self, name))

    @property
    def status(self) -> MissionStatus:
        """Where the mission is in the state machine: what ``transition()`` takes."""
        return MissionStatus(state=self.state, ending=self.ending)


@dataclass(frozen=True, kw_only=True)
class MissionEvent:
    mission_id: str
    seq: int
    at: datetime
    kind: str  # the Event name
    from_state: MissionState
    to_state: MissionState
    reason: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)


class MissedRunPolicy(StrEnum):
    """What to do with runs that fell due while the service was down."""

    SKIP = "skip"
    RUN_ONCE_NOW = "run_once_now"
    RUN_ALL = "run_all"


@dataclass(frozen=True, kw_only=True)
class TimeWindow:
    """Local wall-clock window runs must start in; ``end <= start`` crosses midnight (20:00-05:00)."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise ValueError("time window start and end are equal")

    @property
    def crosses_midnight(self) -> bool:
        return self.end < self.start

    def contains(self, t: time) -> bool:
        t = t.replace(tzinfo=None)
        if self.crosses_midnight:
            return t >= self.start or t < self.end
        return self.start <= t < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    @classmethod
    def parse(cls, text: str) -> TimeWindow:
        """``"20:00-05:00"`` -> TimeWindow; ``ValueError`` on anything else."""
        try:
            a, b = (time.fromisoformat(part.strip()) for part in text.split("-"))
        except ValueError as exc:
            raise ValueError(f"time window {text!r}: expected HH:MM-HH:MM") from exc
        return cls(start=a, end=b)


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """When to fly a plan: once (``run_at``) or recurring (``cron``, in ``timezone`` wall-clock time).

    ``drone_id=None`` means "any ready drone at the dock nearest the area" (see ``schedule.choose_drone``).
    """

    id: str
    name: str
    plan_id: str
    cron: str | None = None
    run_at: datetime | None = None
    drone_id: str | None = None
    area_id: str | None = None
    window: TimeWindow | None = None
    timezone: str = "America/Mexico_City"
    duration_s: float = 1800.0  # estimated sortie duration, for conflict detection
    missed_policy: MissedRunPolicy = MissedRunPolicy.SKIP
    enabled: bool = True
    created_at: datetime = field(default_factory=utcnow)
    last_run_at: datetime | None = None

    def __post_init__(self) -> None:
        if (self.cron is None) == (self.run_at is None):
            raise ValueError(f"schedule {self.id}: give exactly one of cron or run_at")
        if self.duration_s <= 0:
            raise ValueError(f"schedule {self.id}: duration_s must be positive")
        object.__setattr__(self, "missed_policy", MissedRunPolicy(self.missed_policy))
        for name in ("run_at", "created_at", "last_run_at"):
            _aware(name, getattr(self, name))


@dataclass(frozen=True, kw_only=True)
class TrackPoint:
    t: datetime
    lat: float
    lon: float
    alt: float  # metres AMSL

    def __post_init__(self) -> None:
        _aware("t", self.t)


@dataclass(frozen=True, kw_only=True)
class AuditEntry:
    """Who asked for what, and what came of it. ``id`` is assigned by the store."""

    at: datetime
    actor: str  # "pilot:ana", "scheduler", "api:token-3"
    command: str  # "abort", "schedule.add", ...
    target: str  # a mission, drone or schedule id
    args: Mapping[str, Any] = field(default_factory=dict)
    result: str = "ok"  # "ok" or the error message
    id: int | None = None

    def __post_init__(self) -> None:
        _aware("at", self.at)


# --- from the planner's area types (geo.areas) ------------------------------------------------------


def area_from_geo(area: Any, *, area_id: str | None = None) -> Area:
    """A ``geo.areas.PatrolArea`` or ``NoFlyZone`` as a storable ``Area`` (GeoJSON geometry).

    A circular no-fly zone is kept exact: a GeoJSON Point plus ``radius_m`` in the properties.
    """
    from shapely.geometry import mapping  # shapely only when converting

    props: dict[str, Any] = dict(getattr(area, "properties", {}) or {})
    if hasattr(area, "pattern"):  # PatrolArea
        kind, geometry = AreaKind.PATROL, mapping(area.polygon)
        props |= {"pattern": area.pattern, "altitude_m": area.altitude_m}
    else:  # NoFlyZone: a shapely shape or a Circle
        kind, shape = AreaKind.NO_FLY, area.shape
        if hasattr(shape, "radius_m"):
            geometry = {"type": "Point", "coordinates": [shape.center.lon, shape.center.lat]}
            props["radius_m"] = shape.radius_m
        else:
            geometry = mapping(shape)
        props["reason"] = getattr(area, "reason", "")
    return Area(
        id=area_id or new_id("a"), name=area.name, kind=kind, geometry=_plain(geometry), properties=props
    )


def dock_from_geo(dock: Any, *, dock_id: str | None = None) -> Dock:
    """A ``geo.areas.Dock`` (position as LonLat, ``alt_m`` AMSL or None) as a storable ``Dock``."""
    return Dock(
        id=dock_id or new_id("k"),
        name=dock.name,
        lat=dock.position.lat,
        lon=dock.position.lon,
        alt_amsl_m=dock.alt_m or 0.0,
    )


def _plain(value: Any) -> Any:
    """shapely's mapping() nests tuples; JSON columns want lists."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
