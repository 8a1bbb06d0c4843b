"""Preflight checks: a healthy vehicle and plan pass; each fault is named with its reason."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from geo.items import MavFrame, MissionItem, change_speed, land, return_to_launch, takeoff, waypoint
from mission.errors import PreflightError
from mission.ports import TelemetrySample
from mission.preflight import (
    PlanStats,
    PreflightLimits,
    check_preflight,
    plan_faults,
    plan_stats,
    require_preflight,
)

NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
HOME = (19.3650, -99.2150)

SAMPLE = TelemetrySample(
    time=NOW - timedelta(seconds=0.5),
    lat=HOME[0],
    lon=HOME[1],
    alt_amsl_m=2300.0,
    alt_rel_m=0.0,
    heading_deg=0.0,
    ground_speed_mps=0.0,
    climb_rate_mps=0.0,
    roll_deg=0.0,
    pitch_deg=0.0,
    battery_pct=90.0,
    battery_v=16.4,
    mode="HOLD",
    armed=False,
    in_air=False,
    landed_state="ON_GROUND",
    gps_fix=3,
    satellites=12,
    mission_item=None,
    mission_count=0,
    home_lat=HOME[0],
    home_lon=HOME[1],
    home_alt_amsl_m=2300.0,
)
ITEMS = [
    takeoff(30),
    change_speed(8),
    waypoint(19.3660, -99.2160, 40),
    waypoint(19.3670, -99.2170, 60),
    return_to_launch(),
]
PLAN = plan_stats(ITEMS, energy_pct=40.0)


def check(sample: TelemetrySample | None = SAMPLE, plan: PlanStats = PLAN, **kw: object) -> dict[str, str]:
    return check_preflight(sample, plan, now=NOW, geofence_uploaded=kw.pop("fence", True), **kw)  # type: ignore[arg-type]


def test_plan_stats_from_items() -> None:
    assert (
        PlanStats(item_count=5, max_alt_rel_m=60.0, first_waypoint=(19.3660, -99.2160), energy_pct=40.0)
        == PLAN
    )
    amsl = [
        takeoff(30),
        MissionItem(command=16, frame=MavFrame.GLOBAL, lat=19.366, lon=-99.216, alt=2450.0),
        land(),
    ]
    assert plan_stats(amsl, energy_pct=5, home_alt_amsl_m=2300.0).max_alt_rel_m == 150.0
    assert plan_stats(amsl, energy_pct=5).max_alt_rel_m == 30.0  # AMSL item unknown without home


def test_healthy_vehicle_and_plan_pass() -> None:
    assert check() == {}
    require_preflight(SAMPLE, PLAN, now=NOW, geofence_uploaded=True)


@pytest.mark.parametrize(
    ("change", "name", "reason"),
    [
        ({"time": NOW - timedelta(seconds=10)}, "link", "last telemetry 10.0 s old (limit 3 s)"),
        ({"gps_fix": 2}, "gps", "GPS fix type 2, need 3 (3D)"),
        ({"satellites": 4}, "gps", "4 satellites, need 6"),
        ({"home_lat": None}, "home", "home position not set"),
        ({"battery_pct": 55.0}, "battery", "battery 55 %, need 60 % (40 % sortie + 20 % reserve)"),
        ({"armed": True}, "vehicle_state", "vehicle already armed or in the air"),
        ({"home_lat": 19.40}, "first_waypoint", "first waypoint 3782 m from home, more than 2000 m"),
    ],
)
def test_each_vehicle_fault_is_named(change: dict[str, object], name: str, reason: str) -> None:
    faults = check(dataclasses.replace(SAMPLE, **change))  # type: ignore[arg-type]
    assert faults == {name: reason}


def test_plan_and_fence_faults_and_all_reported_together() -> None:
    too_high = plan_stats([takeoff(30), waypoint(19.366, -99.216, 130)], energy_pct=40.0)
    faults = check(dataclasses.replace(SAMPLE, gps_fix=0, battery_pct=10), too_high, fence=False)
    assert set(faults) == {"plan_altitude", "geofence", "gps", "battery"}
    assert faults["plan_altitude"] == "highest item at 130 m above home, above the 120 m ceiling"
    with pytest.raises(PreflightError) as e:
        require_preflight(None, PLAN, now=NOW, geofence_uploaded=True)
    assert e.value.checks == {"link": "no telemetry received from the vehicle"}
    assert "preflight failed: link: no telemetry" in str(e.value)


def test_plan_limits() -> None:
    limits = PreflightLimits(max_items=3, max_alt_rel_m=50)
    faults = plan_faults(PLAN, limits)
    assert faults == {
        "plan_items": "5 items, more than the 3 allowed",
        "plan_altitude": "highest item at 60 m above home, above the 50 m ceiling",
    }
    assert plan_faults(plan_stats([], energy_pct=0), limits) == {"plan_items": "the plan has no items"}
    assert "plan_energy" in plan_faults(dataclasses.replace(PLAN, energy_pct=float("nan")), limits)
