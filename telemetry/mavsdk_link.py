"""The vehicle link over MAVSDK 4.x: the ONLY module of the project that imports ``mavsdk``.

``MavsdkHub`` owns one in-process ``Mavsdk`` (one per process is enough for many vehicles) and its
connections; ``hub.link(sysid)`` gives a ``MavsdkVehicleLink``, the ``mission.ports.VehicleLink``
adapter for one autopilot::

    async with MavsdkHub() as hub:
        await hub.add_connection("udpin://127.0.0.1:14540")
        async with hub.link(1, timeout_s=10) as link:
            await link.wait_ready(30)

Two rules hold everywhere below:
- every await on MAVSDK goes through ``_wait_for``, which puts a timeout on it and converts MAVSDK's
  errors (once, here) into ``mission.errors`` (``VehicleTimeoutError``, ``CommandRejectedError``,
  ``MissionTransferError``);
- streams are not read through mavsdk's asyncio wrappers (an unbounded queue and a loop wake-up per
  value): the plugins' callbacks put each value into the hub's ``Inbox`` (latest-wins per stream,
  one loop wake-up per batch), whose drain updates the ``SampleMerger`` and publishes at most one
  sample per batch into a drop-oldest ``Fanout``; consumers never sit on a MAVSDK queue.

A fleet asks each vehicle for the rates it needs (``telemetry_rate_hz``, by SET_MESSAGE_INTERVAL through
MAVSDK's ``set_rate_*``); a single link (``patrol fly``) leaves the vehicle's rates alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Self, TypeVar

from mavsdk import LogLevel, log_subscribe
from mavsdk.asyncio import ComponentType, Configuration, Mavsdk, MavsdkError, System
from mavsdk.asyncio.plugins.action import ActionAsync, ActionError
from mavsdk.asyncio.plugins.geofence import GeofenceAsync, GeofenceError
from mavsdk.asyncio.plugins.mavlink_direct import MavlinkDirectAsync, MavlinkDirectError, MavlinkMessage
from mavsdk.asyncio.plugins.mission_raw import MissionItem as RawItem
from mavsdk.asyncio.plugins.mission_raw import MissionRawAsync, MissionRawError
from mavsdk.asyncio.plugins.param import ParamAsync, ParamError, ParamResult
from mavsdk.asyncio.plugins.telemetry import TelemetryAsync, TelemetryError

from geo.items import NAN, MissionItem, place_takeoff
from mission.errors import (
    CommandRejectedError,
    MissionTransferError,
    VehicleError,
    VehicleNotFoundError,
    VehicleTimeoutError,
)
from mission.ports import MissionProgress, StatusText, TelemetrySample
from telemetry.fanout import Fanout, Subscription
from telemetry.inbox import Inbox
from telemetry.samples import Health, SampleMerger

__all__ = ["MavsdkHub", "MavsdkVehicleLink"]

log = logging.getLogger(__name__)
T = TypeVar("T")

MISSION_TYPE_MISSION, MISSION_TYPE_FENCE = 0, 1
_TIMEOUT_RESULTS = {"TIMEOUT"}
_WRONG_TYPE = {ParamResult.WRONG_TYPE, ParamResult.TYPE_MISMATCH}


async def _wait_for(aw: Awaitable[T], timeout_s: float, operation: str) -> T:
    """Await one MAVSDK call with a deadline; convert its errors into ours (the one place this happens)."""
    try:
        async with asyncio.timeout(timeout_s):
            return await aw
    except TimeoutError as exc:
        raise VehicleTimeoutError(operation, timeout_s) from exc
    except MissionRawError as exc:
        raise MissionTransferError(operation, exc.result.name) from exc
    except GeofenceError as exc:
        raise MissionTransferError(operation, exc.result.name) from exc
    except (ActionError, ParamError) as exc:
        if exc.result.name in _TIMEOUT_RESULTS:
            raise VehicleTimeoutError(operation, timeout_s) from exc
        raise CommandRejectedError(operation, exc.result.name) from exc
    except MavsdkError as exc:
        raise VehicleError(f"{operation}: {exc}") from exc


def _settle(fut: asyncio.Future[tuple[Any, ...]], values: tuple[Any, ...]) -> None:
    if not fut.done():
        fut.set_result(values)


async def _via_callback(
    start: Callable[..., None], args: tuple[Any, ...], error: Callable[[Any, str], MavsdkError], origin: str
) -> tuple[Any, ...]:
    """Run a MAVSDK ``*_async(..., callback)`` call; the values its callback got, minus result and user data.

    Why not the blocking calls the asyncio wrappers run in executor threads: MAVSDK's blocking ``arm()``
    (and the like) wait on a promise on their stack, and a result callback arriving after the call
    returned hits that dead promise: ``std::future_error``, std::terminate, the whole process aborts
    (seen against the simulator: arm's callback fired during a later ``disarm()``). Here a late or
    second callback only finds the future settled. Nor does a timed-out call keep a thread busy.
    Beware: not every ``*_async`` is asynchronous (``set_takeoff_altitude_async`` blocks for the
    whole parameter transfer), hence the warning below.
    """
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[tuple[Any, ...]] = loop.create_future()

    def callback(*values: Any) -> None:  # on a MAVSDK thread, possibly late or twice
        with contextlib.suppress(RuntimeError):  # the loop may be gone by then
            loop.call_soon_threadsafe(_settle, fut, values)

    began = time.perf_counter()
    start(*args, callback)
    if (blocked := time.perf_counter() - began) > 0.02:  # MAVSDK's *_async must not block the loop
        log.warning("MAVSDK %s blocked the event loop for %.3f s", origin, blocked)
    result, *rest = await fut
    if result.name != "SUCCESS":
        raise error(result, origin)
    return tuple(rest[:-1])  # the last one is MAVSDK's user_data


# --- mission items: ours <-> MAVSDK's MissionRaw (exactly one MISSION_ITEM_INT each) ----------------


def _to_raw(item: MissionItem, seq: int, mission_type: int) -> RawItem:
    return RawItem(
        seq=seq,
        frame=int(item.frame),
        command=int(item.command),
        current=1 if seq == 0 else 0,
        autocontinue=1 if item.autocontinue else 0,
        param1=item.param1,
        param2=item.param2,
        param3=item.param3,
        param4=item.param4,
        x=round(item.lat * 1e7),
        y=round(item.lon * 1e7),
        z=item.alt,
        mission_type=mission_type,
    )


def _param(value: float) -> float:
    # NaN as the shared ``geo.items.NAN`` object, so downloaded items compare equal to built ones
    return NAN if math.isnan(value) else float(value)


# PX4 stores items in the *_INT frames and returns them so (the int variants are deprecated in
# MAVLink: x/y are scaled integers in MISSION_ITEM_INT whatever the frame): map them back.
_INT_FRAMES = {5: 0, 6: 3, 11: 10}


def _from_raw(raw: RawItem) -> MissionItem:
    return MissionItem(
        command=raw.command,
        frame=_INT_FRAMES.get(raw.frame, raw.frame),
        param1=_param(raw.param1),
        param2=_param(raw.param2),
        param3=_param(raw.param3),
        param4=_param(raw.param4),
        lat=raw.x / 1e7,
        lon=raw.y / 1e7,
        alt=float(raw.z),
        autocontinue=bool(raw.autocontinue),
    )


_MAV_RESULTS = {
    1: "TEMPORARILY_REJECTED",
    2: "DENIED",
    3: "UNSUPPORTED",
    4: "FAILED",
    9: "UNSUPPORTED_MAV_FRAME",
}

_MAVSDK_LOG = logging.getLogger("mavsdk")
_LOG_LEVELS = {
    LogLevel.DEBUG: logging.DEBUG,
    LogLevel.INFO: logging.INFO,
    LogLevel.WARN: logging.WARNING,
    LogLevel.ERROR: logging.ERROR,
}


def _forward_mavsdk_log(level: LogLevel, message: str, file: str | None, line: int) -> bool:
    # Called on MAVSDK's threads; ``logging`` is thread-safe. True: MAVSDK prints nothing itself.
    _MAVSDK_LOG.log(_LOG_LEVELS.get(level, logging.INFO), "%s", message)
    return True


# --- the hub ------------------------------------------------------------------------------------


class MavsdkHub:
    """One in-process MAVSDK instance (a ground station) and its connections."""

    def __init__(self, *, command_timeout_s: float = 10.0) -> None:
        self._command_timeout_s = command_timeout_s
        self._sdk: Mavsdk | None = None
        self._inbox: Inbox | None = None

    async def __aenter__(self) -> Self:
        log_subscribe(_forward_mavsdk_log)  # process-wide; MAVSDK would print to stdout otherwise
        self._inbox = Inbox(asyncio.get_running_loop())
        config = Configuration.create_with_component_type(ComponentType.GROUND_STATION)
        self._sdk = Mavsdk(config)
        return self

    async def __aexit__(self, *exc: object) -> None:
        sdk, self._sdk = self._sdk, None
        if sdk is not None:
            sdk.destroy()

    @property
    def sdk(self) -> Mavsdk:
        if self._sdk is None:
            raise VehicleError("MavsdkHub used outside its 'async with'")
        return self._sdk

    @property
    def inbox(self) -> Inbox:
        if self._inbox is None:
            raise VehicleError("MavsdkHub used outside its 'async with'")
        return self._inbox

    async def add_connection(self, url: str, timeout_s: float = 5.0) -> None:
        """Listen or connect on ``url`` (``udpin://127.0.0.1:14540``, ``tcpout://...``, ``serial://...``)."""
        await _wait_for(self.sdk.add_any_connection(url), timeout_s, f"open connection {url}")

    async def system_ids(self) -> list[int]:
        systems = await _wait_for(self.sdk.get_systems(), self._command_timeout_s, "list systems")
        return [await s.get_system_id() for s in systems if await s.has_autopilot()]

    async def find_system(self, sysid: int | None, timeout_s: float) -> System:
        """The autopilot with this system id (any autopilot if None), once it has sent a heartbeat."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            systems = await _wait_for(self.sdk.get_systems(), self._command_timeout_s, "list systems")
            for system in systems:
                if await system.has_autopilot() and sysid in (None, await system.get_system_id()):
                    return system
            if loop.time() >= deadline:
                who = "any autopilot" if sysid is None else f"system {sysid}"
                raise VehicleNotFoundError(f"no heartbeat from {who} within {timeout_s:g} s")
            await asyncio.sleep(min(0.1, max(0.0, deadline - loop.time())))

    def link(
        self,
        sysid: int | None = None,
        *,
        timeout_s: float = 15.0,
        command_timeout_s: float | None = None,
        transfer_timeout_s: float = 30.0,
        telemetry_rate_hz: float | None = None,
    ) -> MavsdkVehicleLink:
        """A link to one autopilot; use it as ``async with`` (finding the vehicle happens on enter).

        ``telemetry_rate_hz``: the rate samples are consumed at; the vehicle is asked for streams to match
        (``StreamRates.for_sample_rate``). None leaves its rates as they are (a single vehicle, full rates).
        """
        return MavsdkVehicleLink(
            self,
            sysid,
            find_timeout_s=timeout_s,
            command_timeout_s=command_timeout_s or self._command_timeout_s,
            transfer_timeout_s=transfer_timeout_s,
            rates=None if telemetry_rate_hz is None else StreamRates.for_sample_rate(telemetry_rate_hz),
        )


@dataclass(frozen=True, kw_only=True)
class StreamRates:
    """Stream rates (Hz) to ask a vehicle for; each MAVSDK ``set_rate_<name>`` is one SET_MESSAGE_INTERVAL."""

    position: float  # GLOBAL_POSITION_INT: position and velocity
    attitude_euler: float  # ATTITUDE: roll, pitch, heading
    gps_info: float  # GPS_RAW_INT
    battery: float  # BATTERY_STATUS
    landed_state: float  # EXTENDED_SYS_STATE: landed state, and in air from it

    @classmethod
    def for_sample_rate(cls, hz: float) -> StreamRates:
        # Positions (and velocities, same message) and attitude at the sample rate. Twice that rate means
        # 40 % more callbacks into Python, and the GIL-bound MAVSDK callback thread is what falls behind
        # first: with 50 vehicles on a loaded machine MAVSDK dropped callbacks and p95 latency was 210-240 ms,
        # against 70-125 ms at 1x (bench.fleet). Slow-changing state at about 1 Hz (HEARTBEAT is 1 Hz anyway).
        if not 0 < hz <= 50:
            raise ValueError(f"telemetry rate must be in (0, 50] Hz, got {hz}")
        return cls(
            position=1 * hz, attitude_euler=hz, gps_info=1.0, battery=1.0, landed_state=max(1.0, hz / 2)
        )


# --- one vehicle ----------------------------------------------------------------------------------


class MavsdkVehicleLink:
    """``mission.ports.VehicleLink`` over MAVSDK for one autopilot."""

    SAMPLE_MIN_INTERVAL_S = 0.05  # merged samples are published at most at 20 Hz (wall clock)
    MODE_SHOW_S = 3.0  # for the HEARTBEAT (1 Hz) to show a new mode
    MODE_CONFIRM_S = 0.3  # and no refusal this long after (PX4 revokes ~0.1 s after its ACK)

    def __init__(
        self,
        hub: MavsdkHub,
        sysid: int | None,
        *,
        find_timeout_s: float,
        command_timeout_s: float,
        transfer_timeout_s: float,
        rates: StreamRates | None = None,
    ) -> None:
        self._hub, self._wanted_sysid = hub, sysid
        self._rates = rates
        self._find_timeout_s = find_timeout_s
        self._cmd_s, self._xfer_s = command_timeout_s, transfer_timeout_s
        self._sysid = sysid or 0
        self._merger = SampleMerger()
        self._samples: Fanout[TelemetrySample] = Fanout(maxsize=64)
        self._progress: Fanout[MissionProgress] = Fanout(maxsize=64)
        self._texts: Fanout[StatusText] = Fanout(maxsize=128)
        self._last_publish = -math.inf
        self._position_at: float | None = None  # wall time MAVSDK delivered a position not yet published
        self._changed = asyncio.Event()  # set after every batch of updates
        self._refused_at = -math.inf  # loop time of the last mode refusal in a STATUSTEXT
        self._tasks = asyncio.TaskGroup()
        self._background: list[asyncio.Task[None]] = []
        self._unsubscribe: list[Callable[[], None]] = []

    # --- lifecycle --------------------------------------------------------------------------------
    async def __aenter__(self) -> Self:
        system = await self._hub.find_system(self._wanted_sysid, self._find_timeout_s)
        self._sysid = await system.get_system_id()
        self._telemetry = TelemetryAsync(system)
        self._mission_async = MissionRawAsync(system)
        self._params = ParamAsync(system)
        # The callback API of the same plugin instances (see _via_callback); the asyncio wrappers
        # expose them only as ``_plugin``, and destroy them when collected: so keep the wrappers.
        self._wrappers = (ActionAsync(system), GeofenceAsync(system), MavlinkDirectAsync(system))
        self._action = self._wrappers[0]._plugin
        self._mission = self._mission_async._plugin
        self._geofence = self._wrappers[1]._plugin
        self._direct = self._wrappers[2]._plugin
        await self._tasks.__aenter__()
        inbox = self._hub.inbox
        for name, subscribe, unsubscribe, handler in self._streams():
            self._subscribe(inbox, name, subscribe, unsubscribe, handler)
        if self._rates is not None:
            task = self._tasks.create_task(self._ask_rates(self._rates), name=f"mavsdk[{self._sysid}].rates")
            self._background.append(task)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for unsubscribe in reversed(self._unsubscribe):
            with contextlib.suppress(Exception):
                unsubscribe()
        self._unsubscribe.clear()
        for task in self._background:
            task.cancel()
        try:
            await self._tasks.__aexit__(None, None, None)
        finally:
            for fanout in (self._samples, self._progress, self._texts):
                fanout.close()

    def _streams(self) -> list[tuple[str, Callable[..., Any], Callable[[Any], None], Callable[[Any], None]]]:
        """(name, subscribe, unsubscribe, handler): only what a ``TelemetrySample`` and the commands need."""
        t, r, m = self._telemetry._plugin, self._mission, self._merger
        return [
            ("position", t.subscribe_position, t.unsubscribe_position, self._on_position),
            ("velocity", t.subscribe_velocity_ned, t.unsubscribe_velocity_ned, lambda v: m.velocity(north=v.north_m_s, east=v.east_m_s, down=v.down_m_s)),
            ("attitude", t.subscribe_attitude_euler, t.unsubscribe_attitude_euler, lambda a: m.attitude(roll_deg=a.roll_deg, pitch_deg=a.pitch_deg, yaw_deg=a.yaw_deg)),
            ("home", t.subscribe_home, t.unsubscribe_home, self._on_home),
            ("battery", t.subscribe_battery, t.unsubscribe_battery, lambda b: m.battery(remaining_pct=b.remaining_percent, voltage_v=b.voltage_v)),
            ("flight_mode", t.subscribe_flight_mode, t.unsubscribe_flight_mode, lambda f: m.flight_mode(f.name)),
            ("armed", t.subscribe_armed, t.unsubscribe_armed, m.armed),
            ("landed_state", t.subscribe_landed_state, t.unsubscribe_landed_state, lambda s: m.landed(s.name)),
            ("gps", t.subscribe_gps_info, t.unsubscribe_gps_info, lambda g: m.gps(fix_type=int(g.fix_type), satellites=g.num_satellites)),
            ("status_text", t.subscribe_status_text, t.unsubscribe_status_text, self._on_status_text),
            ("mission_progress", r.subscribe_mission_progress, r.unsubscribe_mission_progress, self._on_progress),
        ]  # fmt: skip

    _EVENTS = frozenset({"status_text", "mission_progress"})  # every value counts, in order

    def _subscribe(
        self,
        inbox: Inbox,
        name: str,
        subscribe: Callable[..., Any],
        unsubscribe: Callable[[Any], None],
        handler: Callable[[Any], None],
    ) -> None:
        # The callback runs on MAVSDK's thread: store the value and return (see telemetry.inbox).
        key = (id(self), name)
        if name in self._EVENTS:

            def callback(value: Any, _user_data: Any) -> None:
                inbox.put_event(self, handler, value)
        elif name == "position":

            def callback(value: Any, _user_data: Any) -> None:
                # stamped on arrival: the sample's time covers the hand-over to the loop as well
                inbox.put_latest(key, self, handler, (value, time.time()))
        else:

            def callback(value: Any, _user_data: Any) -> None:
                inbox.put_latest(key, self, handler, value)

        handle = subscribe(callback)
        self._unsubscribe.append(lambda: unsubscribe(handle))

    async def _ask_rates(self, rates: StreamRates, attempts: int = 3) -> None:
        # Best effort, in the background: a vehicle that refuses keeps its own rates, which still work.
        # Retried: with many vehicles starting at once an answer can be lost.
        todo = dict(vars(rates))
        for attempt in range(1, attempts + 1):
            for name, hz in list(todo.items()):
                start = getattr(self._telemetry._plugin, f"set_rate_{name}_async")
                try:
                    await _wait_for(
                        _via_callback(start, (float(hz),), TelemetryError, f"set_rate_{name}"),
                        self._cmd_s,
                        f"set {name} rate",
                    )
                    del todo[name]
                except VehicleError as exc:
                    level = logging.WARNING if attempt == attempts else logging.DEBUG
                    log.log(level, "vehicle %s: %s rate %g Hz not set: %s", self._sysid, name, hz, exc)
            if not todo:
                return
            await asyncio.sleep(attempt * (1 + random.random()))

    def flush(self) -> None:
        """After a batch of updates (on the loop): publish one sample if a new position came in it."""
        if self._position_at is not None:
            now = asyncio.get_running_loop().time()
            if now - self._last_publish >= self.SAMPLE_MIN_INTERVAL_S:
                sample = self._merger.sample(datetime.fromtimestamp(self._position_at, UTC))
                self._position_at = None
                if sample is not None:
                    self._last_publish = now
                    self._samples.publish(sample)
        self._changed.set()

    def _on_position(self, value: tuple[Any, float]) -> None:
        p, self._position_at = value
        self._merger.position(
            lat=p.latitude_deg,
            lon=p.longitude_deg,
            alt_amsl_m=p.absolute_altitude_m,
            alt_rel_m=p.relative_altitude_m,
        )

    def _on_home(self, h: Any) -> None:
        self._merger.home(lat=h.latitude_deg, lon=h.longitude_deg, alt_amsl_m=h.absolute_altitude_m)

    def _on_health(self, h: Any) -> None:
        self._merger.health(
            Health(
                global_position_ok=h.is_global_position_ok,
                home_position_ok=h.is_home_position_ok,
                armable=h.is_armable,
            )
        )

    def _on_status_text(self, s: Any) -> None:
        if "currently not available" in s.text or "rejected" in s.text.lower():
            self._refused_at = asyncio.get_running_loop().time()  # PX4 refusing or revoking a mode
        self._texts.publish(StatusText(severity=s.type.name, text=s.text))

    def _on_progress(self, p: Any) -> None:
        progress = MissionProgress(current=p.current, total=p.total)
        self._merger.mission_progress(progress)
        self._progress.publish(progress)

    # --- state ------------------------------------------------------------------------------------
    @property
    def system_id(self) -> int:
        return self._sysid

    def telemetry(self) -> Subscription[TelemetrySample]:
        return self._samples.subscribe()

    def mission_progress(self) -> Subscription[MissionProgress]:
        return self._progress.subscribe()

    def status_texts(self) -> Subscription[StatusText]:
        return self._texts.subscribe()

    async def latest(self) -> TelemetrySample | None:
        return self._merger.sample()

    async def _until(self, predicate: Callable[[], bool], timeout_s: float, operation: str) -> None:
        # The pumps set ``_changed`` after every update; re-check the merged state each time.
        try:
            async with asyncio.timeout(timeout_s):
                while not predicate():
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError as exc:
            raise VehicleTimeoutError(operation, timeout_s) from exc

    async def wait_ready(self, timeout_s: float) -> None:
        # Health is subscribed only while someone waits for it: nothing else reads it.
        t = self._telemetry._plugin
        self._subscribe(self._hub.inbox, "health", t.subscribe_health, t.unsubscribe_health, self._on_health)
        unsubscribe = self._unsubscribe.pop()
        try:
            await self._until(lambda: self._merger.current_health.ready, timeout_s, "wait for health")
        except VehicleTimeoutError as exc:
            missing = ", ".join(self._merger.current_health.missing())
            raise VehicleTimeoutError(f"wait for health (not ok: {missing})", timeout_s) from exc
        finally:
            with contextlib.suppress(Exception):
                unsubscribe()

    # --- missions ---------------------------------------------------------------------------------
    def _act(self, name: str, *args: Any) -> Awaitable[tuple[Any, ...]]:
        return _via_callback(getattr(self._action, f"{name}_async"), args, ActionError, name)

    def _mis(self, name: str, *args: Any) -> Awaitable[tuple[Any, ...]]:
        return _via_callback(getattr(self._mission, f"{name}_async"), args, MissionRawError, name)

    def _mis_command(self, name: str, *args: Any) -> Awaitable[tuple[Any, ...]]:
        # start / pause / set current are commands, not transfers: failing, they are CommandRejectedError
        return _via_callback(getattr(self._mission, f"{name}_async"), args, ActionError, name)

    async def upload_mission(self, items: Sequence[MissionItem]) -> None:
        if not items:  # MAVSDK refuses an empty upload (NO_MISSION_AVAILABLE); clearing is the same
            return await self.clear_mission()
        here = self._merger.sample()
        if here is not None:
            items = place_takeoff(items, here.lat, here.lon)
        raw = [_to_raw(item, i, MISSION_TYPE_MISSION) for i, item in enumerate(items)]
        await self._transfer(self._mis("upload_mission", raw), "upload mission")

    async def download_mission(self) -> list[MissionItem]:
        (raw,) = await self._transfer(self._mis("download_mission"), "download mission")
        return [_from_raw(r) for r in raw]

    async def upload_fence(self, items: Sequence[MissionItem]) -> None:
        if not items:
            return await _wait_for(
                _via_callback(self._geofence.clear_geofence_async, (), GeofenceError, "clear"),
                self._xfer_s,
                "clear fence",
            )
        raw = [_to_raw(item, i, MISSION_TYPE_FENCE) for i, item in enumerate(items)]
        await self._transfer(self._mis("upload_geofence", raw), "upload fence")

    async def download_fence(self) -> list[MissionItem]:
        (raw,) = await self._transfer(self._mis("download_geofence"), "download fence")
        return [_from_raw(r) for r in raw]

    async def clear_mission(self) -> None:
        await _wait_for(self._mis("clear_mission"), self._xfer_s, "clear mission")

    async def _transfer(self, aw: Awaitable[T], operation: str) -> T:
        try:
            return await _wait_for(aw, self._xfer_s, operation)
        except VehicleTimeoutError:
            # MAVSDK keeps the transfer going; stop it so the next one isn't BUSY.
            with contextlib.suppress(MavsdkError):
                self._mission.cancel_mission_upload()
            raise

    async def start_mission(self) -> None:
        """Switch to Mission, confirmed from the reported mode and retried.

        PX4 may ACCEPT the switch right after an upload and revoke it ~0.1 s later ("Switching to
        Mission is currently not available"); MAVSDK takes the first answer as success.
        """
        await self._switch_mode("MISSION", lambda: self._mis_command("start_mission"), "start mission")

    async def pause_mission(self) -> None:
        await self._switch_mode("HOLD", lambda: self._mis_command("pause_mission"), "pause mission")

    async def _switch_mode(
        self, mode: str, command: Callable[[], Awaitable[object]], operation: str, attempts: int = 5
    ) -> None:
        # The HEARTBEAT that shows the new mode may be a second away, while PX4 revokes a switch with a
        # STATUSTEXT at once: so a switch counts when the mode shows and no refusal followed it. A
        # refusal (in the ACK or after it) is retried: PX4 refuses Mission until its checks have run.
        loop = asyncio.get_running_loop()
        why = ""
        for attempt in range(1, attempts + 1):
            sent = loop.time()
            try:
                await _wait_for(command(), self._cmd_s, operation)
            except CommandRejectedError as exc:
                why = exc.result
            else:
                if await self._mode_holds(mode, sent, operation):
                    return
                why = f"mode {self._merger.mode}, expected {mode}"
            log.info("vehicle %s: %s not confirmed (%s), attempt %d", self._sysid, operation, why, attempt)
            await asyncio.sleep(0.1 * attempt)
        raise CommandRejectedError(operation, why)

    async def _mode_holds(self, mode: str, sent: float, operation: str) -> bool:
        def refused() -> bool:
            return self._refused_at >= sent

        with contextlib.suppress(VehicleTimeoutError):
            await self._until(lambda: refused() or self._merger.mode == mode, self.MODE_SHOW_S, operation)
            if not refused():
                with contextlib.suppress(VehicleTimeoutError):
                    await self._until(refused, self.MODE_CONFIRM_S, operation)
        return not refused() and self._merger.mode == mode

    async def set_current_item(self, index: int) -> None:
        await _wait_for(
            self._mis_command("set_current_mission_item", index), self._cmd_s, f"set current item {index}"
        )

    # --- actions ----------------------------------------------------------------------------------
    async def arm(self) -> None:
        # The ACK is the confirmation: at a high sim speed PX4 may disarm again (COM_DISARM_PRFLT)
        # before the next 1 Hz HEARTBEAT could show it armed.
        await _wait_for(self._act("arm"), self._cmd_s, "arm")

    async def disarm(self) -> None:
        await _wait_for(self._act("disarm"), self._cmd_s, "disarm")

    async def takeoff(self, alt_rel_m: float) -> None:
        # Not Action.set_takeoff_altitude: its "async" form blocks the calling thread (our event loop)
        # for the whole parameter transfer. It sets this same parameter.
        await self.set_param("MIS_TAKEOFF_ALT", float(alt_rel_m))
        await _wait_for(self._act("takeoff"), self._cmd_s, "takeoff")

    async def hold(self) -> None:
        await _wait_for(self._act("hold"), self._cmd_s, "hold")

    async def goto(self, lat: float, lon: float, alt_amsl_m: float) -> None:
        # Not Action.goto_location: PX4 SITL refuses what MAVSDK 4.1 sends ("frame invalid for command
        # 192"). PX4 takes DO_REPOSITION as COMMAND_INT in GLOBAL_INT with param2 = 1 (may change mode).
        fields = {
            "target_system": self._sysid, "target_component": 1, "frame": 5, "command": 192,
            "current": 0, "autocontinue": 0, "param1": -1.0, "param2": 1.0, "param3": 0.0, "param4": 0.0,
            "x": round(lat * 1e7), "y": round(lon * 1e7), "z": alt_amsl_m,
        }  # fmt: skip
        command = MavlinkMessage(
            message_name="COMMAND_INT", target_system_id=self._sysid, target_component_id=1,
            fields_json=json.dumps(fields),
        )  # fmt: skip
        (ack,) = await _wait_for(
            _via_callback(self._direct.send_command_async, (command,), MavlinkDirectError, "goto"),
            self._cmd_s,
            "goto",
        )
        result = int(json.loads(ack.fields_json).get("result", -1))
        if result != 0:
            raise CommandRejectedError("goto", _MAV_RESULTS.get(result, str(result)))

    async def return_to_launch(self) -> None:
        await _wait_for(self._act("return_to_launch"), self._cmd_s, "return to launch")

    async def land(self) -> None:
        await _wait_for(self._act("land"), self._cmd_s, "land")

    # --- parameters -------------------------------------------------------------------------------
    async def get_param(self, name: str) -> float | int:
        try:
            return await _wait_for(self._params.get_param_float(name), self._cmd_s, f"get {name}")
        except CommandRejectedError as exc:
            if not _is_wrong_type(exc):
                raise
        return await _wait_for(self._params.get_param_int(name), self._cmd_s, f"get {name}")

    async def set_param(self, name: str, value: float | int) -> None:
        """Set as INT32 for an ``int`` value, FLOAT otherwise; retried as the other type if the vehicle says so."""
        setters = [self._params.set_param_int, self._params.set_param_float]
        if not isinstance(value, int):
            setters.reverse()
        try:
            await _wait_for(setters[0](name, _cast(setters[0], value)), self._cmd_s, f"set {name}")
        except CommandRejectedError as exc:
            if not _is_wrong_type(exc):
                raise
            await _wait_for(setters[1](name, _cast(setters[1], value)), self._cmd_s, f"set {name}")


def _is_wrong_type(exc: CommandRejectedError) -> bool:
    return exc.result in {r.name for r in _WRONG_TYPE}


def _cast(setter: Callable[..., object], value: float | int) -> float | int:
    if getattr(setter, "__name__", "") == "set_param_int":
        if float(value) != int(value):
            raise CommandRejectedError("set param", f"{value} is not an integer")
        return int(value)
    return float(value)
