"""Helpers for tests that fly a vehicle through our MAVSDK link: the simulator (or a real PX4 SITL at
``PX4_SITL_URL``), a hub and a link, waits on telemetry, and a reset between tests."""

from __future__ import annotations

import asyncio
import math
import os
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from geo.items import MavCmd, MissionItem
from mission.errors import CommandRejectedError
from mission.ports import TelemetrySample
from mission.routes import ground_distance_m
from telemetry.fanout import Subscription
from telemetry.mavsdk_link import MavsdkHub, MavsdkVehicleLink

SITL_URL = os.environ.get("PX4_SITL_URL")  # e.g. udpin://127.0.0.1:14540: fly a real PX4 SITL instead
SPEED = 10.0
# Waits are written for the simulator at SPEED; a PX4 SITL runs at PX4_SIM_SPEED_FACTOR (1 unless set).
SLOWDOWN = SPEED / float(os.environ.get("PX4_SIM_SPEED_FACTOR", "1")) if SITL_URL else 1.0
HOME = (19.3650, -99.2150, 2300.0)


@dataclass
class Env:
    sim: Any | None  # sim.runner.Simulator, None against a real PX4
    hub: MavsdkHub
    link: MavsdkVehicleLink


@asynccontextmanager
async def vehicle_env(
    *,
    gcs_port: int,
    vehicle_port: int,
    speed: float = SPEED,
    url: str | None = None,
    home: tuple[float, float, float] = HOME,
) -> AsyncIterator[Env]:
    """A simulator on the given ports (unless ``url`` names a real vehicle), a hub, a link; ready to arm."""
    async with AsyncExitStack() as stack:
        sim = None
        if url is None:
            from sim.runner import Simulator

            sim = await stack.enter_async_context(
                Simulator(
                    vehicles=1,
                    speed=speed,
                    home=home,
                    seed=1,
                    gcs_port_base=gcs_port,
                    vehicle_port_base=vehicle_port,
                )
            )
            url = f"udpin://127.0.0.1:{gcs_port}"
        hub = await stack.enter_async_context(MavsdkHub())
        await hub.add_connection(url)
        link = await stack.enter_async_context(hub.link(None, timeout_s=15))
        await link.wait_ready(60)
        yield Env(sim, hub, link)


async def until(
    link: MavsdkVehicleLink,
    predicate: Callable[[TelemetrySample], bool],
    timeout_s: float,
    what: str = "",
    *,
    samples: Subscription[TelemetrySample] | None = None,
) -> TelemetrySample:
    """The first sample (from now, or from ``samples`` if given, a subscription made before a command)
    satisfying ``predicate``; AssertionError after ``timeout_s``."""
    last: TelemetrySample | None = None
    timeout_s *= SLOWDOWN
    try:
        async with asyncio.timeout(timeout_s):
            async for s in samples or link.telemetry():
                last = s
                if predicate(s):
                    return s
    except TimeoutError:
        pass
    raise AssertionError(f"not seen within {timeout_s} s: {what}; last sample: {last}")


def on_ground_disarmed(s: TelemetrySample) -> bool:
    return not s.armed and not s.in_air and s.landed_state == "ON_GROUND"


async def reset(link: MavsdkVehicleLink, timeout_s: float = 60) -> None:
    """Back to landed, disarmed, in HOLD with no mission and no fence: the state every test starts from."""
    s = await link.latest()
    if s is not None and s.in_air:
        await link.return_to_launch()
        await until(link, lambda x: not x.in_air, timeout_s, "landed")
    # Disarm even if telemetry says disarmed: the armed flag rides on a 1 Hz HEARTBEAT.
    try:
        await link.disarm()
    except CommandRejectedError:
        await until(link, lambda x: not x.armed, 10, "disarmed")
    await link.clear_mission()
    await link.upload_fence([])  # a fence left behind makes PX4 refuse the next mission


def distance_from_home(s: TelemetrySample) -> float:
    assert s.home_lat is not None and s.home_lon is not None
    return ground_distance_m(s.home_lat, s.home_lon, s.lat, s.lon)


def offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    return lat + north_m / 111_320.0, lon + east_m / (111_320.0 * math.cos(math.radians(lat)))


def same_items(a: Sequence[MissionItem], b: Sequence[MissionItem], *, fence: bool = False) -> bool:
    """Equal as MAVLink carries them: positions to 1e-7°, params and altitude as float32, NaN == NaN.

    A take-off without a position (0, 0) matches any position (the link gives it the vehicle's). Fence items: PX4 does not keep ``autocontinue``, so it is not compared.
    """
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if (x.command, x.frame) != (y.command, y.frame) or (not fence and x.autocontinue != y.autocontinue):
            return False
        placed_by_link = x.command == MavCmd.NAV_TAKEOFF and (0.0, 0.0) in ((x.lat, x.lon), (y.lat, y.lon))
        if not placed_by_link and (abs(x.lat - y.lat) > 1.5e-7 or abs(x.lon - y.lon) > 1.5e-7):
            return False
        for p, q in zip((*x.params, x.alt), (*y.params, y.alt), strict=True):
            if not (math.isnan(p) and math.isnan(q)) and not math.isclose(p, q, rel_tol=1e-6, abs_tol=1e-6):
                return False
    return True
