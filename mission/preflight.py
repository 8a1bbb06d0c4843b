"""Preflight checks as a pure function: telemetry + plan numbers + limits -> the checks that failed.

``check_preflight`` returns ``{check name: why}`` (empty when everything passes) so the supervisor can
store all the reasons at once; ``require_preflight`` raises ``PreflightError`` carrying that dict.
``plan_faults`` is the plan-only subset, also used by the store to refuse out-of-limit plans.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from geo.items import MavCmd, MavFrame, MissionItem
from mission.errors import PreflightError
from mission.ports import TelemetrySample

__all__ = [
    "PlanStats",
    "PreflightLimits",
    "check_preflight",
    "distance_m",
    "plan_faults",
    "plan_stats",
    "require_preflight",
]


@dataclass(frozen=True, kw_only=True)
class PreflightLimits:
    max_sample_age_s: float = 3.0  # older telemetry means the link is not healthy
    min_gps_fix: int = 3  # MAVLink GPS_FIX_TYPE_3D_FIX
    min_satellites: int = 6
    battery_reserve_pct: float = 20.0  # left in the pack on landing, on top of the sortie's estimate
    max_alt_rel_m: float = 120.0  # the legal ceiling above take-off
    max_items: int = 1000
    max_first_waypoint_m: float = 2000.0  # from home: a plan for somewhere else is a mistake


@dataclass(frozen=True, kw_only=True)
class PlanStats:
    item_count: int
    max_alt_rel_m: float  # highest altitude above home among positioned items
    first_waypoint: tuple[float, float] | None  # (lat, lon) of the first positioned nav item
    energy_pct: float  # battery the sortie is estimated to use, percent of a full pack


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine, mean Earth radius)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


def plan_stats(
    items: Sequence[MissionItem], *, energy_pct: float, home_alt_amsl_m: float | None = None
) -> PlanStats:
    """Numbers the checks need, from the items. AMSL items count only when the home altitude is known."""
    alts: list[float] = []
    first: tuple[float, float] | None = None
    for it in items:
        if it.frame == MavFrame.MISSION or not it.has_position or it.command >= 5000:
            continue
        if it.frame == MavFrame.GLOBAL_RELATIVE_ALT:
            alts.append(it.alt)
        elif it.frame == MavFrame.GLOBAL and home_alt_amsl_m is not None:
            alts.append(it.alt - home_alt_amsl_m)
        # A take-off with lat/lon 0,0 means "here": not a position to fly to.
        if first is None and it.command != MavCmd.NAV_TAKEOFF and it.is_nav:
            first = (it.lat, it.lon)
    return PlanStats(
        item_count=len(items),
        max_alt_rel_m=max(alts, default=0.0),
        first_waypoint=first,
        energy_pct=energy_pct,
    )


def plan_faults(plan: PlanStats, limits: PreflightLimits) -> dict[str, str]:
    """The plan-only checks: altitude ceiling, item count, estimated energy sanity."""
    faults: dict[str, str] = {}
    if plan.item_count == 0:
        faults["plan_items"] = "the plan has no items"
    elif plan.item_count > limits.max_items:
        faults["plan_items"] = f"{plan.item_count} items, more than the {limits.max_items} allowed"
    if plan.max_alt_rel_m > limits.max_alt_rel_m:
        faults["plan_altitude"] = (
            f"highest item at {plan.max_alt_rel_m:.0f} m above home, above the {limits.max_alt_rel_m:.0f} m ceiling"
        )
    if not math.isfinite(plan.energy_pct) or plan.energy_pct < 0:
        faults["plan_energy"] = f"estimated energy {plan.energy_pct} % is not a usable number"
    return faults


def check_preflight(
    sample: TelemetrySample | None,
    plan: PlanStats,
    *,
    now: datetime,
    geofence_uploaded: bool,
    limits: PreflightLimits = PreflightLimits(),
) -> dict[str, str]:
    """Every failed check, named, with the reason; an empty dict means cleared to fly."""
    faults = plan_faults(plan, limits)
    if not geofence_uploaded:
        faults["geofence"] = "the geofence has not been uploaded to the vehicle"
    if sample is None:
        faults["link"] = "no telemetry received from the vehicle"
        return faults
    age = (now - sample.time).total_seconds()
    if age > limits.max_sample_age_s:
        faults["link"] = f"last telemetry {age:.1f} s old (limit {limits.max_sample_age_s:g} s)"
    if sample.gps_fix < limits.min_gps_fix:
        faults["gps"] = f"GPS fix type {sample.gps_fix}, need {limits.min_gps_fix} (3D)"
    elif sample.satellites < limits.min_satellites:
        faults["gps"] = f"{sample.satellites} satellites, need {limits.min_satellites}"
    if sample.home_lat is None or sample.home_lon is None:
        faults["home"] = "home position not set"
    elif plan.first_waypoint is not None:
        d = distance_m(sample.home_lat, sample.home_lon, *plan.first_waypoint)
        if d > limits.max_first_waypoint_m:
            faults["first_waypoint"] = (
                f"first waypoint {d:.0f} m from home, more than {limits.max_first_waypoint_m:.0f} m"
            )
    needed = plan.energy_pct + limits.battery_reserve_pct
    if sample.battery_pct < needed:
        faults["battery"] = (
            f"battery {sample.battery_pct:.0f} %, need {needed:.0f} % "
            f"({plan.energy_pct:.0f} % sortie + {limits.battery_reserve_pct:.0f} % reserve)"
        )
    if sample.armed or sample.in_air:
        faults["vehicle_state"] = "vehicle already armed or in the air"
    return faults


def require_preflight(
    sample: TelemetrySample | None,
    plan: PlanStats,
    *,
    now: datetime,
    geofence_uploaded: bool,
    limits: PreflightLimits = PreflightLimits(),
) -> None:
    """``PreflightError`` with every failed check, or None when cleared."""
    faults = check_preflight(sample, plan, now=now, geofence_uploaded=geofence_uploaded, limits=limits)
    if faults:
        raise PreflightError(faults)
