"""Flight-time and battery model, and the split of a long path into sorties from and back to a dock.

A multicopter flies straight legs at cruise speed and slows down at corners: a full stop and restart at
``accel`` costs ``v / a`` seconds more than flying on (half to decelerate, half to accelerate), and a
shallow bend costs a share of that, growing with the heading change up to 90°. Climb to the mission
altitude and descend to land at PX4's default vertical speeds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from geo.errors import PlanningError

XY = tuple[float, float]
Connect = Callable[[XY, XY], list[XY]]

# Heading changes below this are not turns (noise from clipping, almost-collinear joins).
TURN_MIN_DEG = 5.0


@dataclass(frozen=True, kw_only=True)
class FlightModel:
    """Kinematics used to estimate flight time (PX4 multicopter defaults)."""

    speed_mps: float = 8.0
    accel_mps2: float = 3.0  # MPC_ACC_HOR
    climb_mps: float = 3.0  # MPC_Z_VEL_MAX_UP
    descent_mps: float = 1.5  # MPC_LAND_SPEED-ish

    def __post_init__(self) -> None:
        for name in ("speed_mps", "accel_mps2", "climb_mps", "descent_mps"):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be positive, got {value}")

    def turn_time_s(self, heading_change_rad: float) -> float:
        """Extra seconds a corner costs over flying straight.

        Examples
        --------
        >>> m = FlightModel(speed_mps=9.0, accel_mps2=3.0)
        >>> m.turn_time_s(math.pi), m.turn_time_s(math.pi / 4), m.turn_time_s(0.0)
        (3.0, 1.5, 0.0)
        """
        share = min(1.0, abs(heading_change_rad) / (math.pi / 2.0))
        return share * self.speed_mps / self.accel_mps2

    def path_time_s(self, xy: np.ndarray) -> float:
        """Seconds to fly a polyline from standstill to standstill, corners included.

        Examples
        --------
        >>> FlightModel(speed_mps=10.0, accel_mps2=5.0).path_time_s(np.array([[0, 0], [100, 0], [100, 100]]))
        24.0
        """
        xy = np.asarray(xy, dtype=float)
        if len(xy) < 2:
            return 0.0
        length = float(np.hypot(*np.diff(xy, axis=0).T).sum())
        turns = heading_changes(xy)
        turns = turns[turns >= math.radians(TURN_MIN_DEG)]
        # turn_time_s for every corner at once: a share of a full stop, growing with the angle to 90°.
        turn_s = float(np.minimum(1.0, turns / (math.pi / 2.0)).sum()) * self.speed_mps / self.accel_mps2
        # Start and end at rest: one full acceleration and one deceleration.
        return length / self.speed_mps + turn_s + self.speed_mps / self.accel_mps2

    def vertical_time_s(self, altitude_m: float) -> float:
        return altitude_m / self.climb_mps + altitude_m / self.descent_mps


def heading_changes(xy: np.ndarray) -> np.ndarray:
    """Absolute heading change (radians) at each interior vertex; zero-length legs are skipped."""
    xy = np.asarray(xy, dtype=float)
    d = np.diff(xy, axis=0)
    d = d[np.hypot(d[:, 0], d[:, 1]) > 1e-9]
    if len(d) < 2:
        return np.zeros(0)
    h = np.arctan2(d[:, 1], d[:, 0])
    dh = np.diff(h)
    return np.abs((dh + np.pi) % (2 * np.pi) - np.pi)


def count_turns(xy: np.ndarray, min_deg: float = TURN_MIN_DEG) -> int:
    """Number of corners sharper than ``min_deg``.

    Examples
    --------
    >>> count_turns(np.array([[0, 0], [10, 0], [10, 10], [0, 10], [0, 20.1]]))
    3
    """
    return int((np.degrees(heading_changes(xy)) >= min_deg).sum())


@dataclass(frozen=True, kw_only=True)
class Battery:
    """A battery good for ``flight_min`` minutes of cruise; ``reserve_pct`` of it is never planned."""

    flight_min: float = 20.0
    reserve_pct: float = 25.0

    def __post_init__(self) -> None:
        if not (self.flight_min > 0 and math.isfinite(self.flight_min)):
            raise ValueError(f"battery flight time must be positive, got {self.flight_min} min")
        if not (0.0 <= self.reserve_pct < 100.0):
            raise ValueError(f"battery reserve must be in [0, 100) %, got {self.reserve_pct}")

    @property
    def usable_s(self) -> float:
        """Seconds of flight a plan may use.

        Examples
        --------
        >>> Battery(flight_min=20, reserve_pct=25).usable_s
        900.0
        """
        return self.flight_min * 60.0 * (1.0 - self.reserve_pct / 100.0)


@dataclass(frozen=True, kw_only=True)
class SortieLeg:
    """One sortie in the local frame: out from the dock, a stretch of the work path, back to the dock."""

    transit_out: np.ndarray
    work: np.ndarray
    transit_back: np.ndarray
    time_s: float

    @property
    def path(self) -> np.ndarray:
        """The whole polyline, dock to dock, without repeated joints."""
        return np.vstack([self.transit_out[:-1], self.work[:-1], self.transit_back])


def sortie_time_s(model: FlightModel, altitude_m: float, path: np.ndarray) -> float:
    return model.vertical_time_s(altitude_m) + model.path_time_s(path)


def split_sorties(
    work: np.ndarray,
    dock: XY,
    *,
    model: FlightModel,
    budget_s: float,
    altitude_m: float,
    connect: Connect,
) -> list[SortieLeg]:
    """Cut ``work`` into consecutive stretches, each flown from ``dock`` and back within ``budget_s``.

    ``connect(a, b)`` gives the obstacle-free polyline from a to b. Cuts fall at waypoints or, inside a
    long leg, at the last point from which the drone still gets home in time.
    """
    work = np.asarray(work, dtype=float)
    legs: list[SortieLeg] = []
    start = 0.0  # position along the path as (vertex index + fraction)
    total = len(work) - 1
    while start < total - 1e-9:
        end = _furthest_end(
            work, start, dock, model=model, budget_s=budget_s, alt=altitude_m, connect=connect
        )
        if end <= start + 1e-6:
            p = _point_at(work, start)
            raise PlanningError(
                f"the battery cannot reach ({p[0]:.0f}, {p[1]:.0f}) m from the dock and come back: "
                f"budget {budget_s / 60:.1f} min"
            )
        legs.append(_leg(work, start, end, dock, model, altitude_m, connect))
        start = end
    return legs


def _furthest_end(
    work: np.ndarray,
    start: float,
    dock: XY,
    *,
    model: FlightModel,
    budget_s: float,
    alt: float,
    connect: Connect,
) -> float:
    def fits(end: float) -> bool:
        return _leg(work, start, end, dock, model, alt, connect).time_s <= budget_s

    total = len(work) - 1
    k = math.floor(start) + 1
    last_ok = start
    while k <= total and fits(float(k)):
        last_ok = float(k)
        k += 1
    if k > total:
        return last_ok
    lo, hi = max(last_ok, start), float(k)
    if not fits(lo + 1e-6) and lo == start:
        # Even a sliver of the next leg does not fit: nothing can be flown from here.
        return start
    for _ in range(30):
        mid = (lo + hi) / 2.0
        if fits(mid):
            lo = mid
        else:
            hi = mid
    return lo


def _leg(
    work: np.ndarray, start: float, end: float, dock: XY, model: FlightModel, alt: float, connect: Connect
) -> SortieLeg:
    piece = _sub_path(work, start, end)
    out = np.asarray(connect(dock, tuple(piece[0])), dtype=float)
    back = np.asarray(connect(tuple(piece[-1]), dock), dtype=float)
    whole = np.vstack([out[:-1], piece[:-1], back])
    return SortieLeg(transit_out=out, work=piece, transit_back=back, time_s=sortie_time_s(model, alt, whole))


def _point_at(work: np.ndarray, s: float) -> np.ndarray:
    i = min(math.floor(s), len(work) - 2)
    f = s - i
    return work[i] + f * (work[i + 1] - work[i])


def _sub_path(work: np.ndarray, start: float, end: float) -> np.ndarray:
    first, last = math.floor(start) + 1, math.ceil(end) - 1
    inner = work[first : last + 1] if last >= first else work[0:0]
    pts = [_point_at(work, start), *inner, _point_at(work, end)]
    out = [pts[0]]
    for p in pts[1:]:
        if np.hypot(*(p - out[-1])) > 1e-6:
            out.append(p)
    if len(out) == 1:
        out.append(out[0])
    return np.array(out)
