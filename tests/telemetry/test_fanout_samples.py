"""Pure parts of the vehicle link: the drop-oldest fan-out and the telemetry merger."""

from __future__ import annotations

import asyncio
import gc
from datetime import UTC, datetime

from mission.ports import MissionProgress
from telemetry.fanout import Fanout
from telemetry.samples import Health, SampleMerger


async def test_slow_subscriber_keeps_only_the_newest_values() -> None:
    fan: Fanout[int] = Fanout(maxsize=3)
    sub = fan.subscribe()
    for i in range(10):
        fan.publish(i)
    fan.close()
    assert [v async for v in sub] == [7, 8, 9]
    assert sub.dropped == 7


async def test_subscription_registered_before_first_iteration_and_forgotten_when_dropped() -> None:
    fan: Fanout[int] = Fanout()
    sub = fan.subscribe()
    fan.publish(1)  # published before anyone awaited: still delivered
    assert await asyncio.wait_for(anext(sub), 1) == 1
    del sub
    gc.collect()
    assert len(fan._subscribers) == 0


async def test_subscribe_after_close_ends_at_once() -> None:
    fan: Fanout[int] = Fanout()
    fan.close()
    assert [v async for v in fan.subscribe()] == []


def test_merger_has_no_sample_before_a_position_fix() -> None:
    m = SampleMerger()
    m.flight_mode("HOLD")
    m.position(lat=float("nan"), lon=float("nan"), alt_amsl_m=0, alt_rel_m=0)
    assert m.sample() is None


def test_merger_combines_the_latest_of_each_stream() -> None:
    m = SampleMerger()
    m.position(lat=19.365, lon=-99.215, alt_amsl_m=2310, alt_rel_m=10)
    m.home(lat=19.3651, lon=-99.2151, alt_amsl_m=2300)
    m.velocity(north=3, east=4, down=-1)
    m.attitude(roll_deg=1, pitch_deg=-2, yaw_deg=-90)
    m.battery(remaining_pct=87.5, voltage_v=16.1)
    m.flight_mode("MISSION")
    m.armed(True)
    m.in_air(True)
    m.landed_state("IN_AIR")
    m.gps(fix_type=3, satellites=12)
    m.mission_progress(MissionProgress(current=2, total=5))
    m.position(lat=19.366, lon=-99.215, alt_amsl_m=2311, alt_rel_m=11)  # the newest wins
    t = datetime(2026, 1, 1, tzinfo=UTC)
    s = m.sample(t)
    assert s is not None
    assert (s.time, s.lat, s.alt_rel_m, s.home_lat) == (t, 19.366, 11, 19.3651)
    assert s.ground_speed_mps == 5 and s.climb_rate_mps == 1 and s.heading_deg == 270
    assert (s.mode, s.armed, s.in_air, s.landed_state) == ("MISSION", True, True, "IN_AIR")
    assert (s.battery_pct, s.gps_fix, s.satellites, s.mission_item, s.mission_count) == (87.5, 3, 12, 2, 5)


def test_health_lists_what_is_missing() -> None:
    assert Health(global_position_ok=True, home_position_ok=True, armable=True).ready
    h = Health(global_position_ok=True)
    assert not h.ready and h.missing() == ["home", "armable"]
