"""Pure physics: limits honoured, arrival without overshoot, ground contact, wind, determinism."""

from __future__ import annotations

import itertools
import math
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from sim.physics import IDLE, POSITION, Command, Env, Limits, VehicleState, step

DT = 0.02
LIM = Limits()
AIR = VehicleState(d=-20.0, on_ground=False)


def fly(state: VehicleState, cmd: Command, seconds: float, env: Env = Env(), seed: int | None = None):
    rng = random.Random(seed)
    out = [state]
    for _ in range(int(seconds / DT)):
        noise = (rng.gauss(0, 1), rng.gauss(0, 1)) if seed is not None else (0.0, 0.0)
        out.append(step(out[-1], cmd, env, DT, limits=LIM, gust_noise=noise))
    return out


def test_horizontal_speed_and_acceleration_limits_are_honoured() -> None:
    cmd = Command(kind=POSITION, n=500.0, e=0.0, d=-20.0, speed_xy=20.0)
    states = fly(AIR, cmd, 30)
    speeds = [math.hypot(s.vn, s.ve) for s in states]
    assert max(speeds) <= LIM.vel_xy + 1e-9
    assert max(speeds) > LIM.vel_xy - 0.1  # it does reach MPC_XY_VEL_MAX on a long leg
    accels = [abs(b - a) / DT for a, b in itertools.pairwise(speeds)]
    assert max(accels) <= LIM.acc_hor + 1e-6


def test_cruise_speed_is_the_commanded_one() -> None:
    states = fly(AIR, Command(kind=POSITION, n=300.0, d=-20.0, speed_xy=5.0), 20)
    assert abs(max(s.vn for s in states) - 5.0) < 1e-9


def test_climb_and_descent_rates_are_limited() -> None:
    up = fly(AIR, Command(kind=POSITION, d=-100.0, speed_up=10.0, speed_dn=10.0), 20)
    assert min(s.vd for s in up) >= -LIM.vel_up - 1e-9
    assert min(s.vd for s in up) < -LIM.vel_up + 0.05
    down = fly(VehicleState(d=-100.0, on_ground=False), Command(kind=POSITION, d=-10.0, speed_dn=10.0), 20)
    assert max(s.vd for s in down) <= LIM.vel_dn + 1e-9


def test_arrives_at_the_target_without_big_overshoot() -> None:
    cmd = Command(kind=POSITION, n=80.0, e=-60.0, d=-30.0, speed_xy=12.0)
    states = fly(AIR, cmd, 40)
    end = states[-1]
    assert math.hypot(end.n - 80.0, end.e + 60.0) < 0.05
    assert abs(end.d + 30.0) < 0.05
    # distance along the leg never passes the target by more than half a metre
    along = [(s.n * 80.0 - s.e * 60.0) / 100.0 for s in states]
    assert max(along) < 100.0 + 0.5


@settings(max_examples=12, deadline=None)
@given(n=st.floats(-200, 200), e=st.floats(-200, 200), speed=st.floats(3.0, 12.0))
def test_any_target_is_reached_within_speed_limits(n: float, e: float, speed: float) -> None:
    seconds = math.hypot(n, e) / speed + 15.0
    states = fly(AIR, Command(kind=POSITION, n=n, e=e, d=-20.0, speed_xy=speed), seconds)
    assert max(math.hypot(s.vn, s.ve) for s in states) <= speed + 1e-9
    assert math.hypot(states[-1].n - n, states[-1].e - e) < 0.1


def test_ground_contact_stops_a_descent_and_idle_stays_put() -> None:
    states = fly(VehicleState(d=-3.0, on_ground=False), Command(kind=POSITION, d=10.0, speed_dn=0.7), 10)
    assert states[-1].on_ground and states[-1].d == 0.0 and states[-1].vd == 0.0
    assert all(s.d <= 0.0 for s in states)
    rest = fly(states[-1], Command(kind=IDLE), 2)
    assert rest[-1] == rest[1]


def test_free_fall_when_motors_stop_in_the_air() -> None:
    states = fly(VehicleState(d=-20.0, on_ground=False), Command(kind=IDLE), 5)
    assert states[-1].on_ground and max(s.vd for s in states) > 10.0


def test_yaw_rate_is_limited() -> None:
    states = fly(AIR, Command(kind=POSITION, d=-20.0, yaw=math.pi * 0.99), 5)
    assert max(abs(s.yaw_rate) for s in states) <= LIM.yaw_rate + 1e-9
    assert abs(states[-1].yaw - math.pi * 0.99) < 0.01


def test_gusts_are_deterministic_given_a_seed_and_drift_is_bounded() -> None:
    env = Env(wind_n=6.0, wind_e=-3.0, gust_sigma=3.0, gust_tau=2.0)
    hover = Command(kind=POSITION, d=-20.0)
    a = fly(AIR, hover, 60, env, seed=7)
    b = fly(AIR, hover, 60, env, seed=7)
    c = fly(AIR, hover, 60, env, seed=8)
    assert a == b and a != c
    drift = [math.hypot(s.n, s.e) for s in a]
    assert 0.05 < max(drift) < 3.0  # visible, but the position loop keeps it bounded


def test_wind_shows_as_tilt_into_the_wind() -> None:
    # wind toward north: the vehicle, facing north, must lean back (pitch up) to hold position
    states = fly(AIR, Command(kind=POSITION, d=-20.0, yaw=0.0), 5, Env(wind_n=8.0))
    assert math.degrees(states[-1].pitch) > 5.0
    assert abs(states[-1].n) < 1e-6


def test_acceleration_gives_forward_tilt() -> None:
    states = fly(AIR, Command(kind=POSITION, n=100.0, d=-20.0, yaw=0.0), 1)
    assert states[-1].pitch < -math.radians(10)  # nose down to accelerate forward
    assert states[-1].thrust > LIM.hover_thrust
