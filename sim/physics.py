"""Multicopter point-mass physics with a PX4-like position controller.

Pure: ``step(state, command, env, dt, limits=..., gust_noise=...)`` returns a new
``VehicleState``. Positions are NED metres from the EKF origin (flat ground at d = 0).
Plain floats and ``math`` on purpose: with 3-vectors numpy's per-call overhead costs more
than the arithmetic (50 vehicles × 50 Hz must stay well under a third of a core).

The controller is a guidance law, not a cascade: a desired velocity toward the target
(speed-limited, with a braking profile √(2·a·d) so it arrives without overshoot), then an
acceleration limit toward that velocity. Wind is a steady part, which the controller
rejects entirely (it only shows as tilt), plus Ornstein-Uhlenbeck gusts, of which a
fraction leaks into the ground velocity as drift that the position loop corrects.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

G = 9.80665
GUST_LEAK = 0.15  # part of the gust velocity the controller fails to reject
DRAG = 0.25  # 1/s, linear drag of the airframe: tilt needed to hold against wind
BRAKE = 0.5  # braking profile uses this fraction of the acceleration limit
KP_XY = 1.0  # 1/s, position error → velocity near the target
KP_Z = 1.0


@dataclass(frozen=True, kw_only=True, slots=True)
class VehicleState:
    n: float = 0.0
    e: float = 0.0
    d: float = 0.0  # down, m; ground at 0
    vn: float = 0.0  # ground velocity, m/s
    ve: float = 0.0
    vd: float = 0.0
    yaw: float = 0.0  # rad, 0 = north, clockwise
    yaw_rate: float = 0.0
    roll: float = 0.0
    pitch: float = 0.0
    thrust: float = 0.0  # 0..1 of full thrust
    on_ground: bool = True
    gust_n: float = 0.0  # current gust velocity, m/s
    gust_e: float = 0.0


@dataclass(frozen=True, kw_only=True, slots=True)
class Limits:
    acc_hor: float = 3.0  # MPC_ACC_HOR
    vel_xy: float = 12.0  # MPC_XY_VEL_MAX
    vel_up: float = 3.0  # MPC_Z_VEL_MAX_UP
    vel_dn: float = 1.5  # MPC_Z_VEL_MAX_DN
    acc_up: float = 4.0  # MPC_ACC_UP_MAX
    acc_dn: float = 3.0  # MPC_ACC_DOWN_MAX
    yaw_rate: float = math.radians(60.0)  # MPC_YAWRAUTO_MAX
    tilt_max: float = math.radians(45.0)  # MPC_TILTMAX_AIR
    hover_thrust: float = 0.5  # MPC_THR_HOVER


def limits_from(param: Callable[[str], float]) -> Limits:
    """The limits PX4's multicopter position controller takes from its MPC_* parameters."""
    return Limits(
        acc_hor=param("MPC_ACC_HOR"),
        vel_xy=param("MPC_XY_VEL_MAX"),
        vel_up=param("MPC_Z_VEL_MAX_UP"),
        vel_dn=param("MPC_Z_VEL_MAX_DN"),
        acc_up=param("MPC_ACC_UP_MAX"),
        acc_dn=param("MPC_ACC_DOWN_MAX"),
        yaw_rate=math.radians(param("MPC_YAWRAUTO_MAX")),
        tilt_max=math.radians(param("MPC_TILTMAX_AIR")),
        hover_thrust=param("MPC_THR_HOVER"),
    )


IDLE, POSITION = 0, 1


@dataclass(frozen=True, kw_only=True, slots=True)
class Command:
    """``IDLE``: motors off or idling on the ground. ``POSITION``: fly to (n, e, d)."""

    kind: int = IDLE
    n: float = 0.0
    e: float = 0.0
    d: float = 0.0
    speed_xy: float = 5.0
    speed_up: float = 3.0
    speed_dn: float = 1.5
    yaw: float | None = None  # None: keep heading
    ff_n: float = 0.0  # velocity feed-forward (orbits)
    ff_e: float = 0.0


@dataclass(frozen=True, kw_only=True, slots=True)
class Env:
    wind_n: float = 0.0  # steady wind, m/s, direction it blows toward
    wind_e: float = 0.0
    gust_sigma: float = 0.0  # m/s standard deviation of the gust process
    gust_tau: float = 3.0  # s correlation time


def _clamp(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


def wrap_pi(a: float) -> float:
    return (a + math.pi) % (2.0 * math.pi) - math.pi


def _gust(g: float, noise: float, env: Env, dt: float) -> float:
    if env.gust_sigma <= 0.0:
        return 0.0
    tau = env.gust_tau
    return g - g / tau * dt + env.gust_sigma * math.sqrt(2.0 * dt / tau) * noise


def _desired_speed(dist: float, vmax: float, acc: float, kp: float) -> float:
    return min(vmax, math.sqrt(2.0 * BRAKE * acc * dist), kp * dist)


def step(
    state: VehicleState,
    command: Command,
    env: Env,
    dt: float,
    *,
    limits: Limits = Limits(),
    gust_noise: tuple[float, float] = (0.0, 0.0),
) -> VehicleState:
    gn = _gust(state.gust_n, gust_noise[0], env, dt)
    ge = _gust(state.gust_e, gust_noise[1], env, dt)
    if command.kind == IDLE:
        if state.on_ground:
            return replace(
                state,
                vn=0.0,
                ve=0.0,
                vd=0.0,
                yaw_rate=0.0,
                roll=0.0,
                pitch=0.0,
                thrust=0.0,
                gust_n=gn,
                gust_e=ge,
            )
        return _fall(state, dt, gn, ge)
    return _fly(state, command, env, dt, limits, gn, ge)


def _fall(s: VehicleState, dt: float, gn: float, ge: float) -> VehicleState:
    """Motors off in the air (flight termination): ballistic with drag until the ground."""
    vd = s.vd + (G - DRAG * s.vd) * dt
    d = s.d + vd * dt
    if d >= 0.0:
        return replace(s, d=0.0, vn=0.0, ve=0.0, vd=0.0, thrust=0.0, on_ground=True, gust_n=gn, gust_e=ge)
    return replace(s, n=s.n + s.vn * dt, e=s.e + s.ve * dt, d=d, vd=vd, thrust=0.0, gust_n=gn, gust_e=ge)


def _fly(s: VehicleState, c: Command, env: Env, dt: float, lim: Limits, gn: float, ge: float) -> VehicleState:
    # vertical
    ez = c.d - s.d
    if ez < 0.0:
        vz_des = -_desired_speed(-ez, min(c.speed_up, lim.vel_up), lim.acc_up, KP_Z)
    else:
        vz_des = _desired_speed(ez, min(c.speed_dn, lim.vel_dn), lim.acc_dn, KP_Z)
    if s.on_ground and vz_des >= -0.05:
        # sitting on the ground, spinning: nothing moves
        thrust = lim.hover_thrust * 0.3
        return replace(
            s, vn=0.0, ve=0.0, vd=0.0, yaw_rate=0.0, roll=0.0, pitch=0.0, thrust=thrust, gust_n=gn, gust_e=ge
        )
    # the controller's own velocity is the ground velocity minus the gust leak
    cvn = s.vn - GUST_LEAK * s.gust_n
    cve = s.ve - GUST_LEAK * s.gust_e
    en, ee = c.n - s.n, c.e - s.e
    dist = math.hypot(en, ee)
    vmax = min(c.speed_xy, lim.vel_xy)
    vn_des, ve_des = c.ff_n, c.ff_e
    if dist > 1e-6:
        sp = _desired_speed(dist, vmax, lim.acc_hor, KP_XY)
        vn_des += en / dist * sp
        ve_des += ee / dist * sp
    an, ae = (vn_des - cvn) / dt, (ve_des - cve) / dt
    a = math.hypot(an, ae)
    if a > lim.acc_hor:
        k = lim.acc_hor / a
        an *= k
        ae *= k
    az = _clamp((vz_des - s.vd) / dt, -lim.acc_up, lim.acc_dn)
    cvn += an * dt
    cve += ae * dt
    vd = s.vd + az * dt
    vn = cvn + GUST_LEAK * gn
    ve = cve + GUST_LEAK * ge
    n = s.n + vn * dt
    e = s.e + ve * dt
    d = s.d + vd * dt
    yaw, yaw_rate = _yaw(s.yaw, c.yaw, lim.yaw_rate, dt)
    roll, pitch, thrust = _attitude(an, ae, az, vn, ve, env, gn, ge, yaw, lim)
    if d >= 0.0 and vd >= 0.0:
        return VehicleState(
            n=n, e=e, d=0.0, yaw=yaw, thrust=lim.hover_thrust * 0.3, on_ground=True, gust_n=gn, gust_e=ge
        )
    return VehicleState(
        n=n,
        e=e,
        d=d,
        vn=vn,
        ve=ve,
        vd=vd,
        yaw=yaw,
        yaw_rate=yaw_rate,
        roll=roll,
        pitch=pitch,
        thrust=thrust,
        on_ground=False,
        gust_n=gn,
        gust_e=ge,
    )


def _yaw(yaw: float, target: float | None, max_rate: float, dt: float) -> tuple[float, float]:
    if target is None:
        return yaw, 0.0
    rate = _clamp(2.0 * wrap_pi(target - yaw), -max_rate, max_rate)
    return wrap_pi(yaw + rate * dt), rate


def _attitude(
    an: float,
    ae: float,
    az: float,
    vn: float,
    ve: float,
    env: Env,
    gn: float,
    ge: float,
    yaw: float,
    lim: Limits,
) -> tuple[float, float, float]:
    """Tilt the thrust vector must have to give this acceleration against drag in the wind."""
    fn = an + DRAG * (vn - env.wind_n - gn)
    fe = ae + DRAG * (ve - env.wind_e - ge)
    cy, sy = math.cos(yaw), math.sin(yaw)
    fwd = fn * cy + fe * sy
    right = -fn * sy + fe * cy
    fz = G - az
    pitch = _clamp(-math.atan2(fwd, fz), -lim.tilt_max, lim.tilt_max)
    roll = _clamp(math.atan2(right, fz), -lim.tilt_max, lim.tilt_max)
    thrust = _clamp(lim.hover_thrust * math.sqrt(fn * fn + fe * fe + fz * fz) / G, 0.0, 1.0)
    return roll, pitch, thrust
