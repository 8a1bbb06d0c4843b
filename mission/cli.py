"""The ``patrol`` command line: the composition root that builds settings and adapters and wires them.

Each command is a thin wrapper: parse, build, call into a domain module, translate
``PatrolError`` into a one-line message and a non-zero exit (see ``_fail``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from geo.errors import PatrolError

if TYPE_CHECKING:  # only for signatures: the commands import what they use when they run
    from rich.progress import Progress

    from geo.areas import AreaSet
    from geo.items import MissionItem
    from mission.flight import FlightProgress, FlightSummary
    from mission.model import Mission
    from mission.settings import Settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Drone patrol mission control.")
logs_app = typer.Typer(no_args_is_help=True, help="Flight logs.")
app.add_typer(logs_app, name="logs")


def _flight_progress() -> Progress:
    """One progress bar per flight: item k/N, distance flown, battery, mode."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("item {task.completed:.0f}/{task.total:.0f}"),
        TextColumn("{task.fields[distance]:>6.0f} m"),
        TextColumn("battery {task.fields[battery]:>3.0f} %"),
        TextColumn("{task.fields[mode]}"),
        TimeElapsedColumn(),
    )


def _battery(p: FlightProgress) -> float:
    return p.battery_pct if p.battery_pct == p.battery_pct else 0.0  # NaN before the first report


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
    gcs_port_base: Annotated[int, typer.Option(help="Vehicle i sends to 127.0.0.1:(this+i)")] = 14540,
    vehicle_port_base: Annotated[int, typer.Option(help="Vehicle i listens on 127.0.0.1:(this+i)")] = 14580,
    rates: Annotated[str, typer.Option(help="Stream rates: px4, fleet or auto")] = "auto",
) -> None:
    """Run the PX4-compatible multi-vehicle simulator (vehicle i: listens 14580+i, sends to 14540+i)."""
    from sim import cli as sim_cli

    options = {"vehicles": vehicles, "speed": speed, "home": home, "seed": seed, "loss": loss, "rates": rates}
    options |= {"latency-ms": latency_ms, "gcs-port-base": gcs_port_base}
    options |= {"vehicle-port-base": vehicle_port_base}
    argv = [f"--{name}={value}" for name, value in options.items()]
    code = sim_cli.main(argv)
    if code:
        raise typer.Exit(code)


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
    sim_vehicle_port: Annotated[
        int | None,
        typer.Option(hidden=True, help="With --sim: the vehicle's UDP port (default: connect port + 40)"),
    ] = None,
) -> None:
    """Upload a route, arm, fly it, return and land; write a JSON flight summary."""
    import asyncio

    from mission.routes import load_route

    try:
        items = load_route(route, alt_m=alt, speed_mps=speed)
        result = asyncio.run(
            _fly(items, connect, use_sim, sim_speed, sim_vehicle_port, vehicle_wait_s=timeout)
        )
    except PatrolError as exc:
        _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    out = summary or Path("flight-summary.json")
    out.write_text(result.to_json() + "\n", encoding="utf-8")
    typer.echo(
        f"{result.waypoints_reached}/{result.waypoints_total} waypoints, {result.distance_m:.0f} m flown, "
        f"landed {result.landed_from_home_m} m from home; summary in {out}"
    )
    if not result.completed:
        _fail(f"route not completed: {result.waypoints_reached}/{result.waypoints_total} waypoints reached")


async def _fly(
    items: list[MissionItem],
    connect: str,
    use_sim: bool,
    sim_speed: float,
    sim_vehicle_port: int | None,
    *,
    vehicle_wait_s: float,
) -> FlightSummary:
    """Compose: [simulator] → MAVSDK hub → vehicle link → ``fly_route``, with a rich progress bar."""
    from contextlib import AsyncExitStack
    from urllib.parse import urlsplit

    from geo.items import MavCmd
    from mission.errors import ConfigError
    from mission.flight import FlightTimeouts, fly_route
    from telemetry.mavsdk_link import MavsdkHub

    async with AsyncExitStack() as stack:
        if use_sim:
            from sim.runner import Simulator

            port = urlsplit(connect).port
            if port is None:
                raise ConfigError(f"--sim needs a port in --connect, got {connect}")
            await stack.enter_async_context(
                Simulator(
                    vehicles=1,
                    speed=sim_speed,
                    gcs_port_base=port,
                    vehicle_port_base=sim_vehicle_port or port + 40,
                )
            )
        hub = await stack.enter_async_context(MavsdkHub())
        await hub.add_connection(connect)
        link = await stack.enter_async_context(hub.link(None, timeout_s=vehicle_wait_s))
        progress = stack.enter_context(_flight_progress())
        n_waypoints = sum(1 for i in items if i.command == MavCmd.NAV_WAYPOINT)
        bar = progress.add_task("flying", total=n_waypoints, distance=0.0, battery=0.0, mode="")

        def on_progress(p: FlightProgress) -> None:
            progress.update(
                bar, completed=p.waypoints_reached, distance=p.distance_m, battery=_battery(p), mode=p.mode
            )

        timeouts = FlightTimeouts(ready_s=vehicle_wait_s + 30)
        return await fly_route(link, items, progress_cb=on_progress, timeouts=timeouts)


# --- plan / validate (owner: planner) ---------------------------------------------------------


@app.command()
def plan(
    area: Annotated[Path, typer.Argument(help="Area file: GeoJSON, KML, WKT or QGC .plan")],
    area_name: Annotated[str | None, typer.Option("--area", help="Which patrol area of the file")] = None,
    pattern: Annotated[str | None, typer.Option(help="sweep|perimeter|route|orbit [the area's own]")] = None,
    alt: Annotated[float | None, typer.Option(help="Altitude above take-off, m [area's, else 60]")] = None,
    overlap: Annotated[float, typer.Option(help="Side overlap between lines, %")] = 30.0,
    spacing: Annotated[float | None, typer.Option(help="Line spacing, m (overrides camera+overlap)")] = None,
    camera_hfov: Annotated[float | None, typer.Option("--camera-hfov", help="Camera HFOV, degrees")] = None,
    dock: Annotated[
        list[str] | None, typer.Option(help="LAT,LON of a dock (repeat) [the file's docks]")
    ] = None,
    drones: Annotated[int, typer.Option(help="Drones sharing the area")] = 1,
    speed: Annotated[float, typer.Option(help="Cruise speed, m/s")] = 8.0,
    battery_min: Annotated[float, typer.Option(help="Battery flight time, min")] = 20.0,
    reserve_pct: Annotated[float, typer.Option(help="Battery reserve kept unplanned, %")] = 25.0,
    buffer: Annotated[float, typer.Option(help="Safety buffer around no-fly zones, m")] = 10.0,
    laps: Annotated[int, typer.Option(help="Laps (perimeter, orbit)")] = 1,
    waypoint: Annotated[list[str] | None, typer.Option(help="LAT,LON route waypoint (repeat)")] = None,
    center: Annotated[str | None, typer.Option(help="LAT,LON orbit centre")] = None,
    radius: Annotated[float | None, typer.Option(help="Orbit radius, m")] = None,
    out: Annotated[Path | None, typer.Option(help="Write QGC .plan (one per sortie when several)")] = None,
    map_path: Annotated[Path | None, typer.Option("--map", help="Write an offline HTML map")] = None,
    geojson: Annotated[Path | None, typer.Option(help="Write the sorties as GeoJSON")] = None,
) -> None:
    """Plan a patrol over an area (sweep, perimeter, route, orbit)."""
    from mission import planning

    try:
        opts = planning.PlanOptions(
            area_name=area_name,
            pattern=pattern,
            altitude_m=alt,
            overlap_pct=overlap,
            spacing_m=spacing,
            camera_hfov_deg=camera_hfov,
            docks=tuple(planning.parse_latlon(d) for d in dock or ()),
            drones=drones,
            speed_mps=speed,
            battery_min=battery_min,
            reserve_pct=reserve_pct,
            buffer_m=buffer,
            laps=laps,
            waypoints=tuple(planning.parse_latlon(w) for w in waypoint or ()),
            orbit_center=planning.parse_latlon(center) if center else None,
            orbit_radius_m=radius,
        )
        patrol_area, areas, result = planning.make_plan(area, opts)
        planning.print_summary(patrol_area, result)
        if out:
            for path in planning.write_plans(out, result):
                typer.echo(f"wrote {path}")
        if geojson:
            planning.write_geojson(geojson, patrol_area, result)
            typer.echo(f"wrote {geojson}")
        if map_path:
            from mission.plan_map import write_map

            write_map(map_path, patrol_area, areas, result)
            typer.echo(f"wrote {map_path}")
    except (PatrolError, ValueError, OSError) as exc:
        _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


@app.command()
def validate(
    area: Annotated[Path, typer.Argument(help="Area file: GeoJSON, KML, WKT or QGC .plan")],
    repair: Annotated[bool, typer.Option("--repair", help="Fix what is safe to fix; print changes")] = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the (fixed) areas as GeoJSON here [--repair: AREA.fixed.geojson]"),
    ] = None,
    max_area_km2: Annotated[float, typer.Option(help="Largest allowed area, km²")] = 100.0,
) -> None:
    """Validate an area file and report every fault (exit 1 if any remains)."""
    from geo.io_geojson import dump_geojson
    from geo.loader import check_areas

    try:
        result = check_areas(area, repair=repair, max_area_km2=max_area_km2)
    except PatrolError as exc:
        _fail(str(exc))
    for report in result.reports:
        status = "OK" if report.ok else f"{len(report.faults)} fault(s)"
        typer.echo(f"{report.kind.value} {report.name!r}: {status}")
        for change in report.changes:
            typer.echo(f"  repair: {change}")
        for fault in report.faults:
            typer.echo(f"  {fault}")
    if out is None and repair:
        out = area.with_name(f"{area.stem}.fixed.geojson")
    if out is not None:
        out.write_text(dump_geojson(result.areas), encoding="utf-8")
        typer.echo(f"wrote {len(result.areas)} of {len(result.reports)} feature(s) to {out}")
    if not result.ok:
        typer.echo(f"{len(result.faults)} fault(s) in {area}")
        raise typer.Exit(1)


# --- serve / logs (owner: service) ------------------------------------------------------------


@app.command()
def serve(
    sim_vehicles: Annotated[
        int, typer.Option("--sim", min=0, max=200, help="Also run N simulated drones in-process")
    ] = 0,
    sim_speed: Annotated[float, typer.Option("--sim-speed", help="Simulator speed factor with --sim")] = 1.0,
    config: Annotated[Path | None, typer.Option("--config", help="TOML settings file")] = None,
    db: Annotated[str | None, typer.Option("--db", help="Database URL [PATROL_DATABASE__URL]")] = None,
    mqtt: Annotated[
        str | None, typer.Option("--mqtt", help="mqtt://host:port [embedded broker on :1884]")
    ] = None,
) -> None:
    """Run the mission-control service until SIGINT/SIGTERM (missions in flight keep flying)."""
    import asyncio
    import logging

    from mission.settings import load_settings
    from mission.supervisor import serve as run_service

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings(config)
        if db is not None:
            settings = settings.model_copy(
                update={"database": settings.database.model_copy(update={"url": db})}
            )
        if mqtt is not None:
            settings = settings.model_copy(update={"mqtt": settings.mqtt.model_copy(update={"url": mqtt})})
        asyncio.run(run_service(settings, sim_vehicles=sim_vehicles, sim_speed=sim_speed))
    except PatrolError as exc:
        _fail(str(exc))


@logs_app.command("export")
def logs_export(
    mission: Annotated[str, typer.Argument(help="Mission id")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="geojson | kml | csv")] = "geojson",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write here instead of stdout")] = None,
    db: Annotated[
        str | None, typer.Option("--db", help="Database URL (default: PATROL_DATABASE__URL)")
    ] = None,
) -> None:
    """Export a mission's flight log (track and state events)."""
    import asyncio

    from mission.logs import export_log
    from mission.settings import load_settings
    from mission.storage.repository import Store

    async def _load() -> str:
        url = db or load_settings().database.url
        async with Store(url) as store:
            await store.get_mission(mission)  # NotFoundError before an empty export
            return export_log(
                fmt, await store.track(mission), await store.events_after(mission, 0), mission_id=mission
            )

    try:
        text = asyncio.run(_load())
    except PatrolError as exc:
        _fail(str(exc))
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}", err=True)


# --- demo ---------------------------------------------------------------------------------------


@app.command()
def demo(
    speed: Annotated[float, typer.Option(help="Simulator speed factor")] = 10.0,
    areas: Annotated[Path, typer.Option(help="Sample areas")] = Path("examples/alvaro_obregon_areas.geojson"),
    out: Annotated[Path, typer.Option(help="Folder for the demo's database and flight logs")] = Path(
        "out/demo"
    ),
    start_in: Annotated[float, typer.Option(help="Seconds until the scheduled patrols start")] = 15.0,
    port_base: Annotated[int, typer.Option(help="First ground-station UDP port")] = 14540,
    vehicle_port_base: Annotated[int, typer.Option(help="First simulated vehicle's UDP port")] = 14580,
    mqtt_port: Annotated[int, typer.Option(help="Port of the embedded MQTT broker")] = 1884,
    timeout: Annotated[float, typer.Option(help="Give up after this many seconds")] = 600.0,
) -> None:
    """The service with three simulated drones on the sample docks, and patrols scheduled to start soon."""
    import asyncio
    import logging

    from geo.loader import load_areas
    from mission.demo import dock_homes
    from mission.settings import load_settings

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        area_set = load_areas(areas)
        out.mkdir(parents=True, exist_ok=True)
        db_file = out / "patrol.db"
        db_file.unlink(missing_ok=True)  # every demo starts from an empty service
        settings = load_settings(
            database={"url": f"sqlite+aiosqlite:///{db_file}"},
            mqtt={"url": None, "embedded_port": mqtt_port},
            sim={
                "gcs_port_base": port_base,
                "vehicle_port_base": vehicle_port_base,
                "homes": dock_homes(area_set),
            },
        )
        missions = asyncio.run(
            _demo(settings, area_set, speed=speed, start_in_s=start_in, timeout_s=timeout, out=out)
        )
    except (PatrolError, TimeoutError) as exc:
        _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    for m in missions:
        typer.echo(
            f"{m.id} on {m.drone_id}: {m.state}, {m.progress.distance_m:.0f} m, "
            f"{m.progress.covered_fraction:.0%} covered; log in {out / (m.id + '.geojson')}"
        )
    if not all(m.state == "completed" for m in missions):
        _fail("not every patrol completed")


async def _demo(
    settings: Settings, area_set: AreaSet, *, speed: float, start_in_s: float, timeout_s: float, out: Path
) -> list[Mission]:
    """Compose: the whole service with the simulator, the sample patrols scheduled, a live table."""
    from rich.live import Live
    from rich.table import Table

    from mission.demo import schedule_demo, watch_demo
    from mission.logs import export_log
    from mission.supervisor import running_service

    async with running_service(settings, sim_vehicles=3, sim_speed=speed) as running:
        service = running.service
        schedules = await schedule_demo(service, area_set, start_in_s=start_in_s)
        typer.echo(
            f"3 patrols scheduled in {start_in_s:g} s; MQTT on {running.bus_url} "
            f"(try: mosquitto_sub -p {settings.mqtt.embedded_port} -t 'patrol/v1/#' -v)"
        )

        def table(missions: list[Mission]) -> Table:
            t = Table("drone", "mode", "battery", "alt", "mission", "state", "item", "covered")
            by_drone = {m.drone_id: m for m in missions}
            for h in running.fleet.healths():
                m = by_drone.get(h.drone_id)
                sample = running.fleet.latest(h.drone_id)
                t.add_row(
                    h.drone_id,
                    h.mode,
                    f"{h.battery_pct:.0f} %" if h.battery_pct == h.battery_pct else "-",
                    f"{sample.alt_rel_m:.0f} m" if sample else "-",
                    m.id if m else "(scheduled)",
                    str(m.state) if m else "-",
                    f"{m.progress.current_item}/{m.progress.total_items}" if m else "-",
                    f"{m.progress.covered_fraction:.0%}" if m else "-",
                )
            return t

        with Live(table([]), refresh_per_second=2) as live:
            missions = await watch_demo(
                service, schedules, show=lambda ms: live.update(table(ms)), timeout_s=timeout_s
            )
        for m in missions:
            track, events = await service.store.track(m.id), await service.store.events_after(m.id, -1)
            (out / f"{m.id}.geojson").write_text(export_log("geojson", track, events), encoding="utf-8")
        return missions


def main() -> None:
    try:
        app()
    except PatrolError as exc:  # the one place our errors become a message and an exit status
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(1)


if __name__ == "__main__":
    main()
