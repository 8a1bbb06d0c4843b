"""Schedules: cron runs in America/Mexico_City, midnight-crossing windows, DST, conflicts, missed runs."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.frames import LonLat
from mission.errors import ConfigError, ConflictError
from mission.model import MissedRunPolicy, Schedule, TimeWindow
from mission.schedule import (
    DroneReadiness,
    check_conflicts,
    choose_drone,
    due_runs,
    find_clash,
    next_runs,
    validate_cron,
    validate_schedule,
)

MX = ZoneInfo("America/Mexico_City")


def sched(cron: str | None = None, **kw: object) -> Schedule:
    base: dict[str, object] = {"id": "s1", "name": "nightly", "plan_id": "p1"}
    return Schedule(**(base | {"cron": cron} | kw))  # type: ignore[arg-type]


def local(t: datetime) -> str:
    return t.astimezone(MX).strftime("%Y-%m-%d %H:%M %z")


def test_cron_runs_in_mexico_city_time() -> None:
    runs = next_runs(sched("0 21 * * *"), datetime(2026, 12, 2, 12, 0, tzinfo=UTC), 3)
    assert [r.isoformat() for r in runs] == [
        "2026-12-03T03:00:00+00:00",  # 21:00 CST (UTC-6) is 03:00 UTC the next day
        "2026-12-04T03:00:00+00:00",
        "2026-12-05T03:00:00+00:00",
    ]
    assert all(r.tzinfo is UTC for r in runs)
    utc_sched = sched("0 21 * * *", timezone="UTC")
    assert next_runs(utc_sched, datetime(2026, 12, 2, 12, tzinfo=UTC), 1) == [
        datetime(2026, 12, 2, 21, tzinfo=UTC)
    ]


def test_runs_are_strictly_after_the_given_instant() -> None:
    at = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)  # exactly a run
    assert next_runs(sched("0 21 * * *"), at, 1) == [at + timedelta(days=1)]
    one_off = sched(None, run_at=at)
    assert next_runs(one_off, at - timedelta(seconds=1), 5) == [at]
    assert next_runs(one_off, at, 5) == []


def test_window_crossing_midnight_keeps_night_runs_only() -> None:
    night = TimeWindow.parse("20:00-05:00")
    assert night.crosses_midnight and night.contains(time(23, 59)) and night.contains(time(4, 59))
    assert not night.contains(time(5, 0)) and not night.contains(time(12, 0)) and night.contains(time(20, 0))
    s = sched("0 * * * *", window=night)
    runs = next_runs(s, datetime(2026, 12, 2, 12, 0, tzinfo=UTC), 9)  # 06:00 local
    hours = [r.astimezone(MX).hour for r in runs]
    assert hours == [20, 21, 22, 23, 0, 1, 2, 3, 4]
    assert next_runs(s, runs[-1], 1)[0].astimezone(MX).hour == 20  # then the next evening
    day = TimeWindow.parse("09:00-17:00")
    assert not day.crosses_midnight and day.contains(time(9)) and not day.contains(time(17))


def test_dst_spring_forward_gap_runs_once_each_day() -> None:
    # Mexico City still had DST in 2022: 2022-04-03 02:00 CST jumped to 03:00 CDT.
    runs = next_runs(sched("30 2 * * *"), datetime(2022, 4, 1, 12, tzinfo=UTC), 4)
    assert [local(r) for r in runs] == [
        "2022-04-02 02:30 -0600",
        "2022-04-03 03:30 -0500",  # 02:30 did not exist that night: run when the clock says 03:30
        "2022-04-04 02:30 -0500",
        "2022-04-05 02:30 -0500",
    ]


def test_dst_fall_back_repeated_hour_runs_once() -> None:
    # 2022-10-30 02:00 CDT fell back to 01:00 CST: 01:30 happened twice.
    runs = next_runs(sched("30 1 * * *"), datetime(2022, 10, 29, 12, tzinfo=UTC), 3)
    assert [local(r) for r in runs] == [
        "2022-10-30 01:30 -0500",
        "2022-10-31 01:30 -0600",
        "2022-11-01 01:30 -0600",
    ]
    hourly = next_runs(sched("0 * * * *"), datetime(2022, 10, 30, 4, tzinfo=UTC), 6)  # from 23:00 CDT
    assert all(b > a for a, b in itertools.pairwise(hourly))
    assert len(set(hourly)) == 6


@settings(max_examples=60, deadline=None)
@given(
    cron=st.sampled_from(["0 */2 * * *", "30 1 * * *", "15 2 * * 0", "*/20 0-3 * * *", "0 21 * * mon-fri"]),
    after=st.datetimes(
        min_value=datetime(2021, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    window=st.sampled_from([None, "20:00-05:00", "00:00-03:00"]),
)
def test_runs_increase_and_respect_the_window(cron: str, after: datetime, window: str | None) -> None:
    w = TimeWindow.parse(window) if window else None
    s = sched(cron, window=w)
    runs = next_runs(s, after, 8)
    if window == "00:00-03:00" and cron == "0 21 * * mon-fri":
        assert runs == []  # 21:00 is outside 00:00-03:00
        return
    assert len(runs) == 8
    assert runs[0] > after and all(b > a for a, b in itertools.pairwise(runs))
    for r in runs if w is not None else []:
        wall = r.astimezone(MX)
        if not w.contains(wall.time()):  # only a run pushed out by a spring-forward gap may be outside
            hour_before = r - timedelta(hours=1)
            assert hour_before.astimezone(MX).utcoffset() != wall.utcoffset()
            assert w.contains((wall - timedelta(hours=1)).time())


@pytest.mark.parametrize(
    ("cron", "message"),
    [
        ("61 * * * *", r"cron '61 \* \* \* \*': .*out of range"),
        ("* * *", r"cron '\* \* \*': expected 5 fields .* got 3"),
        ("0 0 * * * *", r"expected 5 fields .* got 6"),
        ("0 0 31 2 *", r"cron '0 0 31 2 \*': never fires"),
        ("every night", r"cron 'every night': expected 5 fields"),
        ("0 21 * * funday", r"cron '0 21 \* \* funday'"),
    ],
)
def test_invalid_cron_is_a_config_error_naming_it(cron: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        validate_cron(cron)


def test_invalid_schedules() -> None:
    with pytest.raises(ConfigError, match="unknown timezone 'Mars/Olympus'"):
        validate_schedule(sched("0 21 * * *", timezone="Mars/Olympus"))
    with pytest.raises(ConfigError, match="no run ever starts inside the window 09:00-17:00"):
        validate_schedule(sched("0 21 * * *", window=TimeWindow.parse("09:00-17:00")))
    with pytest.raises(ValueError, match="exactly one of cron or run_at"):
        sched(None)
    with pytest.raises(ValueError, match="HH:MM-HH:MM"):
        TimeWindow.parse("night")
    validate_schedule(sched("0 21 * * *", window=TimeWindow.parse("20:00-05:00")))


START = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def test_conflict_names_both_schedules_and_the_first_clash() -> None:
    nightly = sched("0 21 * * *", id="s1", name="ravine", drone_id="d1", duration_s=3600)
    every2h = sched("30 */2 * * *", id="s2", name="facility", drone_id="d1", duration_s=2400)
    clash = find_clash(every2h, nightly, start=START)
    assert clash is not None and local(clash.at) == "2026-12-02 21:00 -0600"
    with pytest.raises(ConflictError) as e:
        check_conflicts(every2h, [nightly], start=START)
    assert "s2 (facility) overlaps schedule s1 (ravine) on drone d1, first at 2026-12-02T21:00-06:00" in str(
        e.value
    )


def test_no_conflict_for_other_drones_any_drone_or_back_to_back_runs() -> None:
    nightly = sched("0 21 * * *", id="s1", drone_id="d1", duration_s=3600)
    check_conflicts(sched("30 */2 * * *", id="s2", drone_id="d2", duration_s=2400), [nightly], start=START)
    check_conflicts(sched("30 */2 * * *", id="s3", drone_id=None, duration_s=2400), [nightly], start=START)
    after = sched("0 22 * * *", id="s4", drone_id="d1", duration_s=600)  # starts exactly when s1 ends
    check_conflicts(after, [nightly], start=START)
    before = sched("0 20 * * *", id="s5", drone_id="d1", duration_s=3601)  # one second too long
    with pytest.raises(ConflictError, match="s5"):
        check_conflicts(before, [nightly], start=START)


def test_conflict_with_a_one_off_and_beyond_the_horizon() -> None:
    nightly = sched("0 21 * * *", id="s1", drone_id="d1", duration_s=3600)
    late = datetime(2026, 12, 20, 3, 30, tzinfo=UTC)  # 21:30 local on the 19th
    one_off = sched(None, id="s9", run_at=late, drone_id="d1", duration_s=600)
    assert find_clash(one_off, nightly, start=START, days=7) is None  # 18 days away
    clash = find_clash(one_off, nightly, start=START, days=30)
    assert clash is not None and clash.at == late


def test_missed_run_policies_after_downtime() -> None:
    since = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
    now = datetime(2026, 12, 2, 10, 2, tzinfo=UTC)  # down ten hours, back 2 min after the 10:00 run
    hourly = dict(cron="0 * * * *", timezone="UTC")
    skip = due_runs(sched(**hourly, missed_policy="skip"), since=since, now=now)
    assert [(r.scheduled_for.hour, r.late) for r in skip] == [(10, False)]
    once = due_runs(sched(**hourly, missed_policy=MissedRunPolicy.RUN_ONCE_NOW), since=since, now=now)
    assert [(r.scheduled_for.hour, r.late) for r in once] == [(10, False)]  # the on-time run covers it
    later = now + timedelta(minutes=20)
    once = due_runs(sched(**hourly, missed_policy="run_once_now"), since=since, now=later)
    assert [(r.scheduled_for.hour, r.late) for r in once] == [(10, True)]
    all_ = due_runs(sched(**hourly, missed_policy="run_all"), since=since, now=now)
    assert [r.scheduled_for.hour for r in all_] == list(range(1, 11)) and sum(r.late for r in all_) == 9
    capped = due_runs(sched(**hourly, missed_policy="run_all"), since=since, now=now, max_catch_up=3)
    assert [r.scheduled_for.hour for r in capped] == [7, 8, 9, 10]
    assert due_runs(sched(**hourly, enabled=False), since=since, now=now) == []


def test_choose_the_ready_drone_at_the_nearest_dock() -> None:
    docks = {"north": LonLat(-99.215, 19.370), "south": LonLat(-99.215, 19.330)}
    ravine = LonLat(-99.214, 19.365)  # ~600 m from north, ~4 km from south
    drones = [
        DroneReadiness(drone_id="d-south", dock_id="south", ready=True, battery_pct=100),
        DroneReadiness(drone_id="d-north-busy", dock_id="north", ready=False),
        DroneReadiness(drone_id="d-north-a", dock_id="north", ready=True, battery_pct=80),
        DroneReadiness(drone_id="d-north-b", dock_id="north", ready=True, battery_pct=95),
        DroneReadiness(drone_id="d-nowhere", dock_id=None, ready=True),
    ]
    assert choose_drone(drones, docks, ravine) == "d-north-b"  # nearest dock, then fuller battery
    assert choose_drone(drones, docks, ravine, min_battery_pct=96) == "d-south"
    assert choose_drone(drones[:2], docks, LonLat(-99.215, 19.331)) == "d-south"
    assert choose_drone([drones[1], drones[4]], docks, ravine) is None
