"""Merge the autopilot's separate telemetry streams into one ``TelemetrySample``.

MAVLink (and MAVSDK) deliver position, attitude, battery, mode... as independent streams at
different rates. ``SampleMerger`` keeps the latest value of each and assembles a complete,
immutable sample on demand. It is plain state with no I/O, so it is tested without a vehicle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from mission.ports import MissionProgress, TelemetrySample


@dataclass(frozen=True, kw_only=True)
class Position:
    lat: float
    lon: float
    alt_amsl_m: float
    alt_rel_m: float


@dataclass(frozen=True, kw_only=True)
class Health:
    global_position_ok: bool = False
    home_position_ok: bool = False
    armable: bool = False

    @property
    def ready(self) -> bool:
        return self.global_position_ok and self.home_position_ok and self.armable

    def missing(self) -> list[str]:
        checks = {
            "global position": self.global_position_ok,
            "home": self.home_position_ok,
            "armable": self.armable,
        }
        return [name for name, ok in checks.items() if not ok]


_IN_AIR_BY_LANDED_STATE = {"ON_GROUND": False, "TAKING_OFF": True, "IN_AIR": True, "LANDING": True}


@dataclass(frozen=True, kw_only=True)
class _State:
    position: Position | None = None
    home: Position | None = None
    velocity_ned: tuple[float, float, float] = (0.0, 0.0, 0.0)
    roll_deg: float = 0.0
    pitch_deg: float = 0.0
    heading_deg: float = 0.0
    battery_pct: float = math.nan
    battery_v: float = math.nan
    mode: str = "UNKNOWN"
    armed: bool = False
    in_air: bool = False
    landed_state: str = "UNKNOWN"
    gps_fix: int = 0
    satellites: int = 0
    progress: MissionProgress | None = None
    health: Health = Health()


class SampleMerger:
    """The latest value of every stream; ``sample()`` snapshots them (None until a position is known)."""

    def __init__(self) -> None:
        self._s = _State()

    def _set(self, **changes: object) -> None:
        self._s = replace(self._s, **changes)  # type: ignore[arg-type]

    # --- updates, one per stream ---------------------------------------------------------------
    def position(self, *, lat: float, lon: float, alt_amsl_m: float, alt_rel_m: float) -> None:
        if not (math.isfinite(lat) and math.isfinite(lon)):
            return  # MAVSDK reports NaN before the first fix
        self._set(position=Position(lat=lat, lon=lon, alt_amsl_m=alt_amsl_m, alt_rel_m=alt_rel_m))

    def home(self, *, lat: float, lon: float, alt_amsl_m: float) -> None:
        if math.isfinite(lat) and math.isfinite(lon):
            self._set(home=Position(lat=lat, lon=lon, alt_amsl_m=alt_amsl_m, alt_rel_m=0.0))

    def velocity(self, *, north: float, east: float, down: float) -> None:
        self._set(velocity_ned=(north, east, down))

    def attitude(self, *, roll_deg: float, pitch_deg: float, yaw_deg: float) -> None:
        self._set(roll_deg=roll_deg, pitch_deg=pitch_deg, heading_deg=yaw_deg % 360.0)

    def battery(self, *, remaining_pct: float, voltage_v: float) -> None:
        self._set(battery_pct=remaining_pct, battery_v=voltage_v)

    def flight_mode(self, name: str) -> None:
        self._set(mode=name)

    def armed(self, armed: bool) -> None:
        self._set(armed=armed)

    def in_air(self, in_air: bool) -> None:
        self._set(in_air=in_air)

    def landed_state(self, name: str) -> None:
        self._set(landed_state=name)

    def landed(self, name: str) -> None:
        """The landed state, and ``in_air`` from it as MAVSDK derives it from the same EXTENDED_SYS_STATE.

        One stream instead of two (``in_air`` and ``landed_state``): an UNKNOWN state keeps ``in_air``.
        """
        in_air = _IN_AIR_BY_LANDED_STATE.get(name)
        self._set(landed_state=name, in_air=self._s.in_air if in_air is None else in_air)

    def gps(self, *, fix_type: int, satellites: int) -> None:
        self._set(gps_fix=fix_type, satellites=satellites)

    def mission_progress(self, progress: MissionProgress) -> None:
        self._set(progress=progress)

    def health(self, health: Health) -> None:
        self._set(health=health)

    # --- reads ---------------------------------------------------------------------------------
    @property
    def mode(self) -> str:
        return self._s.mode

    @property
    def is_armed(self) -> bool:
        return self._s.armed

    @property
    def current_health(self) -> Health:
        return self._s.health

    @property
    def home_position(self) -> Position | None:
        return self._s.home

    def sample(self, now: datetime | None = None) -> TelemetrySample | None:
        s = self._s
        if s.position is None:
            return None
        vn, ve, vd = s.velocity_ned
        home = s.home
        progress = s.progress
        return TelemetrySample(
            time=now or datetime.now(UTC),
            lat=s.position.lat,
            lon=s.position.lon,
            alt_amsl_m=s.position.alt_amsl_m,
            alt_rel_m=s.position.alt_rel_m,
            heading_deg=s.heading_deg,
            ground_speed_mps=math.hypot(vn, ve),
            climb_rate_mps=-vd,
            roll_deg=s.roll_deg,
            pitch_deg=s.pitch_deg,
            battery_pct=s.battery_pct,
            battery_v=s.battery_v,
            mode=s.mode,
            armed=s.armed,
            in_air=s.in_air,
            landed_state=s.landed_state,
            gps_fix=s.gps_fix,
            satellites=s.satellites,
            mission_item=progress.current if progress and progress.total > 0 else None,
            mission_count=max(progress.total, 0) if progress else 0,  # MAVSDK says -1 for none
            home_lat=home.lat if home else None,
            home_lon=home.lon if home else None,
            home_alt_amsl_m=home.alt_amsl_m if home else None,
        )
