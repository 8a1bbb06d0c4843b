"""A PX4-like parameter set: names, defaults and MAVLink types.

Defaults follow a 2026 PX4 SITL build (airframe 10040, SIH quadrotor), see
``/work/shared/reference/px4-sitl.md``. The autopilot reads values live through
``ParamStore.get`` on every use, so a PARAM_SET changes behaviour immediately.
"""

from __future__ import annotations

import math

REAL32 = 9  # MAV_PARAM_TYPE_REAL32
INT32 = 6  # MAV_PARAM_TYPE_INT32

_R, _I = REAL32, INT32

# name -> (default, type). The ones marked "drives" are read by sim/*; the rest make a
# PARAM_REQUEST_LIST look like a PX4 one.
DEFAULTS: dict[str, tuple[float, int]] = {
    # multicopter position control (drives physics)
    "MPC_ACC_HOR": (3.0, _R),
    "MPC_ACC_HOR_MAX": (5.0, _R),
    "MPC_ACC_UP_MAX": (4.0, _R),
    "MPC_ACC_DOWN_MAX": (3.0, _R),
    "MPC_XY_VEL_MAX": (12.0, _R),
    "MPC_XY_CRUISE": (5.0, _R),
    "MPC_Z_VEL_MAX_UP": (3.0, _R),
    "MPC_Z_VEL_MAX_DN": (1.5, _R),
    "MPC_TKO_SPEED": (1.5, _R),
    "MPC_LAND_SPEED": (0.7, _R),
    "MPC_LAND_ALT1": (10.0, _R),
    "MPC_LAND_ALT2": (5.0, _R),
    "MPC_YAWRAUTO_MAX": (60.0, _R),
    "MPC_TILTMAX_AIR": (45.0, _R),
    "MPC_THR_HOVER": (0.5, _R),
    "MPC_YAW_MODE": (0, _I),
    "MPC_XY_P": (0.95, _R),
    "MPC_Z_P": (1.0, _R),
    "MPC_JERK_AUTO": (4.0, _R),
    # mission / navigator
    "MIS_TAKEOFF_ALT": (2.5, _R),
    "MIS_DIST_1WP": (10000.0, _R),
    "MIS_YAW_TMT": (-1.0, _R),
    "MIS_YAW_ERR": (12.0, _R),
    "NAV_ACC_RAD": (2.0, _R),
    "NAV_MC_ALT_RAD": (0.8, _R),
    "NAV_LOITER_RAD": (80.0, _R),
    "NAV_DLL_ACT": (0, _I),
    "NAV_RCL_ACT": (2, _I),
    "NAV_FORCE_VT": (1, _I),
    # return mode
    "RTL_RETURN_ALT": (30.0, _R),
    "RTL_DESCEND_ALT": (10.0, _R),
    "RTL_LAND_DELAY": (0.0, _R),
    "RTL_MIN_DIST": (10.0, _R),
    "RTL_TYPE": (0, _I),
    "RTL_CONE_ANG": (45, _I),
    "RTL_LOITER_RAD": (80.0, _R),
    # commander
    "COM_DL_LOSS_T": (10, _I),
    "COM_RC_LOSS_T": (0.5, _R),
    "COM_RC_IN_MODE": (1, _I),
    "COM_LOW_BAT_ACT": (3, _I),
    "COM_FAIL_ACT_T": (5.0, _R),
    "COM_DISARM_LAND": (2.0, _R),
    "COM_DISARM_PRFLT": (10.0, _R),
    "COM_ARM_WO_GPS": (1, _I),
    "COM_ARM_CHK_ESCS": (0, _I),
    "COM_ARM_MAG_STR": (2, _I),
    "COM_HOME_EN": (1, _I),
    "COM_POSCTL_NAVL": (0, _I),
    "COM_OBL_RC_ACT": (0, _I),
    "COM_OF_LOSS_T": (1.0, _R),
    "COM_TAKEOFF_ACT": (0, _I),
    "COM_FLTMODE1": (-1, _I),
    "COM_PREARM_MODE": (0, _I),
    # battery
    "BAT_LOW_THR": (0.15, _R),
    "BAT_CRIT_THR": (0.07, _R),
    "BAT_EMERGEN_THR": (0.05, _R),
    "BAT1_N_CELLS": (4, _I),
    "BAT1_CAPACITY": (5000.0, _R),
    "BAT1_V_CHARGED": (4.2, _R),
    "BAT1_V_EMPTY": (3.5, _R),
    "BAT1_SOURCE": (0, _I),
    # geofence
    "GF_ACTION": (2, _I),
    "GF_MAX_HOR_DIST": (0.0, _R),
    "GF_MAX_VER_DIST": (0.0, _R),
    "GF_SOURCE": (0, _I),
    "GF_PREDICT": (1, _I),
    # land detector
    "LNDMC_Z_VEL_MAX": (0.5, _R),
    "LNDMC_XY_VEL_MAX": (1.5, _R),
    "LNDMC_ROT_MAX": (20.0, _R),
    # EKF / sensors
    "EKF2_GPS_CHECK": (245, _I),
    "EKF2_HGT_REF": (1, _I),
    "EKF2_REQ_EPH": (3.0, _R),
    "EKF2_REQ_EPV": (5.0, _R),
    "EKF2_REQ_NSATS": (6, _I),
    "EKF2_EV_CTRL": (0, _I),
    "SENS_BOARD_ROT": (0, _I),
    "CAL_ACC0_ID": (1310988, _I),
    "CAL_GYRO0_ID": (1310988, _I),
    "CAL_MAG0_ID": (197388, _I),
    "CAL_BARO0_ID": (6620172, _I),
    # system / mavlink
    "SYS_AUTOSTART": (10040, _I),
    "SYS_AUTOCONFIG": (0, _I),
    "SYS_HITL": (0, _I),
    "SYS_MC_EST_GROUP": (2, _I),
    "MAV_SYS_ID": (1, _I),
    "MAV_COMP_ID": (1, _I),
    "MAV_TYPE": (2, _I),
    "MAV_0_MODE": (0, _I),
    "MAV_0_RATE": (0, _I),
    "MAV_PROTO_VER": (0, _I),
    "CA_AIRFRAME": (0, _I),
    "CA_ROTOR_COUNT": (4, _I),
    "MC_ROLL_P": (6.5, _R),
    "MC_PITCH_P": (6.5, _R),
    "MC_YAW_P": (2.8, _R),
    "MC_ROLLRATE_MAX": (220.0, _R),
    "MC_PITCHRATE_MAX": (220.0, _R),
    "MC_YAWRATE_MAX": (200.0, _R),
    "MC_AIRMODE": (0, _I),
    "PWM_MAIN_FUNC1": (101, _I),
    "PWM_MAIN_FUNC2": (102, _I),
    "PWM_MAIN_FUNC3": (103, _I),
    "PWM_MAIN_FUNC4": (104, _I),
    "SDLOG_MODE": (0, _I),
    "SDLOG_PROFILE": (1, _I),
    "TRIG_MODE": (0, _I),
    "CAM_CAP_FBACK": (0, _I),
    "MNT_MODE_IN": (-1, _I),
    "MNT_MODE_OUT": (0, _I),
    # simulation (SIH)
    "SIM_BAT_DRAIN": (60.0, _R),
    "SIM_BAT_MIN_PCT": (0.0, _R),  # PX4 SIH: 50 (never runs low); ours drains a real pack
    "SIM_BAT_ENABLE": (1, _I),
    "SIM_GPS_USED": (10, _I),
    "SIH_MASS": (1.0, _R),
    "SIH_T_MAX": (5.0, _R),
    "SIH_Q_MAX": (0.1, _R),
    "SIH_VEHICLE_TYPE": (0, _I),
    "SIH_LOC_LAT0": (473977507, _I),
    "SIH_LOC_LON0": (85456075, _I),
    "SIH_LOC_H0": (489.4, _R),
}


class ParamStore:
    """Live parameter values. ``get`` is cheap: a dict lookup."""

    def __init__(self, overrides: dict[str, float] | None = None) -> None:
        self.version = 0  # bumped on every change, so derived values can be cached
        self._values = {name: float(v) for name, (v, _t) in DEFAULTS.items()}
        for name, value in (overrides or {}).items():
            if not self.set(name, value):
                raise ValueError(f"bad parameter override {name}={value!r}")

    def get(self, name: str) -> float:
        return self._values[name]

    def set(self, name: str, value: float) -> bool:
        """Validate name and value (finite; INT32 rounded, in range). Returns False on refusal."""
        spec = DEFAULTS.get(name)
        if spec is None:
            return False
        value = float(value)
        if not math.isfinite(value):
            return False
        if spec[1] == INT32:
            value = float(round(value))  # e.g. the runner's speed-scaled timeouts
            if not -(2**31) <= value < 2**31:
                return False
        self._values[name] = value
        self.version += 1
        return True

    def all(self) -> dict[str, tuple[float, int]]:
        return {name: (self._values[name], DEFAULTS[name][1]) for name in DEFAULTS}
