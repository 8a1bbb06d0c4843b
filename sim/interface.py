"""The contract between the simulated autopilot (pure: physics, modes, missions, failsafes)
and its MAVLink endpoint (UDP, message streams, mission/parameter transfer protocols, faults).

``sim.autopilot.Autopilot`` implements ``AutopilotModel``; ``sim.endpoint`` drives it. Neither
side knows about sockets-versus-physics details of the other. Times are simulation seconds
(``t``), advanced by the runner at ``speed`` × wall clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

# MAV_MISSION_TYPE values
MISSION, FENCE, RALLY = 0, 1, 2


@dataclass(frozen=True, kw_only=True)
class SimItem:
    """A mission item as received on the wire (MISSION_ITEM_INT, x/y already in degrees)."""

    seq: int
    frame: int
    command: int
    current: int = 0
    autocontinue: int = 1
    param1: float = 0.0
    param2: float = 0.0
    param3: float = 0.0
    param4: float = 0.0
    lat: float = 0.0
    lon: float = 0.0
    alt: float = 0.0
    mission_type: int = MISSION


@dataclass(kw_only=True)
class Snapshot:
    """Everything the endpoint streams, read once per stream tick. Units are SI / degrees."""

    t: float  # simulation time, s
    boot_ms: int
    lat: float
    lon: float
    alt_amsl: float
    alt_rel: float  # above home
    vn: float
    ve: float
    vd: float
    roll: float  # rad
    pitch: float
    yaw: float  # rad, 0 = north, clockwise
    rollspeed: float = 0.0
    pitchspeed: float = 0.0
    yawspeed: float = 0.0
    x: float = 0.0  # local NED from EKF origin (= first home), m
    y: float = 0.0
    z: float = 0.0
    airspeed: float = 0.0
    groundspeed: float = 0.0
    heading_deg: int = 0
    throttle_pct: int = 0
    climb: float = 0.0
    # status
    armed: bool = False
    base_mode: int = 29
    custom_mode: int = 0x03040000
    system_status: int = 3  # MAV_STATE_STANDBY
    landed_state: int = 1  # MAV_LANDED_STATE_ON_GROUND
    # battery
    battery_pct: float = 100.0
    voltage_v: float = 16.8
    current_a: float = 0.0
    consumed_mah: float = 0.0
    # gps
    fix_type: int = 3
    satellites: int = 12
    eph_cm: int = 70
    epv_cm: int = 110
    gps_lat: float = 0.0  # with noise
    gps_lon: float = 0.0
    gps_alt_amsl: float = 0.0
    # home (None before a fix)
    home: tuple[float, float, float] | None = None  # lat, lon, alt_amsl
    # mission
    mission_seq: int = 0
    mission_total: int = 0
    mission_state: int = 0  # MISSION_STATE enum of MISSION_CURRENT
    mission_id: int = 0
    sensors_health: int = field(default=0)
    # added by the autopilot (sim/autopilot.py); MAV_SYS_STATUS_SENSOR bitmasks for SYS_STATUS
    sensors_present: int = 0
    sensors_enabled: int = 0
    in_air: bool = False
    # POSITION_TARGET_GLOBAL_INT (None when there is no setpoint: disarmed / on the ground)
    target: tuple[float, float, float] | None = None  # lat, lon, alt_amsl
    gimbal_pitch_deg: float = 0.0  # DO_GIMBAL_MANAGER_PITCHYAW / DO_MOUNT_CONTROL
    gimbal_yaw_deg: float = 0.0
    roi: tuple[float, float, float] | None = None  # DO_SET_ROI_LOCATION lat, lon, alt_amsl
    failsafe: bool = False  # a failsafe action is pending or was taken since the last mode change


@dataclass(frozen=True, kw_only=True)
class Event:
    """Something the endpoint must send once: STATUSTEXT or MISSION_ITEM_REACHED."""

    kind: str  # "statustext" | "item_reached"
    severity: int = 6  # MAV_SEVERITY_INFO
    text: str = ""
    seq: int = 0


class AutopilotModel(Protocol):
    sysid: int

    def step(self, dt: float) -> None:
        """Advance physics, modes, mission and failsafes by dt simulation seconds."""

    def snapshot(self) -> Snapshot: ...

    def drain_events(self) -> list[Event]: ...

    def command(self, command: int, params: tuple[float, ...], *, is_int: bool = False, frame: int = 0) -> int:
        """COMMAND_LONG / COMMAND_INT → MAV_RESULT. For COMMAND_INT, params[4:6] are lat/lon in degrees."""

    def set_mode(self, base_mode: int, custom_mode: int) -> int:
        """SET_MODE / DO_SET_MODE with PX4 custom_mode encoding → MAV_RESULT."""

    def mission_items(self, mission_type: int) -> list[SimItem]: ...

    def replace_mission(self, mission_type: int, items: list[SimItem]) -> int:
        """Store a complete, validated upload atomically → MAV_MISSION_RESULT (0 accepted)."""

    def set_current(self, seq: int) -> bool: ...

    def gcs_heartbeat(self) -> None:
        """A ground-station HEARTBEAT arrived (for data-link loss)."""

    # parameters: name -> (value, MAV_PARAM_TYPE)
    def params(self) -> dict[str, tuple[float, int]]: ...

    def set_param(self, name: str, value: float) -> bool: ...

    # faults
    def set_battery(self, pct: float) -> None: ...

    def set_gps(self, ok: bool) -> None: ...
