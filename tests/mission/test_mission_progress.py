"""Pure parts of the mission runner and fleet: what telemetry implies for a mission, coverage, health."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from mission.fleet import FleetConfig, health_of
from mission.ports import TelemetrySample
from mission.progress import Observation, covered_fraction, next_event, remaining_area
from mission.states import Ending, Event, MissionState, MissionStatus

T0 = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)
S = MissionState
FLYING = TelemetrySample(
    time=T0, lat=19.365, lon=-99.215, alt_amsl_m=2320, alt_rel_m=20, heading_deg=0, ground_speed_mps=8,
    climb_rate_mps=0, roll_deg=0, pitch_deg=0, battery_pct=80, battery_v=15.8, mode="MISSION", armed=True,
    in_air=True, landed_state="IN_AIR", gps_fix=3, satellites=12, mission_item=4, mission_count=10,
    home_lat=19.365, home_lon=-99.215, home_alt_amsl_m=2300,
)  # fmt: skip
ON_GROUND = replace(FLYING, in_air=False, landed_state="ON_GROUND", alt_rel_m=0, ground_speed_mps=0)


def obs(sample: TelemetrySample = FLYING, current: int | None = 4, **kw: object) -> Observation:
    return Observation(sample=sample, current_item=current, return_index=9, **kw)  # type: ignore[arg-type]


def event(state: MissionState, o: Observation, ending: Ending = Ending.COMPLETED) -> Event | None:
    found = next_event(MissionStatus(state=state, ending=ending), o)
    return None if found is None else found[0]


@pytest.mark.parametrize(
    ("state", "o", "expected"),
    [
        (S.ARMED, obs(replace(ON_GROUND, armed=True)), None),  # armed, waiting for the take-off
        (S.ARMED, obs(), Event.TOOK_OFF),
        (S.ARMED, obs(replace(ON_GROUND, armed=False)), Event.DISARMED),  # PX4 disarmed it: no take-off
        (S.EXECUTING, obs(), None),
        (S.EXECUTING, obs(current=9), Event.MISSION_FINISHED),  # reached the return item
        (S.EXECUTING, obs(current=None), None),  # progress unknown: nothing to conclude
        (S.EXECUTING, obs(ON_GROUND), Event.LANDED),  # came down early
        (S.EXECUTING, obs(replace(FLYING, mode="HOLD")), None),  # a pause nobody asked for: not a failsafe
        (S.EXECUTING, obs(replace(FLYING, mode="HOLD"), battery_alarm=True), Event.BATTERY_FAILSAFE),
        (S.EXECUTING, obs(replace(FLYING, mode="RETURN_TO_LAUNCH", battery_pct=6)), Event.BATTERY_FAILSAFE),
        (S.EXECUTING, obs(replace(FLYING, mode="RETURN_TO_LAUNCH")), Event.LINK_LOST),  # some other failsafe
        (S.PAUSED, obs(replace(FLYING, mode="HOLD"), current=9), None),  # paused at the end: still paused
        (S.PAUSED, obs(replace(FLYING, mode="LAND", battery_pct=4)), Event.BATTERY_FAILSAFE),
        (S.RETURNING, obs(replace(FLYING, mode="RETURN_TO_LAUNCH")), None),
        (S.RETURNING, obs(ON_GROUND), Event.LANDED),
        (S.LANDED, obs(ON_GROUND), None),
        (S.LANDED, obs(replace(ON_GROUND, armed=False)), Event.DISARMED),
        (S.COMPLETED, obs(replace(ON_GROUND, armed=False)), None),
    ],
)
def test_what_the_vehicle_implies(state: MissionState, o: Observation, expected: Event | None) -> None:
    assert event(state, o) == expected


def test_a_mission_that_finished_while_we_were_down_walks_to_completed() -> None:
    """One settled sample after a restart: executing -> returning -> landed -> completed."""
    from mission.states import transition

    status = MissionStatus(state=S.EXECUTING)
    o = obs(replace(ON_GROUND, armed=False), current=9)
    seen = []
    while (found := next_event(status, o)) is not None:
        seen.append(found[0])
        status = transition(status, found[0], at=T0).after
    assert seen == [Event.MISSION_FINISHED, Event.LANDED, Event.DISARMED]
    assert status.state is S.COMPLETED


AREA = box(-99.2150, 19.3650, -99.2140, 19.3655)  # ~105 m x 55 m


def test_coverage_and_remaining_area_of_half_a_sweep() -> None:
    lat = [19.36505 + i * 0.0001 for i in range(5)]  # five lines ~11 m apart
    track = [
        p for i, y in enumerate(lat[:3]) for p in ((-99.2150, y), (-99.2140, y))[:: 1 if i % 2 == 0 else -1]
    ]
    covered = covered_fraction(AREA, track, 11.0)
    left = remaining_area(AREA, track, 11.0)
    assert 0.5 < covered < 0.7
    assert left.within(AREA.buffer(1e-9)) and math.isclose(left.area / AREA.area, 1 - covered, abs_tol=0.02)
    assert (
        covered_fraction(AREA, [], 11.0) == 0.0
        and remaining_area(AREA, [], 11.0).symmetric_difference(AREA).area < 1e-12
    )


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.floats(-99.216, -99.213), st.floats(19.3645, 19.3660)), max_size=30))
def test_covered_and_left_add_up(track: list[tuple[float, float]]) -> None:
    covered = covered_fraction(AREA, track, 10.0)
    left = remaining_area(AREA, track, 10.0, min_part_m2=0.0)
    assert 0.0 <= covered <= 1.0
    assert math.isclose(covered + left.area / AREA.area, 1.0, abs_tol=0.01)


def test_health_says_why_a_drone_is_not_ready() -> None:
    cfg = FleetConfig(link_timeout_s=3.0, min_battery_pct=30.0)
    ready = replace(ON_GROUND, armed=False)
    assert health_of("d1", ready, age_s=0.1, system_id=1, mission_id=None, config=cfg).ready
    h = health_of(
        "d1", replace(ready, battery_pct=20, gps_fix=1), age_s=5.0, system_id=1, mission_id="m1", config=cfg
    )
    assert not h.ready and not h.link_up
    assert h.not_ready == ("link down (5 s)", "GPS fix 1", "battery 20 %", "on mission m1")
    assert not health_of("d1", replace(ready, battery_pct=math.nan), age_s=0.1, system_id=1, mission_id=None,
                         config=cfg).ready  # fmt: skip
    assert health_of("d1", None, age_s=None, system_id=None, mission_id=None, config=cfg).not_ready == (
        "no telemetry",
    )
