"""The conformance suite drives a vehicle only through MAVSDK (our link) and asserts PX4 behaviour.

By default the vehicle is our simulator (ports 16010/16510, speed 10); with ``PX4_SITL_URL`` set
(e.g. ``udpin://127.0.0.1:14540``) the same tests fly a real PX4 SITL, and sim-only tests skip.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.vehicle_env import SITL_URL, Env, reset, vehicle_env


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def vehicle_module() -> AsyncIterator[Env]:
    async with vehicle_env(gcs_port=16010, vehicle_port=16510, url=SITL_URL) as env:
        yield env


@pytest_asyncio.fixture(loop_scope="module")
async def vehicle(vehicle_module: Env) -> AsyncIterator[Env]:
    """The shared vehicle, landed, disarmed and without a mission before and after each test."""
    await reset(vehicle_module.link)
    yield vehicle_module
    await reset(vehicle_module.link)


@pytest.fixture
def sim_only(vehicle_module: Env) -> None:
    if vehicle_module.sim is None:
        pytest.skip("fault injection needs the simulator (PX4_SITL_URL is set)")
