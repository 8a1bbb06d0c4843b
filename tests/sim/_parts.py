"""The autopilot the simulator tests run against: the real ``sim.autopilot.Autopilot``."""

from __future__ import annotations

from typing import Any

from sim.autopilot import Autopilot

HOME = (19.3650, -99.2150, 2300.0)


def autopilot_factory() -> type[Autopilot]:
    return Autopilot


def new_autopilot(sysid: int = 1) -> Any:
    return Autopilot(sysid=sysid, home=HOME, seed=7, params=None)
