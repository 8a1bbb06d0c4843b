"""Fleet benchmark: N simulated drones on one ``patrol serve``; telemetry latency to an MQTT subscriber.

    python -m bench.fleet [--drones 10 50 100] [--seconds 20] [--mqtt mqtt://127.0.0.1:1883]

Three processes per size, as in production: the simulator (``python -m sim``, vehicle i streams to
127.0.0.1:gcs_base+i), the service (``python -m mission serve`` with a generated TOML fleet of N drones,
SQLite in a temporary directory), and this process as an independent subscriber of
``patrol/v1/drones/+/telemetry``. The vehicles sit on the ground, streaming at the simulator's fleet rates
(GLOBAL_POSITION_INT at 10 Hz); the service publishes each drone at 5 Hz.

Latency = subscriber receive time - ``Telemetry.time``. The service stamps ``time`` when the vehicle's
position message is merged (MAVSDK's callback), so the figure covers the service (merge, the 5 Hz
latest-wins slot, JSON) and the broker, not the UDP hop from the vehicle nor MAVSDK's own parsing
(both sub-millisecond on loopback). All three processes share this machine's clock.
CPU is the service process's user+system time over wall time (1.0 = one full core); memory is its RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiomqtt
import psutil

from mission.topics import Telemetry, decode_message

ROOT = Path(__file__).resolve().parents[1]
HOME = (19.3650, -99.2150, 2300.0)


def _config(path: Path, n: int, gcs_base: int) -> None:
    lines = ["[mqtt]", "telemetry_hz = 5.0", ""]
    for i in range(n):
        lines += [
            "[[fleet.drones]]",
            f'id = "bench-{i}"',
            f'connection_url = "udpin://127.0.0.1:{gcs_base + i}"',
            f"system_id = {i + 1}",
            "",
        ]
    path.write_text("\n".join(lines))


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def _measure(url: str, n: int, warmup_s: float, seconds: float, service: psutil.Process) -> dict:
    host, port = url.removeprefix("mqtt://").split(":")
    seen: set[str] = set()
    latencies: list[float] = []
    count = 0
    measuring = False
    async with aiomqtt.Client(host, int(port), identifier=f"bench-{os.getpid()}") as client:
        await client.subscribe("patrol/v1/drones/+/telemetry", qos=0)

        async def receive() -> None:
            nonlocal count
            async for msg in client.messages:
                now = time.time()
                t = decode_message(msg.topic.value, msg.payload)  # type: ignore[arg-type]
                if not isinstance(t, Telemetry) or not t.drone.startswith("bench-"):
                    continue
                seen.add(t.drone)
                if measuring:
                    count += 1
                    latencies.append((now - t.time.timestamp()) * 1000.0)

        task = asyncio.create_task(receive(), name="bench.receive")
        try:
            deadline = time.monotonic() + 60 + n * 0.5
            while len(seen) < n:
                if time.monotonic() > deadline:
                    raise SystemExit(f"only {len(seen)} of {n} drones publish telemetry")
                await asyncio.sleep(0.2)
            await asyncio.sleep(warmup_s)
            cpu0, wall0 = service.cpu_times(), time.monotonic()
            measuring = True
            await asyncio.sleep(seconds)
            measuring = False
            cpu1, wall1 = service.cpu_times(), time.monotonic()
            rss = service.memory_info().rss
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    wall = wall1 - wall0
    cpu = (cpu1.user - cpu0.user + cpu1.system - cpu0.system) / wall
    return {
        "drones": n,
        "seconds": round(wall, 1),
        "messages": count,
        "msgs_per_s": round(count / wall, 1),
        "per_drone_hz": round(count / wall / n, 2),
        "latency_ms": {
            "p50": round(_pct(latencies, 0.50), 1),
            "p95": round(_pct(latencies, 0.95), 1),
            "p99": round(_pct(latencies, 0.99), 1),
            "max": round(max(latencies, default=float("nan")), 1),
            "mean": round(statistics.fmean(latencies), 1) if latencies else None,
        },
        "service_cpu_cores": round(cpu, 3),
        "service_rss_mb": round(rss / 2**20, 1),
    }


def run_one(n: int, *, seconds: float, warmup_s: float, mqtt: str, gcs_base: int, vehicle_base: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "fleet.toml"
        _config(cfg, n, gcs_base)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        log = (Path(tmp) / "log").open("wb")
        sim = subprocess.Popen(
            [sys.executable, "-m", "sim", "--vehicles", str(n), "--gcs-port-base", str(gcs_base),
             "--vehicle-port-base", str(vehicle_base), "--home", ",".join(map(str, HOME)), "--rates", "fleet"],
            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        service = subprocess.Popen(
            [sys.executable, "-m", "mission", "serve", "--config", str(cfg), "--mqtt", mqtt,
             "--db", f"sqlite+aiosqlite:///{tmp}/bench.db"],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            result = asyncio.run(_measure(mqtt, n, warmup_s, seconds, psutil.Process(service.pid)))
            result["sim_cpu_cores"] = round(psutil.Process(sim.pid).cpu_percent(interval=1.0) / 100.0, 3)
            return result
        finally:
            for proc in (service, sim):
                proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
            if sim.stdin is not None:
                sim.stdin.close()
            log.close()


def table(results: list[dict]) -> str:
    head = f"{'drones':>6} {'msg/s':>8} {'Hz/drone':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'svc CPU':>8} {'svc MB':>7}"
    rows = [head, "-" * len(head)]
    for r in results:
        lat = r["latency_ms"]
        rows.append(
            f"{r['drones']:>6} {r['msgs_per_s']:>8} {r['per_drone_hz']:>8} {lat['p50']:>7} {lat['p95']:>7} "
            f"{lat['p99']:>7} {r['service_cpu_cores']:>8} {r['service_rss_mb']:>7}"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--drones", type=int, nargs="+", default=[10, 50, 100])
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--mqtt", default="mqtt://127.0.0.1:1883")
    p.add_argument("--gcs-port-base", type=int, default=17000)
    p.add_argument("--vehicle-port-base", type=int, default=17500)
    a = p.parse_args(argv)
    results = []
    for n in a.drones:
        r = run_one(n, seconds=a.seconds, warmup_s=a.warmup, mqtt=a.mqtt, gcs_base=a.gcs_port_base,
                    vehicle_base=a.vehicle_port_base)  # fmt: skip
        print(json.dumps(r), file=sys.stderr, flush=True)
        results.append(r)
    print(table(results))
    print(json.dumps({"fleet_bench": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
