"""Flight activities as generators: each ``yield`` is the physics command for one tick.

A generator holds its own phase (climbing, cruising, descending...) in its local
variables, which keeps PX4's multi-phase behaviours (takeoff, land, return) short and
readable. ``yield from`` composes them: the return mode is climb → cruise → descend →
land. Parameters are read through ``ap.p`` on every tick so PARAM_SET acts at once.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import TYPE_CHECKING

from sim.physics import POSITION, Command

if TYPE_CHECKING:
    from sim.autopilot import Autopilot

Activity = Generator[Command, None, None]

SPOOLUP_S = 0.5  # motors ramp up before a takeoff leaves the ground
LANDED_STATE_TAKEOFF, LANDED_STATE_LANDING = 3, 4


def ground(ap: Autopilot) -> Command:
    """Armed on the ground, props idling: a setpoint at the current spot on the ground."""
    s = ap.state
    return Command(kind=POSITION, n=s.n, e=s.e, d=0.0)


def cruise_to(ap: Autopilot, n: float, e: float, d: float, yaw: float | None) -> Command:
    """A position setpoint flown at cruise speed and the normal climb/descent limits."""
    return Command(
        kind=POSITION,
        n=n,
        e=e,
        d=d,
        speed_xy=ap.cruise(),
        speed_up=ap.p("MPC_Z_VEL_MAX_UP"),
        speed_dn=ap.p("MPC_Z_VEL_MAX_DN"),
        yaw=yaw,
    )


def stopping_point(ap: Autopilot) -> tuple[float, float]:
    """Where the vehicle comes to rest braking at MPC_ACC_HOR (PX4 holds there, not where it was)."""
    s = ap.state
    v = math.hypot(s.vn, s.ve)
    k = v / (2.0 * max(ap.p("MPC_ACC_HOR"), 0.1))
    return s.n + s.vn * k, s.e + s.ve * k


def hold(ap: Autopilot, n: float, e: float, d: float, yaw: float | None = None) -> Activity:
    while True:
        if ap.state.on_ground and d > -0.5:
            yield ground(ap)
        else:
            yield cruise_to(ap, n, e, d, yaw)


def hold_here(ap: Autopilot) -> Activity:
    n, e = stopping_point(ap)
    s = ap.state
    d = 0.0 if s.on_ground else s.d + s.vd * abs(s.vd) / (2.0 * max(ap.p("MPC_ACC_DOWN_MAX"), 0.1))
    yield from hold(ap, n, e, d)


def wait(ap: Autopilot, seconds: float) -> Activity:
    n, e = stopping_point(ap)
    d = 0.0 if ap.state.on_ground else ap.state.d
    t_end = ap.t + seconds
    inner = hold(ap, n, e, d)
    while ap.t < t_end:
        yield next(inner)


def takeoff(ap: Autopilot, d_target: float) -> Activity:
    """Climb vertically at MPC_TKO_SPEED to ``d_target``; the spool-up comes first when on the ground."""
    s = ap.state
    n, e = (s.n, s.e) if s.on_ground else stopping_point(ap)
    ap.landed_hint = LANDED_STATE_TAKEOFF
    if s.on_ground:
        t_end = ap.t + SPOOLUP_S
        while ap.t < t_end:
            yield ground(ap)
    while ap.state.d - d_target > min(0.5, ap.p("NAV_MC_ALT_RAD")):
        yield Command(
            kind=POSITION,
            n=n,
            e=e,
            d=d_target,
            speed_up=ap.p("MPC_TKO_SPEED"),
            speed_dn=ap.p("MPC_Z_VEL_MAX_DN"),
            yaw=None,
        )
    ap.landed_hint = 0


def fly_to(
    ap: Autopilot,
    n: float,
    e: float,
    d: float,
    *,
    acc_rad: float,
    yaw: float | None = None,
    alt_rad: float | None = None,
) -> Activity:
    """Fly straight to (n, e, d); done inside ``acc_rad`` horizontally and NAV_MC_ALT_RAD vertically.

    Heading turns toward the target (MPC_YAW_MODE 0) or toward the region of interest.
    """
    while True:
        s = ap.state
        hdist = math.hypot(n - s.n, e - s.e)
        if hdist <= acc_rad and abs(d - s.d) <= (alt_rad or ap.p("NAV_MC_ALT_RAD")):
            return
        heading = ap.roi_yaw()
        if heading is None:
            heading = math.atan2(e - s.e, n - s.n) if hdist > 2.0 else yaw
        yield cruise_to(ap, n, e, d, heading)


def land(ap: Autopilot, n: float | None = None, e: float | None = None) -> Activity:
    """Descend at MPC_Z_VEL_MAX_DN, slowing to MPC_LAND_SPEED below MPC_LAND_ALT2; returns at touchdown."""
    if n is None or e is None:
        n, e = stopping_point(ap)
    ap.landed_hint = LANDED_STATE_LANDING
    while not ap.state.on_ground:
        agl = -ap.state.d
        alt1, alt2 = ap.p("MPC_LAND_ALT1"), ap.p("MPC_LAND_ALT2")
        fast, slow = ap.p("MPC_Z_VEL_MAX_DN"), ap.p("MPC_LAND_SPEED")
        if agl >= alt1:
            v = fast
        elif agl <= alt2 or alt1 <= alt2:
            v = slow
        else:
            v = slow + (fast - slow) * (agl - alt2) / (alt1 - alt2)
        yield Command(kind=POSITION, n=n, e=e, d=10.0, speed_xy=ap.cruise(), speed_dn=v)
    ap.landed_hint = 0


def on_ground(ap: Autopilot) -> Activity:
    while True:
        yield ground(ap)


def orbit(ap: Autopilot, cn: float, ce: float, d: float, radius: float, speed: float) -> Activity:
    """Circle (cn, ce): velocity feed-forward along the tangent; the position setpoint is the nearest
    point of the circle, so the position loop only corrects the radial error."""
    direction = 1.0 if speed >= 0 else -1.0  # positive: clockwise seen from above
    speed = abs(speed)
    while True:
        s = ap.state
        ang = math.atan2(s.e - ce, s.n - cn)
        tn, te = cn + radius * math.cos(ang), ce + radius * math.sin(ang)
        ff_n, ff_e = -direction * math.sin(ang) * speed, direction * math.cos(ang) * speed
        yaw = math.atan2(ce - s.e, cn - s.n)  # face the centre
        yield Command(
            kind=POSITION,
            n=tn,
            e=te,
            d=d,
            speed_xy=1.0,
            speed_up=ap.p("MPC_Z_VEL_MAX_UP"),
            speed_dn=ap.p("MPC_Z_VEL_MAX_DN"),
            yaw=yaw,
            ff_n=ff_n,
            ff_e=ff_e,
        )


def go_to(ap: Autopilot, n: float, e: float, d: float, yaw: float | None) -> Activity:
    """DO_REPOSITION: take off first when on the ground, fly there, hold."""
    if ap.state.on_ground:
        yield from takeoff(ap, min(d, ap.home_d() - ap.p("MIS_TAKEOFF_ALT")))
    yield from fly_to(ap, n, e, d, acc_rad=0.5, yaw=yaw)
    yield from hold(ap, n, e, d, yaw)


def rtl(ap: Autopilot) -> Activity:
    """RTL_TYPE 0: climb to RTL_RETURN_ALT, fly home, descend to RTL_DESCEND_ALT, wait, land at home."""
    hn, he, hd = ap.home_ned()
    s = ap.state
    if s.on_ground:
        yield from land(ap, s.n, s.e)
        return
    dist = math.hypot(hn - s.n, he - s.e)
    cur_rel = hd - s.d
    ret_rel = cur_rel if dist < ap.p("RTL_MIN_DIST") else max(cur_rel, ap.p("RTL_RETURN_ALT"))
    ap.say(f"RTL: start return at {ap.home_alt() + ret_rel:.0f} m ({ret_rel:.0f} m above destination)")
    ret_d = hd - ret_rel
    if s.d > ret_d + 0.5:  # below the return altitude: climb on the spot first
        n, e = stopping_point(ap)
        yield from fly_to(ap, n, e, ret_d, acc_rad=5.0, alt_rad=0.5)
    yield from fly_to(ap, hn, he, ret_d, acc_rad=1.0, alt_rad=2.0)
    desc_d = hd - min(ap.p("RTL_DESCEND_ALT"), ret_rel)
    if ap.state.d < desc_d:
        yield from fly_to(ap, hn, he, desc_d, acc_rad=1.0, alt_rad=0.5)
    delay = ap.p("RTL_LAND_DELAY")
    if delay < 0:
        yield from hold(ap, hn, he, desc_d)
    if delay > 0:
        yield from wait(ap, delay)
    ap.say("RTL: land at destination")
    yield from land(ap, hn, he)
