"""The fleet: drones and docks, one vehicle link per drone kept alive, and a typed health state for each.

The composition root passes a ``LinkProvider`` (``telemetry.mavsdk_link.MavsdkHub`` satisfies it); the
domain sees only the ``VehicleLink`` port. Each drone gets one named task in the service's task group::

    fleet[d1].link:  open the connection -> find the autopilot (auto-discover its system id if none given)
                     -> follow its telemetry forever: health + publisher.offer(...)
                     on failure: sleep backoff (0.5 s doubling to reconnect_max_s, with jitter) and retry

MAVSDK keeps a found system across link outages (it reappears when heartbeats return), so the link
object lives as long as the service; ``link_up`` comes from the age of the newest sample.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Protocol

from mission.errors import ConflictError, NotFoundError, VehicleError, VehicleNotFoundError
from mission.model import Dock, Drone
from mission.ports import TelemetrySample, VehicleLink
from mission.publisher import TelemetryPublisher
from mission.schedule import DroneReadiness

__all__ = ["DroneHealth", "Fleet", "FleetConfig", "LinkProvider", "health_of"]

log = logging.getLogger(__name__)


class LinkProvider(Protocol):
    """Where vehicle links come from (``MavsdkHub``): connections, the systems seen on them, a link per system."""

    async def add_connection(self, url: str, timeout_s: float = 5.0) -> None: ...

    async def system_ids(self) -> list[int]: ...

    def link(
        self, sysid: int | None = None, *, timeout_s: float = 15.0, telemetry_rate_hz: float | None = None
    ) -> AbstractAsyncContextManager[VehicleLink]: ...


@dataclass(frozen=True, kw_only=True)
class FleetConfig:
    link_timeout_s: float = 3.0  # no sample for this long: the link is down
    find_timeout_s: float = 10.0  # one attempt at finding the autopilot
    reconnect_initial_s: float = 0.5
    reconnect_max_s: float = 10.0
    min_battery_pct: float = 30.0  # ready for a mission only above this
    publish_hz: float = 5.0  # the publisher's telemetry rate: samples are handed over at about this rate


@dataclass(frozen=True, kw_only=True)
class DroneHealth:
    """What the service knows about one drone right now (pure value, built by ``health_of``)."""

    drone_id: str
    system_id: int | None
    link_up: bool
    link_age_s: float | None  # seconds since the newest sample; None before the first one
    gps_fix: int = 0
    satellites: int = 0
    battery_pct: float = math.nan
    armed: bool = False
    in_air: bool = False
    mode: str = "UNKNOWN"
    home_set: bool = False
    mission_id: str | None = None  # the mission it is flying (or about to)
    ready: bool = False  # cleared to take a new mission
    not_ready: tuple[str, ...] = ()  # why not, in words


def health_of(
    drone_id: str,
    sample: TelemetrySample | None,
    *,
    age_s: float | None,
    system_id: int | None,
    mission_id: str | None,
    config: FleetConfig,
) -> DroneHealth:
    """The health summary of one drone from its newest sample (pure)."""
    why: list[str] = []
    link_up = sample is not None and age_s is not None and age_s < config.link_timeout_s
    if not link_up:
        why.append("no telemetry" if sample is None else f"link down ({age_s:.0f} s)")
    if sample is None:
        return DroneHealth(
            drone_id=drone_id, system_id=system_id, link_up=False, link_age_s=age_s,
            mission_id=mission_id, not_ready=tuple(why),
        )  # fmt: skip
    if sample.gps_fix < 3:
        why.append(f"GPS fix {sample.gps_fix}")
    if sample.home_lat is None:
        why.append("no home position")
    if not sample.battery_pct >= config.min_battery_pct:  # NaN (not reported yet) is not ready either
        why.append(f"battery {sample.battery_pct:.0f} %")
    if sample.armed or sample.in_air:
        why.append("armed or in the air")
    if mission_id is not None:
        why.append(f"on mission {mission_id}")
    return DroneHealth(
        drone_id=drone_id,
        system_id=system_id,
        link_up=link_up,
        link_age_s=age_s,
        gps_fix=sample.gps_fix,
        satellites=sample.satellites,
        battery_pct=sample.battery_pct,
        armed=sample.armed,
        in_air=sample.in_air,
        mode=sample.mode,
        home_set=sample.home_lat is not None,
        mission_id=mission_id,
        ready=not why,
        not_ready=tuple(why),
    )


@dataclass(kw_only=True)
class _Entry:
    drone: Drone
    discover: bool  # find the system id on the connection instead of trusting drone.system_id
    link: VehicleLink | None = None
    linked: asyncio.Event = field(default_factory=asyncio.Event)
    sample: TelemetrySample | None = None
    seen: float | None = None  # monotonic time of the newest sample
    system_id: int | None = None
    mission_id: str | None = None
    task: asyncio.Task[None] | None = None


class Fleet:
    """Drones, docks and their links. Drone tasks are created in the task group given by the root."""

    def __init__(
        self,
        provider: LinkProvider,
        *,
        tg: asyncio.TaskGroup,
        publisher: TelemetryPublisher | None = None,
        config: FleetConfig = FleetConfig(),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._provider = provider
        self._tg = tg
        self._publisher = publisher
        self._cfg = config
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._docks: dict[str, Dock] = {}
        self._connections: dict[str, asyncio.Lock] = {}
        self._opened: set[str] = set()

    # --- registry ------------------------------------------------------------------------------

    def add_dock(self, dock: Dock) -> None:
        self._docks[dock.id] = dock

    @property
    def docks(self) -> dict[str, Dock]:
        return dict(self._docks)

    def add(self, drone: Drone, *, discover: bool = False) -> None:
        """Start following ``drone`` (idempotent for the same drone); ``ConflictError`` for a clashing one."""
        if old := self._entries.get(drone.id):
            if old.drone != drone:
                raise ConflictError(f"drone {drone.id} is already in the fleet with other settings")
            return
        entry = _Entry(drone=drone, discover=discover)
        self._entries[drone.id] = entry
        entry.task = self._tg.create_task(self._keep_linked(entry), name=f"fleet[{drone.id}].link")

    def drones(self) -> list[Drone]:
        return [e.drone for e in self._entries.values()]

    def _entry(self, drone_id: str) -> _Entry:
        try:
            return self._entries[drone_id]
        except KeyError:
            raise NotFoundError("drone", drone_id) from None

    # --- links ---------------------------------------------------------------------------------

    def link(self, drone_id: str) -> VehicleLink:
        """The drone's link now; ``VehicleNotFoundError`` if it was never found."""
        e = self._entry(drone_id)
        if e.link is None:
            raise VehicleNotFoundError(f"drone {drone_id}: no vehicle found on {e.drone.connection_url} yet")
        return e.link

    async def wait_link(self, drone_id: str, timeout_s: float) -> VehicleLink:
        e = self._entry(drone_id)
        try:
            async with asyncio.timeout(timeout_s):
                await e.linked.wait()
        except TimeoutError:
            raise VehicleNotFoundError(f"drone {drone_id}: no vehicle within {timeout_s:g} s") from None
        assert e.link is not None
        return e.link

    async def _keep_linked(self, e: _Entry) -> None:
        attempt = 0
        while True:
            try:
                await self._open(e.drone.connection_url)
                sysid = await self._discover(e) if e.discover else e.drone.system_id
                link_cm = self._provider.link(
                    sysid, timeout_s=self._cfg.find_timeout_s, telemetry_rate_hz=self._cfg.publish_hz
                )  # the vehicle streams what publishing at publish_hz needs, not its full rates
                async with link_cm as link:
                    e.link, e.system_id, attempt = link, link.system_id, 0
                    e.linked.set()
                    log.info("drone %s: linked to system %d", e.drone.id, link.system_id)
                    try:
                        await self._follow(e, link)
                    finally:
                        e.link = None
                        e.linked.clear()
            except VehicleError as exc:
                level = logging.WARNING if attempt in (0, 5) else logging.DEBUG
                log.log(level, "drone %s: %s; retrying", e.drone.id, exc)
            delay = min(self._cfg.reconnect_max_s, self._cfg.reconnect_initial_s * 2 ** min(attempt, 16))
            attempt += 1
            await asyncio.sleep(delay * (1 + 0.25 * random.random()))

    async def _open(self, url: str) -> None:
        lock = self._connections.setdefault(url, asyncio.Lock())
        async with lock:  # two drones on one connection open it once
            if url not in self._opened:
                await self._provider.add_connection(url)
                self._opened.add(url)

    async def _discover(self, e: _Entry) -> int:
        """A system id seen on the hub that no other drone of the fleet claims."""
        claimed = {
            x.system_id or x.drone.system_id for x in self._entries.values() if x is not e and not x.discover
        }
        claimed |= {x.system_id for x in self._entries.values() if x is not e and x.system_id}
        deadline = self._clock() + self._cfg.find_timeout_s
        while True:
            free = sorted(set(await self._provider.system_ids()) - claimed)
            if free:
                return free[0]
            if self._clock() >= deadline:
                raise VehicleNotFoundError(f"no new autopilot on {e.drone.connection_url}")
            await asyncio.sleep(0.2)

    async def _follow(self, e: _Entry, link: VehicleLink) -> None:
        """Keep the newest sample; hand the publisher about one per slot of its rate, as it arrives.

        Offering every sample (10-20 Hz a drone) would leave an older one waiting when the 5 Hz slot comes
        (the subscriber would see it up to one input period late); offering only those at least
        ``0.8 / publish_hz`` apart keeps the offers near the slots. The link delivers the samples of all
        drones in one batch per loop wake-up, so the publisher still wakes once per batch.
        """
        min_gap = 0.8 / self._cfg.publish_hz  # a little faster than the rate, for jitter
        offered = -math.inf
        samples = link.telemetry()
        try:
            async for s in samples:
                e.sample, e.seen = s, self._clock()
                if self._publisher is not None and e.seen - offered >= min_gap:
                    offered = e.seen
                    self._publisher.offer(e.drone.id, s, mission=e.mission_id)
        finally:
            with contextlib.suppress(Exception):
                await samples.aclose()  # type: ignore[attr-defined]

    # --- health and assignment -----------------------------------------------------------------

    def health(self, drone_id: str) -> DroneHealth:
        e = self._entry(drone_id)
        age = None if e.seen is None else self._clock() - e.seen
        return health_of(
            drone_id, e.sample, age_s=age, system_id=e.system_id, mission_id=e.mission_id, config=self._cfg
        )

    def healths(self) -> list[DroneHealth]:
        return [self.health(d) for d in self._entries]

    def readiness(self) -> list[DroneReadiness]:
        """What ``schedule.choose_drone`` needs."""
        out = []
        for h in self.healths():
            dock = self._entries[h.drone_id].drone.dock_id
            battery = h.battery_pct if math.isfinite(h.battery_pct) else 0.0
            out.append(DroneReadiness(drone_id=h.drone_id, dock_id=dock, ready=h.ready, battery_pct=battery))
        return out

    def assign(self, drone_id: str, mission_id: str) -> None:
        """Book the drone for a mission; ``ConflictError`` if it already flies another."""
        e = self._entry(drone_id)
        if e.mission_id not in (None, mission_id):
            raise ConflictError(f"drone {drone_id} is busy with mission {e.mission_id}")
        e.mission_id = mission_id

    def release(self, drone_id: str, mission_id: str) -> None:
        e = self._entries.get(drone_id)
        if e is not None and e.mission_id == mission_id:
            e.mission_id = None

    def latest(self, drone_id: str) -> TelemetrySample | None:
        return self._entry(drone_id).sample
