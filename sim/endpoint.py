"""One vehicle's MAVLink-over-UDP endpoint: what PX4 SITL instance i does on its offboard link.

It listens on 127.0.0.1:(vehicle_port_base+i) and streams to 127.0.0.1:(gcs_port_base+i) from the
start, like PX4 started with ``-o 14540`` does; once a ground station has sent something it answers
to that address (PX4 replies to the last sender). Messages go out MAVLink 2 from sysid i+1,
compid 1, several per datagram as PX4 packs them. The runner calls ``tick(now)`` (wall clock)
after stepping physics; received datagrams are answered at once.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable

from pymavlink.dialects.v20 import common as mavlink

from sim.interface import AutopilotModel, SimItem, Snapshot
from sim.link_faults import LinkFaults
from sim.mission_transfer import MissionTransfer
from sim.param_transfer import ParamTransfer
from sim.streams import BUILDERS, StreamScheduler
from sim.wire import Encoder

M = mavlink
log = logging.getLogger(__name__)
MAX_DATAGRAM = 1400  # MAVSDK reads UDP into a 2048-byte buffer: larger datagrams would be cut
CAPABILITIES = 0xE8FF  # what PX4 SITL reports, exactly
FLIGHT_SW_VERSION = (1 << 24) | (16 << 16) | (0 << 8) | 255  # v1.16.0, FIRMWARE_VERSION_TYPE_OFFICIAL
GCS_TYPES = (M.MAV_TYPE_GCS,)
Addr = tuple[str, int]

_MISSION_MSGS = frozenset(
    {
        M.MAVLINK_MSG_ID_MISSION_COUNT,
        M.MAVLINK_MSG_ID_MISSION_ITEM_INT,
        M.MAVLINK_MSG_ID_MISSION_ITEM,
        M.MAVLINK_MSG_ID_MISSION_REQUEST_LIST,
        M.MAVLINK_MSG_ID_MISSION_REQUEST_INT,
        M.MAVLINK_MSG_ID_MISSION_REQUEST,
        M.MAVLINK_MSG_ID_MISSION_ACK,
        M.MAVLINK_MSG_ID_MISSION_CLEAR_ALL,
        M.MAVLINK_MSG_ID_MISSION_SET_CURRENT,
    }
)
_PARAM_MSGS = frozenset(
    {M.MAVLINK_MSG_ID_PARAM_REQUEST_LIST, M.MAVLINK_MSG_ID_PARAM_REQUEST_READ, M.MAVLINK_MSG_ID_PARAM_SET}
)


def _int(value: float, unset: int = -1) -> int:
    """A command parameter as an integer; NaN ("unset", as MAVSDK sends unused params) is ``unset``."""
    return int(value) if math.isfinite(value) else unset


class VehicleEndpoint(asyncio.DatagramProtocol):
    def __init__(
        self,
        autopilot: AutopilotModel,
        *,
        gcs_addr: Addr,
        rates: dict[int, float],
        check_item: Callable[[SimItem], int],
        faults: LinkFaults,
        clock: Callable[[], float] = time.monotonic,
        slack: float = 0.0,
    ) -> None:
        self.autopilot = autopilot
        self.sysid = autopilot.sysid
        self.faults = faults
        self.gcs_addr = gcs_addr
        self.peer: Addr | None = None  # the last ground station heard from
        self.sent = 0  # MAVLink messages handed to the socket
        self.received = 0
        self._clock = clock
        self._slack = slack  # send what falls due within half a tick now, so rates don't alias
        self._now = clock()
        self._enc = Encoder(self.sysid, 1)
        self._parser = M.MAVLink(None, srcSystem=self.sysid, srcComponent=1)
        self._parser.robust_parsing = True
        self._sched = StreamScheduler(rates, now=self._now, phase=self.sysid * 0.0137)
        self._mission = MissionTransfer(autopilot, check_item)
        self._params = ParamTransfer(autopilot)
        self._out: list[bytes] = []
        self._transport: asyncio.DatagramTransport | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_home: tuple[float, float, float] | None = None
        self._last_mission: tuple[int, int, int] | None = None
        self._last_status: tuple[int, int, int] | None = None
        self._last_landed: int | None = None
        self._handlers: dict[int, Callable[[M.MAVLink_message, tuple[int, int]], None]] = {
            M.MAVLINK_MSG_ID_HEARTBEAT: self._on_heartbeat,
            M.MAVLINK_MSG_ID_COMMAND_LONG: self._on_command_long,
            M.MAVLINK_MSG_ID_COMMAND_INT: self._on_command_int,
            M.MAVLINK_MSG_ID_SET_MODE: self._on_set_mode,
            M.MAVLINK_MSG_ID_TIMESYNC: self._on_timesync,
            M.MAVLINK_MSG_ID_PING: self._on_ping,
        }

    # --- asyncio protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self._loop = asyncio.get_running_loop()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable while no ground station listens: normal, like PX4 we keep sending
        pass

    def datagram_received(self, data: bytes, addr: Addr) -> None:
        now = self._clock()
        up = self.faults.up
        if not up.passes(now):
            return
        if up.latency_s > 0.0 and self._loop is not None:
            self._loop.call_later(up.latency_s, self._receive, data, addr)
        else:
            self._receive(data, addr)

    # --- receive --------------------------------------------------------------------------------

    def _receive(self, data: bytes, addr: Addr) -> None:
        self._now = self._clock()
        self.peer = addr
        try:
            msgs = self._parser.parse_buffer(data) or []
        except M.MAVError as exc:
            log.debug("vehicle %d: undecodable datagram: %s", self.sysid, exc)
            return
        for msg in msgs:
            if msg.get_msgId() < 0:  # BAD_DATA from robust parsing
                continue
            self.received += 1
            try:
                self.handle(msg)
            except Exception:  # one bad message must not close the socket (asyncio would)
                log.exception("vehicle %d: failed to handle %s", self.sysid, msg.get_type())
        self.flush()

    def handle(self, msg: M.MAVLink_message) -> None:
        target = getattr(msg, "target_system", 0)
        if target not in (0, self.sysid):
            return
        partner = (msg.get_srcSystem(), msg.get_srcComponent())
        mid = msg.get_msgId()
        if mid in _MISSION_MSGS:
            for out in self._mission.handle(msg, self._now, partner):
                self.send_msg(out)
            if mid == M.MAVLINK_MSG_ID_MISSION_SET_CURRENT:
                self._sched.request(M.MAVLINK_MSG_ID_MISSION_CURRENT)
        elif mid in _PARAM_MSGS:
            for pv in self._params.handle(msg):
                self.send(self._enc.param_value(pv.name, pv.raw, pv.ptype, pv.count, pv.index))
        else:
            handler = self._handlers.get(mid)
            if handler is not None:
                handler(msg, partner)

    def _on_heartbeat(self, msg: M.MAVLink_message, partner: tuple[int, int]) -> None:
        if msg.type in GCS_TYPES or msg.autopilot == M.MAV_AUTOPILOT_INVALID:
            self.autopilot.gcs_heartbeat()

    def _on_set_mode(self, msg: M.MAVLink_message, partner: tuple[int, int]) -> None:
        result = self.autopilot.set_mode(msg.base_mode, msg.custom_mode)
        self._ack(M.MAV_CMD_DO_SET_MODE, result, partner)

    def _on_timesync(self, msg: M.MAVLink_message, partner: tuple[int, int]) -> None:
        if msg.tc1 == 0:
            self.send(self._enc.encode(M.MAVLINK_MSG_ID_TIMESYNC, time.monotonic_ns(), msg.ts1))

    def _on_ping(self, msg: M.MAVLink_message, partner: tuple[int, int]) -> None:
        if msg.target_system == 0 and msg.target_component == 0:
            self.send(self._enc.encode(M.MAVLINK_MSG_ID_PING, msg.time_usec, msg.seq, *partner))

    # --- commands -------------------------------------------------------------------------------

    def _on_command_long(self, msg: M.MAVLink_message, partner: tuple[int, int]) -> None:
        params = (msg.param1, msg.param2, msg.param3, msg.param4, msg.param5, msg.param6, msg.param7)
        self._command(msg.command, params, partner, is_int=False, frame=0)

    def _on_command_int(self, msg: M.MAVLink_message, partner: tuple[int, int]) -> None:
        params = (msg.param1, msg.param2, msg.param3, msg.param4, msg.x * 1e-7, msg.y * 1e-7, msg.z)
        self._command(msg.command, params, partner, is_int=True, frame=msg.frame)

    def _command(
        self, cmd: int, p: tuple[float, ...], partner: tuple[int, int], *, is_int: bool, frame: int
    ) -> None:
        after: Callable[[], bytes | None] | None = None
        if cmd == M.MAV_CMD_SET_MESSAGE_INTERVAL:
            ok = math.isfinite(p[1]) and self._sched.set_interval(_int(p[0]), p[1], now=self._now)
            result = M.MAV_RESULT_ACCEPTED if ok else M.MAV_RESULT_DENIED
        elif cmd == M.MAV_CMD_GET_MESSAGE_INTERVAL:
            result = M.MAV_RESULT_ACCEPTED
            interval = self._sched.interval_us(_int(p[0]))
            after = lambda: self._enc.encode(M.MAVLINK_MSG_ID_MESSAGE_INTERVAL, _int(p[0]), interval)  # noqa: E731
        elif cmd == M.MAV_CMD_REQUEST_MESSAGE:
            result, after = self._requested(_int(p[0]))
        elif cmd == M.MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES:
            result, after = M.MAV_RESULT_ACCEPTED, self._autopilot_version
        elif cmd == M.MAV_CMD_DO_SET_MODE:
            custom = (_int(p[1], 0) & 0xFF) << 16 | (_int(p[2], 0) & 0xFF) << 24
            result = self.autopilot.set_mode(_int(p[0], 0), custom)
        elif cmd == M.MAV_CMD_DO_SET_MISSION_CURRENT:
            ok = self.autopilot.set_current(_int(p[0]))
            result = M.MAV_RESULT_ACCEPTED if ok else M.MAV_RESULT_DENIED
            self._sched.request(M.MAVLINK_MSG_ID_MISSION_CURRENT)
        else:
            result = self._delegate(cmd, p, is_int=is_int, frame=frame)
        self._ack(cmd, result, partner)
        packet = after() if after is not None else None  # framed after the ACK: sequence numbers in order
        if packet is not None:
            self.send(packet)

    def _delegate(self, cmd: int, p: tuple[float, ...], *, is_int: bool, frame: int) -> int:
        try:
            return self.autopilot.command(cmd, p, is_int=is_int, frame=frame)
        except Exception:  # a bug in the model must not kill the link: PX4 would answer FAILED
            log.exception("vehicle %d: command %d %s failed", self.sysid, cmd, p)
            return M.MAV_RESULT_FAILED

    def _requested(self, msgid: int) -> tuple[int, Callable[[], bytes | None] | None]:
        if msgid == M.MAVLINK_MSG_ID_AUTOPILOT_VERSION:
            return M.MAV_RESULT_ACCEPTED, self._autopilot_version
        builder = BUILDERS.get(msgid)
        if builder is None:
            return M.MAV_RESULT_UNSUPPORTED, None
        return M.MAV_RESULT_ACCEPTED, lambda: builder(self._enc, self.autopilot.snapshot())

    def _ack(self, cmd: int, result: int, partner: tuple[int, int]) -> None:
        self.send(self._enc.encode(M.MAVLINK_MSG_ID_COMMAND_ACK, cmd, result, 0, 0, *partner))

    def _autopilot_version(self) -> bytes:
        uid = 0x5349_4D50_5834_0000 + self.sysid  # "SIMPX4" + sysid: unique per vehicle
        return self._enc.encode(
            M.MAVLINK_MSG_ID_AUTOPILOT_VERSION,
            CAPABILITIES,
            FLIGHT_SW_VERSION,
            FLIGHT_SW_VERSION,
            0,
            0,
            b"sim\0\0\0\0\0",
            bytes(8),
            bytes(8),
            0,
            0,
            uid,
            bytes(18),
        )

    # --- send -----------------------------------------------------------------------------------

    def send(self, packet: bytes) -> None:
        if self.faults.down.passes(self._now):
            self._out.append(packet)

    def send_msg(self, msg: M.MAVLink_message) -> None:
        self.send(self._enc.encode_msg(msg))

    def flush(self) -> None:
        out = self._out
        if not out or self._transport is None:
            out.clear()
            return
        self._out = []
        addr = self.peer or self.gcs_addr
        chunks: list[bytes] = []
        size = 0
        for packet in out:
            if size + len(packet) > MAX_DATAGRAM and chunks:
                self._sendto(b"".join(chunks), addr)
                chunks, size = [], 0
            chunks.append(packet)
            size += len(packet)
        self._sendto(b"".join(chunks), addr)
        self.sent += len(out)

    def _sendto(self, datagram: bytes, addr: Addr) -> None:
        latency = self.faults.down.latency_s
        if latency > 0.0 and self._loop is not None:
            self._loop.call_later(latency, self._sendto_now, datagram, addr)
        else:
            self._sendto_now(datagram, addr)

    def _sendto_now(self, datagram: bytes, addr: Addr) -> None:
        if self._transport is not None:
            self._transport.sendto(datagram, addr)

    # --- periodic -------------------------------------------------------------------------------

    def tick(self, now: float) -> None:
        """Emit the streams due at wall time ``now``, autopilot events and mission retries."""
        self._now = now
        due = self._sched.due(now + self._slack)
        enc = self._enc
        if due:
            snap = self.autopilot.snapshot()
            for msgid in due:
                packet = BUILDERS[msgid](enc, snap)
                if packet is not None:
                    self.send(packet)
            self._on_change(snap)
        for event in self.autopilot.drain_events():
            if event.kind == "statustext":
                self.send(
                    enc.encode(M.MAVLINK_MSG_ID_STATUSTEXT, event.severity, event.text.encode()[:50], 0, 0)
                )
            elif event.kind == "item_reached":
                self.send(enc.encode(M.MAVLINK_MSG_ID_MISSION_ITEM_REACHED, event.seq))
        for msg in self._mission.tick(now):
            self.send_msg(msg)
        self.flush()

    def _on_change(self, snap: Snapshot) -> None:
        """HOME_POSITION and MISSION_CURRENT go out at once when they change, as PX4 does. So do
        HEARTBEAT (arming, mode, state) and EXTENDED_SYS_STATE (landed state), which PX4 does not:
        our heartbeat stays 1 Hz of wall clock at any speed factor, and a client waiting a wall
        second to see "armed" at 10x would let the 10 s pre-flight auto-disarm expire."""
        status = (snap.base_mode, snap.custom_mode, snap.system_status)
        if status != self._last_status:
            self._last_status = status
            self.send(BUILDERS[M.MAVLINK_MSG_ID_HEARTBEAT](self._enc, snap))
        if snap.landed_state != self._last_landed:
            self._last_landed = snap.landed_state
            self.send(BUILDERS[M.MAVLINK_MSG_ID_EXTENDED_SYS_STATE](self._enc, snap))
        if snap.home != self._last_home:
            self._last_home = snap.home
            packet = BUILDERS[M.MAVLINK_MSG_ID_HOME_POSITION](self._enc, snap)
            if packet is not None:
                self.send(packet)
        mission = (snap.mission_seq, snap.mission_total, snap.mission_state)
        if mission != self._last_mission:
            self._last_mission = mission
            self.send(BUILDERS[M.MAVLINK_MSG_ID_MISSION_CURRENT](self._enc, snap))
