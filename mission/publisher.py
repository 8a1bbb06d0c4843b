"""Telemetry publisher: the domain service that puts every drone's state on the bus (only the ``Bus`` port).

Producers (one vehicle-link task per drone, the mission state machine) never wait on the network::

    offer(drone, sample)  ──► per-drone latest slot ──┐   (latest-wins: one slot per drone, never a backlog)
    event(mission, kind)  ──► bounded FIFO queue ──────┼─► publishing task ─► Bus.publish
                                                      ┘
    telemetry  QoS 0, at most ``rate_hz`` per drone, the newest sample at each slot
    state      QoS 1 retained, when the health summary changes and at least every ``state_interval_s``
    events     QoS 1, in order per mission, numbered by ``seq``

On exit every drone seen is published ``offline`` (the MQTT last will only covers a connection that dies).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

from mission.errors import BusError, ConfigError
from mission.ports import Bus, TelemetrySample
from mission.topics import (
    SPECS,
    DroneState,
    MissionEvent,
    TopicSpec,
    mission_events_topic,
    offline_state,
    state_from_sample,
    state_topic,
    telemetry_from_sample,
    telemetry_topic,
)

log = logging.getLogger(__name__)
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LatestWins(Generic[K, V]):
    """Per-key rate limiter that keeps only the newest value (pure: the caller passes the time).

    A value offered before its key's next slot waits there, replaced by any newer one; slots are ``period_s``
    apart on a grid, so a steady stream comes out at exactly the rate, and a value after a quiet spell goes
    out at once.
    """

    def __init__(self, *, period_s: float) -> None:
        if period_s <= 0:
            raise ConfigError(f"rate limiter period must be positive, got {period_s}")
        self._period = period_s
        self._pending: dict[K, V] = {}
        self._slot: dict[K, float] = {}  # earliest time the key may send again

    def offer(self, key: K, value: V) -> None:
        self._pending[key] = value

    def due(self, now: float) -> list[tuple[K, V]]:
        """Pop the values whose slot has come, and book each key's next slot."""
        ready = [k for k in self._pending if self._slot.get(k, now) <= now + 1e-6]  # float sums of the period
        for k in ready:
            slot = self._slot.get(k, now)
            # On the grid if we are less than a period late; otherwise start a new grid from now.
            self._slot[k] = slot + self._period if now - slot < self._period else now + self._period
        return [(k, self._pending.pop(k)) for k in ready]

    def next_due(self) -> float | None:
        """When the earliest pending value may go (a time in the past means now), or None."""
        return min((self._slot.get(k, float("-inf")) for k in self._pending), default=None)


@dataclass(frozen=True, kw_only=True)
class PublisherConfig:
    rate_hz: float = 5.0
    state_interval_s: float = 10.0  # retained state is re-published at least this often
    link_timeout_s: float = 3.0  # no sample for this long: the state says link "lost"
    event_queue: int = 1_000
    put_timeout_s: float = 5.0  # how long event() waits for room in a full queue

    def __post_init__(self) -> None:
        if not 0 < self.rate_hz <= 100:
            raise ConfigError(f"telemetry rate must be in (0, 100] Hz, got {self.rate_hz}")
        if self.state_interval_s <= 0 or self.link_timeout_s <= 0 or self.event_queue < 1:
            raise ConfigError("state interval, link timeout and event queue must be positive")


@dataclass(kw_only=True)
class _Drone:
    sample: TelemetrySample
    mission: str | None
    seen: float  # monotonic time of the newest sample
    state: DroneState | None = None  # last published
    state_at: float = float("-inf")


@dataclass(kw_only=True)
class PublisherStats:
    telemetry: int = 0
    states: int = 0
    events: int = 0
    failed: int = 0  # Bus.publish raised (outbox full): the message is lost, and logged


class TelemetryPublisher:
    """``async with TelemetryPublisher(bus) as pub: pub.offer("d1", sample, mission="m1")``."""

    def __init__(
        self,
        bus: Bus,
        config: PublisherConfig = PublisherConfig(),
        *,
        clock: Callable[[], float] = time.monotonic,
        utcnow: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._bus = bus
        self._cfg = config
        self._clock = clock
        self._utcnow = utcnow
        self._limiter: LatestWins[str, tuple[TelemetrySample, str | None]] = LatestWins(
            period_s=1 / config.rate_hz
        )
        self._drones: dict[str, _Drone] = {}
        self._fresh: set[str] = set()  # drones offered a sample since the last wake-up
        self._sweep_s = min(1.0, config.link_timeout_s / 4)  # every drone's state looked at this often
        self._events: asyncio.Queue[MissionEvent] = asyncio.Queue(config.event_queue)
        self._seq: dict[str, int] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.stats = PublisherStats()

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run(), name="publisher.run")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        while not self._events.empty():  # events accepted before the exit still go out, in order
            await self._publish_event(self._events.get_nowait())
        for drone in list(self._drones):
            await self.offline(drone)

    # --- producers -----------------------------------------------------------------------------

    def offer(self, drone: str, sample: TelemetrySample, *, mission: str | None = None) -> None:
        """Hand over the newest sample of ``drone``; never blocks, replaces a sample not yet sent."""
        telemetry_topic(drone)  # validates the id now, in the producer, not later in the task
        now = self._clock()
        if d := self._drones.get(drone):
            d.sample, d.mission, d.seen = sample, mission, now
        else:
            self._drones[drone] = _Drone(sample=sample, mission=mission, seen=now)
        self._limiter.offer(drone, (sample, mission))
        self._fresh.add(drone)
        self._wake.set()

    async def event(
        self,
        mission: str,
        kind: str,
        *,
        drone: str | None = None,
        from_state: str | None = None,
        to_state: str | None = None,
        reason: str | None = None,
        data: dict[str, Any] | None = None,
        at: datetime | None = None,
        seq: int | None = None,
    ) -> int:
        """Queue a mission event (QoS 1, in order); returns its ``seq`` (per mission, from 0 unless given)."""
        number = self._seq.get(mission, 0) if seq is None else seq
        ev = MissionEvent(
            mission=mission,
            seq=number,
            time=at or self._utcnow(),
            kind=kind,
            drone=drone,
            from_state=from_state,
            to_state=to_state,
            reason=reason,
            data=data or {},
        )
        mission_events_topic(mission)  # validates the id
        try:
            async with asyncio.timeout(self._cfg.put_timeout_s):
                await self._events.put(ev)
        except TimeoutError as exc:
            raise BusError(f"mission event queue full for {self._cfg.put_timeout_s:g} s") from exc
        self._seq[mission] = number + 1
        self._wake.set()
        return number

    async def offline(self, drone: str) -> None:
        """Publish ``drone`` offline (retained) and forget it, e.g. when its link is closed on purpose."""
        self._drones.pop(drone, None)
        await self._publish(
            state_topic(drone), offline_state(drone, time=self._utcnow()).to_json(), SPECS["state"]
        )

    # --- the publishing task -------------------------------------------------------------------

    async def _run(self) -> None:
        # Each wake-up looks at the drones with a new sample only (building a state is not free, and with
        # many drones wake-ups come every few ms); a sweep over all of them every ``_sweep_s`` finds lost
        # links and states due for their periodic re-publication.
        next_sweep = self._clock()
        while True:
            self._wake.clear()
            while not self._events.empty():
                await self._publish_event(self._events.get_nowait())
            now = self._clock()
            for drone, (sample, mission) in self._limiter.due(now):
                payload = telemetry_from_sample(drone, sample, mission=mission).to_json()
                if await self._publish(telemetry_topic(drone), payload, SPECS["telemetry"]):
                    self.stats.telemetry += 1
            fresh, self._fresh = self._fresh, set()
            if now >= next_sweep:
                fresh, next_sweep = set(self._drones), now + self._sweep_s
            for drone in fresh:
                if d := self._drones.get(drone):
                    await self._maybe_publish_state(drone, d, now)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._sleep_s(self._clock(), next_sweep)):
                    await self._wake.wait()

    def _sleep_s(self, now: float, next_sweep: float) -> float:
        due = self._limiter.next_due()
        return max(0.0, min(next_sweep, next_sweep if due is None else due) - now)

    async def _maybe_publish_state(self, drone: str, d: _Drone, now: float) -> None:
        link = "ok" if now - d.seen < self._cfg.link_timeout_s else "lost"
        state = state_from_sample(drone, d.sample, mission=d.mission, link=link, time=self._utcnow())
        changed = d.state is None or state.model_copy(update={"time": None}) != d.state.model_copy(
            update={"time": None}
        )
        if not changed and now - d.state_at < self._cfg.state_interval_s:
            return
        published = await self._publish(state_topic(drone), state.to_json(), SPECS["state"])
        d.state_at = now  # also on failure, so a full outbox is retried at the interval, not in a busy loop
        if published:
            d.state = state
            self.stats.states += 1

    async def _publish_event(self, ev: MissionEvent) -> None:
        if await self._publish(mission_events_topic(ev.mission), ev.to_json(), SPECS["mission_event"]):
            self.stats.events += 1

    async def _publish(self, topic: str, payload: bytes, spec: TopicSpec) -> bool:
        try:
            await self._bus.publish(topic, payload, qos=spec.qos, retain=spec.retain)
        except BusError as exc:
            self.stats.failed += 1
            log.error("publish %s failed, message lost: %s", topic, exc)
            return False
        return True
