"""The vehicle side of the MAVLink mission protocol, as a pure state machine (no I/O, no clock).

Feed it the ground station's messages with ``handle(msg, now, partner)`` and call ``tick(now)``
regularly; both return the messages to send back. Behaviour follows PX4 (measured, see
/work/shared/reference/px4-sitl.md):

- upload: MISSION_COUNT → MISSION_REQUEST_INT per seq → MISSION_ACK. Each item is checked as it
  arrives (``check_item``: an unknown command gets MISSION_ACK UNSUPPORTED right away). The pending
  request is re-sent every 0.27 s; after 5 s without progress the upload is dropped with STATUSTEXT
  "Operation timeout". Only a complete upload replaces the stored mission (``replace_mission``), so
  an abandoned one keeps the old. Count 0 clears. Out-of-order items re-request the expected seq; an
  item past the count is INVALID_SEQUENCE; more items than we store is NO_SPACE; a transfer while one
  of another type is running is DENIED.
- download: MISSION_REQUEST_LIST → MISSION_COUNT, then MISSION_ITEM_INT for MISSION_REQUEST_INT (or
  the legacy float MISSION_ITEM for MISSION_REQUEST).
- MISSION_CLEAR_ALL (type 255 = all) and MISSION_SET_CURRENT.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from pymavlink.dialects.v20 import common as mavlink

from sim.interface import MISSION, AutopilotModel, SimItem

M = mavlink
RETRY_S = 0.27
TIMEOUT_S = 5.0
MAX_ITEMS = {0: 2000, 1: 256, 2: 32}  # mission, fence, rally
ALL_TYPES = 255
# frames whose x/y are latitude/longitude (× 1e7 in the _INT messages)
GLOBAL_FRAMES = frozenset({0, 3, 5, 6, 10, 11})

ACCEPTED = M.MAV_MISSION_ACCEPTED
DENIED = M.MAV_MISSION_DENIED
NO_SPACE = M.MAV_MISSION_NO_SPACE
INVALID_SEQUENCE = M.MAV_MISSION_INVALID_SEQUENCE
OPERATION_CANCELLED = M.MAV_MISSION_OPERATION_CANCELLED

Partner = tuple[int, int]  # (sysid, compid) of the ground station
Out = list[M.MAVLink_message]


@dataclass(kw_only=True)
class _Upload:
    mission_type: int
    count: int
    partner: Partner
    items: list[SimItem] = field(default_factory=list)
    last_progress: float
    last_request: float

    @property
    def expected(self) -> int:
        return len(self.items)


@dataclass(kw_only=True)
class _Download:
    mission_type: int
    items: list[SimItem]
    partner: Partner
    last_activity: float


def item_from_msg(msg: M.MAVLink_message, *, is_int: bool) -> SimItem:
    """SimItem from MISSION_ITEM_INT (x/y × 1e7 in global frames) or legacy MISSION_ITEM (floats)."""
    scale = 1e-7 if is_int and msg.frame in GLOBAL_FRAMES else 1.0
    return SimItem(
        seq=msg.seq,
        frame=msg.frame,
        command=msg.command,
        current=msg.current,
        autocontinue=msg.autocontinue,
        param1=msg.param1,
        param2=msg.param2,
        param3=msg.param3,
        param4=msg.param4,
        lat=msg.x * scale,
        lon=msg.y * scale,
        alt=msg.z,
        mission_type=msg.mission_type,
    )


def item_to_msg(item: SimItem, partner: Partner, *, is_int: bool) -> M.MAVLink_message:
    common = (item.seq, item.frame, item.command, item.current, item.autocontinue)
    params = (item.param1, item.param2, item.param3, item.param4)
    if is_int:
        if item.frame in GLOBAL_FRAMES:
            x, y = round(item.lat * 1e7), round(item.lon * 1e7)
        else:
            x, y = round(item.lat), round(item.lon)
        return M.MAVLink_mission_item_int_message(
            *partner, *common, *params, x, y, item.alt, item.mission_type
        )
    return M.MAVLink_mission_item_message(
        *partner, *common, *params, item.lat, item.lon, item.alt, item.mission_type
    )


def statustext(text: str, severity: int = M.MAV_SEVERITY_CRITICAL) -> M.MAVLink_message:
    return M.MAVLink_statustext_message(severity, text.encode()[:50], 0, 0)


class MissionTransfer:
    """One vehicle's mission-protocol state: at most one upload and one download at a time."""

    def __init__(self, autopilot: AutopilotModel, check_item: Callable[[SimItem], int]) -> None:
        self._ap = autopilot
        self._check = check_item
        self._up: _Upload | None = None
        self._down: _Download | None = None

    @property
    def busy(self) -> bool:
        return self._up is not None

    def handle(self, msg: M.MAVLink_message, now: float, partner: Partner) -> Out:
        handler = self._HANDLERS.get(msg.get_msgId())
        return handler(self, msg, now, partner) if handler else []

    def tick(self, now: float) -> Out:
        up = self._up
        if self._down is not None and now - self._down.last_activity > TIMEOUT_S:
            self._down = None
        if up is None:
            return []
        if now - up.last_progress >= TIMEOUT_S:
            self._up = None
            return [statustext("Operation timeout")]
        if now - up.last_request >= RETRY_S:
            return [self._request(up, now)]
        return []

    # --- upload -----------------------------------------------------------------------------

    def _on_count(self, msg: M.MAVLink_message, now: float, partner: Partner) -> Out:
        mtype = msg.mission_type
        if self._up is not None and self._up.mission_type != mtype:
            return [_ack(partner, DENIED, mtype)]
        if mtype not in MAX_ITEMS:
            return [_ack(partner, M.MAV_MISSION_UNSUPPORTED, mtype)]
        if msg.count > MAX_ITEMS[mtype]:
            self._up = None
            return [_ack(partner, NO_SPACE, mtype)]
        if msg.count == 0:
            self._up = None
            return [_ack(partner, self._ap.replace_mission(mtype, []), mtype)]
        self._up = _Upload(
            mission_type=mtype, count=msg.count, partner=partner, last_progress=now, last_request=now
        )
        return [self._request(self._up, now)]

    def _on_item(self, msg: M.MAVLink_message, now: float, partner: Partner) -> Out:
        up = self._up
        if up is None or msg.mission_type != up.mission_type:
            return []  # a late duplicate after the ACK, as PX4 ignores it
        if msg.seq >= up.count:
            self._up = None
            return [_ack(partner, INVALID_SEQUENCE, up.mission_type)]
        if msg.seq != up.expected:
            return [self._request(up, now)]
        item = item_from_msg(msg, is_int=msg.get_msgId() == M.MAVLINK_MSG_ID_MISSION_ITEM_INT)
        verdict = self._check(item)
        if verdict != ACCEPTED:
            self._up = None
            return [_ack(partner, verdict, up.mission_type)]
        up.items.append(item)
        up.last_progress = now
        if up.expected < up.count:
            return [self._request(up, now)]
        self._up = None
        return [_ack(partner, self._ap.replace_mission(up.mission_type, up.items), up.mission_type)]

    def _request(self, up: _Upload, now: float) -> M.MAVLink_message:
        up.last_request = now
        return M.MAVLink_mission_request_int_message(*up.partner, up.expected, up.mission_type)

    # --- download ---------------------------------------------------------------------------

    def _on_request_list(self, msg: M.MAVLink_message, now: float, partner: Partner) -> Out:
        mtype = msg.mission_type
        if self._up is not None:
            return [_ack(partner, DENIED, mtype)]
        items = list(self._ap.mission_items(mtype)) if mtype in MAX_ITEMS else []
        self._down = _Download(mission_type=mtype, items=items, partner=partner, last_activity=now)
        return [M.MAVLink_mission_count_message(*partner, len(items), mtype)]

    def _on_request(self, msg: M.MAVLink_message, now: float, partner: Partner) -> Out:
        down = self._down
        if down is None or down.mission_type != msg.mission_type:
            return [_ack(partner, M.MAV_MISSION_ERROR, msg.mission_type)]
        if msg.seq >= len(down.items):
            return [_ack(partner, INVALID_SEQUENCE, msg.mission_type)]
        down.last_activity = now
        is_int = msg.get_msgId() == M.MAVLINK_MSG_ID_MISSION_REQUEST_INT
        return [item_to_msg(down.items[msg.seq], partner, is_int=is_int)]

    def _on_ack(self, msg: M.MAVLink_message, now: float, partner: Partner) -> Out:
        if self._down is not None and msg.mission_type == self._down.mission_type:
            self._down = None
        elif self._up is not None and msg.type != ACCEPTED and msg.mission_type == self._up.mission_type:
            self._up = None  # the ground station cancelled its upload
        return []

    # --- clear / set current ----------------------------------------------------------------

    def _on_clear_all(self, msg: M.MAVLink_message, now: float, partner: Partner) -> Out:
        if self._up is not None:
            return [_ack(partner, DENIED, msg.mission_type)]
        types = list(MAX_ITEMS) if msg.mission_type == ALL_TYPES else [msg.mission_type]
        if any(t not in MAX_ITEMS for t in types):
            return [_ack(partner, M.MAV_MISSION_UNSUPPORTED, msg.mission_type)]
        results = [self._ap.replace_mission(t, []) for t in types]
        worst = next((r for r in results if r != ACCEPTED), ACCEPTED)
        return [_ack(partner, worst, msg.mission_type)]

    def _on_set_current(self, msg: M.MAVLink_message, now: float, partner: Partner) -> Out:
        if not self._ap.set_current(msg.seq):
            return [
                statustext(f"WPM: MISSION_SET_CURRENT seq {msg.seq} ERROR: not in list", M.MAV_SEVERITY_ERROR)
            ]
        return []

    _HANDLERS: ClassVar[dict[int, Callable[[MissionTransfer, M.MAVLink_message, float, Partner], Out]]] = {
        M.MAVLINK_MSG_ID_MISSION_COUNT: _on_count,
        M.MAVLINK_MSG_ID_MISSION_ITEM_INT: _on_item,
        M.MAVLINK_MSG_ID_MISSION_ITEM: _on_item,
        M.MAVLINK_MSG_ID_MISSION_REQUEST_LIST: _on_request_list,
        M.MAVLINK_MSG_ID_MISSION_REQUEST_INT: _on_request,
        M.MAVLINK_MSG_ID_MISSION_REQUEST: _on_request,
        M.MAVLINK_MSG_ID_MISSION_ACK: _on_ack,
        M.MAVLINK_MSG_ID_MISSION_CLEAR_ALL: _on_clear_all,
        M.MAVLINK_MSG_ID_MISSION_SET_CURRENT: _on_set_current,
    }


def _ack(partner: Partner, result: int, mission_type: int = MISSION) -> M.MAVLink_message:
    return M.MAVLink_mission_ack_message(*partner, result, mission_type)
