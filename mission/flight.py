"""One flight of a route, from upload to landed and disarmed, through the ``VehicleLink`` port only.

``fly_route`` uploads, arms, starts the mission, follows it and waits for the return and landing.
Whatever goes wrong after arming, it leaves the vehicle safe before re-raising: returning (or
landing) if it is in the air, and disarmed once it is on the ground. ``FlightRecorder`` is the pure
part: it folds telemetry samples and mission progress into a ``FlightSummary``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from geo.items import MavCmd, MissionItem
from mission.errors import VehicleError, VehicleTimeoutError
from mission.ports import MissionProgress, TelemetrySample, VehicleLink
from mission.routes import ground_distance_m

log = logging.getLogger(__name__)

__all__ = ["FlightProgress", "FlightRecorder", "FlightSummary", "FlightTimeouts", "fly_route"]


@dataclass(frozen=True, kw_only=True)
class FlightTimeouts:
    ready_s: float = 60.0  # health: GPS, home, armable
    flight_s: float = 1800.0  # from arming to landed and disarmed
    safe_landing_s: float = 300.0  # after a failure, for the return / landing before giving up
    disarm_after_landing_s: float = 5.0  # PX4 disarms itself ~2 s after landing; we do it after this


@dataclass(frozen=True, kw_only=True)
class FlightProgress:
    """What a progress display needs, after every sample."""

    waypoints_reached: int
    waypoints_total: int
    distance_m: float
    battery_pct: float
    alt_rel_m: float
    mode: str


@dataclass(frozen=True, kw_only=True)
class FlightSummary:
    completed: bool  # every waypoint reached, landed and disarmed
    duration_s: float  # arming to disarm, wall clock
    distance_m: float  # horizontal, flown while armed
    max_alt_rel_m: float
    battery_start_pct: float
    battery_end_pct: float
    waypoints_reached: int
    waypoints_total: int
    landed_from_home_m: float | None  # from the home set at arming
    home: tuple[float, float] | None  # lat, lon
    track: tuple[tuple[float, float, float], ...] = field(repr=False)  # lon, lat, alt_rel_m

    @property
    def battery_used_pct(self) -> float:
        return self.battery_start_pct - self.battery_end_pct

    def track_geojson(self) -> dict[str, Any]:
        return {"type": "LineString", "coordinates": [list(p) for p in self.track]}

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["battery_used_pct"] = self.battery_used_pct
        d["track"] = self.track_geojson()
        d["home"] = list(self.home) if self.home else None
        return {k: _json_number(v) for k, v in d.items()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)


def _json_number(v: Any) -> Any:
    return None if isinstance(v, float) and not math.isfinite(v) else v


class FlightRecorder:
    """Folds samples and mission progress into the running figures of one flight. Pure, no I/O."""

    TRACK_STEP_M = 2.0  # keep a track point every ~2 m of travel

    def __init__(self, items: Sequence[MissionItem]) -> None:
        self._total_items = len(items)
        self._waypoint_seqs = [i for i, it in enumerate(items) if it.command == MavCmd.NAV_WAYPOINT]
        self._max_seq = -1
        self._finished = False
        self._prev: TelemetrySample | None = None
        self._first_armed: TelemetrySample | None = None
        self._last_armed: TelemetrySample | None = None
        self.last: TelemetrySample | None = None
        self.distance_m = 0.0
        self.max_alt_rel_m = 0.0
        self.airborne = False
        self._home: tuple[float, float] | None = None
        self._track: list[tuple[float, float, float]] = []

    @property
    def waypoints_reached(self) -> int:
        if self._finished:
            return len(self._waypoint_seqs)
        return sum(1 for s in self._waypoint_seqs if s < self._max_seq)

    @property
    def landed_and_disarmed(self) -> bool:
        s = self.last
        return self.airborne and s is not None and not s.armed and not s.in_air

    def add_progress(self, p: MissionProgress) -> None:
        if p.total != self._total_items:
            return  # a stale report about the previous mission
        self._max_seq = max(self._max_seq, p.current)
        self._finished = self._finished or p.current >= p.total

    def add_sample(self, s: TelemetrySample) -> None:
        self.last = s
        if s.mission_item is not None and s.armed:
            self.add_progress(MissionProgress(current=s.mission_item, total=s.mission_count))
        if not s.armed:
            self._prev = None
            return
        self._first_armed = self._first_armed or s
        self._last_armed = s
        self.airborne = self.airborne or s.in_air
        if s.home_lat is not None and s.home_lon is not None:
            self._home = (s.home_lat, s.home_lon)  # home as (re)set when arming
        if self._prev is not None:
            self.distance_m += ground_distance_m(self._prev.lat, self._prev.lon, s.lat, s.lon)
        self._prev = s
        self.max_alt_rel_m = max(self.max_alt_rel_m, s.alt_rel_m)
        self._add_track_point(s)

    def _add_track_point(self, s: TelemetrySample) -> None:
        point = (round(s.lon, 7), round(s.lat, 7), round(s.alt_rel_m, 1))
        if self._track:
            lon, lat, alt = self._track[-1]
            if ground_distance_m(lat, lon, s.lat, s.lon) < self.TRACK_STEP_M and abs(alt - s.alt_rel_m) < 1.0:
                return
        self._track.append(point)

    def progress(self) -> FlightProgress:
        s = self.last
        return FlightProgress(
            waypoints_reached=self.waypoints_reached,
            waypoints_total=len(self._waypoint_seqs),
            distance_m=self.distance_m,
            battery_pct=s.battery_pct if s else math.nan,
            alt_rel_m=s.alt_rel_m if s else 0.0,
            mode=s.mode if s else "UNKNOWN",
        )

    def summary(self) -> FlightSummary:
        first, last = self._first_armed, self.last
        landed_from_home = None
        if last is not None and self._home is not None:
            landed_from_home = ground_distance_m(*self._home, last.lat, last.lon)
        end = last if self.landed_and_disarmed else self._last_armed
        track = [*self._track]
        if last is not None and self.airborne:
            track.append((round(last.lon, 7), round(last.lat, 7), round(last.alt_rel_m, 1)))
        return FlightSummary(
            completed=self.landed_and_disarmed and self.waypoints_reached == len(self._waypoint_seqs),
            duration_s=(end.time - first.time).total_seconds() if first and end else 0.0,
            distance_m=round(self.distance_m, 1),
            max_alt_rel_m=round(self.max_alt_rel_m, 1),
            battery_start_pct=first.battery_pct if first else math.nan,
            battery_end_pct=last.battery_pct if last else math.nan,
            waypoints_reached=self.waypoints_reached,
            waypoints_total=len(self._waypoint_seqs),
            landed_from_home_m=None if landed_from_home is None else round(landed_from_home, 2),
            home=self._home,
            track=tuple(track),
        )


async def fly_route(
    link: VehicleLink,
    items: Sequence[MissionItem],
    *,
    progress_cb: Callable[[FlightProgress], None] | None = None,
    timeouts: FlightTimeouts = FlightTimeouts(),
) -> FlightSummary:
    """Fly ``items`` (a complete mission ending in a return): upload, arm, start, follow, land.

    Returns the summary once the vehicle is landed and disarmed (``completed`` says whether every
    waypoint was reached). Raises ``VehicleError`` on failure, after making the vehicle safe.
    """
    recorder = FlightRecorder(items)
    await link.wait_ready(timeouts.ready_s)
    await link.upload_mission(items)
    samples, progress = link.telemetry(), link.mission_progress()
    landed = asyncio.Event()

    async def follow_samples() -> None:
        async for s in samples:
            recorder.add_sample(s)
            if progress_cb is not None:
                progress_cb(recorder.progress())
            if recorder.landed_and_disarmed:
                landed.set()

    async def follow_progress() -> None:
        async for p in progress:
            recorder.add_progress(p)

    # An exception raised in a TaskGroup's body comes out wrapped in an ExceptionGroup: keep ours
    # aside and raise it after the group, so callers can catch VehicleError.
    failure: Exception | None = None
    async with asyncio.TaskGroup() as tg:
        followers = [
            tg.create_task(follow_samples(), name="flight.samples"),
            tg.create_task(follow_progress(), name="flight.progress"),
        ]
        try:
            await link.arm()
            await link.start_mission()
            await _wait_landed(link, recorder, landed, timeouts)
        except BaseException as exc:
            # Even an arm that timed out may have armed: always leave the vehicle safe.
            await asyncio.shield(make_safe(link, timeouts))
            if not isinstance(exc, Exception):
                raise  # cancellation: the group handles it
            failure = exc
        finally:
            for task in followers:
                task.cancel()
    if failure is not None:
        raise failure
    return recorder.summary()


async def _wait_landed(
    link: VehicleLink, recorder: FlightRecorder, landed: asyncio.Event, timeouts: FlightTimeouts
) -> None:
    """Until landed and disarmed; disarms if the vehicle sits landed and armed for too long."""
    try:
        async with asyncio.timeout(timeouts.flight_s):
            while not landed.is_set():
                s = recorder.last
                if recorder.airborne and s is not None and s.armed and s.landed_state == "ON_GROUND":
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(landed.wait(), timeouts.disarm_after_landing_s)
                    if not landed.is_set():
                        await link.disarm()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(landed.wait(), 0.5)
    except TimeoutError as exc:
        raise VehicleTimeoutError("fly the route and land", timeouts.flight_s) from exc


async def make_safe(link: VehicleLink, timeouts: FlightTimeouts = FlightTimeouts()) -> None:
    """Never leave the vehicle armed on the ground, nor flying a mission nobody follows.

    In the air: return to launch (or land if that is refused) and wait for the landing; on the
    ground and armed: disarm. Errors here are logged, not raised: the caller re-raises its own.
    """
    try:
        s = await link.latest()
        if s is not None and (s.in_air or s.landed_state not in ("ON_GROUND", "UNKNOWN")):
            try:
                await link.return_to_launch()
            except VehicleError:
                log.warning("return to launch refused, landing where it is")
                await link.land()
            await _wait_on_ground(link, timeouts.safe_landing_s)
        # On the ground now. Disarm even if telemetry says disarmed: the armed flag comes with a
        # 1 Hz HEARTBEAT and may be stale, and PX4 accepts a disarm on the ground in any case.
        await link.disarm()
    except (VehicleError, TimeoutError):
        log.exception("could not make vehicle %s safe", link.system_id)


async def _wait_on_ground(link: VehicleLink, timeout_s: float) -> None:
    async with asyncio.timeout(timeout_s):
        async for s in link.telemetry():
            if not s.in_air and s.landed_state == "ON_GROUND":
                return
