"""A pymavlink ground station over loopback UDP for the simulator tests (no mavutil)."""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable
from typing import Any

from pymavlink.dialects.v20 import common as mavlink

M = mavlink


class _Shim:
    """File-like object pymavlink writes encoded messages to."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.addr: tuple[str, int] = ("127.0.0.1", 0)

    def write(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.sendto(bytes(data), self.addr)


class Gcs(asyncio.DatagramProtocol):
    def __init__(self, *, port: int, vehicle_port: int, sysid: int = 255, compid: int = 190) -> None:
        self.port = port
        self._shim = _Shim()
        self._shim.addr = ("127.0.0.1", vehicle_port)
        self.mav = M.MAVLink(self._shim, srcSystem=sysid, srcComponent=compid)
        self._parser = M.MAVLink(None)
        self._parser.robust_parsing = True
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self.counts: collections.Counter[str] = collections.Counter()
        self.datagrams = 0
        self.first_seen: dict[str, float] = {}
        self.sources: set[tuple[int, int]] = set()
        self.capture = True

    async def __aenter__(self) -> Gcs:
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(
            lambda: self, local_addr=("127.0.0.1", self.port)
        )
        self._shim.transport = self._transport
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._transport.close()
        await asyncio.sleep(0)  # the socket closes on the next loop pass: free the port now

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.datagrams += 1
        for msg in self._parser.parse_buffer(data) or []:
            name = msg.get_type()
            self.counts[name] += 1
            self.first_seen.setdefault(name, time.monotonic())
            self.sources.add((msg.get_srcSystem(), msg.get_srcComponent()))
            msg.rx_time = time.monotonic()
            if self.capture:
                self._queue.put_nowait(msg)

    def send(self, msg: M.MAVLink_message) -> None:
        self.mav.send(msg)

    def heartbeat(self) -> None:
        self.send(self.mav.heartbeat_encode(M.MAV_TYPE_GCS, M.MAV_AUTOPILOT_INVALID, 0, 0, 0))

    def drain(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()

    async def recv(
        self, name: str, *, within: float = 2.0, where: Callable[[Any], bool] | None = None
    ) -> Any:
        """The next message of type ``name`` (matching ``where``); other messages are discarded."""
        deadline = time.monotonic() + within
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {name} within {within} s")
            msg = await asyncio.wait_for(self._queue.get(), left)
            if msg.get_type() == name and (where is None or where(msg)):
                return msg

    async def collect(self, names: set[str], seconds: float) -> list[Any]:
        """Every message of the given types received during the next ``seconds``."""
        out: list[Any] = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = await asyncio.wait_for(self._queue.get(), left)
            except TimeoutError:
                break
            if msg.get_type() in names:
                out.append(msg)
        return out

    async def command(self, command: int, *params: float, within: float = 2.0, target: int = 1) -> int:
        p = list(params) + [0.0] * (7 - len(params))
        self.send(self.mav.command_long_encode(target, 1, command, 0, *p))
        ack = await self.recv("COMMAND_ACK", within=within, where=lambda m: m.command == command)
        return ack.result
