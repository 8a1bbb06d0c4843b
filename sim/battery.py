"""A lithium pack that drains with the power the motors need.

Current scales with thrust^1.5 (momentum theory: power ∝ thrust^{3/2}), calibrated so a
4S 5000 mAh pack hovers for about 22 minutes; forward flight tilts the thrust vector and
so costs a little more. Voltage follows a typical LiPo discharge curve minus an IR drop.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

HOVER_CURRENT_A = 13.0  # at hover thrust, 5000 mAh → ~22 min
AVIONICS_A = 0.4
IDLE_CURRENT_A = 1.5  # armed, props spinning on the ground
R_INTERNAL = 0.012  # ohm per cell
# (state of charge, cell volts) — a typical LiPo resting curve
_CURVE = ((0.0, 3.30), (0.05, 3.55), (0.1, 3.65), (0.2, 3.72), (0.5, 3.82), (0.8, 3.98), (1.0, 4.20))


@dataclass(frozen=True, kw_only=True, slots=True)
class BatteryState:
    consumed_mah: float = 0.0
    current_a: float = 0.0
    remaining: float = 1.0  # state of charge, 0..1


def current_draw(*, armed: bool, flying: bool, thrust: float, hover_thrust: float) -> float:
    if not armed:
        return AVIONICS_A
    if not flying:
        return AVIONICS_A + IDLE_CURRENT_A
    return AVIONICS_A + HOVER_CURRENT_A * (max(thrust, 0.0) / hover_thrust) ** 1.5


def drain(b: BatteryState, current_a: float, dt: float, capacity_mah: float, floor: float) -> BatteryState:
    """Integrate ``current_a`` over ``dt``; the charge never drops under ``floor`` (0..1)."""
    consumed = b.consumed_mah + current_a * dt / 3.6
    remaining = 1.0 - consumed / capacity_mah
    if remaining < floor:
        remaining = floor
        consumed = (1.0 - floor) * capacity_mah
    return BatteryState(consumed_mah=consumed, current_a=current_a, remaining=max(remaining, 0.0))


def set_remaining(b: BatteryState, remaining: float, capacity_mah: float) -> BatteryState:
    remaining = min(max(remaining, 0.0), 1.0)
    return replace(b, remaining=remaining, consumed_mah=(1.0 - remaining) * capacity_mah)


def cell_voltage(remaining: float) -> float:
    for (s0, v0), (s1, v1) in itertools.pairwise(_CURVE):
        if remaining <= s1:
            return v0 + (v1 - v0) * (remaining - s0) / (s1 - s0)
    return _CURVE[-1][1]


def pack_voltage(b: BatteryState, n_cells: int) -> float:
    return n_cells * (cell_voltage(b.remaining) - R_INTERNAL * b.current_a)
