"""Failsafes: data-link loss, battery levels, geofence — as PX4 reacts to them."""

from __future__ import annotations

import math

from sim import px4_modes as modes
from sim.interface import FENCE, SimItem
from tests.sim.core_support import NAN, Flight


def hover_away(f: Flight, n: float = 60.0, e: float = 0.0, alt: float = 20.0) -> None:
    f.run(0.2)
    f.takeoff_to(alt)
    lat, lon = f.ap.frame.to_latlon(n, e)
    f.ap.command(192, (NAN, 1, 0, NAN, lat, lon, f.ap.home_alt() + alt))
    assert f.run(60, until=lambda ap: math.hypot(ap.state.n - n, ap.state.e - e) < 0.5)


def test_link_loss_with_nav_dll_act_2_returns_after_the_timeout_and_the_hold_delay() -> None:
    f = Flight(params={"NAV_DLL_ACT": 2})
    f.gcs = True
    hover_away(f)
    f.gcs = False
    last_hb = f.ap.fs.last_gcs
    assert f.run(30, until=lambda ap: ap.mode == modes.AUTO_RTL)
    lost = f.time_of("Connection to ground station lost")
    assert 10.0 <= lost - last_hb < 10.1  # COM_DL_LOSS_T
    assert 14.9 < f.ap.t - last_hb < 15.2  # + COM_FAIL_ACT_T hold (PX4 measured ~17 s incl. heartbeat period)
    assert "Failsafe activated: entering Hold for 5 seconds" in f.texts()
    assert f.run(200, until=lambda ap: not ap.armed)
    assert f.dist_from_home() < 1.0


def test_link_loss_is_ignored_by_default_and_regained_link_is_reported() -> None:
    f = Flight()
    f.gcs = True
    hover_away(f)
    f.gcs = False
    f.run(20)
    assert f.ap.mode == modes.AUTO_LOITER
    assert "Connection to ground station lost" in f.texts()
    f.ap.gcs_heartbeat()
    assert "Data link regained" in f.texts()


def test_link_regained_during_the_hold_cancels_the_action() -> None:
    f = Flight(params={"NAV_DLL_ACT": 3})
    f.gcs = True
    hover_away(f)
    f.gcs = False
    assert f.run(15, until=lambda ap: ap.fs.link_lost)
    f.run(2)
    f.ap.gcs_heartbeat()
    f.run(10)
    assert f.ap.mode == modes.AUTO_LOITER and f.ap.in_air


def test_battery_drains_to_low_and_critical_then_returns_home() -> None:
    # a small pack, already nearly spent: 2000 mAh at ~13 A hover loses 1 % every 5.5 s
    f = Flight(params={"BAT1_CAPACITY": 2000.0})
    hover_away(f, n=40.0)
    f.ap.set_battery(17.0)
    assert f.run(120, until=lambda ap: ap.mode == modes.AUTO_RTL)
    texts = f.texts()
    assert texts.index("Low battery") < texts.index("Critical battery")
    low = next(e for _t, e in f.events if e.text == "Low battery")
    assert low.severity == 2  # MAV_SEVERITY_CRITICAL
    assert 4.9 < f.ap.t - f.time_of("Critical battery") < 5.1  # hold, then return
    assert "Failsafe activated" in texts
    assert 5.0 < f.ap.snapshot().battery_pct < 7.0
    # the pack keeps draining on the way: at the emergency level it lands where it is
    assert f.run(200, until=lambda ap: not ap.armed)
    assert f.texts()[-3:] == ["Failsafe activated: Landing", "Landing detected", "Disarmed by landing"]


def test_critical_battery_set_by_fault_holds_then_rtl_lands_and_disarms_at_home() -> None:
    f = Flight(params={"BAT1_CAPACITY": 50000.0})  # slow drain: stays above the emergency level
    hover_away(f)
    f.ap.set_battery(6.5)
    f.run(0.1)
    assert f.ap.mode == modes.AUTO_LOITER
    assert f.run(6, until=lambda ap: ap.mode == modes.AUTO_RTL)
    assert f.run(200, until=lambda ap: not ap.armed)
    assert f.ap.snapshot().custom_mode == 0x05040000
    assert f.dist_from_home() < 1.0
    assert "Disarmed by landing" in f.texts()


def test_emergency_battery_lands_where_it_is() -> None:
    f = Flight()
    hover_away(f)
    f.ap.set_battery(4.0)
    f.run(0.1)
    assert f.ap.mode == modes.AUTO_LAND
    assert f.run(60, until=lambda ap: not ap.armed)
    assert abs(f.ap.state.n - 60.0) < 1.0


def test_battery_warning_only_when_com_low_bat_act_is_0_and_arming_denied_when_critical() -> None:
    f = Flight(params={"COM_LOW_BAT_ACT": 0})
    hover_away(f)
    f.ap.set_battery(3.0)
    f.run(10)
    assert f.ap.mode == modes.AUTO_LOITER
    assert "Critical battery" in f.texts()
    g = Flight()
    g.run(0.2)
    g.ap.set_battery(5.0)
    g.run(0.1)
    assert g.arm() == 1 and any("Arming denied" in t for t in g.texts())


def test_polygon_fence_breach_holds_the_vehicle() -> None:
    f = Flight()
    corners = [(-30.0, -30.0), (-30.0, 30.0), (30.0, 30.0), (30.0, -30.0)]
    fence = [f.item(i, n, e, 0.0, command=5001, frame=5, param1=4) for i, (n, e) in enumerate(corners)]
    fence = [SimItem(**{**vars(it), "mission_type": FENCE}) for it in fence]
    assert f.ap.replace_mission(FENCE, fence) == 0
    assert f.ap.mission_items(FENCE) == fence
    f.run(0.2)
    f.takeoff_to(10.0)
    lat, lon = f.ap.frame.to_latlon(80.0, 0.0)
    f.ap.command(192, (NAN, 1, 0, NAN, lat, lon, NAN))
    assert f.run(60, until=lambda ap: ap.fs.fence_breached)
    assert any(t.startswith("Geofence breached") for t in f.texts())
    assert f.ap.mode == modes.AUTO_LOITER  # GF_ACTION 2: hold
    f.run(10)
    assert 30.0 < f.ap.state.n < 40.0  # braked near the fence, did not go on to 80 m


def test_max_distance_fence_with_rtl_action() -> None:
    f = Flight(params={"GF_MAX_HOR_DIST": 50.0, "GF_ACTION": 3})
    f.run(0.2)
    f.takeoff_to(10.0)
    lat, lon = f.ap.frame.to_latlon(0.0, 100.0)
    f.ap.command(192, (NAN, 1, 0, NAN, lat, lon, NAN))
    assert f.run(60, until=lambda ap: ap.mode == modes.AUTO_RTL)
    assert 49.0 < math.hypot(f.ap.state.n, f.ap.state.e) < 52.0
    assert "Geofence breached: Maximum distance from home exceeded" in f.texts()


def test_gps_loss_in_flight_lands() -> None:
    f = Flight()
    hover_away(f)
    f.ap.set_gps(False)
    assert f.ap.mode == modes.AUTO_LAND
    assert f.ap.snapshot().fix_type == 1


def test_max_altitude_fence_with_land_action_and_circle_exclusion_with_termination() -> None:
    f = Flight(params={"GF_MAX_VER_DIST": 15.0, "GF_ACTION": 5})
    f.run(0.2)
    f.arm()
    f.ap.command(22, (0, 0, 0, NAN, NAN, NAN, f.ap.home_alt() + 25.0))
    assert f.run(60, until=lambda ap: ap.mode == modes.AUTO_LAND)
    assert 14.5 < f.ap.snapshot().alt_rel < 16.5
    assert "Geofence breached: Maximum altitude exceeded" in f.texts()

    g = Flight(params={"GF_ACTION": 4})
    lat, lon = g.ap.frame.to_latlon(40.0, 0.0)
    no_fly = SimItem(seq=0, frame=5, command=5004, param1=15.0, lat=lat, lon=lon, mission_type=FENCE)
    assert g.ap.replace_mission(FENCE, [no_fly]) == 0
    hover_away(g, n=20.0)  # outside the circle
    lat, lon = g.ap.frame.to_latlon(60.0, 0.0)
    g.ap.command(192, (NAN, 1, 0, NAN, lat, lon, NAN))
    assert g.run(30, until=lambda ap: ap.terminated)
    assert 24.0 < g.ap.state.n < 27.0  # entered the 15 m circle around 40 m north
    assert g.ap.snapshot().system_status == 8  # MAV_STATE_FLIGHT_TERMINATION
    assert g.run(10, until=lambda ap: ap.state.on_ground)
