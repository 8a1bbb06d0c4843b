"""The real client against the simulator: MAVSDK 4 (in-process C library) connects, finds the vehicle
healthy, reads parameters, arms, takes off, uploads a mission with mission_raw and flies it to the end. Speed factor 10."""

from __future__ import annotations

import asyncio
import time

import pytest
from mavsdk import ComponentType, Configuration
from mavsdk.asyncio import Mavsdk
from mavsdk.asyncio.plugins.action import ActionAsync
from mavsdk.asyncio.plugins.mission_raw import MissionRawAsync
from mavsdk.asyncio.plugins.param import ParamAsync
from mavsdk.asyncio.plugins.telemetry import TelemetryAsync
from mavsdk.plugins.mission_raw import MissionItem

from sim.runner import Simulator
from tests.sim._parts import HOME, autopilot_factory

GCS_PORT, VEHICLE_PORT = 15400, 15480
pytestmark = [pytest.mark.sim, pytest.mark.slow, pytest.mark.timeout(60)]


def _waypoints(home: tuple[float, float, float]) -> list[MissionItem]:
    offsets = [(0.0, 0.0), (30.0, 0.0), (30.0, 30.0)]  # north, east metres
    items = []
    for seq, (n, e) in enumerate(offsets):
        lat = home[0] + n / 111_320
        lon = home[1] + e / 105_000
        items.append(
            MissionItem(
                seq=seq, frame=6, command=16, current=int(seq == 0), autocontinue=1,
                param1=0.0, param2=2.0, param3=0.0, param4=float("nan"),
                x=round(lat * 1e7), y=round(lon * 1e7), z=15.0, mission_type=0,
            )
        )  # fmt: skip
    return items


async def _until(agen, predicate, within: float):
    async def scan():
        async for value in agen:
            if predicate(value):
                return value
        return None

    return await asyncio.wait_for(scan(), within)


async def _poll(getter, predicate, within: float):
    deadline = time.monotonic() + within
    while not predicate(value := await getter()):
        assert time.monotonic() < deadline, f"timed out; last value {value!r}"
        await asyncio.sleep(0.1)
    return value


async def test_mavsdk_connects_arms_and_flies_a_mission() -> None:
    config = Configuration.create_with_component_type(ComponentType.GROUND_STATION)
    async with (
        Simulator(vehicles=1, speed=10, home=HOME, gcs_port_base=GCS_PORT, vehicle_port_base=VEHICLE_PORT,
                  autopilot_factory=autopilot_factory()) as sim,
        Mavsdk(config) as sdk,
    ):  # fmt: skip
        await sdk.add_any_connection(f"udpin://127.0.0.1:{GCS_PORT}")
        system = await sdk.first_autopilot(timeout_s=5)
        assert system is not None
        tel, action, mission = TelemetryAsync(system), ActionAsync(system), MissionRawAsync(system)

        health = await _until(
            tel.subscribe_health(),
            lambda h: h.is_armable and h.is_global_position_ok and h.is_home_position_ok,
            8,
        )
        assert health.is_local_position_ok and health.is_gyrometer_calibration_ok

        params = ParamAsync(system)  # MAVSDK reads PX4's int32 parameters byte-wise
        assert await params.get_param_int("COM_DL_LOSS_T") == 100  # 10 s scaled by the speed factor, as PX4
        assert await params.get_param_float("MPC_XY_CRUISE") == pytest.approx(5.0)
        await mission.upload_mission(_waypoints(sim.vehicle(0).home))
        assert len(await mission.download_mission()) == 3

        await action.arm()
        await _poll(tel.armed, bool, 0.5)  # the heartbeat goes out at once on arming
        await action.takeoff()
        await _poll(tel.in_air, bool, 5)

        # like PX4, the switch to Mission may be accepted and then revoked right after an upload:
        # confirm from the heartbeat and retry, as a real client must
        deadline = time.monotonic() + 8
        while (await tel.flight_mode()).name != "MISSION":
            assert time.monotonic() < deadline, "never entered Mission mode"
            await mission.start_mission()
            await asyncio.sleep(0.4)
        progress = await _until(mission.subscribe_mission_progress(), lambda p: p.current == p.total == 3, 20)
        assert progress.total == 3
        position = await tel.position()
        assert position.relative_altitude_m == pytest.approx(15.0, abs=2.0)
        assert sim.real_time_factor == pytest.approx(10.0, rel=0.1)
