"""Hand values from MAVSDK's callback thread to the event loop: one loop wake-up per batch.

mavsdk 4.x's asyncio wrappers call ``loop.call_soon_threadsafe`` for every value of every stream: a
write on the loop's self-pipe each (which drops and re-takes the GIL), a task wake-up each. At ~50
values/s per vehicle and 50 vehicles the one callback thread spends its time waiting for the GIL,
falls behind, and MAVSDK starts "Dropping subscription callbacks". Here a callback only takes a lock
and stores its value; the first value after a drain schedules the one drain, which runs every handler
on the loop::

    MAVSDK thread:  put_latest(key, handler, value)  -> dict, newest per key (older ones are stale)
                    put_event(handler, value)         -> bounded deque, in order (status texts, progress)
    event loop:     drain(): handlers of the latest values, then of the events, then each ``flush``

Handlers run on the loop, one at a time, so the state they update needs no lock. A handler that raises
is logged and the others still run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable, Hashable
from typing import Any

__all__ = ["Inbox"]

log = logging.getLogger(__name__)

Handler = Callable[[Any], None]


class Inbox:
    """Latest-wins values and in-order events from another thread, delivered on ``loop`` in batches.

    Every value names its ``owner``; ``owner.flush()`` runs once per batch for every owner that got a
    value, after all handlers: where a vehicle link assembles one sample from the whole batch.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, *, max_events: int = 4096) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._latest: dict[Hashable, tuple[Any, Handler, Any]] = {}
        self._events: deque[tuple[Any, Handler, Any]] = deque()
        self._max_events = max_events
        self._scheduled = False
        self.dropped = 0  # events lost because the loop did not drain in time (oldest first)
        self.batches = 0
        self.values = 0

    # --- any thread ------------------------------------------------------------------------------
    def put_latest(self, key: Hashable, owner: Any, handler: Handler, value: Any) -> None:
        """Store ``value`` for ``key``, replacing one not yet handled."""
        with self._lock:
            self._latest[key] = (owner, handler, value)
            if self._scheduled:
                return
            self._scheduled = True
        self._wake()

    def put_event(self, owner: Any, handler: Handler, value: Any) -> None:
        """Queue ``value``; the oldest queued event is dropped if ``max_events`` are waiting."""
        with self._lock:
            if len(self._events) >= self._max_events:
                self._events.popleft()
                self.dropped += 1
            self._events.append((owner, handler, value))
            if self._scheduled:
                return
            self._scheduled = True
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is left to tell
            self._loop.call_soon_threadsafe(self.drain)

    # --- the loop ----------------------------------------------------------------------------------
    def drain(self) -> None:
        with self._lock:
            latest, self._latest = self._latest, {}
            events, self._events = self._events, deque()
            self._scheduled = False
        self.batches += 1
        self.values += len(latest) + len(events)
        owners: dict[int, Any] = {}
        for owner, handler, value in (*latest.values(), *events):
            owners[id(owner)] = owner
            try:
                handler(value)
            except Exception:
                log.exception("handler %r failed on %r", handler, value)
        for owner in owners.values():
            try:
                owner.flush()
            except Exception:
                log.exception("flush of %r failed", owner)
