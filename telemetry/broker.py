"""An embedded MQTT broker (amqtt) for the demo when no ``PATROL_MQTT__URL`` is set.

Loopback only, anonymous, in memory, MQTT 3.1.1; good enough for one laptop, not for production — point
the service at a real Mosquitto there. amqtt is noisy at INFO and loads ``$SYS`` and entry-point plugins
with deprecation warnings by default, so we configure its plugins explicitly (no warnings are emitted) and
raise its loggers to WARNING.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from types import TracebackType
from typing import Self

from amqtt.broker import Broker

from mission.errors import BusError, ConfigError

_NOISY_LOGGERS = ("amqtt", "transitions")


class EmbeddedBroker:
    """``async with EmbeddedBroker(port=18900) as broker: ... broker.url`` → ``mqtt://127.0.0.1:18900``."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 1883, start_timeout_s: float = 5.0) -> None:
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise ConfigError(f"the embedded broker listens on loopback only, not {host!r}")
        self.host, self.port = host, port
        self._timeout_s = start_timeout_s
        self._broker: Broker | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    async def __aenter__(self) -> Self:
        for name in _NOISY_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            # Explicit plugins: no $SYS plugin (psutil deprecation), no entry-point loading (deprecated).
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
        broker = Broker(config)
        try:
            async with asyncio.timeout(self._timeout_s):
                await broker.start()
        except Exception as exc:  # amqtt raises BrokerError, OSError (port in use) or times out
            raise BusError(f"embedded MQTT broker could not start on {self.host}:{self.port}: {exc}") from exc
        self._broker = broker
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        broker, self._broker = self._broker, None
        if broker is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._timeout_s):
                    await broker.shutdown()
