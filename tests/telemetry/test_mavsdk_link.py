"""The MAVSDK vehicle link against the real simulator over loopback UDP (ports 16000/16500)."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from geo.items import MavFrame, MissionItem, change_speed, loiter_time, return_to_launch, takeoff, waypoint
from mission.errors import CommandRejectedError, MissionTransferError, VehicleNotFoundError
from mission.ports import StatusText, VehicleLink
from telemetry.fanout import Subscription
from telemetry.mavsdk_link import MavsdkHub
from tests.vehicle_env import HOME, Env, offset, on_ground_disarmed, reset, same_items, until, vehicle_env

pytestmark = [pytest.mark.sim, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env() -> AsyncIterator[Env]:
    async with vehicle_env(gcs_port=16000, vehicle_port=16500) as e:
        yield e


@pytest_asyncio.fixture(loop_scope="module")
async def fresh(env: Env) -> AsyncIterator[Env]:
    await reset(env.link)
    yield env
    await reset(env.link)


def short_mission(lat: float, lon: float) -> list[MissionItem]:
    a, b = offset(lat, lon, 30, 0), offset(lat, lon, 30, 30)
    return [takeoff(10), waypoint(*a, 10), waypoint(*b, 10), return_to_launch()]


async def test_link_implements_the_port_and_reports_plausible_telemetry(fresh: Env) -> None:
    link = fresh.link
    assert isinstance(link, VehicleLink)
    assert link.system_id == 1 and await fresh.hub.system_ids() == [1]
    s = await until(
        link, lambda s: s.home_lat is not None and math.isfinite(s.battery_pct), 5, "home and battery"
    )
    assert abs(s.lat - HOME[0]) < 1e-4 and abs(s.lon - HOME[1]) < 1e-4
    assert abs(s.alt_amsl_m - HOME[2]) < 2 and abs(s.alt_rel_m) < 1
    assert 50 <= s.battery_pct <= 100 and 10 < s.battery_v < 30
    assert s.gps_fix >= 3 and s.satellites >= 6
    assert (s.mode, s.armed, s.in_air, s.landed_state) == ("HOLD", False, False, "ON_GROUND")
    assert 0 <= s.heading_deg < 360 and abs(s.roll_deg) < 5 and abs(s.pitch_deg) < 5
    assert s.ground_speed_mps < 0.5


async def test_arm_takeoff_hold_goto_land(fresh: Env) -> None:
    link = fresh.link
    samples = link.telemetry()
    await link.arm()
    await link.takeoff(10)
    await until(link, lambda s: s.in_air and 1 < s.alt_rel_m < 9, 5, "climbing", samples=samples)
    s = await until(link, lambda s: s.mode == "HOLD" and s.alt_rel_m > 9, 10, "HOLD at 10 m")
    lat, lon = offset(s.lat, s.lon, 20, 0)
    await link.goto(lat, lon, s.alt_amsl_m)
    await until(link, lambda s: abs(s.lat - lat) < 2e-5, 10, "arrived at the goto point")
    await link.hold()
    await link.land()
    s = await until(link, on_ground_disarmed, 30, "landed and disarmed")
    assert s.alt_rel_m < 0.5


async def test_mission_and_fence_round_trip(fresh: Env) -> None:
    link = fresh.link
    lat, lon = HOME[0], HOME[1]
    mission = [
        takeoff(15),
        change_speed(7.5),
        waypoint(*offset(lat, lon, 40, 10), 15, acceptance_m=3),
        loiter_time(*offset(lat, lon, 60, 40), 20, 2.5),
        waypoint(*offset(lat, lon, 0, 70), 25.5, yaw_deg=90),
        return_to_launch(),
    ]
    await link.upload_mission(mission)
    assert same_items(await link.download_mission(), mission)
    corners = [offset(lat, lon, n, e) for n, e in ((-200, -200), (-200, 200), (200, 200), (200, -200))]
    fence = [
        MissionItem(command=5001, frame=MavFrame.GLOBAL, param1=4, lat=a, lon=o, alt=0, param4=0)
        for a, o in corners
    ] + [MissionItem(command=5004, frame=MavFrame.GLOBAL, param1=25, lat=lat + 0.001, lon=lon, param4=0)]
    await link.upload_fence(fence)
    assert same_items(await link.download_fence(), fence, fence=True)
    assert same_items(await link.download_mission(), mission)  # separate stores
    await link.clear_mission()
    assert await link.download_mission() == []
    await link.upload_fence([])
    assert await link.download_fence() == []


async def test_start_mission_survives_the_mode_revoke(fresh: Env) -> None:
    # PX4 may ACCEPT the switch to Mission and revoke it ~0.1 s later; start_mission must notice and retry.
    link = fresh.link
    if fresh.sim is not None:
        fresh.sim.vehicle(0).autopilot._quirk_p = 1.0  # make the simulator revoke on every new upload
    texts = link.status_texts()
    await link.upload_mission(short_mission(HOME[0], HOME[1]))
    progress = link.mission_progress()
    await link.arm()
    await link.start_mission()
    s = await until(link, lambda s: s.in_air and s.mode == "MISSION", 5, "flying the mission")
    assert s.armed
    seen = []
    async with asyncio.timeout(20):
        async for p in progress:
            seen.append(p.current)
            if p.current >= 2:
                break
    assert seen == sorted(seen)
    await link.pause_mission()
    await until(link, lambda s: s.mode == "HOLD", 3, "paused")
    said = [t.text async for t in _drain(texts)]
    if fresh.sim is not None:
        assert "Switching to Mission is currently not available" in said


async def _drain(sub: Subscription[StatusText]) -> AsyncIterator[StatusText]:
    while not sub._queue.empty():
        yield await anext(sub)


async def test_set_current_item_jumps_in_the_mission(fresh: Env) -> None:
    link = fresh.link
    await link.upload_mission(short_mission(HOME[0], HOME[1]))
    await link.set_current_item(2)
    await until(link, lambda s: s.mission_item == 2, 5, "current item 2")


async def test_arming_without_gps_is_rejected(fresh: Env) -> None:
    if fresh.sim is None:
        pytest.skip("needs the simulator's GPS fault")
    fresh.sim.set_gps(0, False)
    try:
        await until(fresh.link, lambda s: s.gps_fix < 3, 5, "GPS lost")
        with pytest.raises(CommandRejectedError) as info:
            await fresh.link.arm()
        assert info.value.operation == "arm" and info.value.result.startswith("COMMAND_DENIED")
    finally:
        fresh.sim.set_gps(0, True)
    await fresh.link.wait_ready(30)


async def test_unsupported_mission_item_is_a_transfer_error(fresh: Env) -> None:
    await fresh.link.upload_mission(short_mission(HOME[0], HOME[1]))
    bad = [takeoff(10), MissionItem(command=31999, frame=MavFrame.MISSION), return_to_launch()]
    with pytest.raises(MissionTransferError) as info:
        await fresh.link.upload_mission(bad)
    assert info.value.operation == "upload mission" and info.value.result == "UNSUPPORTED"
    assert same_items(await fresh.link.download_mission(), short_mission(HOME[0], HOME[1]))


async def test_samples_are_rate_limited_for_a_consumer_that_does_not_read(fresh: Env) -> None:
    sub = fresh.link.telemetry()
    await asyncio.sleep(1.0)
    assert 5 <= sub._queue.qsize() <= 22  # at most 20 Hz, whatever the autopilot's stream rates


async def test_no_vehicle_on_the_connection_fails_fast() -> None:
    start = time.monotonic()
    async with MavsdkHub() as hub:
        await hub.add_connection("udpin://127.0.0.1:16099")
        with pytest.raises(VehicleNotFoundError):
            async with hub.link(1, timeout_s=0.5):
                pass
    assert time.monotonic() - start < 3
