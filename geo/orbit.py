"""Orbit: a circle around a point of interest at a radius and altitude, in the local frame.

Either as waypoints (the camera pointed at the centre with a ROI item) or as one DO_ORBIT item, which PX4
flies natively. Orbits are not rerouted: one that crosses a no-fly zone is refused.
"""

from __future__ import annotations

import math

import numpy as np
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry

from geo.errors import PlanningError
from geo.items import MavFrame, MissionItem

MAV_CMD_DO_ORBIT = 34
# Chord error: vertices close enough that the polygon stays within this of the circle.
MAX_SAG_M = 1.0


def orbit_points(
    center: tuple[float, float],
    radius_m: float,
    *,
    laps: int = 1,
    clockwise: bool = True,
    start_angle_deg: float = 0.0,
) -> np.ndarray:
    """Closed polygon approximating the circle, ``laps`` times, starting at ``start_angle_deg`` (from east).

    Examples
    --------
    >>> pts = orbit_points((0.0, 0.0), 100.0)
    >>> len(pts) > 8, bool(np.allclose(pts[0], pts[-1])), round(float(np.hypot(*pts[5])), 6)
    (True, True, 100.0)
    """
    if not (radius_m > 0 and math.isfinite(radius_m)):
        raise PlanningError(f"orbit radius must be positive, got {radius_m}")
    if laps < 1:
        raise PlanningError(f"laps must be at least 1, got {laps}")
    step = 2.0 * math.acos(max(-1.0, 1.0 - MAX_SAG_M / radius_m))
    n = max(8, math.ceil(2.0 * math.pi / step))
    sign = -1.0 if clockwise else 1.0
    a = math.radians(start_angle_deg) + sign * np.linspace(0.0, 2.0 * math.pi * laps, n * laps + 1)
    return np.column_stack((center[0] + radius_m * np.cos(a), center[1] + radius_m * np.sin(a)))


def check_orbit_clear(points: np.ndarray, obstacles: BaseGeometry | None) -> None:
    if obstacles is not None and not obstacles.is_empty and LineString(points).intersects(obstacles):
        raise PlanningError("the orbit crosses a no-fly zone (with its buffer): move it or shrink the radius")


def orbit_item(
    lat: float,
    lon: float,
    alt: float,
    radius_m: float,
    *,
    clockwise: bool = True,
    laps: float = 1.0,
    speed_mps: float = math.nan,
) -> MissionItem:
    """MAV_CMD_DO_ORBIT: param1 radius (positive = clockwise), param2 velocity, param3 yaw behaviour
    (0 = towards the centre), param4 orbits (0 = forever)."""
    return MissionItem(
        command=MAV_CMD_DO_ORBIT,
        frame=MavFrame.GLOBAL_RELATIVE_ALT,
        param1=radius_m if clockwise else -radius_m,
        param2=speed_mps,
        param3=0.0,
        param4=float(laps),
        lat=lat,
        lon=lon,
        alt=alt,
    )
