"""Parameter protocol over loopback UDP, and the byte-wise INT32 encoding PX4 uses."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from sim.param_transfer import decode_value, encode_value
from sim.runner import Simulator
from tests.sim._gcs import Gcs
from tests.sim._parts import autopilot_factory

GCS_PORT, VEHICLE_PORT = 15100, 15180
INT32, REAL32 = 6, 9


@given(st.integers(min_value=-(2**31), max_value=2**31 - 1))
def test_int32_travels_bytewise(value: int) -> None:
    raw = encode_value(value, INT32)
    assert struct.unpack("<i", raw)[0] == value  # even where the bytes spell a signalling NaN
    assert decode_value(raw, INT32) == value


@given(st.floats(width=32, allow_nan=False))
def test_real32_travels_as_its_value(value: float) -> None:
    assert struct.unpack("<f", encode_value(value, REAL32))[0] == value
    assert decode_value(encode_value(value, REAL32), REAL32) == value


def test_param_value_bytes_survive_the_wire() -> None:
    from pymavlink.dialects.v20 import common as mavlink

    from sim.wire import Encoder

    packet = Encoder(1).param_value("SNAN_INT", encode_value(-4194305, INT32), INT32, 3, 1)
    msg = mavlink.MAVLink(None).parse_char(packet)
    assert msg.param_id == "SNAN_INT" and (msg.param_count, msg.param_index, msg.param_type) == (3, 1, INT32)
    assert bytes(msg.get_msgbuf()[10:14]) == struct.pack("<i", -4194305)


def _as_int(msg) -> int:
    return struct.unpack("<i", struct.pack("<f", msg.param_value))[0]


async def test_list_read_and_set_over_udp() -> None:
    async with (
        Simulator(
            vehicles=1,
            gcs_port_base=GCS_PORT,
            vehicle_port_base=VEHICLE_PORT,
            autopilot_factory=autopilot_factory(),
        ) as sim,
        Gcs(port=GCS_PORT, vehicle_port=VEHICLE_PORT) as gcs,
    ):
        expected = sim.vehicle(0).autopilot.params()
        gcs.drain()
        gcs.send(gcs.mav.param_request_list_encode(1, 1))
        got = {}
        while len(got) < len(expected):
            msg = await gcs.recv("PARAM_VALUE", within=2.0)
            got[msg.param_id] = msg
        assert set(got) == set(expected)
        assert {m.param_count for m in got.values()} == {len(expected)}
        assert sorted(m.param_index for m in got.values()) == list(range(len(expected)))
        names = sorted(expected)
        assert all(got[n].param_index == names.index(n) for n in names)
        for name, (value, ptype) in expected.items():
            assert got[name].param_type == ptype
            if ptype == INT32:
                assert _as_int(got[name]) == int(value), name  # byte-wise, not the float of the value
            else:
                assert abs(got[name].param_value - value) <= 1e-6 * max(1.0, abs(value)), name

        # read by name, then by index
        gcs.send(gcs.mav.param_request_read_encode(1, 1, b"COM_DL_LOSS_T", -1))
        msg = await gcs.recv("PARAM_VALUE", where=lambda m: m.param_id == "COM_DL_LOSS_T")
        assert msg.param_type == INT32 and _as_int(msg) == int(expected["COM_DL_LOSS_T"][0])
        index = names.index("MPC_XY_CRUISE")
        gcs.send(gcs.mav.param_request_read_encode(1, 1, b"", index))
        msg = await gcs.recv("PARAM_VALUE", where=lambda m: m.param_index == index)
        assert msg.param_id == "MPC_XY_CRUISE"

        # set a float and an int (byte-wise), each echoed with the new value
        gcs.send(gcs.mav.param_set_encode(1, 1, b"MPC_XY_CRUISE", 8.5, REAL32))
        msg = await gcs.recv("PARAM_VALUE", where=lambda m: m.param_id == "MPC_XY_CRUISE")
        assert msg.param_value == 8.5
        assert sim.vehicle(0).autopilot.params()["MPC_XY_CRUISE"][0] == 8.5
        gcs.send(
            gcs.mav.param_set_encode(
                1, 1, b"NAV_DLL_ACT", struct.unpack("<f", encode_value(2, INT32))[0], INT32
            )
        )
        msg = await gcs.recv("PARAM_VALUE", where=lambda m: m.param_id == "NAV_DLL_ACT")
        assert _as_int(msg) == 2
        assert sim.vehicle(0).autopilot.params()["NAV_DLL_ACT"][0] == 2
