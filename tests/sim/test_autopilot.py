"""The PX4-like autopilot, driven through its AutopilotModel interface in simulation time."""

from __future__ import annotations

import math

from pymavlink.dialects.v20 import common as mavlink

from sim import px4_modes as modes
from sim.autopilot import Autopilot
from sim.interface import AutopilotModel
from sim.physics import Env
from tests.sim.core_support import HOME, NAN, Flight

FORCE = 21196


def test_it_implements_the_endpoint_contract() -> None:
    ap: AutopilotModel = Autopilot(sysid=3, home=HOME, seed=0)
    assert ap.sysid == 3
    assert isinstance(ap.snapshot().boot_ms, int)


def test_standby_heartbeat_and_health_before_and_after_the_first_fix() -> None:
    f = Flight()
    s = f.ap.snapshot()
    assert s.home is None
    assert not s.sensors_health & mavlink.MAV_SYS_STATUS_PREARM_CHECK
    f.run(0.1)
    s = f.ap.snapshot()
    assert (s.base_mode, s.custom_mode, s.system_status, s.landed_state) == (29, 0x03040000, 3, 1)
    assert s.home is not None and abs(s.home[2] - HOME[2]) < 1e-6
    assert s.sensors_health & mavlink.MAV_SYS_STATUS_PREARM_CHECK
    assert (
        s.sensors_health & mavlink.MAV_SYS_STATUS_SENSOR_GPS
        and s.sensors_present & mavlink.MAV_SYS_STATUS_SENSOR_GPS
    )
    assert (s.fix_type, s.satellites) == (3, 12)
    assert abs(s.lat - HOME[0]) < 1e-9 and abs(s.lon - HOME[1]) < 1e-9
    assert 0 < abs(s.gps_lat - s.lat) * 111e3 < 2.0  # the reported GPS position carries small noise


def test_arming_is_denied_without_gps_and_says_why() -> None:
    f = Flight()
    f.ap.set_gps(False)
    f.run(0.5)
    assert f.ap.snapshot().home is None
    assert f.arm() == mavlink.MAV_RESULT_TEMPORARILY_REJECTED  # what PX4 answers a failed check with
    assert any(t.startswith("Arming denied:") for t in f.texts())
    s = f.ap.snapshot()
    assert (s.fix_type, s.satellites, s.armed) == (1, 0, False)
    assert not s.sensors_health & mavlink.MAV_SYS_STATUS_SENSOR_GPS
    f.ap.set_gps(True)
    f.run(0.1)
    assert f.arm() == mavlink.MAV_RESULT_ACCEPTED


def test_arm_then_disarm_on_the_ground() -> None:
    f = Flight()
    f.run(0.5)
    pre_arm_home = f.ap.home
    assert f.arm() == 0
    s = f.ap.snapshot()
    assert (s.armed, s.base_mode, s.system_status) == (True, 157, 4)
    assert "Armed by external command" in f.texts()
    # home is set again on arming, a little away from the pre-arm one
    moved = math.hypot(*(a - b for a, b in zip(s.home[:2], pre_arm_home[:2], strict=True))) * 111e3
    assert 0.05 < moved < 0.5
    assert f.ap.command(400, (0, 0, 0, 0, 0, 0, 0)) == 0
    assert f.ap.snapshot().base_mode == 29


def test_disarm_in_the_air_is_denied_unless_forced() -> None:
    f = Flight()
    f.run(0.2)
    f.takeoff_to(2.5)
    assert f.ap.command(400, (0, 0, 0, 0, 0, 0, 0)) == mavlink.MAV_RESULT_TEMPORARILY_REJECTED
    assert "Disarming denied: not landed" in f.texts()
    assert f.ap.snapshot().armed
    assert f.ap.command(400, (0, FORCE, 0, 0, 0, 0, 0)) == 0
    assert f.run(10, until=lambda ap: ap.state.on_ground)  # falls


def test_takeoff_goes_through_auto_takeoff_to_loiter_at_mis_takeoff_alt() -> None:
    f = Flight()
    f.run(0.2)
    assert f.arm() == 0
    # param7 is AMSL: 20 m AMSL at a 2300 m home is below us
    assert f.ap.command(22, (0, 0, 0, NAN, NAN, NAN, 20.0)) == 0
    assert "Already higher than takeoff altitude" in f.texts()
    s = f.ap.snapshot()
    assert (s.custom_mode, s.base_mode) == (0x02040000, 157)
    f.run(1.0)
    assert f.ap.snapshot().landed_state == mavlink.MAV_LANDED_STATE_TAKEOFF
    climb = []
    f.run(30, until=lambda ap: climb.append(-ap.state.vd) or ap.mode == modes.AUTO_LOITER)
    s = f.ap.snapshot()
    assert s.custom_mode == 0x03040000 and s.armed
    assert abs(s.alt_rel - 2.5) < 0.5
    assert max(climb) <= 1.5 + 1e-6  # MPC_TKO_SPEED
    assert "Takeoff detected" in f.texts()
    f.run(5)
    assert abs(f.ap.snapshot().alt_rel - 2.5) < 0.1
    assert f.ap.snapshot().landed_state == mavlink.MAV_LANDED_STATE_IN_AIR


def test_takeoff_to_an_amsl_altitude_and_land_then_auto_disarm() -> None:
    f = Flight()
    f.run(0.2)
    f.takeoff_to(15.0)
    assert f.ap.command(21, (0, 0, 0, NAN, NAN, NAN, NAN)) == 0
    assert f.ap.snapshot().custom_mode == 0x06040000
    f.run(5)
    assert f.ap.snapshot().landed_state == mavlink.MAV_LANDED_STATE_LANDING
    assert f.run(60, until=lambda ap: not ap.armed)
    texts = f.texts()
    assert texts.index("Landing detected") < texts.index("Disarmed by landing")
    assert 1.9 < f.time_of("Disarmed by landing") - f.time_of("Landing detected") < 2.1  # COM_DISARM_LAND
    s = f.ap.snapshot()
    assert (s.base_mode, s.custom_mode, s.system_status) == (29, 0x06040000, 3)


def test_armed_on_the_ground_without_takeoff_disarms_after_com_disarm_prflt() -> None:
    f = Flight(params={"COM_DISARM_PRFLT": 3.0})
    f.run(0.2)
    f.arm()
    assert f.run(10, until=lambda ap: not ap.armed)
    assert 2.9 < f.ap.t - 0.2 < 3.2
    assert "Disarmed by auto preflight disarming" in f.texts()


def test_commands_while_disarmed_switch_mode_as_px4_does_and_unknown_ones_are_unsupported() -> None:
    f = Flight()
    f.run(0.2)
    assert f.ap.command(21, (0,) * 7) == 0  # PX4 switches to Land even on the ground
    assert f.ap.snapshot().custom_mode == 0x06040000
    assert f.ap.command(20, (0,) * 7) == 0
    assert f.ap.snapshot().custom_mode == 0x05040000
    assert f.ap.command(31999, (0,) * 7) == mavlink.MAV_RESULT_UNSUPPORTED
    assert f.ap.command(mavlink.MAV_CMD_REQUEST_MESSAGE, (242,) + (0,) * 6) == mavlink.MAV_RESULT_UNSUPPORTED
    assert f.ap.command(185, (1,) + (0,) * 6) == mavlink.MAV_RESULT_DENIED  # terminate while disarmed
    assert f.ap.command(34, (10, 1, 0, NAN, NAN, NAN, NAN)) == mavlink.MAV_RESULT_TEMPORARILY_REJECTED
    # reposition without the change-mode flag is unsupported, as on PX4
    assert f.ap.command(192, (NAN, 0, 0, NAN, NAN, NAN, NAN)) == mavlink.MAV_RESULT_UNSUPPORTED
    # a takeoff before arming is accepted; arming then starts the climb to the requested altitude
    assert f.ap.command(22, (0, 0, 0, NAN, NAN, NAN, HOME[2] + 6.0)) == 0
    f.run(1)
    assert f.ap.snapshot().custom_mode == 0x02040000 and f.ap.state.on_ground
    f.arm()
    assert f.run(30, until=lambda ap: ap.mode == modes.AUTO_LOITER)
    assert abs(f.ap.snapshot().alt_rel - 6.0) < 0.5


def test_mission_start_arms_and_denies_without_a_mission() -> None:
    f = Flight(quirk_mission_revoke=False)
    f.run(0.2)
    assert f.ap.command(300, (0, 0, 0, 0, 0, 0, 0)) == mavlink.MAV_RESULT_DENIED
    assert "Mission start denied! No valid mission" in f.texts()
    f.ap.replace_mission(0, [f.item(0, 0, 0, 5.0, command=22), f.item(1, 10, 0, 5.0)])
    assert f.ap.command(300, (0, 0, 0, 0, 0, 0, 0)) == 0
    assert f.ap.armed and "Armed by mission start" in f.texts()
    assert f.run(60, until=lambda ap: ap.mode == modes.AUTO_LOITER)
    assert f.reached() == [0, 1]


def test_set_mode_to_manual_modes_or_mission_without_mission_is_rejected() -> None:
    f = Flight()
    f.run(0.2)
    assert f.ap.set_mode(1, modes.encode(modes.POSCTL)) == mavlink.MAV_RESULT_TEMPORARILY_REJECTED
    assert f.ap.set_mode(1, 0x04040000) == mavlink.MAV_RESULT_TEMPORARILY_REJECTED
    assert f.ap.set_mode(1, modes.encode(modes.AUTO, 1)) == mavlink.MAV_RESULT_TEMPORARILY_REJECTED
    assert "Unsupported auto mode" in f.texts()
    assert f.ap.set_mode(0, 0x05040000) == 0  # no CUSTOM_MODE_ENABLED nor AUTO flag: "not changed"
    assert f.ap.snapshot().custom_mode == 0x03040000
    assert f.ap.command(176, (1, 4, 3, 0, 0, 0, 0)) == 0  # DO_SET_MODE AUTO.LOITER


def test_rtl_from_a_distance_climbs_returns_and_lands_at_the_arming_home() -> None:
    f = Flight()
    f.run(0.2)
    f.takeoff_to(10.0)
    home = f.ap.home
    lat, lon = f.ap.frame.to_latlon(120.0, -90.0)
    # PX4 refuses DO_REPOSITION in frame 0 (MAV_RESULT 9) and takes it in GLOBAL_INT (5)
    assert f.ap.command(192, (NAN, 1, 0, NAN, lat, lon, HOME[2] + 20.0), is_int=True, frame=0) == 9
    assert f.ap.command(192, (NAN, 1, 0, NAN, lat, lon, HOME[2] + 20.0), is_int=True, frame=5) == 0
    assert f.run(80, until=lambda ap: math.hypot(ap.state.n - 120, ap.state.e + 90) < 0.5)
    assert f.ap.snapshot().custom_mode == 0x03040000  # reposition holds in AUTO.LOITER
    assert f.ap.command(20, (0,) * 7) == 0
    s = f.ap.snapshot()
    assert (s.base_mode, s.custom_mode, s.system_status) == (157, 0x05040000, 4)
    top = []
    assert f.run(200, until=lambda ap: top.append(ap.snapshot().alt_rel) or not ap.armed)
    assert max(top) > 29.5 and max(top) < 31.0  # RTL_RETURN_ALT
    s = f.ap.snapshot()
    assert s.custom_mode == 0x05040000 and s.base_mode == 29  # landed inside AUTO.RTL
    assert s.home == home and f.dist_from_home() < 1.0
    texts = f.texts()
    for t in (
        "RTL: start return at 2330 m (30 m above destination)",
        "RTL: land at destination",
        "Landing detected",
        "Disarmed by landing",
    ):
        assert t in texts


def test_orbit_circles_the_centre_at_the_radius() -> None:
    f = Flight()
    f.run(0.2)
    f.takeoff_to(10.0)
    lat, lon = f.ap.frame.to_latlon(30.0, 0.0)
    assert f.ap.command(34, (15.0, 3.0, 0, NAN, lat, lon, NAN)) == 0
    assert f.ap.snapshot().custom_mode == modes.POSCTL_ORBIT.custom_mode
    f.run(30)
    radii = []
    f.run(20, until=lambda ap: radii.append(math.hypot(ap.state.n - 30, ap.state.e)) and False)
    assert all(abs(r - 15.0) < 1.5 for r in radii)
    assert abs(f.ap.snapshot().groundspeed - 3.0) < 0.5


def test_parameters_are_plausible_typed_and_drive_behaviour_live() -> None:
    f = Flight()
    params = f.ap.params()
    assert len(params) > 100
    assert params["MIS_TAKEOFF_ALT"] == (2.5, mavlink.MAV_PARAM_TYPE_REAL32)
    assert params["SYS_AUTOSTART"] == (10040, mavlink.MAV_PARAM_TYPE_INT32)
    assert params["NAV_DLL_ACT"] == (0, mavlink.MAV_PARAM_TYPE_INT32)
    assert not f.ap.set_param("NO_SUCH_PARAM", 1)
    assert not f.ap.set_param("NAV_DLL_ACT", math.nan)
    assert f.ap.set_param("COM_DL_LOSS_T", 12.6)  # INT32: rounded
    assert f.ap.params()["COM_DL_LOSS_T"] == (13, mavlink.MAV_PARAM_TYPE_INT32)
    assert f.ap.set_param("MIS_TAKEOFF_ALT", 6.0)
    f.run(0.2)
    f.arm()
    f.ap.command(22, (0, 0, 0, NAN, NAN, NAN, NAN))
    assert f.run(30, until=lambda ap: ap.mode == modes.AUTO_LOITER)
    assert abs(f.ap.snapshot().alt_rel - 6.0) < 0.5


def test_home_follows_a_landed_disarmed_vehicle_moved_more_than_a_metre() -> None:
    f = Flight()
    f.run(0.2)
    f.takeoff_to(5.0)
    lat, lon = f.ap.frame.to_latlon(8.0, 0.0)
    f.ap.command(192, (NAN, 1, 0, NAN, lat, lon, NAN))
    assert f.run(30, until=lambda ap: math.hypot(ap.state.n - 8.0, ap.state.e) < 0.3)
    f.ap.command(21, (0,) * 7)
    assert f.run(60, until=lambda ap: not ap.armed)
    f.run(0.1)
    assert f.dist_from_home() < 0.01


def test_determinism_given_the_seed() -> None:
    def flight(seed: int) -> tuple[float, ...]:
        f = Flight(seed=seed)
        f.run(0.2)
        f.takeoff_to(5.0)
        s = f.ap.snapshot()
        return (s.gps_lat, s.gps_lon, s.home[0], s.home[1])

    assert flight(4) == flight(4)
    assert flight(4) != flight(5)


def test_rtl_in_wind_and_gusts_lands_close_to_home() -> None:
    f = Flight(seed=2, env=Env(wind_n=4.0, wind_e=-3.0, gust_sigma=2.0))
    f.ap.set_wind(4.0, -3.0, 2.0)  # same as the constructor's
    f.run(0.2)
    f.takeoff_to(20.0)
    lat, lon = f.ap.frame.to_latlon(100.0, 50.0)
    f.ap.command(192, (NAN, 1, 0, NAN, lat, lon, NAN))
    f.run(40)
    tilt = abs(f.ap.snapshot().pitch) + abs(f.ap.snapshot().roll)
    assert tilt > math.radians(3)  # leaning into the wind
    f.ap.command(20, (0,) * 7)
    assert f.run(200, until=lambda ap: not ap.armed)
    assert f.dist_from_home() < 1.5  # PX4 SITL: 0.24–1.40 m


def test_speed_commands_and_parameters_act_on_the_flight() -> None:
    f = Flight()
    f.run(0.2)
    f.takeoff_to(10.0)
    lat, lon = f.ap.frame.to_latlon(300.0, 0.0)
    f.ap.command(192, (NAN, 1, 0, NAN, lat, lon, NAN))
    f.run(20)
    assert abs(f.ap.snapshot().groundspeed - 5.0) < 0.05  # MPC_XY_CRUISE
    assert f.ap.command(178, (1, 9.0, -1, 0, 0, 0, 0)) == 0  # DO_CHANGE_SPEED
    f.run(5)
    assert abs(f.ap.snapshot().groundspeed - 9.0) < 0.05
    assert f.ap.set_param("MPC_XY_VEL_MAX", 7.0)  # read live by the controller
    f.run(5)
    assert abs(f.ap.snapshot().groundspeed - 7.0) < 0.05
    target = f.ap.snapshot().target
    assert target is not None and abs(target[0] - lat) < 1e-9 and abs(target[2] - (HOME[2] + 10.0)) < 0.5


def test_do_set_home_moves_the_return_point() -> None:
    f = Flight()
    f.run(0.2)
    lat, lon = f.ap.frame.to_latlon(20.0, 20.0)
    assert f.ap.command(179, (0, 0, 0, 0, lat, lon, HOME[2])) == 0
    f.run(1)
    f.arm()  # a home set by command survives arming and does not follow the vehicle
    assert f.ap.snapshot().home == (lat, lon, HOME[2])
    f.takeoff_to(5.0)
    f.ap.command(20, (0,) * 7)
    assert f.run(120, until=lambda ap: not ap.armed)
    assert math.hypot(f.ap.state.n - 20.0, f.ap.state.e - 20.0) < 1.0
