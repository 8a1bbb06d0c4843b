"""``python -m sim``: run the simulator in the foreground, with fault commands typed on stdin.

    python -m sim --vehicles 3 --speed 5 --home 19.365,-99.215,2300 --seed 1 --loss 0.2 --latency-ms 30

While it runs, one status line per vehicle every ``--status-every`` seconds, and these commands on stdin
(vehicle index first where there is one):

    drop-link I SECONDS      lose every packet of vehicle I both ways for SECONDS
    loss FRACTION [I]        drop that fraction of packets (all vehicles, or vehicle I)
    latency MS [I]           add one-way latency
    battery I PCT            set vehicle I's battery charge
    gps I on|off             GPS fix on or off
    status | help | quit

Ctrl-C stops cleanly (sockets closed, tasks ended).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from sim.runner import SimConfig, Simulator

Action = Callable[[Simulator], str]
HELP = __doc__.split("(vehicle index first where there is one):", 1)[1].split("Ctrl-C")[0].rstrip()


class CommandError(ValueError):
    """A stdin command that cannot be parsed or applied."""


def parse_home(text: str) -> tuple[float, float, float]:
    parts = [float(p) for p in text.split(",")]
    if len(parts) not in (2, 3):
        raise ValueError(f"home must be LAT,LON[,ALT], got {text!r}")
    lat, lon, alt = (*parts, 0.0)[:3] if len(parts) == 2 else parts
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"home out of range: {text!r}")
    return (lat, lon, alt)


def _vehicle(sim: Simulator, i: int) -> int:
    if not 0 <= i < sim.config.vehicles:
        raise CommandError(f"no vehicle {i} (0..{sim.config.vehicles - 1})")
    return i


def parse_command(line: str) -> Action | None:
    """The action for one stdin line (None for a blank line); raises CommandError on nonsense."""
    words = line.split()
    if not words:
        return None
    verb, args = words[0].lower(), words[1:]
    try:
        return _ACTIONS[verb](args)
    except KeyError:
        raise CommandError(f"unknown command {verb!r}; try 'help'") from None
    except (ValueError, IndexError) as exc:
        raise CommandError(f"{line.strip()!r}: {exc}") from None


def _drop_link(a: list[str]) -> Action:
    index, seconds = int(a[0]), float(a[1])

    def act(sim: Simulator) -> str:
        i = _vehicle(sim, index)
        sim.faults(i).drop_link(seconds)
        return f"vehicle {i}: link down for {seconds:g} s"

    return act


def _loss(a: list[str]) -> Action:
    frac = float(a[0])
    if not 0 <= frac <= 1:
        raise ValueError("loss is a fraction 0..1")
    index = int(a[1]) if len(a) > 1 else None

    def act(sim: Simulator) -> str:
        targets = _targets(sim, index)
        for i in targets:
            sim.faults(i).set_loss(frac)
        return f"loss {frac:.0%} on {len(targets)} vehicle(s)"

    return act


def _targets(sim: Simulator, index: int | None) -> list[int]:
    """Every vehicle, or the one named."""
    return list(range(sim.config.vehicles)) if index is None else [_vehicle(sim, index)]


def _latency(a: list[str]) -> Action:
    ms = float(a[0])
    if ms < 0:
        raise ValueError("latency is >= 0 ms")
    index = int(a[1]) if len(a) > 1 else None

    def act(sim: Simulator) -> str:
        targets = _targets(sim, index)
        for i in targets:
            sim.faults(i).set_latency(ms)
        return f"latency {ms:g} ms on {len(targets)} vehicle(s)"

    return act


def _battery(a: list[str]) -> Action:
    index, pct = int(a[0]), float(a[1])

    def act(sim: Simulator) -> str:
        i = _vehicle(sim, index)
        sim.set_battery(i, pct)
        return f"vehicle {i}: battery {pct:g} %"

    return act


def _gps(a: list[str]) -> Action:
    if a[1].lower() not in ("on", "off"):
        raise ValueError("gps takes on or off")
    index, ok = int(a[0]), a[1].lower() == "on"

    def act(sim: Simulator) -> str:
        i = _vehicle(sim, index)
        sim.set_gps(i, ok)
        return f"vehicle {i}: gps {'on' if ok else 'off'}"

    return act


def _status(a: list[str]) -> Action:
    return lambda sim: "\n".join(sim.status_line(i) for i in range(sim.config.vehicles))


_ACTIONS: dict[str, Callable[[list[str]], Action]] = {
    "drop-link": _drop_link,
    "loss": _loss,
    "latency": _latency,
    "battery": _battery,
    "gps": _gps,
    "status": _status,
    "help": lambda a: lambda sim: HELP,
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sim", description="PX4-compatible multi-vehicle simulator")
    p.add_argument("--vehicles", "-n", type=int, default=1)
    p.add_argument("--speed", type=float, default=1.0, help="physics speed factor (K× real time)")
    p.add_argument("--home", type=parse_home, default=(19.3650, -99.2150, 2300.0), help="LAT,LON[,ALT]")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--loss", type=float, default=0.0, help="fraction of packets dropped each way")
    p.add_argument("--latency-ms", type=float, default=0.0, help="added one-way latency")
    p.add_argument("--gcs-port-base", type=int, default=14540)
    p.add_argument("--vehicle-port-base", type=int, default=14580)
    p.add_argument("--rates", choices=("auto", "px4", "fleet"), default="auto", help="stream rate profile")
    p.add_argument("--status-every", type=float, default=5.0, help="seconds between status lines (0: never)")
    return p


def config_from_args(ns: argparse.Namespace) -> SimConfig:
    return SimConfig(
        vehicles=ns.vehicles,
        speed=ns.speed,
        home=ns.home,
        seed=ns.seed,
        loss=ns.loss,
        latency_ms=ns.latency_ms,
        gcs_port_base=ns.gcs_port_base,
        vehicle_port_base=ns.vehicle_port_base,
        rates=ns.rates,
    )


async def _print_status(sim: Simulator, every: float, out: TextIO) -> None:
    while True:
        await asyncio.sleep(every)
        print(f"t={sim.sim_time:8.1f} s  rtf {sim.real_time_factor:5.2f}", file=out)
        for i in range(sim.config.vehicles):
            print("  " + sim.status_line(i), file=out)
        out.flush()


async def _read_commands(sim: Simulator, stdin: TextIO, out: TextIO, quit_: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str] = asyncio.Queue(maxsize=100)

    def readable() -> None:
        line = stdin.readline()
        if not line:  # EOF: stop listening, keep simulating
            loop.remove_reader(stdin)
            return
        with contextlib.suppress(asyncio.QueueFull):
            lines.put_nowait(line)

    try:
        loop.add_reader(stdin, readable)
    except (ValueError, OSError, NotImplementedError):
        return  # stdin is not pollable (a regular file, /dev/null on some systems): no commands
    try:
        while True:
            line = await lines.get()
            if line.strip().lower() in ("quit", "exit"):
                quit_.set()
                return
            try:
                action = parse_command(line)
                if action is not None:
                    print(action(sim), file=out)
            except CommandError as exc:
                print(f"error: {exc}", file=out)
            out.flush()
    finally:
        loop.remove_reader(stdin)


async def run(
    config: SimConfig, *, status_every: float = 5.0, stdin: TextIO | None = None, out: TextIO = sys.stdout
) -> None:
    """Run until cancelled (Ctrl-C) or 'quit' on stdin."""
    quit_ = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGTERM, quit_.set)  # `kill` stops as cleanly as Ctrl-C
    async with Simulator(config) as sim:
        first, last = config.vehicle_port_base, config.vehicle_port_base + config.vehicles - 1
        print(
            f"simulating {config.vehicles} vehicle(s) at {config.speed:g}x: listening on 127.0.0.1:{first}..{last}, "
            f"sending to 127.0.0.1:{config.gcs_port_base}.."
            + ("; type 'help' for fault commands" if stdin else ""),
            file=out,
        )
        out.flush()
        async with asyncio.TaskGroup() as tg:
            tasks = []
            if status_every > 0:
                tasks.append(tg.create_task(_print_status(sim, status_every, out), name="sim.cli.status"))
            if stdin is not None:
                tasks.append(tg.create_task(_read_commands(sim, stdin, out, quit_), name="sim.cli.stdin"))
            await quit_.wait()
            for task in tasks:
                task.cancel()


def main(argv: Sequence[str] | None = None) -> int:
    ns = build_parser().parse_args(argv)
    try:
        config = config_from_args(ns)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(run(config, status_every=ns.status_every, stdin=sys.stdin))
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    return 0
