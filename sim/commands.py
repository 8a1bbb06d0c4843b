"""COMMAND_LONG / COMMAND_INT handling, PX4 style: each handler returns a MAV_RESULT.

REQUEST_MESSAGE and SET_MESSAGE_INTERVAL are the endpoint's business; anything not in
``HANDLERS`` answers MAV_RESULT_UNSUPPORTED, as PX4 does for commands it does not know.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from pymavlink.dialects.v20 import common as mavlink

from sim import nav
from sim import px4_modes as modes

if TYPE_CHECKING:
    from sim.autopilot import Autopilot

C = mavlink
ACCEPTED = C.MAV_RESULT_ACCEPTED
TEMP_REJECTED = C.MAV_RESULT_TEMPORARILY_REJECTED
DENIED = C.MAV_RESULT_DENIED
FORCE_MAGIC = 21196
UNSUPPORTED_MAV_FRAME = 9  # MAV_RESULT_COMMAND_UNSUPPORTED_MAV_FRAME, newer than pymavlink's dialect
RELATIVE_FRAMES = {3, 6, 10, 11}
Params = tuple[float, ...]


def _finite(x: float) -> bool:
    return math.isfinite(x)


def _alt_to_d(ap: Autopilot, alt: float, frame: int, is_int: bool) -> float:
    """Altitude param → NED down. COMMAND_INT honours its frame; COMMAND_LONG altitudes are AMSL."""
    amsl = ap.home_alt() + alt if is_int and frame in RELATIVE_FRAMES else alt
    return ap.origin_alt - amsl


def arm_disarm(ap: Autopilot, p: Params, is_int: bool, frame: int) -> int:
    # MAVSDK leaves param2 NaN ("unused"); PX4 reads that as no force.
    force = _finite(p[1]) and int(p[1]) == FORCE_MAGIC
    return ap.arm(force=force) if p[0] > 0.5 else ap.disarm(force=force)


def _switch(ap: Autopilot, mode: modes.Mode, activity: nav.Activity | None = None) -> int:
    """Commander's "user mode intention change": refused → TEMPORARILY_REJECTED and why."""
    reason = ap.mode_unavailable(mode)
    if reason is not None:
        ap.say(reason, 2)
        return TEMP_REJECTED
    ap.user_switch(mode, activity)
    return ACCEPTED


def takeoff(ap: Autopilot, p: Params, is_int: bool, frame: int) -> int:
    """Accepted even disarmed (PX4 switches to Takeoff and climbs once armed). param7 is AMSL."""
    d = ap.home_d() - ap.p("MIS_TAKEOFF_ALT")
    if _finite(p[6]):
        requested = _alt_to_d(ap, p[6], frame, is_int)
        if requested < ap.state.d:
            d = requested
        else:
            ap.say("Already higher than takeoff altitude", 4)
    result = _switch(ap, modes.AUTO_TAKEOFF)
    if result == ACCEPTED:
        ap.takeoff_d = d
    return result


def land(ap: Autopilot, p: Params, is_int: bool, frame: int) -> int:
    result = _switch(ap, modes.AUTO_LAND)
    if result == ACCEPTED:
        ap.say("Landing at current position")
    return result


def return_to_launch(ap: Autopilot, p: Params, is_int: bool, frame: int) -> int:
    result = _switch(ap, modes.AUTO_RTL)
    if result == ACCEPTED:
        ap.say("Returning to launch")
    return result


def set_mode(ap: Autopilot, p: Params, is_int: bool, frame: int) -> int:
    if not all(_finite(x) for x in p[:3]):
        return DENIED
    return ap.set_mode(int(p[0]), modes.encode(int(p[1]), int(p[2])))


def reposition(ap: Autopilot, p: Params, is_int: bool, frame: int) -> int:
    """PX4 needs param2 = MAV_DO_REPOSITION_FLAGS_CHANGE_MODE (1), else UNSUPPORTED. On the ground it takes off."""
    if is_int and frame not in (5, 6):
        # PX4 SITL: COMMAND_INT DO_REPOSITION in frame 0 → "frame invalid for command 192", result 9.
        ap.say("frame invalid for command 192", 3)
        return UNSUPPORTED_MAV_FRAME
    flags = int(p[1]) if _finite(p[1]) else 0
    if flags != 1:
        return C.MAV_RESULT_UNSUPPORTED
    if not ap.armed:
        return _switch(ap, modes.AUTO_LOITER)  # the navigator ignores the position while disarmed
    s = ap.state
    if _finite(p[4]) and _finite(p[5]):
        n, e = ap.frame.to_ne(p[4], p[5])
    else:
        n, e = nav.stopping_point(ap)
    if _finite(p[6]):
        d = _alt_to_d(ap, p[6], frame, is_int)
    else:
        d = ap.home_d() - ap.p("MIS_TAKEOFF_ALT") if s.on_ground else s.d
    yaw = p[3] if _finite(p[3]) else None  # radians: PX4's navigator (and MAVSDK's goto) use radians here
    result = _switch(ap, modes.AUTO_LOITER, nav.go_to(ap, n, e, d, yaw))
    if result == ACCEPTED and p[0] > 0:
        ap.speed_override = p[0]
    return result


def orbit(ap: Autopilot, p: Params, is_int: bool, frame: int) -> int:
    if not ap.flying() or not ap.position_ok():
        ap.say("Orbit command rejected", 2)
        return TEMP_REJECTED
    s = ap.state
    radius = p[0] if _finite(p[0]) and abs(p[0]) >= 1.0 else 10.0
    speed = p[1] if _finite(p[1]) and p[1] != 0 else 1.0
    cn, ce = ap.frame.to_ne(p[4], p[5]) if _finite(p[4]) and _finite(p[5]) else (s.n, s.e)
    d = _alt_to_d(ap, p[6], frame, is_int) if _finite(p[6]) else s.d
    ap.user_switch(modes.POSCTL_ORBIT, nav.orbit(ap, cn, ce, d, abs(radius), speed))
    return ACCEPTED


def change_speed(ap: Autopilot, p: Params, is_int: bool, frame: int) -> int:
    if p[1] > 0:
        ap.speed_override = p[1]
    elif p[1] == -2:
        ap.speed_override = None
    return ACCEPTED


def set_home(ap: Autopilot, p: Params, is_int: bool, frame: int) -> int:
    if p[0] > 0.5:
        if not ap.position_ok():
            return TEMP_REJECTED
        ap.set_home_here(manual=True)
    elif _finite(p[4]) and _finite(p[5]) and _finite(p[6]):
        ap.home, ap.home_manual = (p[4], p[5], p[6]), True
    else:
        return DENIED
    return ACCEPTED


def mission_start(ap: Autopilot, p: Params, is_int: bool, frame: int) -> int:
    """PX4: switch to Mission *and arm*; DENIED without a mission."""
    total = len(ap.mission.items)
    if total == 0:
        ap.say("Mission start denied! No valid mission", 2)
        return DENIED
    first = int(p[0]) if _finite(p[0]) else -1
    if not -1 <= first < total:
        return DENIED
    if first >= 0:
        ap.set_current(first)
    if ap.set_mode(modes.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED, modes.AUTO_MISSION.custom_mode) != ACCEPTED:
        return TEMP_REJECTED
    return ACCEPTED if ap.arm(by="mission start") == ACCEPTED else TEMP_REJECTED


def pause_continue(ap: Autopilot, p: Params, is_int: bool, frame: int) -> int:
    if p[0] < 0.5:
        if not ap.armed:
            return TEMP_REJECTED
        ap.user_switch(modes.AUTO_LOITER)
        return ACCEPTED
    if ap.mode == modes.AUTO_MISSION:
        return ACCEPTED
    return ap.set_mode(modes.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED, modes.AUTO_MISSION.custom_mode)


def roi_location(ap: Autopilot, p: Params, is_int: bool, frame: int) -> int:
    if not (_finite(p[4]) and _finite(p[5])):
        return DENIED
    alt = ap.origin_alt - _alt_to_d(ap, p[6], frame, is_int) if _finite(p[6]) else ap.home_alt()
    ap.roi = (p[4], p[5], alt)
    return ACCEPTED


def roi_none(ap: Autopilot, p: Params, is_int: bool, frame: int) -> int:
    ap.roi = None
    return ACCEPTED


def gimbal_pitchyaw(ap: Autopilot, p: Params, is_int: bool, frame: int) -> int:
    ap.gimbal = (p[0] if _finite(p[0]) else ap.gimbal[0], p[1] if _finite(p[1]) else ap.gimbal[1])
    return ACCEPTED


def flight_termination(ap: Autopilot, p: Params, is_int: bool, frame: int) -> int:
    if p[0] <= 0.5 or not ap.armed:
        return DENIED
    ap.terminate()
    return ACCEPTED


HANDLERS: dict[int, Callable[[Autopilot, Params, bool, int], int]] = {
    C.MAV_CMD_COMPONENT_ARM_DISARM: arm_disarm,
    C.MAV_CMD_NAV_TAKEOFF: takeoff,
    C.MAV_CMD_NAV_LAND: land,
    C.MAV_CMD_NAV_RETURN_TO_LAUNCH: return_to_launch,
    C.MAV_CMD_DO_SET_MODE: set_mode,
    C.MAV_CMD_DO_REPOSITION: reposition,
    C.MAV_CMD_DO_ORBIT: orbit,
    C.MAV_CMD_DO_CHANGE_SPEED: change_speed,
    C.MAV_CMD_DO_SET_HOME: set_home,
    C.MAV_CMD_MISSION_START: mission_start,
    C.MAV_CMD_DO_PAUSE_CONTINUE: pause_continue,
    C.MAV_CMD_DO_SET_ROI_LOCATION: roi_location,
    C.MAV_CMD_DO_SET_ROI_NONE: roi_none,
    C.MAV_CMD_DO_GIMBAL_MANAGER_PITCHYAW: gimbal_pitchyaw,
    C.MAV_CMD_DO_FLIGHTTERMINATION: flight_termination,
}


def handle(ap: Autopilot, command: int, params: tuple[float, ...], is_int: bool, frame: int) -> int:
    handler = HANDLERS.get(command)
    if handler is None:
        return C.MAV_RESULT_UNSUPPORTED
    p = tuple(float(x) for x in params[:7]) + (math.nan,) * max(0, 7 - len(params))
    return handler(ap, p, is_int, frame)
