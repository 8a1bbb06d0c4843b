"""Failsafes through the link with the simulator: link loss and low battery bring the vehicle home; a
lossy link never leaves a half-uploaded mission. Ports: ground station 16040, vehicle 16540."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from geo.items import MissionItem, return_to_launch, takeoff, waypoint
from mission.errors import CommandRejectedError, MissionTransferError
from mission.flight import FlightTimeouts, fly_route
from mission.ports import TelemetrySample
from tests.vehicle_env import (
    HOME,
    Env,
    distance_from_home,
    offset,
    on_ground_disarmed,
    reset,
    same_items,
    until,
    vehicle_env,
)

pytestmark = [pytest.mark.sim, pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env_module() -> AsyncIterator[Env]:
    async with vehicle_env(gcs_port=16040, vehicle_port=16540) as e:
        yield e


@pytest_asyncio.fixture(loop_scope="module")
async def env(env_module: Env) -> AsyncIterator[Env]:
    assert env_module.sim is not None
    await reset(env_module.link)
    yield env_module
    env_module.sim.faults(0).drop_link(0)
    env_module.sim.faults(0).set_loss(0.0)
    env_module.sim.set_battery(0, 100)
    await reset(env_module.link)


async def fly_out(env: Env, north_m: float = 50) -> TelemetrySample:
    """Arm, take off to 10 m, fly ``north_m`` away and hover there."""
    link = env.link
    await link.arm()
    await link.takeoff(10)
    s = await until(link, lambda s: s.mode == "HOLD" and s.alt_rel_m > 9, 15, "hovering at 10 m")
    lat, lon = offset(s.lat, s.lon, north_m, 0)
    await link.goto(lat, lon, s.alt_amsl_m)
    return await until(link, lambda s: distance_from_home(s) > north_m - 3, 15, f"{north_m} m out")


async def test_link_loss_returns_and_lands_at_home(env: Env) -> None:
    assert env.sim is not None
    link, params = env.link, {"NAV_DLL_ACT": 2, "COM_DL_LOSS_T": 30, "RTL_RETURN_ALT": 15.0}
    saved = {name: await link.get_param(name) for name in params}
    try:
        for name, value in params.items():
            await link.set_param(name, value)
        await fly_out(env)
        env.sim.faults(0).drop_link(5)  # 5 s of wall clock = 50 s simulated, beyond COM_DL_LOSS_T
        s = await until(link, lambda s: s.mode == "RETURN_TO_LAUNCH", 15, "returning after the link is back")
        assert s.in_air or distance_from_home(s) < 5
        landed = await until(link, on_ground_disarmed, 30, "landed and disarmed")
        assert distance_from_home(landed) < 2.0
    finally:
        env.sim.faults(0).drop_link(0)
        await reset(link)
        for name, value in saved.items():
            await link.set_param(name, value)


async def test_low_battery_returns_and_lands_at_home(env: Env) -> None:
    assert env.sim is not None
    link = env.link
    texts = link.status_texts()
    # The pack keeps draining on the way home; keep the emergency level (land where you are) out of reach
    # so this test sees the return, not the emergency landing that follows it on a long way back.
    saved = await link.get_param("BAT_EMERGEN_THR")
    await link.set_param("BAT_EMERGEN_THR", 0.01)
    try:
        await fly_out(env, north_m=40)
        env.sim.set_battery(0, 6)  # below BAT_CRIT_THR (7 %): COM_LOW_BAT_ACT 3 returns
        await until(link, lambda s: s.mode == "RETURN_TO_LAUNCH", 15, "returning on low battery")
        landed = await until(link, on_ground_disarmed, 40, "landed and disarmed")
        assert distance_from_home(landed) < 2.0
    finally:
        await link.set_param("BAT_EMERGEN_THR", saved)
    said = []
    while not texts._queue.empty():
        said.append((await anext(texts)).text.lower())
    assert any("battery" in t for t in said), said


def mission(n: int, north0: float) -> list[MissionItem]:
    points = [offset(HOME[0], HOME[1], north0 + 10 * i, 5 * (i % 2)) for i in range(n)]
    return [
        takeoff(12),
        *[waypoint(lat, lon, 12 + i % 3) for i, (lat, lon) in enumerate(points)],
        return_to_launch(),
    ]


async def test_lossy_link_upload_is_all_or_nothing(env: Env) -> None:
    """20 % loss each way: an upload either succeeds and reads back identical, or fails with a clear
    MissionTransferError and the vehicle holds one whole mission, never a mix. On failure that is
    usually the previous one; it can be the new one when only the vehicle's final MISSION_ACK was lost
    (the vehicle stored it, the ground never heard so): no protocol can rule that out."""
    assert env.sim is not None
    link, before = env.link, mission(5, 20)
    await link.upload_mission(before)
    outcomes = []
    for attempt in range(3):
        after = mission(12 + attempt, 40)
        env.sim.faults(0).set_loss(0.2)
        try:
            await link.upload_mission(after)
            outcomes.append("uploaded")
        except MissionTransferError as exc:
            outcomes.append(exc.result)
            assert exc.operation == "upload mission" and exc.result in ("TIMEOUT", "PROTOCOL_ERROR", "ERROR")
        finally:
            env.sim.faults(0).set_loss(0.0)
        stored = await link.download_mission()  # over the restored link
        if outcomes[-1] == "uploaded":
            assert same_items(stored, after), f"attempt {attempt}: {outcomes}"
        else:
            assert same_items(stored, before) or same_items(stored, after), f"attempt {attempt}: {outcomes}"
        before = stored


async def test_a_flight_that_fails_after_arming_leaves_the_vehicle_disarmed(env: Env) -> None:
    assert env.sim is not None
    link = env.link
    prflt = await link.get_param("COM_DISARM_PRFLT")
    await link.set_param("COM_DISARM_PRFLT", 120.0)  # so that only fly_route's own disarm can disarm it
    try:
        far = offset(HOME[0], HOME[1], 20_000, 0)  # beyond MIS_DIST_1WP: PX4 refuses to start the mission
        with pytest.raises(CommandRejectedError) as info:
            await fly_route(
                link,
                [waypoint(*far, 10), return_to_launch()],
                timeouts=FlightTimeouts(ready_s=10),
            )
        assert info.value.operation == "start mission"
        assert not env.sim.vehicle(0).autopilot.armed  # the simulator's own state, not telemetry
        s = await until(link, lambda s: not s.armed, 3, "disarmed")
        assert not s.in_air
    finally:
        await link.set_param("COM_DISARM_PRFLT", prflt)
