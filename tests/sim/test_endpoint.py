"""One vehicle's endpoint over loopback UDP, seen by a pymavlink ground station."""

from __future__ import annotations

import time

import pytest
from pymavlink.dialects.v20 import common as mavlink

from sim.endpoint import CAPABILITIES
from sim.runner import Simulator
from sim.streams import BUILDERS, PX4_RATES
from sim.wire import Encoder
from tests.sim._gcs import Gcs
from tests.sim._parts import autopilot_factory, new_autopilot

M = mavlink
GCS_PORT, VEHICLE_PORT = 15000, 15080


def test_every_streamed_message_is_what_pymavlink_would_send() -> None:
    ap = new_autopilot()
    ap.step(0.02)
    snap = ap.snapshot()
    snap.target = (snap.lat, snap.lon, snap.alt_amsl + 10)  # so POSITION_TARGET_GLOBAL_INT is built too
    snap.home = snap.home or (19.365, -99.215, 2300.0)
    enc = Encoder(7, 1)
    parser = M.MAVLink(None)
    again = M.MAVLink(None, srcSystem=7, srcComponent=1)
    for msgid, build in BUILDERS.items():
        again.seq = enc.seq
        packet = build(enc, snap)
        msg = parser.parse_char(packet)  # raises on a bad CRC or length
        assert msg is not None and msg.get_msgId() == msgid
        assert (msg.get_srcSystem(), msg.get_srcComponent()) == (7, 1)
        assert msg.pack(again) == packet, msg.get_type()


@pytest.fixture
async def link():
    async with (
        Simulator(
            vehicles=1,
            rates="px4",
            gcs_port_base=GCS_PORT,
            vehicle_port_base=VEHICLE_PORT,
            autopilot_factory=autopilot_factory(),
        ) as sim,
        Gcs(port=GCS_PORT, vehicle_port=VEHICLE_PORT) as gcs,
    ):
        gcs.heartbeat()
        yield sim, gcs


async def test_streams_at_px4_rates_from_component_1(link) -> None:
    _, gcs = link
    await gcs.recv("HEARTBEAT")
    gcs.counts.clear()
    t0 = time.monotonic()
    hb = await gcs.recv("HEARTBEAT", within=1.5)
    await gcs.collect(set(), 2.0 - (time.monotonic() - t0))
    seconds = time.monotonic() - t0
    assert (hb.type, hb.autopilot, hb.base_mode, hb.custom_mode) == (2, 12, 29, 0x03040000)
    assert hb.system_status == M.MAV_STATE_STANDBY
    assert gcs.sources == {(1, 1)}
    names = {mid: M.mavlink_map[mid].msgname for mid in PX4_RATES}
    for mid, hz in PX4_RATES.items():
        if mid in (M.MAVLINK_MSG_ID_POSITION_TARGET_GLOBAL_INT,):
            assert gcs.counts[names[mid]] == 0  # on the ground: not streamed
            continue
        rate = gcs.counts[names[mid]] / seconds
        assert hz * 0.75 - 1 <= rate <= hz * 1.25 + 1.2, (names[mid], rate)
    assert gcs.datagrams < sum(gcs.counts.values()) / 2  # several messages per datagram, as PX4


async def test_autopilot_version_and_home_on_request(link) -> None:
    _, gcs = link
    assert await gcs.command(M.MAV_CMD_REQUEST_MESSAGE, M.MAVLINK_MSG_ID_AUTOPILOT_VERSION) == 0
    version = await gcs.recv("AUTOPILOT_VERSION")
    assert version.capabilities == CAPABILITIES == 0xE8FF
    assert version.flight_sw_version >> 24 == 1 and version.uid != 0
    assert await gcs.command(M.MAV_CMD_REQUEST_MESSAGE, M.MAVLINK_MSG_ID_HOME_POSITION) == 0
    home = await gcs.recv("HOME_POSITION")
    assert home.latitude == pytest.approx(19.365e7, abs=500) and home.altitude == pytest.approx(
        2300e3, abs=1000
    )
    assert await gcs.command(M.MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES, 1) == 0
    await gcs.recv("AUTOPILOT_VERSION")


async def test_unknown_command_is_unsupported_and_acked_to_sender(link) -> None:
    _, gcs = link
    gcs.send(gcs.mav.command_long_encode(1, 1, 31999, 0, 0, 0, 0, 0, 0, 0, 0))
    ack = await gcs.recv("COMMAND_ACK")
    assert (ack.command, ack.result) == (31999, M.MAV_RESULT_UNSUPPORTED)
    assert (ack.target_system, ack.target_component) == (255, 190)
    gcs.send(gcs.mav.command_long_encode(9, 1, 31999, 0, 0, 0, 0, 0, 0, 0, 0))  # another system's
    with pytest.raises(TimeoutError):
        await gcs.recv("COMMAND_ACK", within=0.3)


async def test_set_and_get_message_interval(link) -> None:
    _, gcs = link
    gps, att = M.MAVLINK_MSG_ID_GPS_RAW_INT, M.MAVLINK_MSG_ID_ATTITUDE
    assert await gcs.command(M.MAV_CMD_SET_MESSAGE_INTERVAL, gps, 50_000) == 0  # 20 Hz
    assert await gcs.command(M.MAV_CMD_SET_MESSAGE_INTERVAL, att, -1) == 0  # off
    assert await gcs.command(M.MAV_CMD_GET_MESSAGE_INTERVAL, gps) == 0
    assert (await gcs.recv("MESSAGE_INTERVAL")).interval_us == 50_000
    await gcs.collect(set(), 0.1)
    got = await gcs.collect({"GPS_RAW_INT", "ATTITUDE"}, 1.0)
    assert 15 <= sum(m.get_type() == "GPS_RAW_INT" for m in got) <= 24
    assert not any(m.get_type() == "ATTITUDE" for m in got)
    assert await gcs.command(M.MAV_CMD_SET_MESSAGE_INTERVAL, att, 0) == 0  # back to the default
    await gcs.recv("ATTITUDE", within=0.5)


async def test_ping_and_timesync_are_answered(link) -> None:
    _, gcs = link
    gcs.send(gcs.mav.ping_encode(123456, 7, 0, 0))
    ping = await gcs.recv("PING")
    assert (ping.time_usec, ping.seq, ping.target_system, ping.target_component) == (123456, 7, 255, 190)
    gcs.send(gcs.mav.timesync_encode(0, 42))
    sync = await gcs.recv("TIMESYNC")
    assert sync.ts1 == 42 and sync.tc1 > 0


async def test_mission_upload_and_download_over_udp(link) -> None:
    sim, gcs = link
    home = sim.vehicle(0).home
    items = [
        gcs.mav.mission_item_int_encode(
            1,
            1,
            s,
            6,
            16,
            0,
            1,
            0,
            2,
            0,
            float("nan"),
            round((home[0] + s * 1e-4) * 1e7),
            round(home[1] * 1e7),
            20.0,
            0,
        )
        for s in range(3)
    ]
    gcs.send(gcs.mav.mission_count_encode(1, 1, 3, 0))
    for _ in range(3):
        req = await gcs.recv("MISSION_REQUEST_INT")
        gcs.send(items[req.seq])
    ack = await gcs.recv("MISSION_ACK")
    assert ack.type == 0
    current = await gcs.recv("MISSION_CURRENT", where=lambda m: m.total == 3)
    assert current.seq == 0
    gcs.send(gcs.mav.mission_request_list_encode(1, 1, 0))
    assert (await gcs.recv("MISSION_COUNT")).count == 3
    gcs.send(gcs.mav.mission_request_int_encode(1, 1, 2, 0))
    item = await gcs.recv("MISSION_ITEM_INT")
    assert (item.seq, item.x, item.y) == (2, items[2].x, items[2].y)
    gcs.send(gcs.mav.mission_ack_encode(1, 1, 0, 0))


async def test_arming_shows_in_a_heartbeat_at_once(link) -> None:
    _, gcs = link
    await gcs.recv("HOME_POSITION", within=3.0)  # the autopilot has a fix and a home: armable
    gcs.drain()
    gcs.send(gcs.mav.command_long_encode(1, 1, M.MAV_CMD_COMPONENT_ARM_DISARM, 0, 1, 0, 0, 0, 0, 0, 0))
    got = await gcs.collect({"COMMAND_ACK", "HEARTBEAT", "STATUSTEXT"}, 0.4)
    (ack,) = [m for m in got if m.get_type() == "COMMAND_ACK"]
    assert ack.result == M.MAV_RESULT_ACCEPTED
    armed = [m for m in got if m.get_type() == "HEARTBEAT" and m.base_mode == 157]
    assert armed and armed[0].rx_time - ack.rx_time < 0.1
    assert "Armed by external command" in [m.text for m in got if m.get_type() == "STATUSTEXT"]
    assert await gcs.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 0) == M.MAV_RESULT_ACCEPTED
    await gcs.recv("HEARTBEAT", within=0.2, where=lambda m: m.base_mode == 29)


async def test_command_int_and_set_mode_are_acked(link) -> None:
    _, gcs = link
    gcs.send(gcs.mav.command_int_encode(1, 1, 6, 31999, 0, 0, 0, 0, 0, 0, 193650000, -992150000, 20.0))
    ack = await gcs.recv("COMMAND_ACK", where=lambda m: m.command == 31999)
    assert ack.result == M.MAV_RESULT_UNSUPPORTED
    gcs.send(gcs.mav.set_mode_encode(1, 29, 0x03040000))  # AUTO.LOITER, as QGC's SET_MODE
    ack = await gcs.recv("COMMAND_ACK", where=lambda m: m.command == M.MAV_CMD_DO_SET_MODE)
    assert ack.result == M.MAV_RESULT_ACCEPTED
    assert await gcs.command(M.MAV_CMD_DO_SET_MODE, 29, 4, 3) == M.MAV_RESULT_ACCEPTED  # main 4, sub 3
    hb = await gcs.recv("HEARTBEAT", within=1.5)
    assert hb.custom_mode == 0x03040000


async def test_answers_the_last_sender_as_px4_does(link) -> None:
    _, gcs = link
    async with Gcs(port=GCS_PORT + 10, vehicle_port=VEHICLE_PORT) as other:
        other.send(other.mav.ping_encode(99, 1, 0, 0))
        assert (await other.recv("PING")).time_usec == 99
        await other.recv("HEARTBEAT", within=1.5)  # the streams follow it too
        gcs.drain()
        assert await gcs.collect({"HEARTBEAT", "ATTITUDE"}, 0.2) == []


async def test_nan_parameters_do_not_break_the_link(link) -> None:
    _, gcs = link
    nan = float("nan")
    for cmd in (M.MAV_CMD_SET_MESSAGE_INTERVAL, M.MAV_CMD_REQUEST_MESSAGE, M.MAV_CMD_DO_SET_MODE, 31999):
        gcs.send(gcs.mav.command_long_encode(1, 1, cmd, 0, nan, nan, nan, nan, nan, nan, nan))
        ack = await gcs.recv("COMMAND_ACK", where=lambda m, cmd=cmd: m.command == cmd)
        assert ack.result != M.MAV_RESULT_ACCEPTED or cmd == M.MAV_CMD_DO_SET_MODE
    await gcs.recv("HEARTBEAT", within=1.5)  # still streaming
