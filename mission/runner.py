"""``MissionRunner``: drives ONE mission through the state machine over a ``VehicleLink``.

    launch:   start -> preflight (health, geofence upload, checks) -> upload -> ready -> armed
              (persisted) -> arm + start mission (confirmed)
    follow:   telemetry -> track (1 Hz, flushed every few s) + progress (item, distance, coverage)
              -> ``progress.next_event`` -> executing / returning / landed / completed | interrupted
    commands: pause, resume, abort (RTL), land now, go to -- each persisted, then sent to the vehicle

Every transition is written with ``Store.record_transition`` BEFORE the runner acts on it, then
published as a mission event whose ``seq`` is the stored one minus one (bus events count from 0).
When a mission ends ``interrupted`` the event carries the area left to cover (the area minus the
flown track buffered by half the swath) and, through the ``follow_up`` callable, a plan for it.
Cancelling the runner (service shutdown) leaves the vehicle alone: it keeps flying its mission and
``run(reattach=True)`` picks it up again on the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from shapely.geometry.base import BaseGeometry

from geo.items import MavCmd
from mission.errors import BusError, InvalidTransitionError, PatrolError, VehicleError
from mission.flight import make_safe
from mission.model import Mission, PlanRecord, Progress, TrackPoint, item_from_json, utcnow
from mission.ports import TelemetrySample, VehicleLink
from mission.preflight import PreflightLimits, check_preflight, plan_stats
from mission.progress import Observation, covered_fraction, next_event, remaining_area, to_geojson
from mission.routes import ground_distance_m
from mission.states import FLYING_STATES, Event, MissionState, MissionStatus, Transition, transition
from mission.storage.repository import Store

__all__ = ["EventSink", "MissionRunner", "RunnerConfig"]

log = logging.getLogger(__name__)
S = MissionState
_GROUND = frozenset({S.SCHEDULED, S.PREFLIGHT, S.UPLOADING, S.READY})


class EventSink(Protocol):
    """Where mission events go (``TelemetryPublisher.event``)."""

    async def event(self, mission: str, kind: str, **kw: Any) -> int: ...


FollowUp = Callable[[BaseGeometry, TelemetrySample | None], Awaitable[dict[str, Any]]]


@dataclass(frozen=True, kw_only=True)
class RunnerConfig:
    ready_timeout_s: float = 60.0
    sample_timeout_s: float = 10.0  # after a restart: wait this long for the vehicle's first sample
    settle_s: float = 0.5  # ... and this long for every telemetry stream to report
    track_flush_s: float = 1.0  # what a kill -9 can lose of the track
    coverage_every_s: float = 4.0
    battery_failsafe_pct: float = 15.0
    disarm_after_landing_s: float = 5.0
    endurance_s: float = 1200.0  # energy estimate when the plan has none: est_time / endurance
    limits: PreflightLimits = field(default_factory=PreflightLimits)


class MissionRunner:
    SWEPT_STEP_M = 2.0

    def __init__(
        self,
        *,
        mission: Mission,
        plan: PlanRecord,
        link: VehicleLink,
        store: Store,
        events: EventSink | None = None,
        area: BaseGeometry | None = None,
        follow_up: FollowUp | None = None,
        config: RunnerConfig = RunnerConfig(),
    ) -> None:
        self.mission_id, self.drone_id = mission.id, mission.drone_id
        self._status = MissionStatus(state=mission.state, ending=mission.ending)
        self._plan, self._link, self._store, self._events = plan, link, store, events
        self._area, self._follow_up, self._cfg = area, follow_up, config
        self._items = plan.items
        self._return_index = next(
            (i for i, it in enumerate(self._items) if it.command == MavCmd.NAV_RETURN_TO_LAUNCH),
            len(self._items),
        )
        self._fence = [item_from_json(x) for x in plan.stats.get("fence", [])]
        self._swath = float(plan.stats.get("spacing_m", 20.0))
        self._lock = asyncio.Lock()
        self._done = asyncio.Event()
        self._changed = asyncio.Event()
        self._sample: TelemetrySample | None = None
        self._prev: TelemetrySample | None = None
        self._current: int | None = None
        self._battery_alarm = False
        self._track: list[TrackPoint] = []  # not yet written
        self._last_second: int | None = None
        self._swept: list[tuple[float, float]] = []  # (lon, lat) flown while executing
        self._distance = mission.progress.distance_m
        self._covered = mission.progress.covered_fraction
        self._landed_at: float | None = None

    # --- state -------------------------------------------------------------------------------

    @property
    def status(self) -> MissionStatus:
        return self._status

    @property
    def done(self) -> bool:
        return self._status.terminal

    def progress(self) -> Progress:
        return Progress(
            current_item=max(0, self._current or 0),
            total_items=len(self._items),
            distance_m=round(self._distance, 1),
            covered_fraction=self._covered,
        )

    async def _step(self, event: Event, reason: str = "", data: dict[str, Any] | None = None) -> Transition:
        """Persist the transition (then publish it); ``InvalidTransitionError`` leaves nothing written."""
        async with self._lock:
            t = transition(self._status, event, at=utcnow(), reason=reason, data=data)
            if t.to_state is S.INTERRUPTED:
                t = replace(t, data={**t.data, **await self._remaining()})
            elif t.after.terminal:
                await self._update_coverage()  # the final figure goes with the final state
            await self._flush_track()
            ev = await self._store.record_transition(self.mission_id, t, progress=self.progress())
            self._status = t.after
            log.info("mission %s: %s -> %s (%s) %s", self.mission_id, t.from_state, t.to_state, event, reason)
            if self._events is not None:
                try:
                    await self._events.event(
                        self.mission_id, "transition", drone=self.drone_id, from_state=t.from_state.value,
                        to_state=t.to_state.value, reason=reason or None, data=dict(t.data), at=t.at,
                        seq=ev.seq - 1,
                    )  # fmt: skip
                except BusError:
                    log.exception("mission %s: event %d not published", self.mission_id, ev.seq)
            if self._status.terminal:
                self._done.set()
            return t

    # --- the run -----------------------------------------------------------------------------

    async def run(self, *, reattach: bool = False) -> MissionStatus:
        """Until the mission is terminal (or the task is cancelled, leaving the vehicle as it is)."""
        subs = [self._link.telemetry(), self._link.mission_progress(), self._link.status_texts()]
        try:
            async with asyncio.TaskGroup() as tg:
                followers = [
                    tg.create_task(self._follow_samples(subs[0]), name=f"mission[{self.mission_id}].samples"),
                    tg.create_task(
                        self._follow_progress(subs[1]), name=f"mission[{self.mission_id}].progress"
                    ),
                    tg.create_task(self._follow_texts(subs[2]), name=f"mission[{self.mission_id}].texts"),
                ]
                try:
                    await self._until_done_or(self._reattach() if reattach else self._launch())
                    if not self.done:
                        await self._watch()
                finally:
                    for task in followers:
                        task.cancel()
        finally:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                async with asyncio.timeout(3.0):
                    await self._flush_track()
            for sub in subs:
                with contextlib.suppress(Exception):
                    await sub.aclose()  # type: ignore[attr-defined]
        return self._status

    async def _until_done_or(self, aw: Awaitable[None]) -> None:
        """Run the launch, but stop waiting on it as soon as the mission ends (an abort before arming)."""
        work = asyncio.ensure_future(aw)
        done = asyncio.ensure_future(self._done.wait())
        try:
            await asyncio.wait({work, done}, return_when=asyncio.FIRST_COMPLETED)
            if work.done():
                with contextlib.suppress(InvalidTransitionError):  # a command moved the mission meanwhile
                    work.result()
        finally:
            for f in (work, done):
                f.cancel()
            await asyncio.gather(work, done, return_exceptions=True)

    async def _launch(self) -> None:
        if self._status.state is S.SCHEDULED:
            await self._step(Event.START, "started")
        faults = await self._preflight()
        if faults:
            await self._step(Event.PREFLIGHT_FAILED, "; ".join(faults.values()), {"checks": faults})
            return
        await self._step(Event.PREFLIGHT_OK)
        try:
            await self._link.upload_mission(self._items)
        except VehicleError as exc:
            await self._step(Event.UPLOAD_FAILED, str(exc))
            return
        await self._step(Event.UPLOADED, f"{len(self._items)} items")
        await self._step(Event.ARMED, "arming")  # persisted first: a restart finds it armed or failed
        try:
            await self._link.arm()
            await self._link.start_mission()
        except Exception as exc:  # the vehicle may be armed now: whatever went wrong, leave it safe
            await make_safe(self._link)
            await self._step(Event.ERROR, str(exc) or type(exc).__name__)
            if not isinstance(exc, VehicleError):
                raise

    async def _preflight(self) -> dict[str, str]:
        try:
            await self._link.wait_ready(self._cfg.ready_timeout_s)
            if self._fence:
                await self._link.upload_fence(self._fence)
        except VehicleError as exc:
            return {"vehicle": str(exc)}
        sample = await self._link.latest()
        est = float(self._plan.stats.get("est_time_s", 0.0))
        energy = float(self._plan.stats.get("energy_pct", 100.0 * est / self._cfg.endurance_s))
        home_alt = sample.home_alt_amsl_m if sample else None
        stats = plan_stats(self._items, energy_pct=energy, home_alt_amsl_m=home_alt)
        return check_preflight(
            sample, stats, now=utcnow(), geofence_uploaded=bool(self._fence), limits=self._cfg.limits
        )

    async def _reattach(self) -> None:
        """After a restart: read where the vehicle is in its mission, record it, and carry on."""
        sample = await self._first_sample()
        items_on_vehicle = await self._mission_on_vehicle(sample)
        on_vehicle = self._current
        stored = await self._store.track(self.mission_id)
        if self._status.state in FLYING_STATES | {S.LANDED}:
            self._swept = [(p.lon, p.lat) for p in stored]
        data = {
            "vehicle_item": on_vehicle,
            "vehicle_items": items_on_vehicle,
            "last_track_point": stored[-1].t.isoformat() if stored else None,
        }
        await self._step(Event.SERVICE_RESTART, "service restarted: re-attached", data)
        if self._status.state is S.SCHEDULED:  # caught before arming: run preflight again
            await self._launch()

    async def _mission_on_vehicle(self, sample: TelemetrySample | None) -> int | None:
        """How many items the vehicle holds; sets the current item. A fresh link knows the item count
        only after a download (MAVSDK reports no progress before), so download when it is not known."""
        count = sample.mission_count if sample is not None else 0
        if count != len(self._items):
            try:
                count = len(await self._link.download_mission())
            except VehicleError as exc:
                log.warning("mission %s: cannot read the vehicle's mission: %s", self.mission_id, exc)
                return None
            if count != len(self._items):
                log.warning(
                    "mission %s: the vehicle holds %d items, the plan %d",
                    self.mission_id,
                    count,
                    len(self._items),
                )
                return count
            with contextlib.suppress(TimeoutError):  # the progress stream now knows the total
                async with asyncio.timeout(self._cfg.settle_s * 2):
                    while self._current is None:
                        self._changed.clear()
                        await self._changed.wait()
        elif sample is not None and sample.mission_item is not None:
            self._current = max(self._current or 0, sample.mission_item)
        return count

    async def _first_sample(self) -> TelemetrySample | None:
        """A sample to trust after a restart: a fresh link reports defaults (disarmed, on the ground)
        until each stream has spoken, so wait for the landed state and then let the rest settle."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._cfg.sample_timeout_s):
                while self._sample is None or self._sample.landed_state == "UNKNOWN":
                    self._changed.clear()
                    await self._changed.wait()
                await asyncio.sleep(self._cfg.settle_s)
        return self._sample or await self._link.latest()

    async def _watch(self) -> None:
        """Apply what the telemetry implies until the mission ends; flush track and progress as it goes."""
        loop = asyncio.get_running_loop()
        next_flush = next_cover = loop.time()
        while not self.done:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.5):
                    await self._changed.wait()
            self._changed.clear()
            if (s := self._sample) is not None:
                await self._observe(s)
                await self._disarm_if_stuck(s)
            now = loop.time()
            if now >= next_cover:
                next_cover = now + self._cfg.coverage_every_s
                await self._update_coverage()
            if now >= next_flush and not self.done:
                next_flush = now + self._cfg.track_flush_s
                try:
                    await self._flush_track()
                    await self._store.update_progress(self.mission_id, self.progress())
                except PatrolError as exc:  # a database hiccup: keep following, the points are kept
                    log.warning("mission %s: track/progress not saved yet: %s", self.mission_id, exc)

    async def _observe(self, s: TelemetrySample) -> None:
        for _ in range(6):  # at most the length of the longest chain
            obs = Observation(
                sample=s,
                current_item=self._current,
                return_index=self._return_index,
                battery_alarm=self._battery_alarm,
                battery_failsafe_pct=self._cfg.battery_failsafe_pct,
            )
            found = next_event(self._status, obs)
            if found is None:
                return
            event, reason = found
            await self._step(event, reason)
            if event is Event.MISSION_FINISHED and self._return_index >= len(self._items):
                await self._act(self._link.return_to_launch(), "return after the last item")

    async def _disarm_if_stuck(self, s: TelemetrySample) -> None:
        # PX4 disarms ~2 s after landing by itself; do it for a vehicle that doesn't.
        if self._status.state is not S.LANDED or not s.armed:
            self._landed_at = None
            return
        now = time.monotonic()
        self._landed_at = self._landed_at or now
        if now - self._landed_at > self._cfg.disarm_after_landing_s:
            self._landed_at = now
            await self._act(self._link.disarm(), "disarm after landing")

    async def _act(self, aw: Awaitable[None], what: str) -> None:
        try:
            await aw
        except VehicleError as exc:
            log.warning("mission %s: %s failed: %s", self.mission_id, what, exc)

    # --- followers (never block on I/O) ------------------------------------------------------

    async def _follow_samples(self, samples: AsyncIterator[TelemetrySample]) -> None:
        async for s in samples:
            if s.mission_item is not None and s.mission_count == len(self._items):
                self._current = max(self._current or 0, s.mission_item)
            if s.armed and self._prev is not None:
                self._distance += ground_distance_m(self._prev.lat, self._prev.lon, s.lat, s.lon)
            self._prev = s if s.armed else None
            self._record(s)
            self._sample = s
            self._changed.set()

    def _record(self, s: TelemetrySample) -> None:
        if not (s.armed or s.in_air) or self._status.state not in FLYING_STATES | {S.LANDED}:
            return
        if self._status.state is S.EXECUTING:  # coverage from every ~2 m of the path, not the 1 Hz track
            last = self._swept[-1] if self._swept else None
            if last is None or ground_distance_m(last[1], last[0], s.lat, s.lon) >= self.SWEPT_STEP_M:
                self._swept.append((s.lon, s.lat))
        second = int(s.time.timestamp())
        if second != self._last_second:
            self._last_second = second
            self._track.append(TrackPoint(t=s.time, lat=s.lat, lon=s.lon, alt=s.alt_amsl_m))

    async def _follow_progress(self, progress: AsyncIterator[Any]) -> None:
        async for p in progress:
            if p.total == len(self._items):
                self._current = max(self._current or 0, p.current)
                self._changed.set()

    async def _follow_texts(self, texts: AsyncIterator[Any]) -> None:
        async for t in texts:
            text = t.text.lower()
            if ("critical battery" in text or "emergency battery" in text) and not self._status.terminal:
                self._battery_alarm = True
                self._changed.set()

    # --- track, coverage, remaining area -----------------------------------------------------

    async def _flush_track(self) -> None:
        points, self._track = self._track, []
        if points:
            try:
                await self._store.add_track_points(self.mission_id, points)
            except PatrolError:
                self._track = points + self._track  # try again at the next flush
                raise

    async def _update_coverage(self) -> None:
        if self._area is not None and self._swept:
            swept = list(self._swept)
            self._covered = await asyncio.to_thread(covered_fraction, self._area, swept, self._swath)

    async def _remaining(self) -> dict[str, Any]:
        """The interrupted mission's leftover: area, covered share and (through ``follow_up``) a plan."""
        if self._area is None:
            return {}
        swept = list(self._swept)
        self._covered = await asyncio.to_thread(covered_fraction, self._area, swept, self._swath)
        left = await asyncio.to_thread(remaining_area, self._area, swept, self._swath)
        data: dict[str, Any] = {"covered_fraction": self._covered, "remaining_area": to_geojson(left)}
        if self._follow_up is not None and not left.is_empty:
            try:
                data |= await self._follow_up(left, self._sample)
            except PatrolError as exc:
                data["follow_up_error"] = str(exc)
        return data

    # --- pilot commands ----------------------------------------------------------------------

    async def pause(self, reason: str = "pilot") -> None:
        await self._step(Event.PAUSE, reason)
        await self._link.pause_mission()

    async def resume(self, reason: str = "pilot") -> None:
        await self._step(Event.RESUME, reason)
        await self._link.start_mission()

    async def abort(self, reason: str = "pilot") -> None:
        await self._step(Event.ABORT, reason)
        if self._status.state is S.RETURNING:
            try:
                await self._link.return_to_launch()
            except VehicleError:
                log.warning("mission %s: return refused, landing where it is", self.mission_id)
                await self._link.land()

    async def land(self, reason: str = "pilot") -> None:
        await self._step(Event.LAND_NOW, reason)
        await self._link.land()

    async def goto(self, lat: float, lon: float, alt_rel_m: float, reason: str = "pilot") -> None:
        """Leave the mission (paused) and fly to a point; ``resume`` goes back to the mission."""
        s = self._sample or await self._link.latest()
        if s is None or s.home_alt_amsl_m is None:
            raise VehicleError(f"mission {self.mission_id}: no home altitude to fly to a point from")
        if self._status.state is S.EXECUTING:
            await self._step(Event.PAUSE, f"{reason}: go to {lat:.6f},{lon:.6f}")
        elif self._status.state is not S.PAUSED:
            raise InvalidTransitionError(self._status.state.value, "goto")
        await self._link.goto(lat, lon, s.home_alt_amsl_m + alt_rel_m)
