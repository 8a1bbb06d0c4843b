"""Fast MAVLink 2 framing for the simulator's outgoing traffic.

pymavlink's ``MAVLink.send(msg)`` costs about 10 µs a message (object construction, a header object,
a bytearray per message). At 50 vehicles × hundreds of messages a second that alone eats a core, so
the hot path here packs straight from field values with precompiled ``struct.Struct``s taken from
pymavlink's generated classes (wire order, CRC extra, array sizes all come from ``dialects.v20.common``,
so nothing is hand-copied) and pymavlink's own CRC function (``fastcrc`` when it is installed).
``tests/sim/test_endpoint.py`` checks the bytes equal pymavlink's for every message we stream.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Sequence
from typing import Any

from pymavlink.dialects.v20 import common as mavlink
from pymavlink.generator import mavcrc

_HEADER = struct.Struct("<BBBBBBBHB")
_CRC = struct.Struct("<H")
_PARAM_VALUE = struct.Struct("<4sHH16sB")  # wire order of PARAM_VALUE, the float as raw bytes
_TOKEN = re.compile(r"(\d*)([a-zA-Z?])")

if mavcrc.mcrf4xx is not None:
    _crc16: Callable[[bytes], int] = mavcrc.mcrf4xx  # C implementation (fastcrc)
else:  # pragma: no cover - depends on the installed extras

    def _crc16(data: bytes) -> int:
        return mavcrc.x25crc(data).crc


class _Spec:
    """How to turn declaration-order field values of one message into its MAVLink 2 payload."""

    __slots__ = ("crc_extra", "has_arrays", "kinds", "msgid", "perm", "struct")

    def __init__(self, cls: type[mavlink.MAVLink_message]) -> None:
        self.msgid: int = cls.id
        self.crc_extra = bytes([cls.crc_extra])
        self.struct: struct.Struct = cls.unpacker
        self.perm = [cls.fieldnames.index(name) for name in cls.ordered_fieldnames]
        tokens = _TOKEN.findall(cls.unpacker.format.lstrip("<"))
        # per wire field: 0 scalar, n>1 numeric array of n, -1 char array (bytes)
        self.kinds = [(-1 if t == "s" else (int(n) if n and int(n) > 1 else 0)) for n, t in tokens]
        self.has_arrays = any(self.kinds)

    def payload(self, args: Sequence[Any]) -> bytes:
        if not self.has_arrays:
            return self.struct.pack(*[args[i] for i in self.perm])
        flat: list[Any] = []
        for i, kind in zip(self.perm, self.kinds, strict=True):
            value = args[i]
            if kind == 0:
                flat.append(value)
            elif kind == -1:
                flat.append(value.encode() if isinstance(value, str) else value)
            else:
                flat.extend(value)
        return self.struct.pack(*flat)


_SPECS: dict[int, _Spec] = {}


def spec(msgid: int) -> _Spec:
    found = _SPECS.get(msgid)
    if found is None:
        found = _SPECS[msgid] = _Spec(mavlink.mavlink_map[msgid])
    return found


class Encoder:
    """Frames messages from one component, keeping its own sequence number."""

    def __init__(self, sysid: int, compid: int = 1) -> None:
        self.sysid = sysid
        self.compid = compid
        self.seq = 0

    def encode(self, msgid: int, *args: Any) -> bytes:
        """Frame a message from its field values in pymavlink's declaration (constructor) order."""
        sp = _SPECS.get(msgid) or spec(msgid)
        return self.frame(sp.msgid, sp.crc_extra, sp.payload(args))

    def encode_msg(self, msg: mavlink.MAVLink_message) -> bytes:
        """Frame a pymavlink message object (the slow path, for rare messages)."""
        return self.encode(msg.get_msgId(), *[getattr(msg, name) for name in msg.fieldnames])

    def param_value(self, name: str, raw: bytes, ptype: int, count: int, index: int) -> bytes:
        """PARAM_VALUE with param_value given as its four raw bytes (see sim.param_transfer)."""
        sp = spec(mavlink.MAVLINK_MSG_ID_PARAM_VALUE)
        return self.frame(sp.msgid, sp.crc_extra, _PARAM_VALUE.pack(raw, count, index, name.encode(), ptype))

    def frame(self, msgid: int, crc_extra: bytes, payload: bytes) -> bytes:
        plen = len(payload)
        # MAVLink 2 truncates trailing zero bytes of the payload (but keeps at least one byte)
        while plen > 1 and payload[plen - 1] == 0:
            plen -= 1
        if plen != len(payload):
            payload = payload[:plen]
        seq = self.seq
        self.seq = (seq + 1) & 0xFF
        head = _HEADER.pack(253, plen, 0, 0, seq, self.sysid, self.compid, msgid & 0xFFFF, msgid >> 16)
        body = head[1:] + payload
        return b"\xfd" + body + _CRC.pack(_crc16(body + crc_extra))
