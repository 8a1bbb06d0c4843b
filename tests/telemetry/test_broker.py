"""The embedded amqtt broker (the demo's fallback) carries the bus: round trip, retained state, QoS 1 order."""

from __future__ import annotations

import asyncio
import logging
import os

import aiomqtt
import pytest

from mission.errors import BusError, ConfigError
from mission.topics import DroneState, decode, mission_events_topic, offline_state, state_topic
from telemetry.broker import EmbeddedBroker
from telemetry.mqtt import MqttBus

PORT = 18900 + os.getpid() % 90  # 18900-18989, apart from parallel runs


async def test_round_trip_retained_and_in_order() -> None:
    async with EmbeddedBroker(port=PORT) as broker, MqttBus(broker.url) as bus:
        assert broker.url == f"mqtt://127.0.0.1:{PORT}"
        await bus.wait_connected(3)
        await bus.publish(state_topic("d1"), offline_state("d1").to_json(), qos=1, retain=True)
        async with bus.subscribe(mission_events_topic("m1")) as events:
            for seq in range(20):
                await bus.publish(mission_events_topic("m1"), b"%d" % seq, qos=1)
            got = [(await asyncio.wait_for(anext(events), 3))[1] for _ in range(20)]
        assert got == [b"%d" % seq for seq in range(20)]
        # A client that arrives later gets the retained state.
        async with aiomqtt.Client("127.0.0.1", PORT) as late:
            await late.subscribe(state_topic("+"), qos=1)
            msg = await asyncio.wait_for(anext(aiter(late.messages)), 3)
        assert msg.retain and decode(DroneState, msg.payload).status == "offline"  # type: ignore[arg-type]


async def test_is_quiet_and_loopback_only(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(ConfigError):
        EmbeddedBroker(host="0.0.0.0", port=PORT)
    with caplog.at_level(logging.INFO):
        async with EmbeddedBroker(port=PORT + 1) as broker, MqttBus(broker.url) as bus:
            await bus.wait_connected(3)
    assert not [r for r in caplog.records if r.name.startswith("amqtt") and r.levelno < logging.WARNING]


async def test_port_in_use_is_a_bus_error() -> None:
    async with EmbeddedBroker(port=PORT + 2):
        with pytest.raises(BusError, match="could not start"):
            async with EmbeddedBroker(port=PORT + 2):
                pass
