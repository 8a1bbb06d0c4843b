"""The composition root of ``patrol serve``: builds every adapter, wires the domain, owns every task.

    Store (SQLite / PostgreSQL) ─┐
    MqttBus (PATROL_MQTT__URL, or an EmbeddedBroker on 127.0.0.1:1884) ─ TelemetryPublisher
    [Simulator (--sim N)] ─ MavsdkHub ─ Fleet ─ MissionService ─ Scheduler
                                  └── one TaskGroup: fleet[<drone>].link, mission[<id>], scheduler

Start-up: register the drones and docks of the settings (and of ``--sim N``), follow every drone in
the store, re-attach to the missions the store says are in flight (``MissionService.recover``), then
start the scheduler. SIGINT/SIGTERM: cancel the tasks (runners flush their track and leave the
vehicles alone -- a drone in the air keeps flying its mission), publish every drone offline, flush the
bus, close the store. The next start re-attaches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import weakref
from collections.abc import AsyncIterator, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from mission.errors import ConflictError
from mission.fleet import Fleet, FleetConfig
from mission.model import Dock, Drone
from mission.publisher import PublisherConfig, TelemetryPublisher
from mission.scheduler import Scheduler
from mission.service import MissionService, ServiceConfig
from mission.settings import Settings
from mission.storage.repository import Store
from telemetry.broker import EmbeddedBroker
from telemetry.mavsdk_link import MavsdkHub
from telemetry.mqtt import MqttBus

__all__ = ["Running", "running_service", "serve"]

log = logging.getLogger(__name__)


class _Tasks(asyncio.TaskGroup):
    """The service's one task group, which can also cancel every task it owns (for a clean stop)."""

    def __init__(self) -> None:
        super().__init__()
        self._owned: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()

    def create_task(self, coro: Coroutine[Any, Any, Any], *, name: str | None = None, context: Any = None):  # type: ignore[override]
        task = super().create_task(coro, name=name, context=context)
        self._owned.add(task)
        return task

    def cancel_all(self) -> None:
        for task in list(self._owned):
            task.cancel()


@dataclass(kw_only=True)
class Running:
    settings: Settings
    store: Store
    bus: MqttBus
    bus_url: str
    publisher: TelemetryPublisher
    fleet: Fleet
    service: MissionService
    scheduler: Scheduler
    sim: Any | None  # sim.runner.Simulator with --sim
    recovered: list[str]


@asynccontextmanager
async def running_service(
    settings: Settings,
    *,
    sim_vehicles: int = 0,
    sim_speed: float = 1.0,
    scheduler: bool = True,
    db_schema: str | None = None,
) -> AsyncIterator[Running]:
    """The whole service, running until the block exits (``db_schema``: PostgreSQL schema, for tests)."""
    async with AsyncExitStack() as stack:
        store = await stack.enter_async_context(Store(settings.database.url, schema=db_schema))
        url = settings.mqtt.url
        if url is None:
            broker = EmbeddedBroker(port=settings.mqtt.embedded_port)
            url = (await stack.enter_async_context(broker)).url
        bus = await stack.enter_async_context(MqttBus(url))
        publisher = await stack.enter_async_context(
            TelemetryPublisher(bus, PublisherConfig(rate_hz=settings.mqtt.telemetry_hz))
        )
        sim = await _start_sim(stack, settings, sim_vehicles, sim_speed) if sim_vehicles else None
        hub = await stack.enter_async_context(MavsdkHub(command_timeout_s=settings.vehicle.command_timeout_s))
        tasks = await stack.enter_async_context(_Tasks())
        # Runs first on the way out, so the group's exit does not wait forever on long-lived tasks.
        stack.callback(tasks.cancel_all)
        fleet_cfg = FleetConfig(
            link_timeout_s=settings.fleet.link_timeout_s,
            find_timeout_s=settings.vehicle.connect_timeout_s,
            reconnect_max_s=settings.fleet.reconnect_max_s,
            min_battery_pct=settings.fleet.min_battery_pct,
            publish_hz=settings.mqtt.telemetry_hz,
        )
        fleet = Fleet(hub, tg=tasks, publisher=publisher, config=fleet_cfg)
        service = MissionService(
            store=store, fleet=fleet, tg=tasks, events=publisher,
            config=ServiceConfig(max_altitude_m=settings.max_altitude_m),
        )  # fmt: skip
        await _register(settings, store, fleet, sim_vehicles)
        await service.load_fleet()
        recovered = await service.recover()
        if recovered:
            log.info("re-attaching to %d mission(s) in flight: %s", len(recovered), ", ".join(recovered))
        sched = Scheduler(
            service, tick_s=settings.scheduler.tick_s, grace=timedelta(seconds=settings.scheduler.grace_s)
        )
        if scheduler:
            tasks.create_task(sched.run(), name="scheduler")
        yield Running(
            settings=settings, store=store, bus=bus, bus_url=url, publisher=publisher, fleet=fleet,
            service=service, scheduler=sched, sim=sim, recovered=recovered,
        )  # fmt: skip


async def _start_sim(stack: AsyncExitStack, settings: Settings, n: int, speed: float) -> Any:
    from sim.runner import Simulator

    s = settings.sim
    return await stack.enter_async_context(
        Simulator(
            vehicles=n,
            speed=speed,
            home=s.home,
            homes=None if s.homes is None else tuple(s.homes),
            gcs_port_base=s.gcs_port_base,
            vehicle_port_base=s.vehicle_port_base,
        )
    )


async def _register(settings: Settings, store: Store, fleet: Fleet, sim_vehicles: int) -> None:
    """Docks and drones of the settings file and the simulator, into the store (once) and the fleet."""
    docks = [
        Dock(id=d.id, name=d.name or d.id, lat=d.lat, lon=d.lon, alt_amsl_m=d.alt_amsl_m)
        for d in settings.fleet.docks
    ]
    drones: list[tuple[Drone, bool]] = [
        (Drone(id=d.id, name=d.name or d.id, connection_url=d.connection_url, system_id=d.system_id or 1,
               dock_id=d.dock_id), d.system_id is None)
        for d in settings.fleet.drones
    ]  # fmt: skip
    if sim_vehicles:
        from sim.runner import vehicle_home

        s = settings.sim
        for i in range(sim_vehicles):
            lat, lon, alt = s.homes[i] if s.homes else vehicle_home(s.home, i, 5.0)
            docks.append(
                Dock(id=f"dock-sim{i + 1}", name=f"sim dock {i + 1}", lat=lat, lon=lon, alt_amsl_m=alt)
            )
            url = f"udpin://127.0.0.1:{s.gcs_port_base + i}"
            drones.append((Drone(id=f"sim{i + 1}", name=f"sim {i + 1}", connection_url=url, system_id=i + 1,
                                 dock_id=f"dock-sim{i + 1}"), False))  # fmt: skip
    for dock in docks:
        with contextlib.suppress(ConflictError):
            await store.add_dock(dock)
    for drone, discover in drones:
        with contextlib.suppress(ConflictError):
            await store.add_drone(drone)
        fleet.add(await store.get_drone(drone.id), discover=discover)


async def serve(settings: Settings, *, sim_vehicles: int = 0, sim_speed: float = 1.0) -> None:
    """Run until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with running_service(settings, sim_vehicles=sim_vehicles, sim_speed=sim_speed) as r:
            log.info(
                "service ready: %d drone(s), bus %s, database %s",
                len(r.fleet.drones()), r.bus_url, settings.database.url.split("@")[-1],
            )  # fmt: skip
            await stop.wait()
            log.info("stopping: missions in flight keep flying and are re-attached on the next start")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
