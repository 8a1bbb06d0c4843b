"""A PX4-like autopilot for one simulated multicopter: the ``AutopilotModel`` of sim/interface.py.

The endpoint calls, per tick of simulation time (50 Hz is plenty; any dt ≤ 0.05 s works):

    ap.step(dt)              # physics, modes, mission, failsafes
    ap.snapshot()            # when a stream is due
    ap.drain_events()        # STATUSTEXT / MISSION_ITEM_REACHED to send once

and, as messages arrive: ``command``, ``set_mode``, ``replace_mission`` (after ``check_item``
on each item), ``set_current``, ``gcs_heartbeat``, ``set_param``. Modes are generators from
sim/nav.py and sim/mission_exec.py; the current one is rebuilt lazily after every switch.
"""

from __future__ import annotations

import math
import random

from pymavlink.dialects.v20 import common as mavlink

from sim import battery as bat
from sim import commands, fence, mission_exec, nav, physics, status
from sim import px4_modes as modes
from sim.failsafe import Failsafes
from sim.interface import FENCE, MISSION, RALLY, Event, SimItem, Snapshot
from sim.mission_exec import check_item as check_item  # re-exported: the runner looks it up here
from sim.params import ParamStore

C = mavlink
SEV_CRITICAL, SEV_WARNING, SEV_INFO = 2, 4, 6
REVOKE_DELAY_S = 0.1


class Autopilot:
    """One vehicle. ``home`` is where it stands at boot (also the EKF origin).

    ``quirk_mission_revoke``: after each mission upload, with probability ``quirk_probability``
    (drawn from a generator seeded with ``seed``, one draw per upload), the first switch to
    Mission is ACCEPTED and then revoked REVOKE_DELAY_S later, as PX4 does (seen in 5 of 7
    real flights, hence the default 5/7). Set the probability to 1.0 to always see it.
    """

    def __init__(
        self,
        *,
        sysid: int = 1,
        home: tuple[float, float, float],
        seed: int = 0,
        params: dict[str, float] | None = None,
        quirk_mission_revoke: bool = True,
        quirk_probability: float = 5 / 7,
        env: physics.Env | None = None,
    ) -> None:
        self.sysid = sysid
        self.params_store = ParamStore({"MAV_SYS_ID": sysid, **(params or {})})
        self.p = self.params_store.get
        self.frame = fence.Tangent.at(home[0], home[1])
        self.origin_alt = home[2]
        self.env = env or physics.Env()
        self.t = 0.0
        self.state = physics.VehicleState()
        self._rng = random.Random(seed)
        self._quirk_rng = random.Random(seed * 7919 + 1)
        self._quirk = quirk_mission_revoke
        self._quirk_p = quirk_probability
        self.armed = False
        self.mode = modes.AUTO_LOITER
        self._activity: nav.Activity | None = None
        self.landed_hint = 0
        self.in_air = False
        self.took_off = False
        self.armed_at = 0.0
        self.landed_at = 0.0
        self.touchdown_at: float | None = None
        self.terminated = False
        self.battery = bat.BatteryState()
        self.gps_ok = True
        self.gps_err = [0.0, 0.0, 0.0]
        self.home: tuple[float, float, float] | None = None
        self.home_manual = False  # set by DO_SET_HOME: then neither arming nor moving resets it
        self._stored: dict[int, list[SimItem]] = {MISSION: [], FENCE: [], RALLY: []}
        self.mission = mission_exec.MissionProgress()
        self.mission_id = 0
        self.fence_zones: list[fence.Zone] = []
        self.roi: tuple[float, float, float] | None = None
        self.gimbal = (0.0, 0.0)
        self.speed_override: float | None = None
        self.takeoff_d: float | None = None  # NAV_TAKEOFF's altitude until AUTO.TAKEOFF runs (on arming)
        self.fs = Failsafes()
        self._events: list[Event] = []
        self._revoke_armed = False
        self._revoke_at: float | None = None
        self._revoke_prev = modes.AUTO_LOITER
        self.rates = (0.0, 0.0, 0.0)
        self._limits_version = -1
        self._limits = physics.Limits()
        self.target: tuple[float, float, float] | None = None

    # -- helpers used by nav / mission_exec / failsafe / commands --------------------------------

    def say(self, text: str, severity: int = SEV_INFO) -> None:
        """A STATUSTEXT. Some of PX4's run past 50 characters: PX4 sends those in chunks (id, chunk_seq)."""
        self._events.append(Event(kind="statustext", severity=severity, text=text))

    def item_reached(self, seq: int) -> None:
        self._events.append(Event(kind="item_reached", seq=seq))

    def mission_finished(self) -> None:
        if self.armed and not self.state.on_ground:
            self.say("Mission finished, loitering")
            self.switch(modes.AUTO_LOITER)
        else:
            self.say("Mission finished")

    def cruise(self) -> float:
        speed = self.speed_override
        if self.mode == modes.AUTO_MISSION and self.mission.speed is not None:
            speed = self.mission.speed
        return min(speed or self.p("MPC_XY_CRUISE"), self.p("MPC_XY_VEL_MAX"))

    def home_alt(self) -> float:
        return self.home[2] if self.home else self.origin_alt

    def home_d(self) -> float:
        return self.origin_alt - self.home_alt()

    def home_ned(self) -> tuple[float, float, float]:
        if self.home is None:
            return 0.0, 0.0, 0.0
        n, e = self.frame.to_ne(self.home[0], self.home[1])
        return n, e, self.home_d()

    def roi_yaw(self) -> float | None:
        if self.roi is None:
            return None
        n, e = self.frame.to_ne(self.roi[0], self.roi[1])
        return math.atan2(e - self.state.e, n - self.state.n)

    def flying(self) -> bool:
        return self.armed and self.in_air

    def position_ok(self) -> bool:
        return self.gps_ok and self.home is not None

    def set_home_here(self, jitter: float = 0.0, *, manual: bool = False) -> None:
        s = self.state
        ang = self._rng.uniform(-math.pi, math.pi)
        lat, lon = self.frame.to_latlon(s.n + jitter * math.cos(ang), s.e + jitter * math.sin(ang))
        self.home = (lat, lon, self.origin_alt - s.d)
        self.home_manual = manual

    def switch(self, mode: modes.Mode, activity: nav.Activity | None = None) -> None:
        """Change mode; the mode's activity is built on the next tick unless one is given."""
        if (
            self.mode == modes.AUTO_MISSION
            and mode != modes.AUTO_MISSION
            and self.mission.state == mission_exec.ACTIVE
        ):
            self.mission.state = mission_exec.PAUSED
        self.mode = mode
        self._activity = activity
        self.landed_hint = 0

    def user_switch(self, mode: modes.Mode, activity: nav.Activity | None = None) -> None:
        """A switch the ground station asked for: it overrides a pending failsafe action."""
        self.fs.pending = "none"
        self._revoke_at = None
        self.switch(mode, activity)

    def takeoff_activity(self, d: float) -> nav.Activity:
        n, e = self.state.n, self.state.e
        yield from nav.takeoff(self, d)
        self.switch(modes.AUTO_LOITER, nav.hold(self, n, e, min(d, self.state.d)))
        yield from nav.hold(self, n, e, min(d, self.state.d))

    def terminate(self) -> None:
        self.say("Flight termination active", SEV_CRITICAL)
        self.terminated = True
        self.armed = False
        self._activity = None

    # -- AutopilotModel ------------------------------------------------------------------------

    def step(self, dt: float) -> None:
        self.t += dt
        self._gps_step(dt)
        self._home_step()
        self.fs.step(self)
        if self._revoke_at is not None and self.t >= self._revoke_at:
            self._revoke()
        cmd = self._command()
        noise = (
            (self._rng.gauss(0.0, 1.0), self._rng.gauss(0.0, 1.0)) if self.env.gust_sigma > 0 else (0.0, 0.0)
        )
        prev = self.state
        self.state = physics.step(prev, cmd, self.env, dt, limits=self._current_limits(), gust_noise=noise)
        s = self.state
        self.rates = ((s.roll - prev.roll) / dt, (s.pitch - prev.pitch) / dt, s.yaw_rate)
        self.target = None if cmd.kind == physics.IDLE or s.on_ground else (cmd.n, cmd.e, cmd.d)
        status.land_detector(self)
        self._battery_step(dt)

    def _command(self) -> physics.Command:
        if not self.armed:
            return physics.Command()
        if self._activity is None:
            self._activity = self._mode_activity()
        return next(self._activity)

    def _mode_activity(self) -> nav.Activity:
        m = self.mode
        if m == modes.AUTO_MISSION and self.mission.items:
            return mission_exec.run_mission(self)
        if m == modes.AUTO_TAKEOFF:
            d, self.takeoff_d = self.takeoff_d, None
            return self.takeoff_activity(self.home_d() - self.p("MIS_TAKEOFF_ALT") if d is None else d)
        if m == modes.AUTO_LAND:
            return self._then_ground(nav.land(self))
        if m == modes.AUTO_RTL:
            return self._then_ground(nav.rtl(self))
        return nav.hold_here(self)

    def _then_ground(self, activity: nav.Activity) -> nav.Activity:
        yield from activity
        yield from nav.on_ground(self)

    def snapshot(self) -> Snapshot:
        return status.snapshot(self)

    def drain_events(self) -> list[Event]:
        events, self._events = self._events, []
        return events

    def command(
        self, command: int, params: tuple[float, ...], *, is_int: bool = False, frame: int = 0
    ) -> int:
        return commands.handle(self, command, params, is_int, frame)

    def set_mode(self, base_mode: int, custom_mode: int) -> int:
        """PX4's DO_SET_MODE / SET_MODE: a refused switch is TEMPORARILY_REJECTED with a STATUSTEXT."""
        if base_mode & modes.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED:
            mode = modes.decode(custom_mode)
            if mode.main == modes.AUTO and mode.sub == 0:
                mode = modes.AUTO_MISSION
        elif base_mode & modes.MAV_MODE_FLAG_AUTO_ENABLED:
            mode = modes.AUTO_MISSION
        elif base_mode & modes.MAV_MODE_FLAG_MANUAL_INPUT_ENABLED:
            mode = modes.Mode(modes.POSCTL)
        else:
            return C.MAV_RESULT_ACCEPTED  # nothing asked for: PX4 answers "not changed", i.e. accepted
        if mode == self.mode:
            return C.MAV_RESULT_ACCEPTED
        reason = self.mode_unavailable(mode)
        if reason is not None:
            self.say(reason, SEV_CRITICAL)
            return C.MAV_RESULT_TEMPORARILY_REJECTED
        prev = self.mode
        self.user_switch(mode)
        if mode == modes.AUTO_MISSION and self._revoke_armed:
            self._revoke_armed = False
            self._revoke_at, self._revoke_prev = self.t + REVOKE_DELAY_S, prev
        return C.MAV_RESULT_ACCEPTED

    def mode_unavailable(self, mode: modes.Mode) -> str | None:
        """Why PX4 would refuse to switch to ``mode`` now (its mode requirements), or None."""
        not_available = f"Switching to {mode.name} is currently not available"
        if mode.main == modes.AUTO and mode.sub not in modes.AUTO_SUBS:
            return "Unsupported auto mode"
        if mode.main != modes.AUTO or mode.sub in (modes.FOLLOW_TARGET, modes.PRECLAND):
            return not_available  # no RC / joystick, no offboard setpoints, no target: PX4 refuses these
        if mode == modes.AUTO_LAND:
            return None  # descends even without a position
        if not self.position_ok():
            return not_available
        if mode == modes.AUTO_MISSION:
            if not self.mission.items:
                return not_available
            first = mission_exec.first_position_item(self.mission)
            if first is not None and mission_exec.valid_latlon(first):
                n, e = self.frame.to_ne(first.lat, first.lon)
                if math.hypot(n - self.state.n, e - self.state.e) > self.p("MIS_DIST_1WP") > 0:
                    return "Mission rejected: first waypoint too far away"
        return None

    def _revoke(self) -> None:
        self._revoke_at = None
        if self.mode != modes.AUTO_MISSION:
            return
        self.switch(self._revoke_prev)
        if self.mission.state in (mission_exec.ACTIVE, mission_exec.PAUSED):
            self.mission.state = mission_exec.NOT_STARTED
        self.say("Switching to Mission is currently not available", SEV_CRITICAL)

    def check_item(self, item: SimItem) -> int:
        """MAV_MISSION_RESULT for one item as it arrives (see sim.mission_exec.check_item)."""
        return mission_exec.check_item(item)

    def mission_items(self, mission_type: int) -> list[SimItem]:
        return list(self._stored.get(mission_type, []))

    def replace_mission(self, mission_type: int, items: list[SimItem]) -> int:
        if mission_type not in self._stored:
            return C.MAV_MISSION_UNSUPPORTED
        for item in items:
            result = mission_exec.check_item(item)
            if result != C.MAV_MISSION_ACCEPTED:
                return result
        self._stored[mission_type] = list(items)
        if mission_type == FENCE:
            self.fence_zones = fence.zones_from_items(list(items), self.frame)
        elif mission_type == MISSION:
            self.mission.reset(list(items))
            self.mission_id = mission_exec.mission_id(list(items))
            self._revoke_armed = bool(items) and self._quirk and self._quirk_rng.random() < self._quirk_p
            if self.mode == modes.AUTO_MISSION:
                self._activity = None  # fly the new plan from its start
        return C.MAV_MISSION_ACCEPTED

    def set_current(self, seq: int) -> bool:
        if not 0 <= seq < len(self.mission.items):
            return False
        self.mission.seq = seq
        if self.mission.state == mission_exec.COMPLETE:
            self.mission.state = mission_exec.NOT_STARTED
        if self.mode == modes.AUTO_MISSION:
            self._activity = None
        return True

    def gcs_heartbeat(self) -> None:
        self.fs.gcs_heartbeat(self)

    def params(self) -> dict[str, tuple[float, int]]:
        return self.params_store.all()

    def set_param(self, name: str, value: float) -> bool:
        return self.params_store.set(name, value)

    def set_battery(self, pct: float) -> None:
        self.battery = bat.set_remaining(self.battery, pct / 100.0, self.p("BAT1_CAPACITY"))

    def set_wind(self, north: float, east: float, gust_sigma: float = 0.0) -> None:
        """Fault/environment hook: steady wind toward (north, east) m/s plus gusts of ``gust_sigma``."""
        self.env = physics.Env(wind_n=north, wind_e=east, gust_sigma=gust_sigma, gust_tau=self.env.gust_tau)

    def set_gps(self, ok: bool) -> None:
        if ok == self.gps_ok:
            return
        self.gps_ok = ok
        if ok:
            self.say("GPS fix regained", SEV_INFO)
            return
        self.say("GPS fix lost", SEV_CRITICAL)
        if self.flying() and self.mode.main == modes.AUTO and self.mode != modes.AUTO_LAND:
            self.say("Failsafe activated: no global position, landing", SEV_CRITICAL)
            self.switch(modes.AUTO_LAND)

    # -- arming --------------------------------------------------------------------------------

    def arm(self, *, force: bool = False, by: str = "external command") -> int:
        """PX4 answers a refused arming (or disarming) with TEMPORARILY_REJECTED, not DENIED."""
        if self.armed:
            return C.MAV_RESULT_ACCEPTED
        reason = None if force else status.prearm_failure(self)
        if reason is not None:
            self.say(f"Arming denied: {reason}", SEV_CRITICAL)
            return C.MAV_RESULT_TEMPORARILY_REJECTED
        self.armed = True
        self.terminated = False
        self.armed_at = self.t
        self.took_off = False
        self._activity = None
        if self.gps_ok and not self.home_manual:
            self.set_home_here(jitter=self._rng.uniform(0.1, 0.3))  # PX4 re-sets home on arming
        self.say(f"Armed by {by}")
        return C.MAV_RESULT_ACCEPTED

    def disarm(self, *, force: bool = False, reason: str = "Disarmed by external command") -> int:
        if not self.armed:
            return C.MAV_RESULT_ACCEPTED
        if self.in_air and not self.state.on_ground and not force:  # "maybe landed" is enough
            self.say("Disarming denied: not landed", SEV_CRITICAL)
            return C.MAV_RESULT_TEMPORARILY_REJECTED
        self.armed = False
        self._activity = None
        self.landed_hint = 0
        self.say(reason)
        return C.MAV_RESULT_ACCEPTED

    # -- per-tick internals ------------------------------------------------------------------

    def _current_limits(self) -> physics.Limits:
        if self._limits_version != self.params_store.version:
            self._limits_version = self.params_store.version
            self._limits = physics.limits_from(self.p)
        return self._limits

    def _gps_step(self, dt: float) -> None:
        """Slowly wandering GPS error (Gauss-Markov, ~0.3 m horizontal, 30 s correlation)."""
        k = dt / 30.0
        sig = math.sqrt(2.0 * k)
        err, g = self.gps_err, self._rng.gauss
        err[0] += -err[0] * k + 0.3 * sig * g(0.0, 1.0)
        err[1] += -err[1] * k + 0.3 * sig * g(0.0, 1.0)
        err[2] += -err[2] * k + 0.5 * sig * g(0.0, 1.0)

    def _home_step(self) -> None:
        if not self.gps_ok:
            return
        if self.home is None:
            self.set_home_here()
            return
        if not self.armed and not self.in_air and not self.home_manual:
            hn, he, _hd = self.home_ned()
            if math.hypot(self.state.n - hn, self.state.e - he) > 1.0:
                self.set_home_here()  # PX4: home follows a landed, disarmed vehicle

    def _battery_step(self, dt: float) -> None:
        s = self.state
        amps = bat.current_draw(
            armed=self.armed, flying=not s.on_ground, thrust=s.thrust, hover_thrust=self.p("MPC_THR_HOVER")
        )
        floor = self.p("SIM_BAT_MIN_PCT") / 100.0
        self.battery = bat.drain(self.battery, amps, dt, self.p("BAT1_CAPACITY"), floor)
