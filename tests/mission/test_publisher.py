"""The telemetry publisher: the pure rate limiter, then the real thing through MqttBus and Mosquitto.

Rates are measured with the receive times of an independent subscriber, with tolerant bounds.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from itertools import pairwise

import pytest

from mission.errors import ConfigError
from mission.ports import TelemetrySample
from mission.publisher import LatestWins, PublisherConfig, TelemetryPublisher
from mission.topics import (
    DroneState,
    MissionEvent,
    Telemetry,
    decode,
    mission_events_topic,
    state_topic,
    telemetry_topic,
)
from telemetry.mqtt import MqttBus

BASE = TelemetrySample(
    time=datetime(2026, 5, 1, 14, 0, tzinfo=UTC),
    lat=19.365,
    lon=-99.215,
    alt_amsl_m=2340.0,
    alt_rel_m=40.0,
    heading_deg=90.0,
    ground_speed_mps=8.0,
    climb_rate_mps=0.0,
    roll_deg=0.0,
    pitch_deg=0.0,
    battery_pct=80.0,
    battery_v=15.9,
    mode="MISSION",
    armed=True,
    in_air=True,
    landed_state="IN_AIR",
    gps_fix=3,
    satellites=12,
    mission_item=0,
    mission_count=1000,
)


# --- the pure limiter --------------------------------------------------------------------------


def test_steady_fast_stream_comes_out_at_the_rate_newest_first() -> None:
    limiter: LatestWins[str, int] = LatestWins(period_s=0.2)
    out: list[tuple[float, int]] = []
    for i in range(200):  # 20 Hz for 10 s
        now = i * 0.05
        limiter.offer("d1", i)
        out += [(now, v) for _, v in limiter.due(now)]
    assert len(out) == 50
    times = [t for t, _ in out]
    assert all(b - a == pytest.approx(0.2) for a, b in pairwise(times))
    assert [v for _, v in out] == [4 * k for k in range(50)]  # each the newest at its slot


def test_slow_stream_passes_at_once_and_keys_are_independent() -> None:
    limiter: LatestWins[str, int] = LatestWins(period_s=0.2)
    for i in range(5):  # 2 Hz: slower than the rate, nothing waits
        limiter.offer("slow", i)
        assert limiter.due(i * 0.5) == [("slow", i)]
    limiter.offer("a", 1)
    limiter.offer("b", 2)
    assert sorted(limiter.due(3.0)) == [("a", 1), ("b", 2)]
    limiter.offer("a", 3)
    assert limiter.due(3.1) == []
    assert limiter.next_due() == pytest.approx(3.2)
    assert limiter.due(3.2) == [("a", 3)]
    assert limiter.next_due() is None


def test_config_is_validated() -> None:
    with pytest.raises(ConfigError):
        PublisherConfig(rate_hz=0)
    with pytest.raises(ConfigError):
        LatestWins(period_s=0)


# --- through a real broker ---------------------------------------------------------------------


@pytest.fixture
async def bus() -> AsyncIterator[MqttBus]:
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", 1883)) != 0:
            if os.environ.get("CI"):
                pytest.fail("Mosquitto is not running on 127.0.0.1:1883")
            pytest.skip("Mosquitto is not running on 127.0.0.1:1883")
    async with MqttBus("mqtt://127.0.0.1:1883") as b:
        await b.wait_connected(3)
        yield b


@pytest.mark.services
async def test_telemetry_is_limited_to_5_hz_latest_wins_without_backlog(bus: MqttBus) -> None:
    drone = f"t{uuid.uuid4().hex[:12]}"
    offered: dict[int, float] = {}
    received: list[tuple[float, Telemetry]] = []
    async with bus.subscribe(telemetry_topic(drone)) as sub:

        async def collect() -> None:
            async for _, payload in sub:
                received.append((time.monotonic(), decode(Telemetry, payload)))

        collector = asyncio.create_task(collect(), name="test.collect")
        async with TelemetryPublisher(bus, PublisherConfig(rate_hz=5.0)) as pub:
            start = time.monotonic()
            i = 0
            while time.monotonic() - start < 2.0:  # ~50 Hz producer for 2 s
                offered[i] = time.monotonic()
                pub.offer(drone, replace(BASE, mission_item=i), mission="m1")
                i += 1
                await asyncio.sleep(0.02)
            last = i - 1
            await asyncio.sleep(0.5)
        collector.cancel()
        await asyncio.gather(collector, return_exceptions=True)

    items = [t.mission_item for _, t in received]
    times = [t for t, _ in received]
    assert last > 60, "the producer really was faster than the limit"
    assert 9 <= len(received) <= 12, f"~5 Hz over 2 s, got {len(received)}"
    gaps = [b - a for a, b in pairwise(times)]
    assert min(gaps) > 0.14, f"two samples {min(gaps):.3f} s apart"
    assert items == sorted(items) and len(set(items)) == len(items)
    assert items[-1] == last, "the newest sample is published at the next slot (latest wins)"
    # No backlog: each sample reaches the subscriber within one slot of being offered, plus slack.
    delays = [t - offered[item] for t, item in zip(times, items, strict=True)]  # type: ignore[index]
    assert max(delays) < 0.2 + 0.15, f"a sample waited {max(delays):.3f} s"


@pytest.mark.services
async def test_state_is_retained_on_change_link_loss_and_offline_on_exit(bus: MqttBus) -> None:
    drone = f"t{uuid.uuid4().hex[:12]}"
    cfg = PublisherConfig(link_timeout_s=0.3, state_interval_s=30.0)
    async with bus.subscribe(state_topic(drone)) as sub:
        async with TelemetryPublisher(bus, cfg) as pub:
            pub.offer(drone, replace(BASE, armed=False, in_air=False), mission=None)
            first = decode(DroneState, (await asyncio.wait_for(anext(sub), 3))[1])
            pub.offer(
                drone, replace(BASE, armed=False, in_air=False, mission_item=5), mission=None
            )  # same health
            await asyncio.sleep(0.1)
            pub.offer(drone, replace(BASE, armed=True, in_air=False), mission="m1")  # a change
            armed = decode(DroneState, (await asyncio.wait_for(anext(sub), 3))[1])
            lost = decode(DroneState, (await asyncio.wait_for(anext(sub), 3))[1])  # no sample for 0.3 s
        offline = decode(DroneState, (await asyncio.wait_for(anext(sub), 3))[1])
    assert (first.status, first.armed, first.link) == ("online", False, "ok")
    assert (armed.armed, armed.mission, armed.link) == (True, "m1", "ok"), "an unchanged sample adds no state"
    assert lost.link == "lost"
    assert offline.status == "offline"
    await bus.publish(state_topic(drone), b"", qos=1, retain=True)  # clear the retained message


@pytest.mark.services
async def test_mission_events_arrive_in_order_numbered(bus: MqttBus) -> None:
    mission = f"m{uuid.uuid4().hex[:12]}"
    async with bus.subscribe(mission_events_topic(mission)) as sub:
        async with TelemetryPublisher(bus) as pub:
            seqs = [
                await pub.event(mission, "transition", from_state=str(k), to_state=str(k + 1))
                for k in range(100)
            ]
        got = [decode(MissionEvent, (await asyncio.wait_for(anext(sub), 3))[1]) for _ in range(100)]
    assert seqs == list(range(100))
    assert [e.seq for e in got] == seqs
    assert [e.to_state for e in got] == [str(k + 1) for k in range(100)]
