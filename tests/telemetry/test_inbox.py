"""The thread -> loop hand-over of the vehicle link: batches, latest-wins, events in order, bounded."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from telemetry.inbox import Inbox
from telemetry.mavsdk_link import StreamRates
from telemetry.samples import SampleMerger


class Owner:
    def __init__(self) -> None:
        self.latest: dict[str, Any] = {}
        self.events: list[Any] = []
        self.flushes = 0
        self.on_loop: list[bool] = []

    def handler(self, name: str):
        def handle(value: Any) -> None:
            self.on_loop.append(threading.current_thread() is threading.main_thread())
            self.latest[name] = value

        return handle

    def event(self, value: Any) -> None:
        self.events.append(value)

    def flush(self) -> None:
        self.flushes += 1


async def _from_thread(work) -> None:
    # Run ``work`` on another thread while the loop is blocked: everything it puts lands in one batch.
    t = threading.Thread(target=work, name="test.producer")
    t.start()
    t.join()


async def test_a_burst_from_another_thread_is_one_batch_with_the_latest_values_and_every_event() -> None:
    inbox = Inbox(asyncio.get_running_loop())
    a, b = Owner(), Owner()
    pos_a, pos_b = a.handler("position"), b.handler("position")

    def work() -> None:
        for i in range(1000):
            inbox.put_latest(("a", "position"), a, pos_a, i)
            inbox.put_latest(("b", "position"), b, pos_b, -i)
            if i % 100 == 0:
                inbox.put_event(a, a.event, i)

    await _from_thread(work)
    assert a.latest == {} and inbox.batches == 0  # nothing runs on the producer's thread
    await asyncio.sleep(0.01)
    assert inbox.batches == 1  # 2,010 values, one loop wake-up
    assert a.latest == {"position": 999} and b.latest == {"position": -999}
    assert a.events == list(range(0, 1000, 100))
    assert (a.flushes, b.flushes) == (1, 1)  # once per owner per batch, after its handlers
    assert all(a.on_loop + b.on_loop)

    await _from_thread(lambda: inbox.put_latest(("a", "position"), a, pos_a, 5))
    await asyncio.sleep(0.01)
    assert inbox.batches == 2 and a.latest["position"] == 5 and (a.flushes, b.flushes) == (2, 1)


async def test_events_are_bounded_dropping_the_oldest_and_a_failing_handler_spoils_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    inbox = Inbox(asyncio.get_running_loop(), max_events=10)
    o = Owner()

    def boom(value: Any) -> None:
        raise ValueError(value)

    def work() -> None:
        inbox.put_latest("bad", o, boom, 1)
        for i in range(25):
            inbox.put_event(o, o.event, i)

    await _from_thread(work)
    await asyncio.sleep(0.01)
    assert o.events == list(range(15, 25)) and inbox.dropped == 15
    assert o.flushes == 1
    assert "failed" in caplog.text


def test_landed_state_sets_in_air_as_mavsdk_does() -> None:
    m = SampleMerger()
    m.position(lat=1.0, lon=2.0, alt_amsl_m=3.0, alt_rel_m=0.0)
    seen = []
    for state in ("ON_GROUND", "TAKING_OFF", "IN_AIR", "UNKNOWN", "LANDING", "ON_GROUND", "UNKNOWN"):
        m.landed(state)
        s = m.sample()
        assert s is not None and s.landed_state == state
        seen.append(s.in_air)
    assert seen == [False, True, True, True, True, False, False]  # UNKNOWN keeps the last


def test_fleet_stream_rates_follow_the_sample_rate() -> None:
    r = StreamRates.for_sample_rate(5.0)
    assert (r.position, r.attitude_euler) == (5.0, 5.0)
    assert r.battery == r.gps_info == 1.0 and r.landed_state >= 1.0
    with pytest.raises(ValueError):
        StreamRates.for_sample_rate(0)
