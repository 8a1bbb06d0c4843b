"""Helpers for the pure simulator-core tests: fly an ``Autopilot`` in simulation time."""

from __future__ import annotations

import math
from collections.abc import Callable

from sim.autopilot import Autopilot
from sim.interface import Event, SimItem

HOME = (19.3650, -99.2150, 2300.0)
DT = 0.02  # 50 Hz, as the endpoint steps it
NAN = math.nan
ARM = 400
TAKEOFF = 22


class Flight:
    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("seed", 1)
        kwargs.setdefault("home", HOME)
        self.ap = Autopilot(**kwargs)  # type: ignore[arg-type]
        self.events: list[tuple[float, Event]] = []
        self.gcs = False  # send a ground-station HEARTBEAT every second while True

    def run(self, seconds: float, until: Callable[[Autopilot], bool] | None = None) -> bool:
        """Step for ``seconds``; stop early (returning True) once ``until`` holds."""
        for _ in range(round(seconds / DT)):
            if self.gcs and (self.ap.fs.last_gcs is None or self.ap.t - self.ap.fs.last_gcs >= 1.0 - 1e-9):
                self.ap.gcs_heartbeat()
            self.ap.step(DT)
            self.events.extend((self.ap.t, e) for e in self.ap.drain_events())
            if until is not None and until(self.ap):
                return True
        return until is None

    def texts(self) -> list[str]:
        self.events.extend((self.ap.t, e) for e in self.ap.drain_events())  # from commands
        return [e.text for _t, e in self.events if e.kind == "statustext"]

    def time_of(self, text: str) -> float:
        return next(t for t, e in self.events if e.kind == "statustext" and text in e.text)

    def reached(self) -> list[int]:
        return [e.seq for _t, e in self.events if e.kind == "item_reached"]

    def arm(self) -> int:
        return self.ap.command(ARM, (1, 0, 0, 0, 0, 0, 0))

    def takeoff_to(self, rel_alt: float) -> None:
        assert self.arm() == 0
        assert self.ap.command(TAKEOFF, (0, 0, 0, NAN, NAN, NAN, HOME[2] + rel_alt)) == 0
        assert self.run(60, until=lambda ap: ap.mode.sub == 3 and abs(ap.snapshot().alt_rel - rel_alt) < 0.3)

    def item(
        self, seq: int, n: float, e: float, alt: float, command: int = 16, frame: int = 6, **kw: float
    ) -> SimItem:
        lat, lon = self.ap.frame.to_latlon(n, e)
        return SimItem(seq=seq, frame=frame, command=command, lat=lat, lon=lon, alt=alt, **kw)

    def dist_from_home(self) -> float:
        hn, he, _hd = self.ap.home_ned()
        s = self.ap.state
        return math.hypot(s.n - hn, s.e - he)
