"""Mission items: validation on upload (``check_item``) and execution (``run_mission``).

``check_item`` is what the endpoint calls for each MISSION_ITEM_INT as it arrives, so an
unsupported command is refused at once with MAV_MISSION_UNSUPPORTED, as PX4 does.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pymavlink.dialects.v20 import common as mavlink

from sim import nav
from sim.interface import FENCE, MISSION, RALLY, SimItem

if TYPE_CHECKING:
    from sim.autopilot import Autopilot

C = mavlink
NAV_POSITION_ITEMS = {
    C.MAV_CMD_NAV_WAYPOINT,
    C.MAV_CMD_NAV_SPLINE_WAYPOINT,  # flown as a plain waypoint
    C.MAV_CMD_NAV_VTOL_TAKEOFF,  # a multicopter flies these as takeoff / land
    C.MAV_CMD_NAV_VTOL_LAND,
    C.MAV_CMD_NAV_LOITER_UNLIM,
    C.MAV_CMD_NAV_LOITER_TURNS,
    C.MAV_CMD_NAV_LOITER_TIME,
    C.MAV_CMD_NAV_LAND,
    C.MAV_CMD_NAV_TAKEOFF,
}
NAV_ITEMS = NAV_POSITION_ITEMS | {C.MAV_CMD_NAV_RETURN_TO_LAUNCH, C.MAV_CMD_NAV_DELAY}
# accepted and stored; camera/payload items are no-ops in the simulator
DO_ITEMS = {
    C.MAV_CMD_DO_JUMP,
    C.MAV_CMD_DO_CHANGE_SPEED,
    C.MAV_CMD_DO_SET_ROI_LOCATION,
    C.MAV_CMD_DO_SET_ROI_NONE,
    C.MAV_CMD_DO_SET_ROI,
    C.MAV_CMD_DO_GIMBAL_MANAGER_PITCHYAW,
    C.MAV_CMD_DO_MOUNT_CONTROL,
    C.MAV_CMD_CONDITION_DELAY,
    C.MAV_CMD_DO_LAND_START,
    C.MAV_CMD_DO_SET_SERVO,
    C.MAV_CMD_DO_SET_ACTUATOR,
    C.MAV_CMD_DO_DIGICAM_CONTROL,
    C.MAV_CMD_DO_SET_CAM_TRIGG_DIST,
    C.MAV_CMD_DO_SET_CAM_TRIGG_INTERVAL,
    C.MAV_CMD_DO_TRIGGER_CONTROL,
    C.MAV_CMD_IMAGE_START_CAPTURE,
    C.MAV_CMD_IMAGE_STOP_CAPTURE,
    C.MAV_CMD_VIDEO_START_CAPTURE,
    C.MAV_CMD_VIDEO_STOP_CAPTURE,
    C.MAV_CMD_SET_CAMERA_MODE,
    C.MAV_CMD_SET_CAMERA_ZOOM,
    C.MAV_CMD_SET_CAMERA_FOCUS,
    C.MAV_CMD_DO_GRIPPER,
    C.MAV_CMD_DO_WINCH,
}
TAKEOFFS = {C.MAV_CMD_NAV_TAKEOFF, C.MAV_CMD_NAV_VTOL_TAKEOFF}
LANDS = {C.MAV_CMD_NAV_LAND, C.MAV_CMD_NAV_VTOL_LAND}
WAYPOINTS = {C.MAV_CMD_NAV_WAYPOINT, C.MAV_CMD_NAV_SPLINE_WAYPOINT}
GLOBAL_FRAMES = {0, 3, 5, 6, 10, 11}  # GLOBAL, GLOBAL_RELATIVE_ALT, *_INT, TERRAIN_ALT(_INT)
AMSL_FRAMES = {0, 5}
FENCE_ITEMS = {5000, 5001, 5002, 5003, 5004}  # 5000: NAV_FENCE_RETURN_POINT

# MISSION_STATE (MISSION_CURRENT.mission_state)
NO_MISSION, NOT_STARTED, ACTIVE, PAUSED, COMPLETE = 1, 2, 3, 4, 5


def check_item(item: SimItem) -> int:
    """MAV_MISSION_RESULT for one uploaded item: 0 accepted, 3 unsupported command, 2 bad frame."""
    if item.mission_type == MISSION:
        if item.command in NAV_ITEMS:
            if (
                item.command != C.MAV_CMD_NAV_RETURN_TO_LAUNCH
                and item.command != C.MAV_CMD_NAV_DELAY
                and item.frame not in GLOBAL_FRAMES
            ):
                return C.MAV_MISSION_UNSUPPORTED_FRAME
            return C.MAV_MISSION_ACCEPTED
        return C.MAV_MISSION_ACCEPTED if item.command in DO_ITEMS else C.MAV_MISSION_UNSUPPORTED
    if item.mission_type == FENCE:
        if item.command not in FENCE_ITEMS:
            return C.MAV_MISSION_UNSUPPORTED
        if item.frame not in GLOBAL_FRAMES:
            return C.MAV_MISSION_UNSUPPORTED_FRAME
        if item.command in (5001, 5002) and item.param1 < 3:
            return C.MAV_MISSION_INVALID_PARAM1
        if item.command in (5003, 5004) and item.param1 <= 0:
            return C.MAV_MISSION_INVALID_PARAM1
        return C.MAV_MISSION_ACCEPTED
    if item.mission_type == RALLY:
        return (
            C.MAV_MISSION_ACCEPTED if item.command == C.MAV_CMD_NAV_RALLY_POINT else C.MAV_MISSION_UNSUPPORTED
        )
    return C.MAV_MISSION_UNSUPPORTED


def mission_id(items: list[SimItem]) -> int:
    """An opaque 32-bit id of the plan's content (PX4 uses a CRC32 too)."""
    blob = ";".join(
        f"{i.command},{i.frame},{i.param1},{i.param2},{i.param3},{i.param4},{i.lat:.7f},{i.lon:.7f},{i.alt}"
        for i in items
    )
    return zlib.crc32(blob.encode()) if items else 0


@dataclass(kw_only=True)
class MissionProgress:
    items: list[SimItem] = field(default_factory=list)
    seq: int = 0
    jumps_done: dict[int, int] = field(default_factory=dict)  # DO_JUMP seq -> times jumped
    state: int = NO_MISSION
    speed: float | None = None  # DO_CHANGE_SPEED, m/s

    def reset(self, items: list[SimItem]) -> None:
        self.items = list(items)
        self.seq = 0
        self.jumps_done = {}
        self.speed = None
        self.state = NOT_STARTED if items else NO_MISSION


def valid_latlon(item: SimItem) -> bool:
    return math.isfinite(item.lat) and math.isfinite(item.lon) and not (item.lat == 0.0 and item.lon == 0.0)


def item_d(ap: Autopilot, item: SimItem) -> float:
    """The item's altitude as NED down from the origin."""
    if not math.isfinite(item.alt):
        return ap.state.d
    alt_amsl = item.alt if item.frame in AMSL_FRAMES else ap.home_alt() + item.alt
    return ap.origin_alt - alt_amsl


def item_ne(ap: Autopilot, item: SimItem) -> tuple[float, float]:
    if valid_latlon(item):
        return ap.frame.to_ne(item.lat, item.lon)
    return nav.stopping_point(ap)


def first_position_item(m: MissionProgress) -> SimItem | None:
    return next((i for i in m.items[m.seq :] if i.command in NAV_POSITION_ITEMS), None)


def run_mission(ap: Autopilot) -> nav.Activity:
    m = ap.mission
    if m.state == COMPLETE or m.seq >= len(m.items):
        m.seq, m.jumps_done = 0, {}
    m.state = ACTIVE
    first = first_position_item(m)
    if ap.state.on_ground and (first is None or first.command not in TAKEOFFS):
        # PX4 takes off on its own when a mission without a takeoff item starts on the ground
        d = item_d(ap, first) if first is not None else 0.0
        yield from nav.takeoff(ap, min(d, ap.home_d() - ap.p("MIS_TAKEOFF_ALT")))
    while m.seq < len(m.items):
        item = m.items[m.seq]
        if item.command == C.MAV_CMD_DO_JUMP:
            _jump(m, item)
            continue
        if item.command in NAV_ITEMS:
            yield from _nav_item(ap, item)
            if item.command in NAV_POSITION_ITEMS or item.command == C.MAV_CMD_NAV_RETURN_TO_LAUNCH:
                ap.item_reached(m.seq)
            yield from _after_reached(ap, item)
        else:
            yield from _do_item(ap, item)
        if m.seq + 1 >= len(m.items):
            break
        m.seq += 1
    m.state = COMPLETE
    ap.mission_finished()
    yield from nav.hold_here(ap)


def _jump(m: MissionProgress, item: SimItem) -> None:
    target, repeat = int(item.param1), int(item.param2)
    done = m.jumps_done.get(m.seq, 0)
    if (repeat < 0 or done < repeat) and 0 <= target < len(m.items):
        m.jumps_done[m.seq] = done + 1
        m.seq = target
    else:
        m.seq += 1


def _nav_item(ap: Autopilot, item: SimItem) -> nav.Activity:
    cmd = item.command
    if cmd in TAKEOFFS:
        d = min(item_d(ap, item), ap.home_d() - ap.p("MIS_TAKEOFF_ALT"))
        if ap.state.d > d:
            yield from nav.takeoff(ap, d)
        if valid_latlon(item):
            # As PX4's navigator: once at altitude, "navigate to the actual waypoint" of the take-off.
            n, e = item_ne(ap, item)
            yield from nav.fly_to(ap, n, e, d, acc_rad=ap.p("NAV_ACC_RAD"))
        return
    if cmd == C.MAV_CMD_NAV_RETURN_TO_LAUNCH:
        yield from nav.rtl(ap)
        return
    if cmd == C.MAV_CMD_NAV_DELAY:
        yield from nav.wait(ap, max(item.param1, 0.0))
        return
    n, e = item_ne(ap, item)
    if cmd in LANDS:
        if valid_latlon(item):
            yield from nav.fly_to(ap, n, e, ap.state.d, acc_rad=0.5)
        yield from nav.land(ap, n, e)
        return
    acc = item.param2 if cmd in WAYPOINTS and item.param2 > 0 else ap.p("NAV_ACC_RAD")
    yaw = math.radians(item.param4) if cmd in WAYPOINTS and math.isfinite(item.param4) else None
    yield from nav.fly_to(ap, n, e, item_d(ap, item), acc_rad=acc, yaw=yaw)


def _after_reached(ap: Autopilot, item: SimItem) -> nav.Activity:
    cmd = item.command
    if cmd in LANDS or cmd == C.MAV_CMD_NAV_RETURN_TO_LAUNCH:
        return
    if cmd == C.MAV_CMD_NAV_LOITER_UNLIM:
        yield from nav.hold_here(ap)
    if (cmd in WAYPOINTS or cmd == C.MAV_CMD_NAV_LOITER_TIME) and item.param1 > 0:
        yield from nav.wait(ap, item.param1)


def _do_item(ap: Autopilot, item: SimItem) -> nav.Activity:
    cmd = item.command
    if cmd == C.MAV_CMD_DO_CHANGE_SPEED:
        if item.param2 > 0:
            ap.mission.speed = item.param2
        elif item.param2 == -2:
            ap.mission.speed = None
    elif cmd == C.MAV_CMD_DO_SET_ROI_LOCATION or cmd == C.MAV_CMD_DO_SET_ROI:
        ap.roi = (item.lat, item.lon, item.alt if item.frame in AMSL_FRAMES else ap.home_alt() + item.alt)
    elif cmd == C.MAV_CMD_DO_SET_ROI_NONE:
        ap.roi = None
    elif cmd == C.MAV_CMD_DO_GIMBAL_MANAGER_PITCHYAW:
        ap.gimbal = (item.param1, item.param2)
    elif cmd == C.MAV_CMD_DO_MOUNT_CONTROL:
        ap.gimbal = (item.param1, item.param3)
    elif cmd == C.MAV_CMD_CONDITION_DELAY:
        yield from nav.wait(ap, max(item.param1, 0.0))
