"""What the vehicle's telemetry means for a mission, and how much of the area it has covered. Pure.

``next_event`` maps (mission status, what the vehicle shows) to the state-machine event it implies, if
any; the runner applies it until it returns None, so one sample after a restart can walk a mission
through several edges (executing -> returning -> landed -> completed when it finished while we were down).

``covered_fraction`` and ``remaining_area`` measure the flown track buffered by half the swath against
the area, in a local metric frame (``geo.frames``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import shapely
from shapely.geometry import LineString, Point, mapping
from shapely.geometry.base import BaseGeometry

from geo.frames import frame_for
from mission.ports import TelemetrySample
from mission.states import Event, MissionState, MissionStatus

__all__ = ["Observation", "covered_fraction", "next_event", "remaining_area", "to_geojson"]

FAILSAFE_MODES = frozenset({"RETURN_TO_LAUNCH", "LAND"})


@dataclass(frozen=True, kw_only=True)
class Observation:
    sample: TelemetrySample
    current_item: int | None  # item being flown, None when unknown (or another mission's)
    return_index: int  # index of the plan's return item; the item count when it has none
    battery_alarm: bool = False  # the vehicle announced a critical/emergency battery
    battery_failsafe_pct: float = 15.0

    @property
    def on_ground(self) -> bool:
        s = self.sample
        return not s.in_air and s.landed_state == "ON_GROUND"


def _failsafe(obs: Observation) -> tuple[Event, str] | None:
    s = obs.sample
    battery_low = obs.battery_alarm or s.battery_pct < obs.battery_failsafe_pct
    if s.mode in FAILSAFE_MODES or (battery_low and s.mode == "HOLD"):
        if battery_low:
            return Event.BATTERY_FAILSAFE, f"battery {s.battery_pct:.0f} %: vehicle switched to {s.mode}"
        return Event.LINK_LOST, f"vehicle switched to {s.mode} by itself (failsafe)"
    return None


def next_event(status: MissionStatus, obs: Observation) -> tuple[Event, str] | None:
    """The event the vehicle's state implies for a mission in ``status``, with a reason; None if nothing."""
    s = obs.sample
    match status.state:
        case MissionState.ARMED:
            if s.in_air:
                return Event.TOOK_OFF, "airborne"
            if not s.armed:
                return Event.DISARMED, "disarmed before taking off"
        case MissionState.EXECUTING | MissionState.PAUSED:
            finished = obs.current_item is not None and obs.current_item >= obs.return_index
            if status.state is MissionState.EXECUTING and finished:
                return Event.MISSION_FINISHED, f"reached item {obs.current_item}"
            if obs.on_ground:
                return Event.LANDED, "on the ground before the mission finished"
            return _failsafe(obs)
        case MissionState.RETURNING:
            if obs.on_ground:
                return Event.LANDED, "landed"
        case MissionState.LANDED:
            if not s.armed:
                return Event.DISARMED, "disarmed"
    return None


# --- coverage -------------------------------------------------------------------------------------


def _swept(area_ll: BaseGeometry, track: Sequence[tuple[float, float]], swath_m: float):
    frame = frame_for(area_ll)
    area = frame.geometry_to_local(area_ll)
    if not track:
        return frame, area, None
    line = LineString(track) if len(track) > 1 else Point(track[0])
    swept = frame.geometry_to_local(line).buffer(swath_m / 2.0)
    if not swept.is_valid:
        swept = shapely.make_valid(swept)
    return frame, area, swept


def covered_fraction(area_ll: BaseGeometry, track: Sequence[tuple[float, float]], swath_m: float) -> float:
    """Share of the area (lon/lat) within half a swath of the track ((lon, lat) points).

    >>> from shapely.geometry import box
    >>> a = box(-99.2150, 19.3650, -99.2140, 19.3655)
    >>> covered_fraction(a, [], 20.0)
    0.0
    >>> covered_fraction(a, [(-99.2160, 19.36525), (-99.2130, 19.36525)], 200.0)
    1.0
    """
    _, area, swept = _swept(area_ll, track, swath_m)
    if swept is None or area.area <= 0:
        return 0.0
    return round(min(1.0, float(area.intersection(swept).area / area.area)), 4)


def remaining_area(
    area_ll: BaseGeometry, track: Sequence[tuple[float, float]], swath_m: float, *, min_part_m2: float = 50.0
) -> BaseGeometry:
    """The area (lon/lat) minus the swept track; slivers under ``min_part_m2`` dropped. May be empty."""
    frame, area, swept = _swept(area_ll, track, swath_m)
    left = area if swept is None else area.difference(swept)
    parts = [p for p in getattr(left, "geoms", [left]) if p.geom_type == "Polygon" and p.area >= min_part_m2]
    if not parts:
        return shapely.Polygon()
    return frame.geometry_to_lonlat(shapely.union_all(parts))


def to_geojson(geom: BaseGeometry) -> dict:
    return dict(mapping(geom)) if not geom.is_empty else {"type": "Polygon", "coordinates": []}
