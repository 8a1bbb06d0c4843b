"""The ``patrol`` command line: the composition root that builds settings and adapters and wires them.

Each command is a thin wrapper: parse, build, call into a domain module, translate
``PatrolError`` into a one-line message and a non-zero exit (see ``_fail``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from geo.errors import PatrolError

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Drone patrol mission control.")
logs_app = typer.Typer(no_args_is_help=True, help="Flight logs.")
app.add_typer(logs_app, name="logs")


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


# --- sim (owner: simulator) -------------------------------------------------------------------


@app.command()
def sim(
    vehicles: Annotated[int, typer.Option("--vehicles", "-n", min=1, max=200, help="Number of vehicles")] = 1,
    speed: Annotated[float, typer.Option(help="Physics speed factor (K× real time)")] = 1.0,
    home: Annotated[str, typer.Option(help="LAT,LON[,ALT] of vehicle 0's home")] = "19.3650,-99.2150,2300",
    seed: Annotated[int, typer.Option(help="Random seed")] = 1,
    loss: Annotated[float, typer.Option(help="Fraction of packets dropped each way")] = 0.0,
    latency_ms: Annotated[float, typer.Option(help="Added one-way latency")] = 0.0,
) -> None:
    """Run the PX4-compatible multi-vehicle simulator (vehicle i: listens 14580+i, sends to 14540+i)."""
    _fail("not implemented yet")


# --- fly (owner: vehicle link) ----------------------------------------------------------------


@app.command()
def fly(
    route: Annotated[Path, typer.Option(help="Route: GeoJSON LineString/Points, or a QGC .plan")],
    connect: Annotated[str, typer.Option(help="MAVLink connection URL")] = "udpin://127.0.0.1:14540",
    alt: Annotated[float, typer.Option(help="Altitude above take-off, m (1-120)")] = 40.0,
    speed: Annotated[float | None, typer.Option(help="Cruise speed, m/s")] = None,
    use_sim: Annotated[bool, typer.Option("--sim", help="Start the simulator in-process first")] = False,
    sim_speed: Annotated[float, typer.Option(help="Simulator speed factor with --sim")] = 1.0,
    summary: Annotated[Path | None, typer.Option(help="Write the JSON flight summary here")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for a vehicle")] = 30.0,
) -> None:
    """Upload a route, arm, fly it, return and land; write a JSON flight summary."""
    _fail("not implemented yet")


# --- plan / validate (owner: planner) ---------------------------------------------------------


@app.command()
def plan(area: Annotated[Path, typer.Argument(help="Area file: GeoJSON, KML, WKT or QGC .plan")]) -> None:
    """Plan a patrol over an area (sweep, perimeter, route, orbit)."""
    _fail("not implemented yet")


@app.command()
def validate(area: Annotated[Path, typer.Argument(help="Area file")]) -> None:
    """Validate an area file and report every fault."""
    _fail("not implemented yet")


# --- serve / logs (owner: service) ------------------------------------------------------------


@app.command()
def serve() -> None:
    """Run the mission-control service."""
    _fail("not implemented yet")


@logs_app.command("export")
def logs_export(mission: Annotated[str, typer.Argument(help="Mission id")]) -> None:
    """Export a mission's flight log."""
    _fail("not implemented yet")


# --- demo ---------------------------------------------------------------------------------------


@app.command()
def demo() -> None:
    """Start three simulated drones and fly a short patrol with each, concurrently."""
    _fail("not implemented yet")


def main() -> None:
    try:
        app()
    except PatrolError as exc:  # the one place our errors become a message and an exit status
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(1)


if __name__ == "__main__":
    main()
