"""FlightRecorder: the figures of a flight folded from samples and progress (pure, no vehicle)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from geo.items import return_to_launch, takeoff, waypoint
from mission.flight import FlightRecorder
from mission.ports import MissionProgress, TelemetrySample
from mission.routes import ground_distance_m

HOME = (19.3650, -99.2150)
ITEMS = [takeoff(20), waypoint(19.3655, -99.2150, 20), waypoint(19.3655, -99.2145, 20), return_to_launch()]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def sample(
    t: float, lat: float, lon: float, alt: float, *, armed: bool = True, **kw: object
) -> TelemetrySample:
    base = TelemetrySample(
        time=T0 + timedelta(seconds=t),
        lat=lat,
        lon=lon,
        alt_amsl_m=2300 + alt,
        alt_rel_m=alt,
        heading_deg=0,
        ground_speed_mps=0,
        climb_rate_mps=0,
        roll_deg=0,
        pitch_deg=0,
        battery_pct=100 - t / 10,
        battery_v=16,
        mode="MISSION",
        armed=armed,
        in_air=alt > 0.5,
        landed_state="IN_AIR" if alt > 0.5 else "ON_GROUND",
        gps_fix=3,
        satellites=12,
        mission_item=None,
        mission_count=0,
        home_lat=HOME[0],
        home_lon=HOME[1],
        home_alt_amsl_m=2300,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def fly(rec: FlightRecorder) -> None:
    rec.add_sample(sample(0, *HOME, 0, armed=False))
    rec.add_sample(sample(1, *HOME, 0))
    rec.add_sample(sample(5, *HOME, 20))
    rec.add_progress(MissionProgress(current=1, total=4))
    rec.add_sample(sample(20, 19.3655, -99.2150, 20))
    rec.add_progress(MissionProgress(current=2, total=4))
    rec.add_sample(sample(30, 19.3655, -99.2145, 20))
    rec.add_progress(MissionProgress(current=3, total=4))
    rec.add_sample(sample(50, 19.36501, -99.2150, 0.2))
    rec.add_sample(sample(52, 19.36501, -99.2150, 0, armed=False))


def test_a_complete_flight() -> None:
    rec = FlightRecorder(ITEMS)
    fly(rec)
    assert rec.landed_and_disarmed
    s = rec.summary()
    legs = (
        ground_distance_m(*HOME, 19.3655, -99.2150)
        + ground_distance_m(19.3655, -99.2150, 19.3655, -99.2145)
        + ground_distance_m(19.3655, -99.2145, 19.36501, -99.2150)
    )
    assert s.completed and (s.waypoints_reached, s.waypoints_total) == (2, 2)
    assert s.distance_m == pytest.approx(legs, abs=0.1)
    assert s.max_alt_rel_m == 20 and s.duration_s == 51
    assert s.battery_start_pct == pytest.approx(99.9) and s.battery_end_pct == pytest.approx(94.8)
    assert s.landed_from_home_m == pytest.approx(1.11, abs=0.01)
    doc = json.loads(s.to_json())
    assert doc["track"]["type"] == "LineString" and doc["track"]["coordinates"][0] == [HOME[1], HOME[0], 0.0]
    assert doc["battery_used_pct"] == pytest.approx(5.1)


def test_waypoints_count_only_once_passed_and_stale_progress_is_ignored() -> None:
    rec = FlightRecorder(ITEMS)
    rec.add_progress(MissionProgress(current=9, total=12))  # the previous mission's
    rec.add_progress(MissionProgress(current=2, total=4))  # flying to waypoint 2: waypoint 1 passed
    assert rec.waypoints_reached == 1
    assert not rec.summary().completed


def test_landed_without_flying_is_not_done() -> None:
    rec = FlightRecorder(ITEMS)
    rec.add_sample(sample(0, *HOME, 0, armed=False))
    assert not rec.landed_and_disarmed
