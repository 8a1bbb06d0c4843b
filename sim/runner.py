"""``Simulator``: N simulated PX4 vehicles in one asyncio loop, each with its autopilot and UDP endpoint.

Vehicle i (sysid i+1) listens on host:(vehicle_port_base+i) and streams to host:(gcs_port_base+i),
exactly the ports of PX4 SITL instance i. Homes sit on a grid ``spacing_m`` apart (10 a row) from the
given home, so vehicles never start inside each other.

Time: one task ("sim.tick") wakes every ``tick_s`` of wall clock. It advances physics by
``speed`` × the wall time elapsed, in fixed steps of ``physics_dt`` simulated seconds (so a run is
the same at any speed factor: the autopilot always sees dt = 0.02 s), then lets each endpoint emit
what is due on the wall clock: HEARTBEAT and streams keep wall-clock rates, as MAVSDK's timeouts are
wall-clock too. If the process cannot keep up, the backlog beyond ``MAX_BACKLOG_S`` (0.1 s) of wall time is
dropped rather than replayed in a burst, and ``real_time_factor`` shows the shortfall.

    async with Simulator(vehicles=3, speed=5, home=(19.365, -99.215, 2300)) as sim:
        sim.faults(0).drop_link(10)
        sim.set_battery(1, 12)
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from sim.endpoint import VehicleEndpoint
from sim.interface import AutopilotModel, SimItem
from sim.link_faults import LinkFaults
from sim.px4_modes import decode as decode_mode
from sim.streams import pick_profile

MAX_BACKLOG_S = 0.1  # wall seconds of physics owed; more is dropped so one tick never blocks the loop long
SPEED_SCALED_PARAMS = ("COM_DL_LOSS_T", "COM_RC_LOSS_T", "COM_OF_LOSS_T", "COM_OBC_LOSS_T")
EARTH_M_PER_DEG = 111_320.0

Home = tuple[float, float, float]
AutopilotFactory = Callable[..., AutopilotModel]


@dataclass(frozen=True, kw_only=True)
class SimConfig:
    vehicles: int = 1
    speed: float = 1.0
    home: Home = (19.3650, -99.2150, 2300.0)
    seed: int = 1
    gcs_port_base: int = 14540
    vehicle_port_base: int = 14580
    host: str = "127.0.0.1"
    rates: str = "auto"  # "px4", "fleet" or "auto" (fleet above streams.FLEET_ABOVE vehicles)
    physics_dt: float = 0.02
    loss: float = 0.0
    latency_ms: float = 0.0
    spacing_m: float = 5.0
    homes: tuple[Home, ...] | None = None  # one per vehicle (e.g. each on its dock); else a grid from home

    def __post_init__(self) -> None:
        if self.vehicles < 1:
            raise ValueError("need at least one vehicle")
        if self.homes is not None:
            object.__setattr__(self, "homes", tuple(tuple(h) for h in self.homes))
            if len(self.homes) != self.vehicles:
                raise ValueError(f"{len(self.homes)} homes given for {self.vehicles} vehicles")
        if self.speed <= 0 or self.physics_dt <= 0:
            raise ValueError("speed and physics_dt must be positive")
        if self.host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the simulator talks on loopback only")


def vehicle_home(home: Home, i: int, spacing_m: float) -> Home:
    """Home of vehicle i: a grid of 10 a row, east then north, ``spacing_m`` apart."""
    lat, lon, alt = home
    north, east = (i // 10) * spacing_m, (i % 10) * spacing_m
    dlat = north / EARTH_M_PER_DEG
    dlon = east / (EARTH_M_PER_DEG * math.cos(math.radians(lat)))
    return (lat + dlat, lon + dlon, alt)


def _default_factory() -> tuple[AutopilotFactory, Callable[[SimItem], int] | None]:
    from sim import autopilot  # imported late: the runner is usable with any AutopilotModel

    return autopilot.Autopilot, getattr(autopilot, "check_item", None)


def _item_checker(ap: AutopilotModel, given: Callable[[SimItem], int] | None) -> Callable[[SimItem], int]:
    """Per-item validation for uploads: the given function, else the autopilot's own ``check_item``."""
    if given is not None:
        return given
    own = getattr(ap, "check_item", None)
    if own is None:
        raise TypeError("no check_item: pass one, or give the autopilot a check_item method")
    return own


def scale_loss_timeouts(ap: AutopilotModel, speed: float) -> None:
    """As PX4's SITL start-up script does for PX4_SIM_SPEED_FACTOR: the link-loss timeouts are sim
    seconds, the ground station's heartbeats come at wall-clock rate, so scale them by the speed."""
    if speed == 1.0:
        return
    params = ap.params()
    for name in SPEED_SCALED_PARAMS:
        if name in params:
            ap.set_param(name, params[name][0] * speed)


@dataclass(kw_only=True)
class Vehicle:
    index: int
    home: Home
    autopilot: AutopilotModel
    endpoint: VehicleEndpoint
    faults: LinkFaults


class Simulator:
    """Async context manager owning every vehicle's socket and the one tick task."""

    def __init__(
        self,
        config: SimConfig | None = None,
        *,
        autopilot_factory: AutopilotFactory | None = None,
        check_item: Callable[[SimItem], int] | None = None,
        **overrides: Any,
    ) -> None:
        self.config = config or SimConfig(**overrides)
        if config is not None and overrides:
            raise TypeError("pass either a SimConfig or keyword overrides, not both")
        self._factory = autopilot_factory
        self._check_item = check_item
        self._rates = pick_profile(self.config.rates, self.config.vehicles)
        self.tick_s = min(0.05, max(0.01, 1.0 / max(self._rates.values())))
        self._vehicles: list[Vehicle] = []
        self._stack = AsyncExitStack()
        self._stop = asyncio.Event()
        self.sim_time = 0.0
        self.wall_start = 0.0
        self.steps = 0
        self._backlog = 0.0

    # --- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> Simulator:
        factory, check = self._factory, self._check_item
        if factory is None:
            factory, default_check = _default_factory()
            check = check or default_check
        try:
            for i in range(self.config.vehicles):
                self._vehicles.append(await self._start_vehicle(i, factory, check))
            group = await self._stack.enter_async_context(asyncio.TaskGroup())
            self._stack.callback(self._stop.set)  # runs before the group waits for its tasks
            self.wall_start = time.monotonic()
            group.create_task(self._run(), name="sim.tick")
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        await self._stack.aclose()
        await asyncio.sleep(0)  # transports close on the next loop pass: free the ports before returning

    async def _start_vehicle(
        self, i: int, factory: AutopilotFactory, check: Callable[[SimItem], int] | None
    ) -> Vehicle:
        cfg = self.config
        home = cfg.homes[i] if cfg.homes is not None else vehicle_home(cfg.home, i, cfg.spacing_m)
        ap = factory(sysid=i + 1, home=home, seed=cfg.seed * 1000 + i, params=None)
        scale_loss_timeouts(ap, cfg.speed)
        faults = LinkFaults(seed=cfg.seed * 1000 + i, clock=time.monotonic)
        faults.set_loss(cfg.loss)
        faults.set_latency(cfg.latency_ms)
        endpoint = VehicleEndpoint(
            ap,
            gcs_addr=(cfg.host, cfg.gcs_port_base + i),
            rates=self._rates,
            check_item=_item_checker(ap, check),
            faults=faults,
            slack=self.tick_s / 2,
        )
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: endpoint, local_addr=(cfg.host, cfg.vehicle_port_base + i)
        )
        self._stack.callback(transport.close)
        return Vehicle(index=i, home=home, autopilot=ap, endpoint=endpoint, faults=faults)

    # --- the clock -----------------------------------------------------------------------------

    async def _run(self) -> None:
        last = time.monotonic()
        next_tick = last
        while not self._stop.is_set():
            next_tick += self.tick_s
            delay = next_tick - time.monotonic()
            if delay < 0:  # behind: don't try to catch up with a burst of ticks
                next_tick, delay = time.monotonic(), 0.0
            await asyncio.sleep(delay)
            now = time.monotonic()
            self.advance(now - last)
            last = now
            for v in self._vehicles:
                v.endpoint.tick(now)

    def advance(self, wall_dt: float) -> int:
        """Step every autopilot by ``speed`` × ``wall_dt`` of sim time in ``physics_dt`` steps."""
        cfg = self.config
        dt = cfg.physics_dt
        self._backlog = min(self._backlog + wall_dt * cfg.speed, MAX_BACKLOG_S * cfg.speed + dt)
        n = int(self._backlog / dt + 1e-9)
        if n <= 0:
            return 0
        self._backlog -= n * dt
        for v in self._vehicles:
            step = v.autopilot.step
            for _ in range(n):
                step(dt)
        self.steps += n
        self.sim_time += n * dt
        return n

    # --- API -----------------------------------------------------------------------------------

    @property
    def vehicles(self) -> list[Vehicle]:
        return list(self._vehicles)

    def vehicle(self, i: int) -> Vehicle:
        return self._vehicles[i]

    def faults(self, i: int) -> LinkFaults:
        return self._vehicles[i].faults

    def set_battery(self, i: int, pct: float) -> None:
        self._vehicles[i].autopilot.set_battery(pct)

    def set_gps(self, i: int, ok: bool) -> None:
        self._vehicles[i].autopilot.set_gps(ok)

    def set_loss(self, fraction: float) -> None:
        for v in self._vehicles:
            v.faults.set_loss(fraction)

    @property
    def real_time_factor(self) -> float:
        """Simulated seconds per wall second since start (``speed`` when keeping up)."""
        wall = time.monotonic() - self.wall_start
        return self.sim_time / wall if wall > 0 else 0.0

    def status_line(self, i: int) -> str:
        v = self._vehicles[i]
        s = v.autopilot.snapshot()
        line = (
            f"v{i} sys{v.autopilot.sysid} {'ARMED' if s.armed else 'disarmed':8} {decode_mode(s.custom_mode).name:8} "
            f"{s.lat:.6f},{s.lon:.6f} rel {s.alt_rel:6.1f} m gs {s.groundspeed:4.1f} m/s "
            f"bat {s.battery_pct:5.1f}% fix {s.fix_type} wp {s.mission_seq}/{s.mission_total} "
            f"tx {v.endpoint.sent} rx {v.endpoint.received}"
        )
        faults = v.faults.describe()
        return f"{line} [{faults}]" if faults else line
