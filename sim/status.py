"""What the endpoint streams: a ``Snapshot`` of one autopilot, and its SYS_STATUS health bits.

MAVSDK 4 derives its health from SYS_STATUS (telemetry_impl.cpp ``process_sys_status``):
gyro/accel/mag calibration from the sensor health bits, global and local position from
GPS present ∧ healthy, and ``is_armable`` from MAV_SYS_STATUS_PREARM_CHECK in health.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pymavlink.dialects.v20 import common as mavlink

from sim import battery as bat
from sim import mission_exec, nav
from sim import px4_modes as modes
from sim.interface import Snapshot

if TYPE_CHECKING:
    from sim.autopilot import Autopilot

C = mavlink
SENSORS = (
    C.MAV_SYS_STATUS_SENSOR_3D_GYRO
    | C.MAV_SYS_STATUS_SENSOR_3D_ACCEL
    | C.MAV_SYS_STATUS_SENSOR_3D_MAG
    | C.MAV_SYS_STATUS_SENSOR_ABSOLUTE_PRESSURE
    | C.MAV_SYS_STATUS_SENSOR_GPS
    | C.MAV_SYS_STATUS_SENSOR_ANGULAR_RATE_CONTROL
    | C.MAV_SYS_STATUS_SENSOR_ATTITUDE_STABILIZATION
    | C.MAV_SYS_STATUS_SENSOR_YAW_POSITION
    | C.MAV_SYS_STATUS_SENSOR_Z_ALTITUDE_CONTROL
    | C.MAV_SYS_STATUS_SENSOR_XY_POSITION_CONTROL
    | C.MAV_SYS_STATUS_SENSOR_MOTOR_OUTPUTS
    | C.MAV_SYS_STATUS_AHRS
    | C.MAV_SYS_STATUS_SENSOR_BATTERY
    | C.MAV_SYS_STATUS_PREARM_CHECK
)

TAKEOFF_DETECT_M = 0.3
LAND_DETECT_S = 1.0


def snapshot(ap: Autopilot) -> Snapshot:
    s = ap.state
    lat, lon = ap.frame.to_latlon(s.n, s.e)
    alt = ap.origin_alt - s.d
    gs = math.hypot(s.vn, s.ve)
    b = ap.battery
    items = ap.mission.items
    target = None
    if ap.target is not None:
        tlat, tlon = ap.frame.to_latlon(ap.target[0], ap.target[1])
        target = (tlat, tlon, ap.origin_alt - ap.target[2])
    glat, glon = ap.frame.to_latlon(s.n + ap.gps_err[0], s.e + ap.gps_err[1])
    return Snapshot(
        t=ap.t,
        boot_ms=int(ap.t * 1000),
        lat=lat,
        lon=lon,
        alt_amsl=alt,
        alt_rel=alt - ap.home_alt(),
        vn=s.vn,
        ve=s.ve,
        vd=s.vd,
        roll=s.roll,
        pitch=s.pitch,
        yaw=s.yaw,
        rollspeed=ap.rates[0],
        pitchspeed=ap.rates[1],
        yawspeed=ap.rates[2],
        x=s.n,
        y=s.e,
        z=s.d,
        airspeed=math.hypot(s.vn - ap.env.wind_n, s.ve - ap.env.wind_e),
        groundspeed=gs,
        heading_deg=round(math.degrees(s.yaw)) % 360,
        throttle_pct=round(s.thrust * 100) if ap.armed else 0,
        climb=-s.vd,
        armed=ap.armed,
        base_mode=modes.base_mode(ap.armed),
        custom_mode=ap.mode.custom_mode,
        system_status=system_status(ap),
        landed_state=landed_state(ap),
        battery_pct=b.remaining * 100.0,
        voltage_v=bat.pack_voltage(b, int(ap.p("BAT1_N_CELLS"))),
        current_a=b.current_a,
        consumed_mah=b.consumed_mah,
        fix_type=3 if ap.gps_ok else 1,
        satellites=12 if ap.gps_ok else 0,
        eph_cm=70 if ap.gps_ok else 9999,
        epv_cm=110 if ap.gps_ok else 9999,
        gps_lat=glat if ap.gps_ok else 0.0,
        gps_lon=glon if ap.gps_ok else 0.0,
        gps_alt_amsl=alt + ap.gps_err[2] if ap.gps_ok else 0.0,
        home=ap.home,
        mission_seq=min(ap.mission.seq, max(len(items) - 1, 0)),
        mission_total=len(items),
        mission_state=ap.mission.state if items else mission_exec.NO_MISSION,
        mission_id=ap.mission_id,
        sensors_present=SENSORS,
        sensors_enabled=SENSORS,
        sensors_health=health(ap),
        in_air=ap.in_air,
        target=target,
        gimbal_pitch_deg=ap.gimbal[0],
        gimbal_yaw_deg=ap.gimbal[1],
        roi=ap.roi,
        failsafe=ap.fs.pending != "none",
    )


def prearm_failure(ap: Autopilot) -> str | None:
    if not ap.gps_ok:
        return "no GPS fix"
    if ap.home is None:
        return "home position not set"
    if ap.battery.remaining < ap.p("BAT_CRIT_THR"):
        return "battery level too low"
    if ap.mode == modes.AUTO_MISSION and not ap.mission.items:
        return "no valid mission"
    return None


def system_status(ap: Autopilot) -> int:
    if ap.terminated:
        return modes.MAV_STATE_FLIGHT_TERMINATION
    return modes.MAV_STATE_ACTIVE if ap.armed else modes.MAV_STATE_STANDBY


def landed_state(ap: Autopilot) -> int:
    if ap.state.on_ground:
        return C.MAV_LANDED_STATE_LANDING if ap.in_air else C.MAV_LANDED_STATE_ON_GROUND
    return ap.landed_hint or C.MAV_LANDED_STATE_IN_AIR


def health(ap: Autopilot) -> int:
    health = SENSORS
    if not ap.gps_ok:
        health &= ~C.MAV_SYS_STATUS_SENSOR_GPS
    if not ap.armed and prearm_failure(ap) is not None:
        health &= ~C.MAV_SYS_STATUS_PREARM_CHECK
    if ap.battery.remaining < ap.p("BAT_CRIT_THR"):
        health &= ~C.MAV_SYS_STATUS_SENSOR_BATTERY
    return health


def land_detector(ap: Autopilot) -> None:
    """PX4's land detector: landed after LAND_DETECT_S of ground contact (PX4 goes through
    "maybe landed" first); then the two auto-disarm timers."""
    s = ap.state
    if not ap.in_air and not s.on_ground and s.d < -TAKEOFF_DETECT_M:
        ap.in_air = True
        ap.took_off = True
        ap.say("Takeoff detected")
    elif ap.in_air:
        if not s.on_ground:
            ap.touchdown_at = None
        elif ap.touchdown_at is None:
            ap.touchdown_at = ap.t
        elif ap.t - ap.touchdown_at >= LAND_DETECT_S or not ap.armed:
            ap.in_air = False
            ap.touchdown_at = None
            ap.landed_at = ap.t
            ap.say("Landing detected")
    if not ap.armed or ap.in_air or not s.on_ground:
        return
    if ap.took_off:
        delay = ap.p("COM_DISARM_LAND")
        if delay > 0 and ap.t - ap.landed_at >= delay:
            ap.disarm(reason="Disarmed by landing")
    else:
        delay = ap.p("COM_DISARM_PRFLT")
        if delay > 0 and ap.t - ap.armed_at >= delay and ap.landed_hint != nav.LANDED_STATE_TAKEOFF:
            ap.disarm(reason="Disarmed by auto preflight disarming")
