"""Link faults for one vehicle, each direction apart: outage for T s, random loss, added latency.

``LinkFaults.up`` is ground station → vehicle, ``.down`` vehicle → ground station. The endpoint asks
``passes(now)`` for every message it sends (loss is per MAVLink message on the way down, since we
pack several in one datagram) and for every datagram it receives, and delays delivery by
``latency_s``. The random generator is seeded, so a run with the same seed drops the same packets.
"""

from __future__ import annotations

import random
from collections.abc import Callable


class Direction:
    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self.down_until = 0.0
        self.loss = 0.0
        self.latency_s = 0.0
        self.dropped = 0
        self.passed = 0

    def passes(self, now: float) -> bool:
        if now < self.down_until or (self.loss > 0.0 and self._rng.random() < self.loss):
            self.dropped += 1
            return False
        self.passed += 1
        return True

    def is_down(self, now: float) -> bool:
        return now < self.down_until


def _fraction(value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"loss must be within 0..1, got {value}")
    return value


class LinkFaults:
    """The knobs ``Simulator.faults(i)`` hands out; ``clock`` is the loop's monotonic clock."""

    def __init__(self, *, seed: int, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.up = Direction(random.Random(seed * 2 + 1))
        self.down = Direction(random.Random(seed * 2 + 2))

    def _dirs(self, direction: str) -> tuple[Direction, ...]:
        return {"both": (self.up, self.down), "up": (self.up,), "down": (self.down,)}[direction]

    def drop_link(self, seconds: float, direction: str = "both") -> None:
        """Lose every packet for ``seconds`` from now (0 restores the link at once)."""
        until = self._clock() + max(0.0, seconds)
        for d in self._dirs(direction):
            d.down_until = until

    def set_loss(self, fraction: float, direction: str = "both") -> None:
        for d in self._dirs(direction):
            d.loss = _fraction(fraction)

    def set_latency(self, ms: float, direction: str = "both") -> None:
        if ms < 0:
            raise ValueError(f"latency must be >= 0 ms, got {ms}")
        for d in self._dirs(direction):
            d.latency_s = ms / 1000.0

    def describe(self) -> str:
        now = self._clock()
        parts = []
        if self.up.is_down(now) or self.down.is_down(now):
            parts.append(f"link down {max(self.up.down_until, self.down.down_until) - now:.0f}s")
        if self.up.loss or self.down.loss:
            parts.append(f"loss {self.up.loss:.0%}/{self.down.loss:.0%}")
        if self.up.latency_s or self.down.latency_s:
            parts.append(f"latency {self.up.latency_s * 1000:.0f}/{self.down.latency_s * 1000:.0f}ms")
        return ", ".join(parts)
