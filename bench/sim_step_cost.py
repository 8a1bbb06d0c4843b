"""Cost of ``Autopilot.step`` (and of ``snapshot``) for one vehicle, in µs of CPU.

Run: .venv/bin/python -m bench.sim_step_cost  (as a module: bench/sim.py would shadow the package)
Budget: 50 vehicles × 50 Hz in well under 0.3 of a core → < ~100 µs per step.
"""

from __future__ import annotations

import math
import time

from sim.autopilot import Autopilot
from sim.interface import SimItem
from sim.physics import Env

DT = 0.02


def mission_vehicle(env: Env) -> Autopilot:
    ap = Autopilot(home=(19.365, -99.215, 2300.0), seed=3, quirk_mission_revoke=False, env=env)
    ap.step(DT)
    items = [SimItem(seq=0, frame=6, command=22, alt=30.0)]
    for i in range(1, 40):
        lat, lon = ap.frame.to_latlon(200.0 * math.cos(i), 200.0 * math.sin(i))
        items.append(SimItem(seq=i, frame=6, command=16, lat=lat, lon=lon, alt=30.0))
    ap.replace_mission(0, items)
    ap.command(400, (1, 0, 0, 0, 0, 0, 0))
    ap.set_mode(1, 0x04040000)
    return ap


def measure(label: str, ap: Autopilot, steps: int) -> None:
    t0 = time.process_time()
    for _ in range(steps):
        ap.step(DT)
        ap.drain_events()
    step_us = (time.process_time() - t0) / steps * 1e6
    t0 = time.process_time()
    for _ in range(steps // 10):
        ap.snapshot()
    snap_us = (time.process_time() - t0) / (steps // 10) * 1e6
    share = step_us * 50 * 50 / 1e6
    print(
        f"{label:32s} step {step_us:6.1f} µs  snapshot {snap_us:6.1f} µs  → 50 vehicles @50 Hz: {share:.2f} core"
    )


if __name__ == "__main__":
    idle = Autopilot(home=(19.365, -99.215, 2300.0), seed=1)
    measure("idle on the ground", idle, 20000)
    measure("mission, calm", mission_vehicle(Env()), 20000)
    measure("mission, wind + gusts", mission_vehicle(Env(wind_n=5, wind_e=2, gust_sigma=2.0)), 20000)
