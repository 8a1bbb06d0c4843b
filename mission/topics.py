"""The bus's topics and payloads, version 1: pure builders, pydantic models, JSON Schema.

Every topic starts with ``patrol/v1/``; every payload is a UTF-8 JSON object with ``"schema": 1``::

    patrol/v1/drones/{drone}/telemetry   Telemetry      QoS 0, not retained, rate-limited (5 Hz)
    patrol/v1/drones/{drone}/state       DroneState     QoS 1, RETAINED; also the MQTT last will (offline)
    patrol/v1/missions/{mission}/events  MissionEvent   QoS 1, in order per mission (``seq``)
    patrol/v1/incidents/{incident}       Incident       QoS 1, RETAINED

The models are the documented schema: consumers and tests validate against them, ``docs/mqtt.md`` is
checked against them, and :func:`json_schemas` exports them. Versioning policy (see docs/mqtt.md): adding
an optional field keeps ``v1``; renaming, removing or changing the meaning of a field moves every topic to
``patrol/v2/`` and ``"schema": 2``. Decoders therefore ignore unknown fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    WithJsonSchema,
)

from mission.errors import PatrolError
from mission.ports import TelemetrySample

SCHEMA_VERSION = 1
PREFIX = f"patrol/v{SCHEMA_VERSION}"
ALL_TOPICS = f"{PREFIX}/#"

# An id is one topic level: no separators, no wildcards, nothing a shell or URL would mangle.
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


class PayloadError(PatrolError):
    """A bus payload or topic does not match the documented schema."""


# --- topics --------------------------------------------------------------------------------------


def _level(value: str, what: str) -> str:
    if value == "+" or _ID.fullmatch(value):
        return value
    raise PayloadError(f"invalid {what} id for a topic level: {value!r}")


def telemetry_topic(drone: str) -> str:
    """``patrol/v1/drones/{drone}/telemetry``; pass ``"+"`` for a subscription filter."""
    return f"{PREFIX}/drones/{_level(drone, 'drone')}/telemetry"


def state_topic(drone: str) -> str:
    """``patrol/v1/drones/{drone}/state`` (retained)."""
    return f"{PREFIX}/drones/{_level(drone, 'drone')}/state"


def mission_events_topic(mission: str) -> str:
    """``patrol/v1/missions/{mission}/events``."""
    return f"{PREFIX}/missions/{_level(mission, 'mission')}/events"


def incident_topic(incident: str) -> str:
    """``patrol/v1/incidents/{incident}`` (retained)."""
    return f"{PREFIX}/incidents/{_level(incident, 'incident')}"


_TOPIC_KINDS = {
    re.compile(rf"^{PREFIX}/drones/([^/]+)/telemetry$"): "telemetry",
    re.compile(rf"^{PREFIX}/drones/([^/]+)/state$"): "state",
    re.compile(rf"^{PREFIX}/missions/([^/]+)/events$"): "mission_event",
    re.compile(rf"^{PREFIX}/incidents/([^/]+)$"): "incident",
}


def parse_topic(topic: str) -> tuple[str, str]:
    """``(kind, key)`` of a concrete v1 topic: kind is telemetry/state/mission_event/incident.

    >>> parse_topic("patrol/v1/drones/d1/state")
    ('state', 'd1')
    """
    for pattern, kind in _TOPIC_KINDS.items():
        if m := pattern.match(topic):
            return kind, m.group(1)
    raise PayloadError(f"not a patrol v1 topic: {topic!r}")


# --- time: ISO 8601, UTC, "Z" ------------------------------------------------------------------


def iso_utc(t: datetime) -> str:
    """``2026-05-01T14:03:07.250Z``: millisecond ISO 8601 in UTC with a ``Z``; naive times are refused.

    >>> iso_utc(datetime(2026, 5, 1, 14, 3, 7, 250000, tzinfo=UTC))
    '2026-05-01T14:03:07.250Z'
    """
    if t.tzinfo is None or t.utcoffset() is None:
        raise PayloadError(f"naive datetime {t!r}: bus times must be timezone-aware")
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _z_only(v: Any) -> Any:
    # Parsed here rather than by pydantic: strict mode refuses a str after a before-validator.
    if isinstance(v, str):
        if not v.endswith("Z"):
            raise ValueError("time must be ISO 8601 UTC ending in 'Z'")
        return datetime.fromisoformat(v)
    return v


def _aware_utc(v: datetime) -> datetime:
    if v.tzinfo is None or v.utcoffset() is None:
        raise ValueError("time must be timezone-aware UTC")
    return v.astimezone(UTC)


UtcTime = Annotated[
    datetime,
    BeforeValidator(_z_only),
    AfterValidator(_aware_utc),
    PlainSerializer(iso_utc, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": "Z$"}),
]


def _f(description: str, unit: str | None = None, **kw: Any) -> Any:
    """A field with its unit recorded in the JSON Schema (``x-unit``) for docs/mqtt.md."""
    extra = {"x-unit": unit} if unit else None
    return Field(description=description, json_schema_extra=extra, **kw)


class _Payload(BaseModel):
    # strict: no "true" for a bool nor "5" for a number; unknown fields are ignored (additive changes
    # stay v1, see the versioning policy).
    model_config = ConfigDict(
        frozen=True, strict=True, extra="ignore", json_schema_serialization_defaults_required=True
    )

    schema_: Literal[1] = Field(default=1, alias="schema", description="Payload schema version")

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()


# --- payloads ----------------------------------------------------------------------------------


class Telemetry(_Payload):
    """One rate-limited telemetry sample of one drone."""

    drone: str = _f("Drone id (same as in the topic)")
    mission: str | None = _f("Mission being flown, null when none")
    time: UtcTime = _f("When the sample was assembled", "ISO 8601 UTC")
    lat: float = _f("Latitude, WGS84", "deg", ge=-90, le=90)
    lon: float = _f("Longitude, WGS84", "deg", ge=-180, le=180)
    alt_amsl_m: float = _f("Altitude above mean sea level", "m")
    alt_rel_m: float = _f("Altitude above the take-off point", "m")
    heading_deg: float = _f("Heading, clockwise from true north", "deg", ge=0, le=360)
    ground_speed_mps: float = _f("Horizontal speed over ground", "m/s", ge=0)
    climb_rate_mps: float = _f("Vertical speed, up positive", "m/s")
    battery_pct: float = _f("Remaining battery", "%", ge=0, le=100)
    battery_v: float = _f("Battery voltage", "V", ge=0)
    mode: str = _f("Flight mode: HOLD, MISSION, RETURN_TO_LAUNCH, LAND, TAKEOFF, ...")
    armed: bool = _f("Motors armed")
    in_air: bool = _f("Airborne")
    landed_state: str = _f("ON_GROUND, TAKING_OFF, IN_AIR, LANDING or UNKNOWN")
    gps_fix: int = _f("MAVLink GPS_FIX_TYPE: 0-1 none, 2 2D, 3 3D, 4+ DGPS/RTK", ge=0)
    satellites: int = _f("Satellites used", ge=0)
    mission_item: int | None = _f("Current mission item, 0-based; null when no mission", ge=0)
    mission_count: int = _f("Items in the uploaded mission", ge=0)


Link = Literal["ok", "lost"]
GpsHealth = Literal["none", "2d", "3d", "unknown"]
BatteryHealth = Literal["ok", "low", "critical", "unknown"]


class DroneState(_Payload):
    """The retained health summary of one drone; ``status: offline`` is also the connection's last will."""

    drone: str = _f("Drone id (same as in the topic)")
    status: Literal["online", "offline"] = _f("offline: the service or its bus connection is gone")
    time: UtcTime | None = _f("When the state was published; null in the last will", "ISO 8601 UTC")
    link: Link | None = _f("Telemetry link: lost when no sample arrived for a few seconds")
    gps: GpsHealth = _f("GPS fix class derived from gps_fix")
    battery: BatteryHealth = _f("ok, low (< 25 %), critical (< 15 %)")
    battery_pct: int | None = _f("Remaining battery, whole percent", "%", ge=0, le=100)
    armed: bool | None = _f("Motors armed; null when unknown")
    in_air: bool | None = _f("Airborne; null when unknown")
    mode: str | None = _f("Flight mode; null when unknown")
    mission: str | None = _f("Mission being flown, null when none")


class MissionEvent(_Payload):
    """One event of a mission, numbered per mission so consumers can detect gaps and duplicates."""

    mission: str = _f("Mission id (same as in the topic)")
    seq: int = _f("Per-mission sequence number, from 0, +1 per event", ge=0)
    time: UtcTime = _f("When the event happened", "ISO 8601 UTC")
    kind: str = _f("transition, item_reached, status_text, command, incident, ...")
    drone: str | None = _f("Drone flying the mission, null when none yet", default=None)
    from_state: str | None = _f("State before a transition, else null", default=None)
    to_state: str | None = _f("State after a transition, else null", default=None)
    reason: str | None = _f("Why, in words, else null", default=None)
    data: dict[str, Any] = _f("Kind-specific details", default_factory=dict)


class Incident(_Payload):
    """Something a patrol found that an operator should see (room for the CAI integration)."""

    incident: str = _f("Incident id (same as in the topic)")
    time: UtcTime = _f("When it was detected", "ISO 8601 UTC")
    kind: str = _f("What was found, e.g. person, vehicle, fire, intrusion")
    severity: Literal["info", "warning", "critical"] = _f("How urgent")
    lat: float = _f("Latitude, WGS84", "deg", ge=-90, le=90)
    lon: float = _f("Longitude, WGS84", "deg", ge=-180, le=180)
    drone: str | None = _f("Drone that detected it", default=None)
    mission: str | None = _f("Mission during which it was detected", default=None)
    description: str = _f("Free text", default="")
    data: dict[str, Any] = _f("Kind-specific details (snapshot URL, confidence, ...)", default_factory=dict)


P = TypeVar("P", bound=_Payload)


@dataclass(frozen=True, kw_only=True)
class TopicSpec:
    """How one kind of message travels: the single source for the publisher and docs/mqtt.md."""

    kind: str
    pattern: str
    model: type[_Payload]
    qos: int
    retain: bool
    note: str


SPECS: dict[str, TopicSpec] = {
    s.kind: s
    for s in (
        TopicSpec(
            kind="telemetry",
            pattern=f"{PREFIX}/drones/{{drone}}/telemetry",
            model=Telemetry,
            qos=0,
            retain=False,
            note="at most 5 Hz per drone (configurable), newest sample at each slot; may drop while disconnected",
        ),
        TopicSpec(
            kind="state",
            pattern=f"{PREFIX}/drones/{{drone}}/state",
            model=DroneState,
            qos=1,
            retain=True,
            note="on change and at least every 10 s; `offline` as the last will and on shutdown",
        ),
        TopicSpec(
            kind="mission_event",
            pattern=f"{PREFIX}/missions/{{mission}}/events",
            model=MissionEvent,
            qos=1,
            retain=False,
            note="in order per mission, `seq` +1 per event; kept in the outbox while the broker is away",
        ),
        TopicSpec(
            kind="incident",
            pattern=f"{PREFIX}/incidents/{{incident}}",
            model=Incident,
            qos=1,
            retain=True,
            note="reserved for detections; the latest report of each incident stays retained",
        ),
    )
}
PAYLOADS: dict[str, type[_Payload]] = {kind: spec.model for kind, spec in SPECS.items()}


# --- encode / decode ---------------------------------------------------------------------------


def telemetry_from_sample(drone: str, sample: TelemetrySample, *, mission: str | None) -> Telemetry:
    s = sample
    return Telemetry(
        drone=drone,
        mission=mission,
        time=s.time,
        lat=s.lat,
        lon=s.lon,
        alt_amsl_m=s.alt_amsl_m,
        alt_rel_m=s.alt_rel_m,
        heading_deg=s.heading_deg % 360.0,
        ground_speed_mps=max(0.0, s.ground_speed_mps),
        climb_rate_mps=s.climb_rate_mps,
        battery_pct=min(100.0, max(0.0, s.battery_pct)),
        battery_v=max(0.0, s.battery_v),
        mode=s.mode,
        armed=s.armed,
        in_air=s.in_air,
        landed_state=s.landed_state,
        gps_fix=max(0, s.gps_fix),
        satellites=max(0, s.satellites),
        mission_item=s.mission_item,
        mission_count=s.mission_count,
    )


def gps_health(gps_fix: int) -> GpsHealth:
    return "none" if gps_fix <= 1 else "2d" if gps_fix == 2 else "3d"


def battery_health(pct: float, *, low_pct: float = 25.0, critical_pct: float = 15.0) -> BatteryHealth:
    return "critical" if pct < critical_pct else "low" if pct < low_pct else "ok"


def state_from_sample(
    drone: str, sample: TelemetrySample, *, mission: str | None, link: Link, time: datetime
) -> DroneState:
    """The health summary published retained on the state topic."""
    return DroneState(
        drone=drone,
        status="online",
        time=time,
        link=link,
        gps=gps_health(sample.gps_fix),
        battery=battery_health(sample.battery_pct),
        battery_pct=round(min(100.0, max(0.0, sample.battery_pct))),
        armed=sample.armed,
        in_air=sample.in_air,
        mode=sample.mode,
        mission=mission,
    )


def offline_state(drone: str, *, time: datetime | None = None) -> DroneState:
    """``status: offline`` with everything else unknown: the last will, and the goodbye on shutdown."""
    return DroneState(
        drone=drone,
        status="offline",
        time=time,
        link=None,
        gps="unknown",
        battery="unknown",
        battery_pct=None,
        armed=None,
        in_air=None,
        mode=None,
        mission=None,
    )


def decode(model: type[P], payload: bytes | str) -> P:
    """Validate a JSON payload against ``model``; :class:`PayloadError` lists every fault."""
    try:
        return model.model_validate_json(payload)
    except ValidationError as exc:
        raise PayloadError(f"invalid {model.__name__} payload: {exc}") from exc


def decode_message(topic: str, payload: bytes | str) -> _Payload:
    """Decode any v1 message by its topic, checking that the id in the payload matches the topic."""
    kind, key = parse_topic(topic)
    msg = decode(PAYLOADS[kind], payload)
    own = {"telemetry": "drone", "state": "drone", "mission_event": "mission", "incident": "incident"}[kind]
    if getattr(msg, own) != key:
        raise PayloadError(f"{own} {getattr(msg, own)!r} in the payload differs from {key!r} in {topic!r}")
    return msg


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema (draft 2020-12) of every payload, keyed by kind, as a consumer would validate it."""
    return {
        kind: model.model_json_schema(by_alias=True, mode="serialization") for kind, model in PAYLOADS.items()
    }
