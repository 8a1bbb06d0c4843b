"""The mission protocol state machine, driven directly (no sockets): PX4's edge cases."""

from __future__ import annotations

import itertools

import pytest
from pymavlink.dialects.v20 import common as mavlink

from sim.mission_transfer import RETRY_S, TIMEOUT_S, MissionTransfer, item_from_msg
from tests.sim._parts import HOME, new_autopilot

M = mavlink
GCS = (255, 190)
FENCE, RALLY = 1, 2


def _item(
    seq: int, *, command: int = 16, mission_type: int = 0, lat: float | None = None
) -> M.MAVLink_message:
    lat = HOME[0] + seq * 1e-4 if lat is None else lat
    return M.MAVLink_mission_item_int_message(
        1,
        1,
        seq,
        6,
        command,
        int(seq == 0),
        1,
        0,
        2,
        0,
        float("nan"),
        round(lat * 1e7),
        round(HOME[1] * 1e7),
        20.0,
        mission_type,
    )


def _count(n: int, mission_type: int = 0) -> M.MAVLink_message:
    return M.MAVLink_mission_count_message(1, 1, n, mission_type)


def _names(out: list) -> list[str]:
    return [m.get_type() for m in out]


@pytest.fixture
def ap():
    return new_autopilot()


@pytest.fixture
def mt(ap) -> MissionTransfer:
    return MissionTransfer(ap, ap.check_item)


def upload(mt: MissionTransfer, n: int, *, mission_type: int = 0, t: float = 0.0) -> list:
    out = mt.handle(_count(n, mission_type), t, GCS)
    for seq in range(n):
        assert _names(out) == ["MISSION_REQUEST_INT"] and out[0].seq == seq
        assert (out[0].target_system, out[0].target_component) == GCS
        out = mt.handle(_item(seq, mission_type=mission_type), t, GCS)
    return out


def test_upload_requests_every_item_then_acks_and_stores(mt, ap) -> None:
    out = upload(mt, 5)
    assert _names(out) == ["MISSION_ACK"] and out[0].type == M.MAV_MISSION_ACCEPTED
    stored = ap.mission_items(0)
    assert [i.seq for i in stored] == [0, 1, 2, 3, 4]
    assert stored[3].lat == pytest.approx(HOME[0] + 3e-4, abs=1e-7)
    assert not mt.busy


def test_download_returns_the_same_items(mt) -> None:
    upload(mt, 4)
    out = mt.handle(M.MAVLink_mission_request_list_message(1, 1, 0), 1.0, GCS)
    assert _names(out) == ["MISSION_COUNT"] and out[0].count == 4
    for seq in range(4):
        (item,) = mt.handle(M.MAVLink_mission_request_int_message(1, 1, seq, 0), 1.0, GCS)
        sent = _item(seq)
        assert item.get_type() == "MISSION_ITEM_INT"
        assert (item.seq, item.x, item.y, item.z, item.command, item.frame) == (
            seq,
            sent.x,
            sent.y,
            sent.z,
            sent.command,
            sent.frame,
        )
    assert mt.handle(M.MAVLink_mission_ack_message(1, 1, 0, 0), 1.0, GCS) == []


def test_legacy_request_gets_a_float_mission_item(mt) -> None:
    upload(mt, 2)
    mt.handle(M.MAVLink_mission_request_list_message(1, 1, 0), 1.0, GCS)
    (item,) = mt.handle(M.MAVLink_mission_request_message(1, 1, 1, 0), 1.0, GCS)
    assert item.get_type() == "MISSION_ITEM"
    assert item.x == pytest.approx(HOME[0] + 1e-4, abs=1e-6)


def test_count_zero_clears(mt, ap) -> None:
    upload(mt, 3)
    (ack,) = mt.handle(_count(0), 1.0, GCS)
    assert ack.type == M.MAV_MISSION_ACCEPTED
    assert ap.mission_items(0) == []


def test_unknown_command_is_rejected_at_once_and_old_mission_kept(mt, ap) -> None:
    upload(mt, 2)
    mt.handle(_count(3), 1.0, GCS)
    mt.handle(_item(0), 1.0, GCS)
    out = mt.handle(_item(1, command=31999), 1.0, GCS)
    assert _names(out) == ["MISSION_ACK"] and out[0].type == M.MAV_MISSION_UNSUPPORTED
    assert len(ap.mission_items(0)) == 2
    assert not mt.busy


def test_abandoned_upload_retries_then_times_out_and_keeps_old_mission(mt, ap) -> None:
    upload(mt, 5)
    mt.handle(_count(4), 10.0, GCS)
    for seq in range(3):
        mt.handle(_item(seq), 10.0, GCS)
    requests, texts = [], []
    t = 10.0
    while t < 10.0 + TIMEOUT_S + 1.0:
        t += 0.01
        for m in mt.tick(t):
            (requests if m.get_type() == "MISSION_REQUEST_INT" else texts).append((t, m))
    assert all(m.seq == 3 for _, m in requests)
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(requests)]
    assert all(RETRY_S - 0.02 <= g <= RETRY_S + 0.02 for g in gaps)
    assert len(requests) >= int(TIMEOUT_S / RETRY_S) - 1
    assert [m.text for _, m in texts] == ["Operation timeout"]
    assert texts[0][0] == pytest.approx(10.0 + TIMEOUT_S, abs=0.02)
    assert len(ap.mission_items(0)) == 5
    assert not mt.busy


def test_out_of_sequence_item_re_requests_the_expected_one(mt) -> None:
    mt.handle(_count(3), 0.0, GCS)
    mt.handle(_item(0), 0.0, GCS)
    out = mt.handle(_item(2), 0.0, GCS)
    assert _names(out) == ["MISSION_REQUEST_INT"] and out[0].seq == 1
    out = mt.handle(_item(0), 0.0, GCS)  # a retransmitted duplicate
    assert out[0].seq == 1


def test_item_past_the_count_is_invalid_sequence(mt) -> None:
    mt.handle(_count(2), 0.0, GCS)
    (ack,) = mt.handle(_item(7), 0.0, GCS)
    assert ack.type == M.MAV_MISSION_INVALID_SEQUENCE
    assert not mt.busy


def test_too_many_items_is_no_space(mt) -> None:
    (ack,) = mt.handle(_count(100_000), 0.0, GCS)
    assert ack.type == M.MAV_MISSION_NO_SPACE


def test_transfer_of_another_type_while_busy_is_denied(mt) -> None:
    mt.handle(_count(3), 0.0, GCS)
    (ack,) = mt.handle(_count(2, FENCE), 0.0, GCS)
    assert ack.type == M.MAV_MISSION_DENIED and ack.mission_type == FENCE
    (ack,) = mt.handle(M.MAVLink_mission_request_list_message(1, 1, 0), 0.0, GCS)
    assert ack.type == M.MAV_MISSION_DENIED
    assert mt.busy  # the mission upload goes on


def test_mission_fence_and_rally_are_stored_apart(mt, ap) -> None:
    upload(mt, 3)
    fence = [
        M.MAVLink_mission_item_int_message(
            1,
            1,
            s,
            5,
            5001,
            0,
            1,
            3,
            0,
            0,
            0,
            round((HOME[0] + dy) * 1e7),
            round((HOME[1] + dx) * 1e7),
            0,
            FENCE,
        )
        for s, (dy, dx) in enumerate([(0.01, 0.01), (0.01, -0.01), (-0.01, 0.0)])
    ]
    out = mt.handle(_count(3, FENCE), 0.0, GCS)
    for item in fence:
        out = mt.handle(item, 0.0, GCS)
    assert out[0].get_type() == "MISSION_ACK" and out[0].type == 0 and out[0].mission_type == FENCE
    assert len(ap.mission_items(FENCE)) == 3
    assert len(ap.mission_items(0)) == 3
    (ack,) = mt.handle(M.MAVLink_mission_clear_all_message(1, 1, FENCE), 0.0, GCS)
    assert ack.type == 0 and ap.mission_items(FENCE) == [] and len(ap.mission_items(0)) == 3
    (ack,) = mt.handle(M.MAVLink_mission_clear_all_message(1, 1, 255), 0.0, GCS)
    assert ack.type == 0 and ap.mission_items(0) == []


def test_set_current(mt, ap) -> None:
    upload(mt, 3)
    assert mt.handle(M.MAVLink_mission_set_current_message(1, 1, 2), 0.0, GCS) == []
    assert ap.snapshot().mission_seq == 2
    (text,) = mt.handle(M.MAVLink_mission_set_current_message(1, 1, 9), 0.0, GCS)
    assert text.get_type() == "STATUSTEXT"


def test_global_items_scale_by_1e7_and_others_do_not() -> None:
    glob = item_from_msg(_item(0), is_int=True)
    assert glob.lat == pytest.approx(HOME[0])
    speed = M.MAVLink_mission_item_int_message(1, 1, 0, 2, 178, 0, 1, 1, 8, -1, 0, 0, 0, 0, 0)
    assert item_from_msg(speed, is_int=True).param2 == 8


def test_statustext_from_the_protocol_is_framed_as_statustext() -> None:
    from sim.mission_transfer import statustext
    from sim.wire import Encoder

    msg = M.MAVLink(None).parse_char(Encoder(1).encode_msg(statustext("Operation timeout")))
    assert msg.get_type() == "STATUSTEXT" and msg.text == "Operation timeout"
