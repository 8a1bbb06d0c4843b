"""The vehicle side of the MAVLink parameter protocol, pure (returns the messages to send).

PARAM_REQUEST_LIST → every PARAM_VALUE with its index and the count (sorted by name, as PX4 does);
PARAM_REQUEST_READ by name, or by index when ``param_index >= 0``; PARAM_SET → the PARAM_VALUE echo
with the value now in force (the old one if the autopilot refused). Integer parameters travel
byte-wise in the float field, as PX4 does (capability PARAM_ENCODE_BYTEWISE): the int32's four bytes
reinterpreted as a float, never the float of its value.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from pymavlink.dialects.v20 import common as mavlink

from sim.interface import AutopilotModel

M = mavlink
REAL32 = M.MAV_PARAM_TYPE_REAL32
_F32 = struct.Struct("<f")
_INT_FORMATS = {
    M.MAV_PARAM_TYPE_UINT8: "<B",
    M.MAV_PARAM_TYPE_INT8: "<b",
    M.MAV_PARAM_TYPE_UINT16: "<H",
    M.MAV_PARAM_TYPE_INT16: "<h",
    M.MAV_PARAM_TYPE_UINT32: "<I",
    M.MAV_PARAM_TYPE_INT32: "<i",
}


def encode_value(value: float, ptype: int) -> bytes:
    """The four bytes of PARAM_VALUE.param_value for a parameter of MAV_PARAM_TYPE ``ptype``.

    Bytes, not a float: an int32 such as -4194305 is a signalling-NaN bit pattern, which a trip
    through a Python float would quieten (changing the value).
    """
    fmt = _INT_FORMATS.get(ptype)
    if fmt is None:
        return _F32.pack(value)
    return struct.pack(fmt, int(value)).ljust(4, b"\0")


def decode_value(raw: bytes, ptype: int) -> float:
    """Inverse of ``encode_value``: the parameter's value from the four bytes on the wire."""
    raw = raw[:4].ljust(4, b"\0")
    fmt = _INT_FORMATS.get(ptype)
    if fmt is None:
        return _F32.unpack(raw)[0]
    return float(struct.unpack(fmt, raw[: struct.calcsize(fmt)])[0])


@dataclass(frozen=True, kw_only=True)
class ParamValue:
    """A PARAM_VALUE to send, its value as raw bytes (see ``encode_value``)."""

    name: str
    raw: bytes
    ptype: int
    count: int
    index: int


def _name(raw: bytes | str) -> str:
    if isinstance(raw, bytes):
        raw = raw.decode("ascii", "replace")
    return raw.split("\0", 1)[0]


class ParamTransfer:
    def __init__(self, autopilot: AutopilotModel) -> None:
        self._ap = autopilot

    def _table(self) -> tuple[list[str], dict[str, tuple[float, int]]]:
        params = self._ap.params()
        return sorted(params), params

    def _value(self, name: str, index: int, count: int, value: float, ptype: int) -> ParamValue:
        return ParamValue(name=name, raw=encode_value(value, ptype), ptype=ptype, count=count, index=index)

    def handle(self, msg: M.MAVLink_message) -> list[ParamValue]:
        mid = msg.get_msgId()
        if mid == M.MAVLINK_MSG_ID_PARAM_REQUEST_LIST:
            return self.all_values()
        if mid == M.MAVLINK_MSG_ID_PARAM_REQUEST_READ:
            return self._read(_name(msg.param_id), msg.param_index)
        if mid == M.MAVLINK_MSG_ID_PARAM_SET:
            # the raw bytes of param_value (the first field of PARAM_SET), not pymavlink's float
            return self._set(_name(msg.param_id), _raw_value(msg))
        return []

    def all_values(self) -> list[ParamValue]:
        names, params = self._table()
        return [self._value(n, i, len(names), *params[n]) for i, n in enumerate(names)]

    def _read(self, name: str, index: int) -> list[ParamValue]:
        names, params = self._table()
        if index >= 0:
            if index >= len(names):
                return []
            name = names[index]
        elif name not in params:
            return []  # PX4 stays silent about unknown names too
        return [self._value(name, names.index(name), len(names), *params[name])]

    def _set(self, name: str, raw: bytes) -> list[ParamValue]:
        names, params = self._table()
        if name not in params:
            return []
        _, ptype = params[name]
        self._ap.set_param(name, decode_value(raw, ptype))
        value, ptype = self._ap.params()[name]
        return [self._value(name, names.index(name), len(names), value, ptype)]


def _raw_value(msg: M.MAVLink_message) -> bytes:
    """PARAM_SET.param_value as sent: payload bytes 0-3 of the received frame (MAVLink 2 may have
    truncated trailing zeros, hence the padding); from the float for a message built locally."""
    buf = msg.get_msgbuf()
    if buf:
        start = 10 if buf[0] == 0xFD else 6  # MAVLink 2 / 1 header length
        length = buf[1]
        return bytes(buf[start : start + min(4, length)]).ljust(4, b"\0")
    return _F32.pack(msg.param_value)
