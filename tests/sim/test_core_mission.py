"""Missions: upload validation, execution, DO_JUMP, pause/resume, and PX4's mode-revoke quirk."""

from __future__ import annotations

import math

from pymavlink.dialects.v20 import common as mavlink

from sim import px4_modes as modes
from sim.interface import FENCE, MISSION, SimItem
from sim.mission_exec import check_item
from tests.sim.core_support import HOME, Flight

SET_MISSION = (1, 0x04040000)  # base_mode with CUSTOM_MODE_ENABLED, AUTO.MISSION
LEGS = [(40.0, 0.0), (40.0, 50.0), (-20.0, 60.0), (-30.0, -10.0), (10.0, -40.0)]


def patrol(f: Flight, alt: float = 20.0) -> list[SimItem]:
    items = [f.item(0, 0.0, 0.0, alt, command=22)]
    items += [f.item(i + 1, n, e, alt) for i, (n, e) in enumerate(LEGS)]
    items.append(SimItem(seq=len(items), frame=2, command=20))
    return items


def test_check_item_accepts_what_px4_flies_and_refuses_the_rest() -> None:
    assert check_item(SimItem(seq=0, frame=6, command=16)) == mavlink.MAV_MISSION_ACCEPTED
    assert check_item(SimItem(seq=0, frame=2, command=178)) == mavlink.MAV_MISSION_ACCEPTED
    assert check_item(SimItem(seq=0, frame=6, command=31999)) == mavlink.MAV_MISSION_UNSUPPORTED
    assert check_item(SimItem(seq=0, frame=1, command=16)) == mavlink.MAV_MISSION_UNSUPPORTED_FRAME
    fence_vertex = SimItem(seq=0, frame=5, command=5001, param1=4, mission_type=FENCE)
    assert check_item(fence_vertex) == mavlink.MAV_MISSION_ACCEPTED
    assert (
        check_item(SimItem(seq=0, frame=5, command=16, mission_type=FENCE)) == mavlink.MAV_MISSION_UNSUPPORTED
    )


def test_upload_is_atomic_and_a_bad_upload_keeps_the_old_plan() -> None:
    f = Flight()
    good = patrol(f)
    assert f.ap.replace_mission(MISSION, good) == 0
    bad = [*good[:2], SimItem(seq=2, frame=6, command=31999)]
    assert f.ap.replace_mission(MISSION, bad) == mavlink.MAV_MISSION_UNSUPPORTED
    assert f.ap.mission_items(MISSION) == good
    s = f.ap.snapshot()
    assert (s.mission_total, s.mission_seq) == (len(good), 0) and s.mission_id != 0
    assert f.ap.replace_mission(MISSION, []) == 0
    assert f.ap.snapshot().mission_total == 0


def test_mission_of_takeoff_five_waypoints_and_rtl_is_flown_and_lands_at_home() -> None:
    f = Flight(quirk_mission_revoke=False)
    f.run(0.2)
    items = patrol(f)
    assert f.ap.replace_mission(MISSION, items) == 0
    assert f.arm() == 0
    arming_home = f.ap.home
    assert f.ap.set_mode(*SET_MISSION) == 0
    seqs, modes_seen = [], set()

    def watch(ap: object) -> bool:
        s = f.ap.snapshot()
        seqs.append(s.mission_seq)
        modes_seen.add(s.custom_mode)
        return not s.armed

    assert f.run(400, until=watch)
    assert f.reached() == list(range(len(items)))
    assert seqs == sorted(seqs) and seqs[-1] == len(items) - 1
    assert modes_seen == {0x04040000}  # RTL item and its landing stay inside AUTO.MISSION
    s = f.ap.snapshot()
    assert (s.base_mode, s.custom_mode, s.system_status, s.landed_state) == (29, 0x04040000, 3, 1)
    assert s.home == arming_home and f.dist_from_home() < 1.0
    texts = f.texts()
    for t in ("Takeoff detected", "Landing detected", "Mission finished", "Disarmed by landing"):
        assert t in texts


def test_waypoint_altitudes_follow_the_item_frame() -> None:
    f = Flight(quirk_mission_revoke=False)
    f.run(0.2)
    items = [
        f.item(0, 0, 0, 10.0, command=22),
        f.item(1, 30, 0, 15.0),
        f.item(2, 30, 30, HOME[2] + 25.0, frame=5),
    ]  # 5: GLOBAL_INT, AMSL
    f.ap.replace_mission(MISSION, items)
    f.arm()
    f.ap.set_mode(*SET_MISSION)
    assert f.run(60, until=lambda ap: 1 in f.reached())
    assert abs(f.ap.snapshot().alt_rel - 15.0) < 1.0  # 6: GLOBAL_RELATIVE_ALT_INT, above home
    assert f.run(60, until=lambda ap: ap.mode == modes.AUTO_LOITER)
    assert f.reached() == [0, 1, 2]
    assert f.ap.snapshot().custom_mode == 0x03040000  # no land item: hold in air at the end
    assert "Mission finished, loitering" in f.texts()
    assert abs(f.ap.snapshot().alt_rel - 25.0) < 1.0


def test_mission_without_takeoff_item_takes_off_first_and_honours_do_items() -> None:
    f = Flight(quirk_mission_revoke=False)
    f.run(0.2)
    roi_lat, roi_lon = f.ap.frame.to_latlon(0.0, 100.0)
    items = [
        SimItem(seq=0, frame=2, command=178, param1=1, param2=8.0),  # DO_CHANGE_SPEED 8 m/s
        SimItem(seq=1, frame=2, command=1000, param1=-45.0, param2=10.0),  # gimbal pitch/yaw
        SimItem(seq=2, frame=6, command=195, lat=roi_lat, lon=roi_lon, alt=0.0),  # ROI
        f.item(3, 150.0, 0.0, 12.0),
        f.item(4, 150.0, 20.0, 12.0, command=21),
    ]
    f.ap.replace_mission(MISSION, items)
    f.arm()
    f.ap.set_mode(*SET_MISSION)
    speeds, yaw_err = [], []

    def watch(ap: object) -> bool:
        s = f.ap.snapshot()
        speeds.append(s.groundspeed)
        if f.ap.mission.seq == 3 and s.groundspeed > 2:
            yaw_err.append(abs(math.remainder(s.yaw - math.atan2(100.0 - s.y, -s.x), math.tau)))
        return not s.armed

    assert f.run(200, until=watch)
    assert f.reached() == [3, 4]
    assert 7.5 < max(speeds) <= 8.0 + 1e-6
    s = f.ap.snapshot()
    assert (s.gimbal_pitch_deg, s.gimbal_yaw_deg) == (-45.0, 10.0) and s.roi is not None
    assert max(yaw_err[len(yaw_err) // 2 :]) < 0.1  # faces the region of interest
    assert math.hypot(s.x - 150.0, s.y - 20.0) < 0.5


def test_do_jump_repeats_the_loop() -> None:
    f = Flight(quirk_mission_revoke=False)
    f.run(0.2)
    items = [
        f.item(0, 0, 0, 10.0, command=22),
        f.item(1, 15, 0, 10.0),
        f.item(2, 15, 15, 10.0),
        SimItem(seq=3, frame=2, command=177, param1=1, param2=2),  # jump to 1, twice
        f.item(4, 0, 0, 10.0, command=21),
    ]
    f.ap.replace_mission(MISSION, items)
    f.arm()
    f.ap.set_mode(*SET_MISSION)
    assert f.run(200, until=lambda ap: not ap.armed)
    assert f.reached() == [0, 1, 2, 1, 2, 1, 2, 4]


def test_pause_holds_and_resume_continues_from_the_current_item() -> None:
    f = Flight(quirk_mission_revoke=False)
    f.run(0.2)
    f.ap.replace_mission(MISSION, patrol(f))
    f.arm()
    f.ap.set_mode(*SET_MISSION)
    assert f.run(100, until=lambda ap: 2 in f.reached())
    f.run(3)
    assert f.ap.command(193, (0, 0, 0, 0, 0, 0, 0)) == 0  # pause
    s = f.ap.snapshot()
    assert s.custom_mode == 0x03040000 and s.mission_state == 4  # PAUSED
    f.run(8)
    held = f.ap.state
    f.run(5)
    assert math.hypot(f.ap.state.n - held.n, f.ap.state.e - held.e) < 0.05
    assert f.ap.snapshot().mission_seq == 3
    assert f.ap.command(193, (1, 0, 0, 0, 0, 0, 0)) == 0  # continue
    assert f.ap.snapshot().custom_mode == 0x04040000
    assert f.run(300, until=lambda ap: not ap.armed)
    assert f.reached() == [0, 1, 2, 3, 4, 5, 6]


def test_set_current_skips_ahead() -> None:
    f = Flight(quirk_mission_revoke=False)
    f.run(0.2)
    f.ap.replace_mission(MISSION, patrol(f))
    assert f.ap.set_current(4) and not f.ap.set_current(99)
    f.arm()
    f.ap.set_mode(*SET_MISSION)
    assert f.run(300, until=lambda ap: not ap.armed)
    assert f.reached() == [4, 5, 6]


def test_mission_switch_right_after_upload_is_revoked_and_a_retry_works() -> None:
    f = Flight(quirk_probability=1.0)
    f.run(0.2)
    f.ap.replace_mission(MISSION, patrol(f))
    f.arm()
    assert f.ap.set_mode(*SET_MISSION) == mavlink.MAV_RESULT_ACCEPTED
    assert f.ap.snapshot().custom_mode == 0x04040000
    f.run(0.2)
    assert f.ap.snapshot().custom_mode == 0x03040000  # back to what it was
    assert "Switching to Mission is currently not available" in f.texts()
    assert f.ap.state.on_ground  # it never left the ground
    assert f.ap.set_mode(*SET_MISSION) == 0  # the retry sticks
    f.run(5)
    assert f.ap.snapshot().custom_mode == 0x04040000 and f.ap.in_air


def test_the_revoke_quirk_is_deterministic_given_the_seed_and_can_be_switched_off() -> None:
    def revoked(seed: int, **kw: object) -> bool:
        f = Flight(seed=seed, **kw)
        f.run(0.2)
        f.ap.replace_mission(MISSION, patrol(f))
        f.ap.set_mode(*SET_MISSION)
        f.run(0.2)
        return f.ap.mode != modes.AUTO_MISSION

    outcomes = [revoked(seed) for seed in range(12)]
    assert outcomes == [revoked(seed) for seed in range(12)]
    assert any(outcomes) and not all(outcomes)  # probability 5/7 by default
    assert not any(revoked(seed, quirk_mission_revoke=False) for seed in range(4))


def test_first_waypoint_too_far_is_refused_at_start_not_at_upload() -> None:
    f = Flight(quirk_mission_revoke=False)
    f.run(0.2)
    far = [f.item(0, 55_000.0, 0.0, 20.0)]
    assert f.ap.replace_mission(MISSION, far) == 0
    assert f.ap.set_mode(*SET_MISSION) == mavlink.MAV_RESULT_TEMPORARILY_REJECTED
    assert any("too far" in t for t in f.texts())
