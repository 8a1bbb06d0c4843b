"""``MqttBus``: the :class:`mission.ports.Bus` over MQTT — the only module that imports ``aiomqtt``.

Delivery, by QoS (see docs/mqtt.md)::

    publish(qos=0)   latest-wins per topic while connected; dropped (and counted) while disconnected
    publish(qos>=1)  appended to a bounded OUTBOX, sent one at a time and removed only after the broker's
                     PUBACK, so it survives disconnections and broker restarts and goes out IN ORDER after
                     reconnect; a message cut off in flight is sent again (MQTT QoS 1: at least once).
                     A RETAINED message replaces a waiting one of the same topic in place (latest wins),
                     and the last one sent per topic is re-published on every new connection

``publish`` never waits for the network: one send task per connection drains the outbox and then the
latest QoS 0 messages. A named supervisor task connects, re-subscribes, runs the connection's receive and
send tasks, and on any ``MqttError`` or timeout sleeps ``backoff + jitter`` and connects again (aiomqtt's
docs/reconnection.md: reconnection lives outside the client). Every external await goes through
:meth:`MqttBus._call`, which raises :class:`mission.errors.BusError` on timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import uuid
from collections import deque
from collections.abc import Awaitable
from dataclasses import dataclass
from types import TracebackType
from typing import Self, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

import aiomqtt

from mission.errors import BusError, ConfigError

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class MqttUrl:
    """``mqtt://[user[:pass]@]host[:port][?client_id=ID]``."""

    host: str
    port: int = 1883
    username: str | None = None
    password: str | None = None
    client_id: str | None = None

    @classmethod
    def parse(cls, url: str) -> MqttUrl:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
            raise ConfigError(f"MQTT URL must look like mqtt://host:port, got {url!r}")
        try:
            port = parts.port or 1883
        except ValueError as exc:
            raise ConfigError(f"bad port in MQTT URL {url!r}") from exc
        ids = parse_qs(parts.query).get("client_id")
        return cls(
            host=parts.hostname,
            port=port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            client_id=ids[0] if ids else None,
        )


@dataclass(frozen=True, kw_only=True)
class Backoff:
    """Exponential backoff with proportional jitter, so a fleet of clients doesn't reconnect in step."""

    initial_s: float = 0.5
    max_s: float = 30.0
    factor: float = 2.0
    jitter: float = 0.25  # fraction of the delay added at random

    def delay(self, attempt: int, rand: float) -> float:
        """Seconds to wait before connection attempt ``attempt`` + 1 (``rand`` in [0, 1))."""
        base = min(self.max_s, self.initial_s * self.factor ** min(attempt, 64))
        return base * (1.0 + self.jitter * rand)


@dataclass(frozen=True, kw_only=True)
class LastWill:
    """What the broker publishes for us if our connection dies without a DISCONNECT."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


@dataclass(frozen=True, kw_only=True)
class BusStats:
    connected: bool
    connects: int  # successful connections, the first included
    outbox: int  # QoS >= 1 messages not yet acknowledged by the broker
    sent: int  # messages handed to the broker (QoS 0 written, QoS >= 1 acknowledged)
    dropped_qos0: int  # QoS 0 messages dropped because we were disconnected


@dataclass(frozen=True, kw_only=True)
class _Out:
    topic: str
    payload: bytes
    qos: int
    retain: bool


@dataclass(kw_only=True, eq=False)
class _Slot:
    """A place in the outbox; a retained topic's newer message replaces the content while it waits."""

    out: _Out


@dataclass(kw_only=True)
class _Counters:
    connects: int = 0
    sent: int = 0
    dropped_qos0: int = 0


_END = object()  # tells a subscription's iterator that the bus closed


class Subscription:
    """Messages matching one topic filter: ``async with bus.subscribe(f) as sub: async for topic, payload in sub``.

    The queue is bounded; when the consumer is slow the oldest message is dropped and counted in ``dropped``.
    """

    def __init__(self, bus: MqttBus, topic_filter: str, maxsize: int) -> None:
        self.topic_filter = topic_filter
        self.dropped = 0
        self._bus = bus
        self._wildcard = aiomqtt.Wildcard(topic_filter)
        self._queue: asyncio.Queue[tuple[str, bytes] | object] = asyncio.Queue(maxsize)
        self._active = False

    async def __aenter__(self) -> Self:
        if not self._active:
            self._active = True
            await self._bus._add_subscription(self)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._active:
            self._active = False
            await self._bus._remove_subscription(self)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> tuple[str, bytes]:
        await self.__aenter__()  # a bare ``async for`` subscribes on first use
        item = await self._queue.get()
        if item is _END:
            self._queue.put_nowait(_END)  # stays ended
            raise StopAsyncIteration
        return item  # type: ignore[return-value]

    def _matches(self, topic: aiomqtt.Topic) -> bool:
        return topic.matches(self._wildcard)

    def _deliver(self, item: tuple[str, bytes] | object) -> None:
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(item)


class MqttBus:
    """The MQTT bus: ``async with MqttBus("mqtt://127.0.0.1:1883", will=...) as bus``."""

    def __init__(
        self,
        url: str,
        *,
        client_id: str | None = None,
        will: LastWill | None = None,
        outbox_size: int = 10_000,
        subscription_queue: int = 1_000,
        timeout_s: float = 5.0,
        drain_timeout_s: float = 2.0,
        keepalive_s: int = 10,
        backoff: Backoff = Backoff(),
    ) -> None:
        self.url = MqttUrl.parse(url)
        self.client_id = client_id or self.url.client_id or f"patrol-{uuid.uuid4().hex[:10]}"
        self._will = will
        self._outbox_size = outbox_size
        self._sub_queue = subscription_queue
        self._timeout_s = timeout_s
        self._drain_timeout_s = drain_timeout_s
        self._keepalive_s = keepalive_s
        self._backoff = backoff
        self._outbox: deque[_Slot] = deque()
        self._retained: dict[str, _Slot] = {}  # retained topic -> its waiting slot in the outbox
        # retained topic -> the last one acknowledged, re-published on every new connection
        self._retained_sent: dict[str, _Out] = {}
        self._latest0: dict[str, _Out] = {}
        self._work = asyncio.Event()
        self._outbox_empty = asyncio.Event()
        self._outbox_empty.set()
        self._connected = asyncio.Event()
        self._client: aiomqtt.Client | None = None
        self._subs: list[Subscription] = []
        self._count = _Counters()
        self._supervisor: asyncio.Task[None] | None = None
        self._closed = False

    # --- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        self._supervisor = asyncio.create_task(self._supervise(), name=f"mqtt[{self.client_id}].supervisor")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._connected.is_set() and self._outbox:
            try:
                await self.flush(self._drain_timeout_s)
            except BusError:
                log.warning(
                    "mqtt %s: closing with %d unsent QoS>=1 messages", self.client_id, len(self._outbox)
                )
        self._closed = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        for sub in self._subs:
            sub._deliver(_END)
        self._subs.clear()

    # --- the Bus port --------------------------------------------------------------------------

    async def publish(self, topic: str, payload: bytes, *, qos: int = 0, retain: bool = False) -> None:
        """Queue a message (never waits for the network); :class:`BusError` if the outbox is full or closed."""
        if self._closed:
            raise BusError("publish on a closed bus")
        if qos not in (0, 1, 2) or not topic or "+" in topic or "#" in topic:
            raise BusError(f"cannot publish to {topic!r} with QoS {qos}")
        out = _Out(topic=topic, payload=bytes(payload), qos=qos, retain=retain)
        if qos == 0:
            if not self._connected.is_set():
                self._count.dropped_qos0 += 1
                return
            self._latest0.pop(topic, None)  # re-insert: latest wins, and goes to the back of the line
            self._latest0[topic] = out
        elif (slot := self._retained.get(topic) if retain else None) and slot is not self._outbox[0]:
            # Only the newest retained value matters (a drone's state): replace it where it waits, so a long
            # outage cannot fill the outbox with stale states. The head may be in flight: never touch it.
            slot.out = out
        else:
            if len(self._outbox) >= self._outbox_size:
                raise BusError(f"MQTT outbox full ({self._outbox_size} unacknowledged messages)")
            slot = _Slot(out=out)
            self._outbox.append(slot)
            if retain:
                self._retained[topic] = slot
            self._outbox_empty.clear()
        self._work.set()

    def subscribe(self, topic_filter: str, *, queue_size: int | None = None) -> Subscription:
        """A bounded subscription; it survives reconnections (re-subscribed on every new connection)."""
        try:
            return Subscription(self, topic_filter, queue_size or self._sub_queue)
        except ValueError as exc:
            raise BusError(f"invalid topic filter {topic_filter!r}") from exc

    # --- extras ----------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def stats(self) -> BusStats:
        c = self._count
        return BusStats(
            connected=self.connected,
            connects=c.connects,
            outbox=len(self._outbox),
            sent=c.sent,
            dropped_qos0=c.dropped_qos0,
        )

    async def wait_connected(self, timeout_s: float) -> None:
        await self._call(self._connected.wait(), "wait for a connection", timeout_s)

    async def flush(self, timeout_s: float) -> None:
        """Until every QoS >= 1 message published so far has been acknowledged by the broker."""
        await self._call(self._outbox_empty.wait(), "flush the outbox", timeout_s)

    # --- internals -------------------------------------------------------------------------------

    async def _call(self, aw: Awaitable[T], what: str, timeout_s: float | None = None) -> T:
        """The one place we wait on anything external: a deadline, and our own error."""
        timeout_s = self._timeout_s if timeout_s is None else timeout_s
        try:
            async with asyncio.timeout(timeout_s):
                return await aw
        except TimeoutError as exc:
            raise BusError(
                f"mqtt {self.url.host}:{self.url.port}: {what}: no answer in {timeout_s:g} s"
            ) from exc

    def _new_client(self) -> aiomqtt.Client:
        will = self._will
        return aiomqtt.Client(
            self.url.host,
            self.url.port,
            username=self.url.username,
            password=self.url.password,
            identifier=self.client_id,
            clean_session=True,  # our own outbox and re-subscription carry state across connections
            will=aiomqtt.Will(will.topic, will.payload, will.qos, will.retain) if will else None,
            keepalive=self._keepalive_s,
            timeout=self._timeout_s,
            max_queued_incoming_messages=10_000,
        )

    async def _supervise(self) -> None:
        attempt = 0
        while True:
            try:
                async with contextlib.AsyncExitStack() as stack:
                    # paho bounds the TCP connect (5 s) and aiomqtt the CONNACK (timeout_s); this outer
                    # deadline only catches what slips past both.
                    connect = stack.enter_async_context(self._new_client())
                    client = await self._call(connect, "connect", 2 * self._timeout_s + 5)
                    attempt = 0
                    await self._run_connection(client)
            except* (aiomqtt.MqttError, BusError) as group:
                first = group.exceptions[0]
                level = logging.WARNING if self._count.connects or attempt == 0 else logging.DEBUG
                log.log(level, "mqtt %s: %s; reconnecting", self.client_id, first)
            except* Exception:  # a bug must not end the supervisor: log it loudly and reconnect
                log.exception("mqtt %s: unexpected error; reconnecting", self.client_id)
            finally:
                self._client = None
                self._connected.clear()
                self._count.dropped_qos0 += len(self._latest0)  # stale by the time we are back
                self._latest0.clear()
            delay = self._backoff.delay(attempt, random.random())
            attempt += 1
            await asyncio.sleep(delay)

    async def _run_connection(self, client: aiomqtt.Client) -> None:
        self._client = client  # set first: a subscription added meanwhile subscribes itself
        for topic_filter in {s.topic_filter for s in self._subs}:
            await self._call(
                client.subscribe(topic_filter, qos=1, timeout=math.inf), f"subscribe {topic_filter}"
            )
        self._count.connects += 1
        self._connected.set()
        log.info("mqtt %s: connected to %s:%d", self.client_id, self.url.host, self.url.port)
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._receive(client), name=f"mqtt[{self.client_id}].receive")
            tg.create_task(self._send(client), name=f"mqtt[{self.client_id}].send")

    async def _receive(self, client: aiomqtt.Client) -> None:
        # Ends with MqttError when the connection drops: that is how the supervisor learns of it.
        async for message in client.messages:
            payload = message.payload if isinstance(message.payload, bytes) else str(message.payload).encode()
            for sub in self._subs:
                if sub._matches(message.topic):
                    sub._deliver((message.topic.value, payload))

    async def _send(self, client: aiomqtt.Client) -> None:
        await self._restore_retained(client)
        while True:
            if self._outbox:
                head = self._outbox[0]  # removed only once acknowledged: a cut-off send is retried
                await self._publish(client, head.out)
                self._outbox.popleft()
                if self._retained.get(head.out.topic) is head:
                    del self._retained[head.out.topic]
                if not self._outbox:
                    self._outbox_empty.set()
            elif self._latest0:
                out = self._latest0.pop(next(iter(self._latest0)))
                await self._publish(client, out)
            else:
                self._work.clear()
                await self._work.wait()

    async def _restore_retained(self, client: aiomqtt.Client) -> None:
        """Re-publish our retained messages on a new connection: a broker restarted without persistence has
        forgotten them, and after a network cut it has replaced a drone's state with our offline will."""
        for topic, out in list(self._retained_sent.items()):
            if topic not in self._retained:  # a newer value waits in the outbox and will follow
                await self._publish(client, out)

    async def _publish(self, client: aiomqtt.Client, out: _Out) -> None:
        await self._call(
            client.publish(out.topic, out.payload, qos=out.qos, retain=out.retain, timeout=math.inf),
            f"publish {out.topic}",
        )
        self._count.sent += 1
        if out.retain:
            self._retained_sent.pop(out.topic, None)
            if out.payload:  # an empty retained payload clears the topic
                self._retained_sent[out.topic] = out
                if len(self._retained_sent) > self._outbox_size:  # bounded: forget the oldest
                    del self._retained_sent[next(iter(self._retained_sent))]

    async def _add_subscription(self, sub: Subscription) -> None:
        if self._closed:
            raise BusError("subscribe on a closed bus")
        first = all(s.topic_filter != sub.topic_filter for s in self._subs)
        self._subs.append(sub)
        client = self._client
        if first and client is not None:
            try:
                await self._call(client.subscribe(sub.topic_filter, qos=1, timeout=math.inf), "subscribe")
            except aiomqtt.MqttError as exc:  # the connection dropped: the next one re-subscribes
                log.debug("mqtt %s: subscribe %s deferred: %s", self.client_id, sub.topic_filter, exc)

    async def _remove_subscription(self, sub: Subscription) -> None:
        with contextlib.suppress(ValueError):
            self._subs.remove(sub)
        client = self._client
        if client is not None and all(s.topic_filter != sub.topic_filter for s in self._subs):
            with contextlib.suppress(aiomqtt.MqttError, BusError):
                await self._call(client.unsubscribe(sub.topic_filter, timeout=math.inf), "unsubscribe")
