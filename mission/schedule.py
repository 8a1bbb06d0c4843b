"""Schedules as pure functions: next runs, due and missed runs, conflicts, and which drone flies.

Recurring schedules are cron expressions read in the schedule's own timezone (America/Mexico_City by
default). Runs are computed on the *wall clock* (croniter over naive local times) and only then placed
on the timeline with ``zoneinfo``; this is what keeps them DST-safe:

- a wall time that does not exist (spring-forward gap) runs at the same instant the clock would show
  had it not jumped (02:30 in a 02:00->03:00 gap runs at 03:30 local);
- a wall time that occurs twice (fall-back) runs once, at its first occurrence.

A ``TimeWindow`` (``20:00-05:00`` crosses midnight) keeps only the runs that start inside it.
All datetimes in and out are timezone-aware; results are in UTC.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadCronError, CroniterBadDateError, CroniterError, croniter

from geo.frames import LonLat
from mission.errors import ConfigError, ConflictError
from mission.model import MissedRunPolicy, Schedule, TimeWindow

__all__ = [
    "Clash",
    "DroneReadiness",
    "DueRun",
    "check_conflicts",
    "choose_drone",
    "due_runs",
    "find_clash",
    "next_runs",
    "validate_cron",
    "validate_schedule",
    "zone",
]

# Enough to step over a window that admits one cron run in a thousand, without looping forever on
# a cron/window pair that never meets (validate_schedule rejects those up front).
_MAX_SCAN = 20_000


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"unknown timezone {name!r}") from exc


def validate_cron(expr: str) -> None:
    """``ConfigError`` naming the expression and what is wrong with it; None when it is usable."""
    fields = expr.split()
    if not expr.startswith("@") and len(fields) != 5:
        raise ConfigError(
            f"cron {expr!r}: expected 5 fields (minute hour day-of-month month day-of-week), got {len(fields)}"
        )
    try:
        it = croniter(expr, datetime(2000, 1, 1))
        it.get_next(datetime)
    except CroniterBadDateError as exc:
        raise ConfigError(f"cron {expr!r}: never fires (no such date)") from exc
    except (CroniterBadCronError, CroniterError, ValueError, KeyError) as exc:
        raise ConfigError(f"cron {expr!r}: {exc}") from exc


def _times_of_day(expr: str) -> list[time]:
    """Every wall-clock time of day the cron's minute and hour fields allow."""
    fields, _ = croniter.expand(expr)
    minutes = range(60) if fields[0] == ["*"] else [int(m) for m in fields[0]]
    hours = range(24) if fields[1] == ["*"] else [int(h) for h in fields[1]]
    return [time(h, m) for h in hours for m in minutes]


def _window_is_dead(schedule: Schedule) -> bool:
    w = schedule.window
    return (
        w is not None and schedule.cron is not None and not any(map(w.contains, _times_of_day(schedule.cron)))
    )


def validate_schedule(schedule: Schedule) -> None:
    """Everything a schedule needs to be run: a valid cron, a known timezone, a reachable window."""
    zone(schedule.timezone)
    if schedule.cron is not None:
        validate_cron(schedule.cron)
        if _window_is_dead(schedule):
            raise ConfigError(
                f"cron {schedule.cron!r}: no run ever starts inside the window {schedule.window}"
            )


def _next_opening(naive: datetime, window: TimeWindow) -> datetime:
    """The first wall-clock instant at or after ``naive`` when ``window`` opens."""
    opening = datetime.combine(naive.date(), window.start)
    return opening if opening >= naive else opening + timedelta(days=1)


def _runs(schedule: Schedule, after: datetime) -> Iterator[datetime]:
    """Run instants (UTC) strictly after ``after``, in order.

    Runs are found on the wall clock and then placed with zoneinfo (fold=0: the first of a repeated
    wall time; a time in a spring-forward gap lands after the jump). Outside the window the scan jumps
    to the window's next opening instead of stepping through every cron tick (croniter is slow).
    """
    if after.tzinfo is None:
        raise ValueError("after must be timezone-aware")
    if schedule.run_at is not None:
        if schedule.run_at > after:
            yield schedule.run_at.astimezone(UTC)
        return
    assert schedule.cron is not None
    if _window_is_dead(schedule):
        return
    tz, window = zone(schedule.timezone), schedule.window
    # Start an hour early: around a fall-back the wall clock repeats, and a wall time before
    # `after`'s may still be a later instant.
    start = (after.astimezone(tz) - timedelta(hours=1)).replace(tzinfo=None)
    it = croniter(schedule.cron, start)
    last: datetime | None = None
    for _ in range(_MAX_SCAN):
        try:
            naive = it.get_next(datetime)
        except CroniterError:
            return
        if window is not None and not window.contains(naive.time()):
            it = croniter(schedule.cron, _next_opening(naive, window) - timedelta(seconds=1))
            continue
        instant = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
        if instant <= after or (last is not None and instant <= last):
            continue
        last = instant
        yield instant


def next_runs(schedule: Schedule, after: datetime, n: int) -> list[datetime]:
    """The next ``n`` run instants (UTC) strictly after ``after``; fewer for a one-off or a dead window."""
    return list(itertools.islice(_runs(schedule, after), max(n, 0)))


def runs_between(schedule: Schedule, start: datetime, end: datetime) -> list[datetime]:
    """Run instants in ``(start, end]``."""
    return list(itertools.takewhile(lambda t: t <= end, _runs(schedule, start)))


@dataclass(frozen=True, kw_only=True)
class DueRun:
    scheduled_for: datetime
    late: bool  # more than the grace period behind: a run missed while the service was down


def due_runs(
    schedule: Schedule,
    *,
    since: datetime,
    now: datetime,
    grace: timedelta = timedelta(minutes=5),
    max_catch_up: int = 24,
) -> list[DueRun]:
    """Runs to start now: those fallen due in ``(since, now]``, with missed ones per the schedule's policy.

    A run less than ``grace`` old is on time and always runs. Older ones were missed (the service was
    down): ``skip`` drops them, ``run_once_now`` keeps the latest one unless an on-time run already
    covers it, ``run_all`` keeps them all (at most ``max_catch_up``, the most recent).
    """
    if not schedule.enabled:
        return []
    runs = runs_between(schedule, since, now)
    on_time = [DueRun(scheduled_for=t, late=False) for t in runs if now - t <= grace]
    missed = [DueRun(scheduled_for=t, late=True) for t in runs if now - t > grace]
    match schedule.missed_policy:
        case MissedRunPolicy.SKIP:
            kept: list[DueRun] = []
        case MissedRunPolicy.RUN_ONCE_NOW:
            kept = missed[-1:] if not on_time else []
        case MissedRunPolicy.RUN_ALL:
            kept = missed[-max_catch_up:]
    return kept + on_time


@dataclass(frozen=True, kw_only=True)
class Clash:
    first: Schedule
    second: Schedule
    at: datetime  # when the later of the two overlapping runs starts (UTC)


def _intervals(s: Schedule, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    width = timedelta(seconds=s.duration_s)
    # A run that began up to one duration before `start` still occupies the drone after it.
    return [(t, t + width) for t in runs_between(s, start - width, end)]


def find_clash(a: Schedule, b: Schedule, *, start: datetime, days: float = 7.0) -> Clash | None:
    """The first time ``a`` and ``b`` would need the same drone at once, within ``days`` after ``start``."""
    if a.drone_id is None or a.drone_id != b.drone_id or not (a.enabled and b.enabled) or a.id == b.id:
        return None
    end = start + timedelta(days=days)
    ia, ib = _intervals(a, start, end), _intervals(b, start, end)
    i = j = 0
    while i < len(ia) and j < len(ib):
        (a0, a1), (b0, b1) = ia[i], ib[j]
        if a0 < b1 and b0 < a1:  # half-open [start, start + duration) windows overlap
            return Clash(first=a, second=b, at=max(a0, b0))
        if a1 <= b1:
            i += 1
        else:
            j += 1
    return None


def check_conflicts(
    new: Schedule, existing: Sequence[Schedule], *, start: datetime, days: float = 7.0
) -> None:
    """``ConflictError`` naming both schedules and the first clash, if ``new`` overlaps any of ``existing``."""
    clashes = [c for s in existing if (c := find_clash(new, s, start=start, days=days)) is not None]
    if clashes:
        c = min(clashes, key=lambda c: c.at)
        tz = zone(new.timezone)
        raise ConflictError(
            f"schedule {new.id} ({new.name}) overlaps schedule {c.second.id} ({c.second.name}) "
            f"on drone {new.drone_id}, first at {c.at.astimezone(tz).isoformat(timespec='minutes')}"
        )


@dataclass(frozen=True, kw_only=True)
class DroneReadiness:
    """What the chooser needs to know about a drone right now."""

    drone_id: str
    dock_id: str | None
    ready: bool  # connected, healthy, on the ground and not on another mission
    battery_pct: float = 100.0


def _distance_m(a: LonLat, b: LonLat) -> float:
    """Great-circle distance (haversine, mean Earth radius): plenty for ranking docks."""
    lon1, lat1, lon2, lat2 = map(math.radians, (a.lon, a.lat, b.lon, b.lat))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


def choose_drone(
    drones: Sequence[DroneReadiness],
    docks: Mapping[str, LonLat],
    target: LonLat,
    *,
    min_battery_pct: float = 0.0,
) -> str | None:
    """The ready drone whose dock is nearest ``target`` (an area centroid); None when none is ready.

    Ties (same dock) go to the fuller battery, then the smaller id, so the choice is deterministic.
    Drones without a known dock are never chosen: we could not say how far they have to fly.
    """
    candidates = [
        (_distance_m(docks[d.dock_id], target), -d.battery_pct, d.drone_id)
        for d in drones
        if d.ready and d.battery_pct >= min_battery_pct and d.dock_id is not None and d.dock_id in docks
    ]
    return min(candidates)[2] if candidates else None
