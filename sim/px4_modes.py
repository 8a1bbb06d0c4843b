"""PX4's flight modes as MAVLink HEARTBEAT fields.

custom_mode = main_mode << 16 | sub_mode << 24 (PX4 ``px4_custom_mode.h``). base_mode is
29 disarmed / 157 armed for the auto modes we fly, as measured on PX4 SITL.
"""

from __future__ import annotations

from typing import NamedTuple

# main modes
MANUAL, ALTCTL, POSCTL, AUTO, ACRO, OFFBOARD, STABILIZED = 1, 2, 3, 4, 5, 6, 7
# AUTO sub modes
READY, TAKEOFF, LOITER, MISSION, RTL, LAND, FOLLOW_TARGET, PRECLAND = 1, 2, 3, 4, 5, 6, 8, 9

AUTO_SUBS = (TAKEOFF, LOITER, MISSION, RTL, LAND, FOLLOW_TARGET, PRECLAND)  # DO_SET_MODE accepts these

MAV_MODE_FLAG_CUSTOM_MODE_ENABLED = 1
MAV_MODE_FLAG_AUTO_ENABLED = 4
MAV_MODE_FLAG_MANUAL_INPUT_ENABLED = 64
MAV_MODE_FLAG_SAFETY_ARMED = 128
BASE_MODE_DISARMED = 29  # CUSTOM_MODE_ENABLED | AUTO | GUIDED | STABILIZE
BASE_MODE_ARMED = BASE_MODE_DISARMED | MAV_MODE_FLAG_SAFETY_ARMED  # 157

MAV_STATE_STANDBY, MAV_STATE_ACTIVE, MAV_STATE_CRITICAL, MAV_STATE_EMERGENCY = 3, 4, 5, 6
MAV_STATE_FLIGHT_TERMINATION = 8

_MAIN_NAMES = {
    MANUAL: "Manual",
    ALTCTL: "Altitude",
    POSCTL: "Position",
    AUTO: "Auto",
    ACRO: "Acro",
    OFFBOARD: "Offboard",
    STABILIZED: "Stabilized",
}
_AUTO_NAMES = {
    READY: "Ready",
    TAKEOFF: "Takeoff",
    LOITER: "Hold",
    MISSION: "Mission",
    RTL: "Return",
    LAND: "Land",
    FOLLOW_TARGET: "Follow Target",
    PRECLAND: "Precision Land",
}


class Mode(NamedTuple):
    main: int
    sub: int = 0

    @property
    def custom_mode(self) -> int:
        return encode(self.main, self.sub)

    @property
    def name(self) -> str:
        """PX4's user-facing name, as in its STATUSTEXTs ("Switching to Mission ...")."""
        if self.main == AUTO:
            return _AUTO_NAMES.get(self.sub, "Auto")
        if self.main == POSCTL and self.sub == 1:
            return "Orbit"
        return _MAIN_NAMES.get(self.main, "Unknown")


AUTO_LOITER = Mode(AUTO, LOITER)
AUTO_TAKEOFF = Mode(AUTO, TAKEOFF)
AUTO_MISSION = Mode(AUTO, MISSION)
AUTO_RTL = Mode(AUTO, RTL)
AUTO_LAND = Mode(AUTO, LAND)
POSCTL_ORBIT = Mode(POSCTL, 1)  # PX4_CUSTOM_SUB_MODE_POSCTL_ORBIT: DO_ORBIT runs as a Position sub mode


def encode(main: int, sub: int = 0) -> int:
    """PX4's custom_mode for a main / sub mode.

    >>> hex(encode(AUTO, LOITER))
    '0x3040000'
    """
    return (main & 0xFF) << 16 | (sub & 0xFF) << 24


def decode(custom_mode: int) -> Mode:
    """The main / sub mode in a HEARTBEAT's custom_mode.

    >>> decode(0x04040000)
    Mode(main=4, sub=4)
    """
    return Mode((custom_mode >> 16) & 0xFF, (custom_mode >> 24) & 0xFF)


def base_mode(armed: bool) -> int:
    return BASE_MODE_ARMED if armed else BASE_MODE_DISARMED
