"""Fan one stream of values out to many consumers, each through its own bounded queue.

A slow consumer loses its oldest values rather than making the producer (or memory) wait:
telemetry is only worth its latest state. Subscriptions are registered the moment
``subscribe()`` is called, so nothing published after that is missed, and are held weakly, so a
consumer that simply stops iterating and drops its iterator is forgotten without a leak.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from typing import Generic, TypeVar

T = TypeVar("T")

_CLOSED = object()  # sentinel put in a queue when the fan-out ends


class Subscription(AsyncIterator[T], Generic[T]):
    """One consumer's view of a ``Fanout``: an async iterator over a bounded, drop-oldest queue."""

    def __init__(self, owner: Fanout[T], maxsize: int) -> None:
        self._owner = owner
        self._queue: asyncio.Queue[object] = asyncio.Queue(maxsize=maxsize)
        self.dropped = 0  # values lost because this consumer was slow
        self._closed = False

    def _put(self, item: object) -> None:
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(item)

    def __aiter__(self) -> Subscription[T]:
        return self

    def _close(self) -> None:
        # Values already queued are still delivered; the marker only wakes a consumer waiting on empty.
        self._closed = True
        if self._queue.empty():
            self._queue.put_nowait(_CLOSED)

    async def __anext__(self) -> T:
        if self._closed and self._queue.empty():
            raise StopAsyncIteration
        item = await self._queue.get()
        if item is _CLOSED:
            raise StopAsyncIteration
        return item  # type: ignore[return-value]

    async def aclose(self) -> None:
        self._owner._subscribers.discard(self)
        self._close()


class Fanout(Generic[T]):
    """Publish values to every current ``Subscription``; never blocks the publisher."""

    def __init__(self, maxsize: int = 64) -> None:
        self._maxsize = maxsize
        self._subscribers: weakref.WeakSet[Subscription[T]] = weakref.WeakSet()
        self._closed = False

    def subscribe(self) -> Subscription[T]:
        sub: Subscription[T] = Subscription(self, self._maxsize)
        if self._closed:
            sub._close()
        else:
            self._subscribers.add(sub)
        return sub

    def publish(self, item: T) -> None:
        for sub in list(self._subscribers):
            sub._put(item)

    def close(self) -> None:
        """End every subscription (their iteration stops after the values already queued)."""
        self._closed = True
        for sub in list(self._subscribers):
            sub._close()
        self._subscribers.clear()
