"""What a vehicle streams, how often, and how each message is built from a ``Snapshot``.

Two rate profiles (Hz, wall clock):

- ``"px4"``: the rates measured on PX4 SITL (see /work/shared/reference/px4-sitl.md), minus the
  messages no client of ours reads (HIGHRES_IMU, ODOMETRY, SERVO_OUTPUT_RAW, …): about 290 msg/s.
- ``"fleet"``: the same message set at rates a ground station still finds comfortable (positions at
  10 Hz, status at 2 Hz), about 55 msg/s, so 50 vehicles fit in one process on less than a core.

``SET_MESSAGE_INTERVAL`` overrides a rate per message (``-1`` stops it, ``0`` restores the profile's);
``REQUEST_MESSAGE`` asks for one copy now. Rates above the runner's tick rate are capped at it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from pymavlink.dialects.v20 import common as mavlink

from sim.interface import Snapshot
from sim.wire import Encoder

M = mavlink
HEARTBEAT = M.MAVLINK_MSG_ID_HEARTBEAT
PX4_RATES: dict[int, float] = {
    HEARTBEAT: 1.0,
    M.MAVLINK_MSG_ID_ATTITUDE: 100.0,
    M.MAVLINK_MSG_ID_ATTITUDE_QUATERNION: 50.0,
    M.MAVLINK_MSG_ID_GLOBAL_POSITION_INT: 50.0,
    M.MAVLINK_MSG_ID_LOCAL_POSITION_NED: 30.0,
    M.MAVLINK_MSG_ID_VFR_HUD: 10.0,
    M.MAVLINK_MSG_ID_ALTITUDE: 10.0,
    M.MAVLINK_MSG_ID_POSITION_TARGET_GLOBAL_INT: 10.0,  # in flight only
    M.MAVLINK_MSG_ID_GPS_RAW_INT: 8.0,
    M.MAVLINK_MSG_ID_SYS_STATUS: 5.0,
    M.MAVLINK_MSG_ID_EXTENDED_SYS_STATE: 5.0,
    M.MAVLINK_MSG_ID_SYSTEM_TIME: 1.0,
    M.MAVLINK_MSG_ID_MISSION_CURRENT: 1.0,
    M.MAVLINK_MSG_ID_BATTERY_STATUS: 0.5,
    M.MAVLINK_MSG_ID_HOME_POSITION: 0.5,
}
FLEET_RATES: dict[int, float] = {
    **PX4_RATES,
    M.MAVLINK_MSG_ID_ATTITUDE: 10.0,
    M.MAVLINK_MSG_ID_ATTITUDE_QUATERNION: 10.0,
    M.MAVLINK_MSG_ID_GLOBAL_POSITION_INT: 10.0,
    M.MAVLINK_MSG_ID_LOCAL_POSITION_NED: 5.0,
    M.MAVLINK_MSG_ID_VFR_HUD: 4.0,
    M.MAVLINK_MSG_ID_ALTITUDE: 2.0,
    M.MAVLINK_MSG_ID_POSITION_TARGET_GLOBAL_INT: 2.0,
    M.MAVLINK_MSG_ID_GPS_RAW_INT: 2.0,
    M.MAVLINK_MSG_ID_SYS_STATUS: 2.0,
    M.MAVLINK_MSG_ID_EXTENDED_SYS_STATE: 2.0,
}
PROFILES = {"px4": PX4_RATES, "fleet": FLEET_RATES}
FLEET_ABOVE = 5  # "auto" picks "fleet" for more vehicles than this


def pick_profile(name: str, vehicles: int) -> dict[int, float]:
    if name == "auto":
        name = "fleet" if vehicles > FLEET_ABOVE else "px4"
    if name not in PROFILES:
        raise ValueError(f"unknown rate profile {name!r} (px4, fleet or auto)")
    return PROFILES[name]


class StreamScheduler:
    """Per-message next-due times on the wall clock; no bursts after a stall."""

    def __init__(self, rates: dict[int, float], *, now: float, phase: float = 0.0) -> None:
        self._defaults = dict(rates)
        self._period: dict[int, float] = {}
        self._next: dict[int, float] = {}
        self._once: list[int] = []
        for msgid, hz in rates.items():
            self._set(msgid, 1.0 / hz, now + (phase % (1.0 / hz)))

    def _set(self, msgid: int, period: float | None, first: float) -> None:
        if period is None:
            self._period.pop(msgid, None)
            self._next.pop(msgid, None)
        else:
            self._period[msgid] = period
            self._next[msgid] = first

    def set_interval(self, msgid: int, interval_us: float, *, now: float) -> bool:
        """SET_MESSAGE_INTERVAL semantics; False if we cannot stream that message."""
        if msgid not in BUILDERS:
            return False
        if interval_us < 0:
            self._set(msgid, None, now)
        elif interval_us == 0:
            hz = self._defaults.get(msgid)
            self._set(msgid, 1.0 / hz if hz else None, now)
        else:
            self._set(msgid, interval_us / 1e6, now)
        return True

    def interval_us(self, msgid: int) -> int:
        period = self._period.get(msgid)
        return -1 if period is None else round(period * 1e6)

    def request(self, msgid: int) -> None:
        self._once.append(msgid)

    def due(self, now: float) -> list[int]:
        out = self._once
        self._once = []
        nxt = self._next
        for msgid, when in nxt.items():
            if when <= now:
                out.append(msgid)
                period = self._period[msgid]
                when += period
                nxt[msgid] = when if when > now else now + period
        return out


# --- builders: Snapshot -> framed bytes ---------------------------------------------------------

# SYS_STATUS sensor bits PX4 SITL reports; MAVSDK's health checks read gyro/accel/mag/GPS and PREARM_CHECK.
S = M
SENSORS_PRESENT = (
    S.MAV_SYS_STATUS_SENSOR_3D_GYRO
    | S.MAV_SYS_STATUS_SENSOR_3D_ACCEL
    | S.MAV_SYS_STATUS_SENSOR_3D_MAG
    | S.MAV_SYS_STATUS_SENSOR_ABSOLUTE_PRESSURE
    | S.MAV_SYS_STATUS_SENSOR_GPS
    | S.MAV_SYS_STATUS_SENSOR_ANGULAR_RATE_CONTROL
    | S.MAV_SYS_STATUS_SENSOR_ATTITUDE_STABILIZATION
    | S.MAV_SYS_STATUS_SENSOR_YAW_POSITION
    | S.MAV_SYS_STATUS_SENSOR_Z_ALTITUDE_CONTROL
    | S.MAV_SYS_STATUS_SENSOR_XY_POSITION_CONTROL
    | S.MAV_SYS_STATUS_SENSOR_MOTOR_OUTPUTS
    | S.MAV_SYS_STATUS_AHRS
    | S.MAV_SYS_STATUS_SENSOR_BATTERY
    | S.MAV_SYS_STATUS_PREARM_CHECK
)
GPS_BIT = S.MAV_SYS_STATUS_SENSOR_GPS
PREARM_BIT = S.MAV_SYS_STATUS_PREARM_CHECK


def sensors(s: Snapshot) -> tuple[int, int, int]:
    """(present, enabled, health): the autopilot's own bits if it reports them, else PX4's usual set,
    all healthy but GPS and PREARM_CHECK without a 3D fix."""
    if s.sensors_present:
        return s.sensors_present, s.sensors_enabled or s.sensors_present, s.sensors_health
    health = s.sensors_health or SENSORS_PRESENT
    if not s.sensors_health and s.fix_type < 3:
        health &= ~(GPS_BIT | PREARM_BIT)
    return SENSORS_PRESENT, SENSORS_PRESENT, health


def _e7(deg: float) -> int:
    return round(deg * 1e7)


def quaternion(roll: float, pitch: float, yaw: float) -> tuple[float, float, float, float]:
    cr, sr = math.cos(roll / 2), math.sin(roll / 2)
    cp, sp = math.cos(pitch / 2), math.sin(pitch / 2)
    cy, sy = math.cos(yaw / 2), math.sin(yaw / 2)
    return (
        cr * cp * cy + sr * sp * sy,
        sr * cp * cy - cr * sp * sy,
        cr * sp * cy + sr * cp * sy,
        cr * cp * sy - sr * sp * cy,
    )


def _heartbeat(e: Encoder, s: Snapshot) -> bytes:
    return e.encode(HEARTBEAT, 2, 12, s.base_mode, s.custom_mode, s.system_status, 3)


def _attitude(e: Encoder, s: Snapshot) -> bytes:
    return e.encode(30, s.boot_ms, s.roll, s.pitch, s.yaw, s.rollspeed, s.pitchspeed, s.yawspeed)


_ZERO4 = (0.0, 0.0, 0.0, 0.0)


def _attitude_q(e: Encoder, s: Snapshot) -> bytes:
    q = quaternion(s.roll, s.pitch, s.yaw)
    return e.encode(31, s.boot_ms, *q, s.rollspeed, s.pitchspeed, s.yawspeed, _ZERO4)


def _global_position(e: Encoder, s: Snapshot) -> bytes:
    hdg = round(math.degrees(s.yaw) * 100) % 36000
    return e.encode(
        33,
        s.boot_ms,
        _e7(s.lat),
        _e7(s.lon),
        round(s.alt_amsl * 1000),
        round(s.alt_rel * 1000),
        round(s.vn * 100),
        round(s.ve * 100),
        round(s.vd * 100),
        hdg,
    )


def _local_position(e: Encoder, s: Snapshot) -> bytes:
    return e.encode(32, s.boot_ms, s.x, s.y, s.z, s.vn, s.ve, s.vd)


def _vfr_hud(e: Encoder, s: Snapshot) -> bytes:
    return e.encode(74, s.airspeed, s.groundspeed, s.heading_deg, s.throttle_pct, s.alt_amsl, s.climb)


def _altitude(e: Encoder, s: Snapshot) -> bytes:
    nan = math.nan
    return e.encode(141, round(s.t * 1e6), s.alt_amsl, s.alt_amsl, -s.z, s.alt_rel, nan, nan)


def _gps_raw(e: Encoder, s: Snapshot) -> bytes:
    lat = s.gps_lat or s.lat
    lon = s.gps_lon or s.lon
    alt = s.gps_alt_amsl or s.alt_amsl
    cog = round(math.degrees(math.atan2(s.ve, s.vn)) * 100) % 36000 if s.groundspeed > 0.1 else 65535
    return e.encode(
        24,
        round(s.t * 1e6),
        s.fix_type,
        _e7(lat) if s.fix_type >= 2 else 0,
        _e7(lon) if s.fix_type >= 2 else 0,
        round(alt * 1000),
        s.eph_cm,
        s.epv_cm,
        round(s.groundspeed * 100),
        cog,
        s.satellites,
        round(alt * 1000),
        s.eph_cm * 10,
        s.epv_cm * 10,
        300,
        0,
        0,
    )


def _sys_status(e: Encoder, s: Snapshot) -> bytes:
    present, enabled, health = sensors(s)
    return e.encode(
        1,
        present,
        enabled,
        health,
        250,  # load, per mille
        round(s.voltage_v * 1000),
        round(s.current_a * 100),
        round(s.battery_pct),
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
    )


def _extended_sys_state(e: Encoder, s: Snapshot) -> bytes:
    return e.encode(245, 0, s.landed_state)


def _system_time(e: Encoder, s: Snapshot) -> bytes:
    return e.encode(2, int(time.time() * 1e6), s.boot_ms)


def _mission_current(e: Encoder, s: Snapshot) -> bytes:
    in_mission = 1 if (s.custom_mode >> 16) & 0xFF == 4 and (s.custom_mode >> 24) == 4 else 2
    return e.encode(42, s.mission_seq, s.mission_total, s.mission_state, in_mission)


_CELLS_UNUSED = (65535,) * 9


def _battery(e: Encoder, s: Snapshot) -> bytes:
    pct = s.battery_pct
    charge = 1 if pct > 15 else 2 if pct > 7 else 3 if pct > 5 else 4
    return e.encode(
        147,
        0,
        1,
        3,
        32767,
        (round(s.voltage_v * 1000), *_CELLS_UNUSED),
        round(s.current_a * 100),
        round(s.consumed_mah),
        -1,
        round(pct),
        0,
        charge,
        (0, 0, 0, 0),
        0,
        0,
    )


def _home(e: Encoder, s: Snapshot) -> bytes | None:
    if s.home is None:
        return None
    lat, lon, alt = s.home
    return e.encode(
        242,
        _e7(lat),
        _e7(lon),
        round(alt * 1000),
        0.0,
        0.0,
        0.0,
        (1.0, 0.0, 0.0, 0.0),
        0.0,
        0.0,
        0.0,
        round(s.t * 1e6),
    )


def _position_target(e: Encoder, s: Snapshot) -> bytes | None:
    """The position setpoint; only while there is one (PX4 streams it in flight)."""
    if s.target is None:
        return None
    lat, lon, alt = s.target
    return e.encode(87, s.boot_ms, 5, 0, _e7(lat), _e7(lon), alt, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, s.yaw, 0.0)


BUILDERS: dict[int, Callable[[Encoder, Snapshot], bytes | None]] = {
    HEARTBEAT: _heartbeat,
    30: _attitude,
    31: _attitude_q,
    33: _global_position,
    32: _local_position,
    74: _vfr_hud,
    141: _altitude,
    87: _position_target,
    24: _gps_raw,
    1: _sys_status,
    245: _extended_sys_state,
    2: _system_time,
    42: _mission_current,
    147: _battery,
    242: _home,
}
