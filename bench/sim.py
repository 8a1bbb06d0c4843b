"""Simulator benchmark: real-time factor and CPU per vehicle for 1, 10 and 50 vehicles, and the fastest
speed factor one vehicle sustains. Prints a table and one JSON document.

    python -m bench.sim [--seconds 5] [--port-base 15500]

A separate "sink" process binds every ground-station port and counts what arrives, so the figures
are the simulator's own cost including the UDP sends, not the receiver's. CPU is this process's
user+system time over wall time (1.0 = one full core). Vehicles are armed and climbing to or hovering at 10 m
during the measurement (a flying vehicle costs a little more than a parked one); ``airborne`` counts them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time

from sim.runner import SimConfig, Simulator

SINK = r"""
import selectors, socket, sys, time
base, n, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
sel = selectors.DefaultSelector()
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", base + i)); s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
print("ready", flush=True)
count = 0; nbytes = 0; end = time.monotonic() + seconds
while time.monotonic() < end:
    for key, _ in sel.select(0.2):
        try:
            while True:
                data = key.fileobj.recv(65536); nbytes += len(data); count += data.count(b"\xfd")
        except BlockingIOError:
            pass
print(count, nbytes, flush=True)
"""


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


async def _fly_all(sim: Simulator) -> None:
    """Arm and take off every vehicle through its autopilot (no ground station needed)."""
    for v in sim.vehicles:
        v.autopilot.command(400, (1.0, 0, 0, 0, 0, 0, 0))
        v.autopilot.command(22, (0, 0, 0, 0, float("nan"), float("nan"), v.home[2] + 10.0))


async def measure(
    *, vehicles: int, speed: float, seconds: float, port_base: int, rates: str = "auto"
) -> dict:
    sink = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SINK, str(port_base), str(vehicles), str(seconds + 2.0),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert sink.stdout is not None
        await asyncio.wait_for(sink.stdout.readline(), 10)  # "ready"
        cfg = SimConfig(
            vehicles=vehicles,
            speed=speed,
            gcs_port_base=port_base,
            vehicle_port_base=port_base + 200,
            rates=rates,
        )
        async with Simulator(cfg) as sim:
            await asyncio.sleep(1.0)  # GPS fix and home first, as PX4 needs to arm
            await _fly_all(sim)
            await asyncio.sleep(1.0)  # climbing
            cpu0, wall0, sim0 = _cpu(), time.monotonic(), sim.sim_time
            sent0 = sum(v.endpoint.sent for v in sim.vehicles)
            end = time.monotonic() + seconds
            while (left := end - time.monotonic()) > 0:
                await asyncio.sleep(min(0.5, left))
                for v in sim.vehicles:  # keep the battery failsafe out of long high-speed runs
                    v.autopilot.set_battery(100.0)
            cpu, wall, simt = _cpu() - cpu0, time.monotonic() - wall0, sim.sim_time - sim0
            sent = sum(v.endpoint.sent for v in sim.vehicles) - sent0
            profile = "fleet" if sim.tick_s > 0.01 else "px4"
            airborne = sum(v.autopilot.snapshot().landed_state in (2, 3, 4) for v in sim.vehicles)
        out, _ = await asyncio.wait_for(sink.communicate(), seconds + 10)
        received = int(out.split()[0]) if out.split() else 0
    finally:
        if sink.returncode is None:
            sink.kill()
            await sink.wait()
    return {
        "vehicles": vehicles,
        "speed": speed,
        "profile": profile,
        "real_time_factor": round(simt / wall, 3),
        "rtf_vs_target": round(simt / wall / speed, 3),
        "cpu_total": round(cpu / wall, 3),
        "cpu_per_vehicle": round(cpu / wall / vehicles, 4),
        "msgs_per_s_per_vehicle": round(sent / wall / vehicles, 1),
        "received_total": received,
        "airborne": airborne,
    }


async def bench(seconds: float, port_base: int) -> dict:
    fleet = []
    for n in (1, 10, 50):
        fleet.append(await measure(vehicles=n, speed=1.0, seconds=seconds, port_base=port_base))
    for n in (10, 50):  # what full PX4 rates would cost
        fleet.append(await measure(vehicles=n, speed=1.0, seconds=seconds, port_base=port_base, rates="px4"))
    speeds = []
    for k in (10, 50, 100, 200, 400, 800):
        r = await measure(vehicles=1, speed=k, seconds=min(seconds, 3.0), port_base=port_base)
        speeds.append(r)
        if r["rtf_vs_target"] < 0.95:
            break
    best = max(speeds, key=lambda r: r["real_time_factor"])
    return {"fleet": fleet, "speed": speeds, "max_speed_factor": best["real_time_factor"]}


def table(result: dict) -> str:
    rows = ["vehicles  speed  profile  real-time factor  CPU total  CPU/vehicle  msg/s/vehicle"]
    for r in result["fleet"] + result["speed"]:
        rows.append(
            f"{r['vehicles']:8d}  {r['speed']:5g}  {r['profile']:7}  {r['real_time_factor']:16.2f}  "
            f"{r['cpu_total']:9.1%}  {r['cpu_per_vehicle']:11.2%}  {r['msgs_per_s_per_vehicle']:13.0f}"
        )
    rows.append(f"max speed factor, one vehicle: {result['max_speed_factor']:.1f}x")
    return "\n".join(rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--port-base", type=int, default=15500)
    ns = p.parse_args()
    result = asyncio.run(bench(ns.seconds, ns.port_base))
    print(table(result))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
