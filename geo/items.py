"""MAVLink mission items as plain values: what the planner produces and a vehicle link uploads.

One item is one MAVLink ``MISSION_ITEM_INT`` (command, frame, param1..4, x/y/z), the same
shape as a QGroundControl ``SimpleItem``. Positions are WGS84 degrees; altitude in metres
in the item's ``frame`` (relative to home for ``GLOBAL_RELATIVE_ALT``). Unused params are NaN
where MAVLink says "no change / default" (QGC writes them as ``null``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import IntEnum

NAN = math.nan


class MavCmd(IntEnum):
    NAV_WAYPOINT = 16
    NAV_LOITER_UNLIM = 17
    NAV_LOITER_TIME = 19
    NAV_RETURN_TO_LAUNCH = 20
    NAV_LAND = 21
    NAV_TAKEOFF = 22
    DO_JUMP = 177
    DO_CHANGE_SPEED = 178
    DO_SET_ROI_LOCATION = 195
    DO_SET_ROI_NONE = 197
    DO_GIMBAL_MANAGER_PITCHYAW = 1000
    NAV_FENCE_RETURN_POINT = 5000
    NAV_FENCE_POLYGON_VERTEX_INCLUSION = 5001
    NAV_FENCE_POLYGON_VERTEX_EXCLUSION = 5002
    NAV_FENCE_CIRCLE_INCLUSION = 5003
    NAV_FENCE_CIRCLE_EXCLUSION = 5004
    NAV_RALLY_POINT = 5100


class MavFrame(IntEnum):
    GLOBAL = 0  # altitude AMSL
    MISSION = 2  # no position
    GLOBAL_RELATIVE_ALT = 3  # altitude above home
    GLOBAL_TERRAIN_ALT = 10  # altitude above terrain


NAV_COMMANDS = frozenset(
    {
        MavCmd.NAV_WAYPOINT,
        MavCmd.NAV_LOITER_UNLIM,
        MavCmd.NAV_LOITER_TIME,
        MavCmd.NAV_RETURN_TO_LAUNCH,
        MavCmd.NAV_LAND,
        MavCmd.NAV_TAKEOFF,
    }
)


@dataclass(frozen=True, kw_only=True)
class MissionItem:
    """One MAVLink mission item (mission, fence or rally), frame-explicit."""

    command: int
    frame: int = MavFrame.GLOBAL_RELATIVE_ALT
    param1: float = 0.0
    param2: float = 0.0
    param3: float = 0.0
    param4: float = NAN
    lat: float = 0.0
    lon: float = 0.0
    alt: float = 0.0
    autocontinue: bool = True
    params: tuple[float, float, float, float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", (self.param1, self.param2, self.param3, self.param4))
        if self.frame != MavFrame.MISSION and not (-90.0 <= self.lat <= 90.0 and -180.0 <= self.lon <= 180.0):
            raise ValueError(f"mission item position out of range: lat={self.lat} lon={self.lon}")

    @property
    def is_nav(self) -> bool:
        return self.command in NAV_COMMANDS

    @property
    def has_position(self) -> bool:
        return (
            self.command
            in (
                MavCmd.NAV_WAYPOINT,
                MavCmd.NAV_LOITER_UNLIM,
                MavCmd.NAV_LOITER_TIME,
                MavCmd.NAV_TAKEOFF,
                MavCmd.NAV_LAND,
                MavCmd.DO_SET_ROI_LOCATION,
            )
            or self.command >= 5000
        )


def waypoint(
    lat: float,
    lon: float,
    alt: float,
    *,
    hold_s: float = 0.0,
    acceptance_m: float = 0.0,
    yaw_deg: float = NAN,
) -> MissionItem:
    return MissionItem(
        command=MavCmd.NAV_WAYPOINT,
        param1=hold_s,
        param2=acceptance_m,
        param4=yaw_deg,
        lat=lat,
        lon=lon,
        alt=alt,
    )


def takeoff(alt: float, *, lat: float = NAN, lon: float = NAN) -> MissionItem:
    # No position: (0, 0), which ``place_takeoff`` replaces with the vehicle's before an upload.
    return MissionItem(
        command=MavCmd.NAV_TAKEOFF,
        lat=0.0 if math.isnan(lat) else lat,
        lon=0.0 if math.isnan(lon) else lon,
        alt=alt,
    )


def land(lat: float = 0.0, lon: float = 0.0) -> MissionItem:
    return MissionItem(command=MavCmd.NAV_LAND, lat=lat, lon=lon, alt=0.0)


def return_to_launch() -> MissionItem:
    return MissionItem(command=MavCmd.NAV_RETURN_TO_LAUNCH, frame=MavFrame.MISSION, param4=0.0)


def change_speed(speed_mps: float) -> MissionItem:
    # param1 1 = ground speed; param3 -1 = no throttle change
    return MissionItem(
        command=MavCmd.DO_CHANGE_SPEED,
        frame=MavFrame.MISSION,
        param1=1.0,
        param2=speed_mps,
        param3=-1.0,
        param4=0.0,
    )


def loiter_time(lat: float, lon: float, alt: float, seconds: float) -> MissionItem:
    return MissionItem(command=MavCmd.NAV_LOITER_TIME, param1=seconds, lat=lat, lon=lon, alt=alt)


def roi_location(lat: float, lon: float, alt: float) -> MissionItem:
    return MissionItem(command=MavCmd.DO_SET_ROI_LOCATION, param4=0.0, lat=lat, lon=lon, alt=alt)


def roi_none() -> MissionItem:
    return MissionItem(command=MavCmd.DO_SET_ROI_NONE, frame=MavFrame.MISSION, param4=0.0)


def gimbal_pitch_yaw(pitch_deg: float, yaw_deg: float = 0.0) -> MissionItem:
    # param5/6 (lat/lon slots) carry pitch/yaw rates as NaN in MAVLink; kept at 0 here.
    return MissionItem(
        command=MavCmd.DO_GIMBAL_MANAGER_PITCHYAW,
        frame=MavFrame.MISSION,
        param1=pitch_deg,
        param2=yaw_deg,
        param3=NAN,
        param4=NAN,
    )


def jump(to_seq: int, repeat: int) -> MissionItem:
    return MissionItem(
        command=MavCmd.DO_JUMP, frame=MavFrame.MISSION, param1=float(to_seq), param2=float(repeat)
    )


def place_takeoff(items: Sequence[MissionItem], lat: float, lon: float) -> list[MissionItem]:
    """Give a NAV_TAKEOFF without a position (0, 0) the vehicle's position.

    MISSION_ITEM_INT cannot carry NaN, and PX4, once at take-off altitude, flies to the take-off
    item's position: 0°N 0°E if it was left empty (seen on PX4 SITL: "First waypoint far away").

    Examples
    --------
    >>> placed = place_takeoff([takeoff(20), waypoint(19.37, -99.22, 20)], 19.365, -99.215)
    >>> placed[0].lat, placed[0].lon, placed[1].lat
    (19.365, -99.215, 19.37)
    """
    return [
        replace(i, lat=lat, lon=lon)
        if i.command == MavCmd.NAV_TAKEOFF and i.lat == 0.0 and i.lon == 0.0
        else i
        for i in items
    ]
