"""Ports: the small interfaces the domain needs from the outside world.

Adapters in ``telemetry/`` implement them (MAVSDK vehicle link, MQTT bus); tests and the
composition root pass them in. The domain never imports an adapter.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from geo.items import MissionItem


@dataclass(frozen=True, kw_only=True)
class TelemetrySample:
    """One snapshot of a vehicle's state, merged from the streams the autopilot sends."""

    time: datetime  # UTC, when the sample was assembled
    lat: float
    lon: float
    alt_amsl_m: float
    alt_rel_m: float
    heading_deg: float
    ground_speed_mps: float
    climb_rate_mps: float
    roll_deg: float
    pitch_deg: float
    battery_pct: float  # 0..100
    battery_v: float
    mode: str  # MAVSDK FlightMode name: HOLD, MISSION, RETURN_TO_LAUNCH, LAND, TAKEOFF, ...
    armed: bool
    in_air: bool
    landed_state: str  # ON_GROUND, TAKING_OFF, IN_AIR, LANDING, UNKNOWN
    gps_fix: int  # MAVLink GPS_FIX_TYPE: 0-1 none, 2 2D, 3 3D, ...
    satellites: int
    mission_item: int | None  # current mission item (0-based), None when no mission
    mission_count: int
    home_lat: float | None = None
    home_lon: float | None = None
    home_alt_amsl_m: float | None = None


@dataclass(frozen=True, kw_only=True)
class MissionProgress:
    current: int  # index of the item being flown (== total when finished)
    total: int


@dataclass(frozen=True, kw_only=True)
class StatusText:
    severity: str  # EMERGENCY .. DEBUG
    text: str


@runtime_checkable
class VehicleLink(Protocol):
    """One autopilot reached over MAVLink. Every call raises ``mission.errors.VehicleError`` subclasses."""

    @property
    def system_id(self) -> int: ...

    async def wait_ready(self, timeout_s: float) -> None:
        """Until the vehicle reports GPS fix, home position and is armable."""

    def telemetry(self) -> AsyncIterator[TelemetrySample]:
        """Merged telemetry samples; bounded, drops the oldest when the consumer is slow."""

    def mission_progress(self) -> AsyncIterator[MissionProgress]: ...

    def status_texts(self) -> AsyncIterator[StatusText]: ...

    async def latest(self) -> TelemetrySample | None: ...

    async def upload_mission(self, items: Sequence[MissionItem]) -> None:
        """Replace the mission (all or nothing on the vehicle); an empty list clears it."""

    async def download_mission(self) -> list[MissionItem]: ...

    async def upload_fence(self, items: Sequence[MissionItem]) -> None:
        """Geofence items (MAV_MISSION_TYPE_FENCE); an empty list clears the fence."""

    async def download_fence(self) -> list[MissionItem]: ...

    async def clear_mission(self) -> None: ...

    async def start_mission(self) -> None:
        """Switch to mission mode, confirmed from HEARTBEAT, retried (PX4 may revoke the first ACCEPTED)."""

    async def pause_mission(self) -> None: ...

    async def set_current_item(self, index: int) -> None: ...

    async def arm(self) -> None: ...

    async def disarm(self) -> None: ...

    async def takeoff(self, alt_rel_m: float) -> None: ...

    async def hold(self) -> None: ...

    async def goto(self, lat: float, lon: float, alt_amsl_m: float) -> None: ...

    async def return_to_launch(self) -> None: ...

    async def land(self) -> None: ...

    async def get_param(self, name: str) -> float | int: ...

    async def set_param(self, name: str, value: float | int) -> None: ...


class Bus(Protocol):
    """A publish/subscribe message bus (MQTT in production: ``telemetry.mqtt.MqttBus``).

    Topics and payloads are defined in ``mission.topics`` (documented in docs/mqtt.md).
    """

    async def publish(self, topic: str, payload: bytes, *, qos: int = 0, retain: bool = False) -> None:
        """Queue a message; never waits for the network.

        QoS 0 is best effort, latest wins per topic, dropped while disconnected. QoS >= 1 is kept in a bounded
        outbox until the broker acknowledges it, across reconnections, and delivered in publish order (at
        least once). Raises ``BusError`` when the outbox is full, the bus is closed or the topic is invalid.
        """

    def subscribe(self, topic_filter: str) -> AsyncIterator[tuple[str, bytes]]:
        """``(topic, payload)`` of the messages matching ``topic_filter``, from a bounded queue that drops the
        oldest when the consumer is slow; survives reconnections. The MQTT implementation also returns an
        async context manager (``async with bus.subscribe(f) as sub``) that subscribes on entry and
        unsubscribes on exit; used bare, it subscribes on the first ``__anext__``."""
