"""The mission-control service end to end: simulator over loopback UDP, real Mosquitto, SQLite/PostgreSQL.

Ports: ground station 17000-17099, vehicles 17500-17599, private Mosquitto 18700-18799.
Drone ids are unique per run (the shared Mosquitto carries other tests' ``patrol/v1`` traffic too), and
every MQTT assertion is made by an independent aiomqtt client validating against ``mission.topics``.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

import aiomqtt
import asyncpg
import pytest
from shapely.geometry import shape

from mission.model import Area, Dock, Drone, Mission, utcnow
from mission.service import PlanRequest
from mission.settings import Settings, load_settings
from mission.states import MissionState
from mission.storage.repository import Store
from mission.supervisor import Running, running_service
from mission.topics import DroneState, MissionEvent, Telemetry, decode_message

pytestmark = [pytest.mark.sim, pytest.mark.services, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
HOME = (19.3650, -99.2150, 2300.0)
SPEED = 10.0
SPACING = 30.0  # metres between simulated vehicles' homes (east)
PG_URL = os.environ.get("PATROL_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
S = MissionState


# --- helpers --------------------------------------------------------------------------------------


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _need(ok: bool, what: str) -> None:
    if not ok:
        if os.environ.get("CI"):
            pytest.fail(f"{what} is not available under CI")
        pytest.skip(f"{what} is not available")


@pytest.fixture(scope="module")
def mosquitto() -> str:
    _need(_port_open(1883), "Mosquitto on 127.0.0.1:1883")
    return "mqtt://127.0.0.1:1883"


def off(north_m: float, east_m: float) -> list[float]:
    """[lon, lat] of a point north/east of HOME."""
    lat = HOME[0] + north_m / 111_320.0
    lon = HOME[1] + east_m / (111_320.0 * math.cos(math.radians(HOME[0])))
    return [lon, lat]


def small_area(area_id: str, east_m: float, north_m: float = 20.0) -> Area:
    """A 100 m x 60 m rectangle starting ``north_m`` north of HOME, centred ``east_m`` east."""
    w, s, e, n = east_m - 50, north_m, east_m + 50, north_m + 60
    ring = [off(s, w), off(s, e), off(n, e), off(n, w), off(s, w)]
    return Area(id=area_id, name=area_id, geometry={"type": "Polygon", "coordinates": [ring]})


def settings_for(db_url: str, mqtt_url: str, **extra: object) -> Settings:
    return load_settings(
        database={"url": db_url},
        mqtt={"url": mqtt_url},
        scheduler={"tick_s": 0.5},
        **extra,  # type: ignore[arg-type]
    )


async def add_fleet(r: Running, tag: str, gcs_base: int, n: int) -> list[str]:
    """Drones ``{tag}-0..n-1`` on the simulator's ports, each with a dock at its vehicle's home."""
    ids = []
    for i in range(n):
        lon, lat = off(0, i * SPACING)
        dock = await r.service.add_dock(Dock(id=f"{tag}-dock{i}", name=f"dock {i}", lat=lat, lon=lon))
        drone = Drone(
            id=f"{tag}-{i}", name=f"drone {i}", connection_url=f"udpin://127.0.0.1:{gcs_base + i}",
            system_id=i + 1, dock_id=dock.id,
        )  # fmt: skip
        await r.service.add_drone(drone, actor="test")
        ids.append(drone.id)
    return ids


async def until(predicate, timeout_s: float, what: str, every_s: float = 0.05):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(every_s)


async def ready(r: Running, drones: list[str], timeout_s: float = 30.0) -> None:
    await until(lambda: all(r.fleet.health(d).ready for d in drones), timeout_s, f"{drones} ready")


async def mission_at(store: Store, mission_id: str, pred) -> Mission:  # type: ignore[no-untyped-def]
    async def check() -> Mission | None:
        m = await store.get_mission(mission_id)
        return m if pred(m) else None

    return await until(check, 60, f"mission {mission_id} condition", every_s=0.1)


async def plan_for(r: Running, area: Area, dock_id: str) -> str:
    await r.service.add_area(area)
    req = PlanRequest(altitude_m=20, speed_mps=10, spacing_m=20, dock_id=dock_id)
    (plan,) = await r.service.plan_area(area.id, req)
    return plan.id


class Watcher:
    """An independent MQTT client: every message on our drones' and missions' topics, validated."""

    def __init__(self, url: str, drones: list[str], *, client_id: str | None = None) -> None:
        host, port = url.removeprefix("mqtt://").split(":")
        self.host, self.port, self.drones = host, int(port), drones
        self.client_id = client_id
        self.telemetry: dict[str, list[Telemetry]] = defaultdict(list)
        self.states: dict[str, list[DroneState]] = defaultdict(list)
        self.events: dict[str, dict[int, MissionEvent]] = defaultdict(dict)
        self.subscribed = asyncio.Event()

    async def run(self) -> None:
        """Receive until cancelled, reconnecting (a persistent session when ``client_id`` is given)."""
        while True:
            try:
                async with aiomqtt.Client(
                    self.host, self.port, identifier=self.client_id, clean_session=self.client_id is None
                ) as client:
                    for d in self.drones:
                        await client.subscribe(f"patrol/v1/drones/{d}/#", qos=1)
                    await client.subscribe("patrol/v1/missions/+/events", qos=1)
                    self.subscribed.set()
                    async for msg in client.messages:
                        self._take(msg.topic.value, msg.payload)  # type: ignore[arg-type]
            except aiomqtt.MqttError:
                await asyncio.sleep(0.2)

    def _take(self, topic: str, payload: bytes) -> None:
        msg = decode_message(topic, payload)  # PayloadError if it breaks the documented schema
        if isinstance(msg, Telemetry):
            self.telemetry[msg.drone].append(msg)
        elif isinstance(msg, DroneState):
            self.states[msg.drone].append(msg)
        elif isinstance(msg, MissionEvent):
            old = self.events[msg.mission].get(msg.seq)
            assert old is None or old.to_state == msg.to_state, f"seq {msg.seq} reused: {old} vs {msg}"
            self.events[msg.mission][msg.seq] = msg


@asynccontextmanager
async def watching(url: str, drones: list[str], **kw: object) -> AsyncIterator[Watcher]:
    w = Watcher(url, drones, **kw)  # type: ignore[arg-type]
    task = asyncio.create_task(w.run(), name="test.watcher")
    try:
        async with asyncio.timeout(5):
            await w.subscribed.wait()
        yield w
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def check_persisted(store: Store, w: Watcher | None, m: Mission) -> list[str]:
    """Events contiguous from seq 1, a 1 Hz track, and (with a watcher) the same events on the bus."""
    events = await store.events_after(m.id, 0)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    for a, b in itertools.pairwise(events):
        assert a.to_state == b.from_state, (a, b)
    assert events[-1].to_state == m.state
    track = await store.track(m.id)
    assert len(track) >= 5
    seconds = [int(p.t.timestamp()) for p in track]
    assert len(set(seconds)) == len(seconds) and seconds == sorted(seconds)
    if w is not None:
        await until(lambda: len(w.events[m.id]) >= len(events), 5, f"{m.id} events on the bus")
        bus = w.events[m.id]
        assert sorted(bus) == list(range(len(events))), f"gaps in {sorted(bus)}"
        assert [(bus[e.seq - 1].kind, bus[e.seq - 1].to_state) for e in events] == [
            ("transition", e.to_state.value) for e in events
        ]
    return [e.kind for e in events]


# --- the fleet at work ------------------------------------------------------------------------------


async def test_fleet_schedule_pause_abort_and_battery_failsafe(tmp_path: Path, mosquitto: str) -> None:
    """Five drones at once: a scheduled patrol completes; pause/resume; abort -> RTL; land now; battery low."""
    from sim.runner import Simulator

    tag = f"e2e{uuid.uuid4().hex[:6]}"
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'patrol.db'}", mosquitto)
    async with (
        Simulator(vehicles=5, speed=SPEED, home=HOME, gcs_port_base=17000, vehicle_port_base=17500,
                  spacing_m=SPACING) as sim,
        running_service(settings) as r,
    ):  # fmt: skip
        a, b, c, d, e = drones = await add_fleet(r, tag, 17000, 5)
        plans = [
            await plan_for(r, small_area(f"{tag}-area{i}", i * SPACING), f"{tag}-dock{i}") for i in range(5)
        ]
        async with watching(mosquitto, drones) as w:
            await ready(r, drones)
            # a: any ready drone at the dock nearest area 0, a few seconds ahead (b, c, d are busy by then)
            from mission.model import Schedule

            run_at = utcnow() + timedelta(seconds=2)
            sched = await r.service.add_schedule(
                Schedule(id=f"{tag}-s", name="soon", plan_id=plans[0], run_at=run_at, area_id=f"{tag}-area0")
            )
            missions = {}
            for drone, plan in zip((b, c, d, e), plans[1:], strict=True):
                m = await r.service.create_mission(plan, drone, actor="pilot:test")
                await r.service.start(m.id, actor="pilot:test")
                missions[drone] = m.id
            # b: pause, hold still, resume
            mb = await mission_at(
                r.store, missions[b], lambda m: m.state is S.EXECUTING and m.progress.current_item >= 4
            )
            await r.service.pause(mb.id, actor="pilot:ana")
            paused_at = r.fleet.latest(b)
            await asyncio.sleep(1.0)
            assert r.fleet.latest(b).mode == "HOLD"  # type: ignore[union-attr]
            still = r.fleet.latest(b)
            assert (
                paused_at and still and abs(still.lat - paused_at.lat) < 3e-5
            )  # ~3 m: braking, then holding
            await r.service.resume(mb.id, actor="pilot:ana")
            # c: abort -> RTL
            mc = await mission_at(
                r.store, missions[c], lambda m: m.state is S.EXECUTING and m.progress.current_item >= 4
            )
            await r.service.abort(mc.id, actor="pilot:ana")
            # e: land now, where it is
            me = await mission_at(
                r.store, missions[e], lambda m: m.state is S.EXECUTING and m.progress.current_item >= 4
            )
            await r.service.land(me.id, actor="pilot:ana")
            # d: battery critical mid-mission
            await mission_at(
                r.store, missions[d], lambda m: m.state is S.EXECUTING and m.progress.current_item >= 5
            )
            sim.set_battery(3, 6.0)

            ma = await until(lambda: r.store.list_missions(drone_id=a), 10, "the scheduled mission")
            results = {drone: await r.service.wait(mid, 60) for drone, mid in missions.items()}
            results[a] = await r.service.wait(ma[0].id, 60)

            # the scheduled one: the nearest ready drone, one mission for the due time, completed
            from mission.scheduler import run_key

            assert results[a].id == run_key(sched.id, run_at) and results[a].schedule_id == sched.id
            assert results[a].state is S.COMPLETED and results[a].progress.covered_fraction > 0.8
            assert len([m for m in await r.store.list_missions() if m.schedule_id == sched.id]) == 1
            assert (await r.store.get_schedule(sched.id)).last_run_at == run_at
            kinds = await check_persisted(r.store, w, results[a])
            assert kinds == ["start", "preflight_ok", "uploaded", "armed", "took_off", "mission_finished",
                             "landed", "disarmed"]  # fmt: skip

            assert results[b].state is S.COMPLETED
            kinds = await check_persisted(r.store, w, results[b])
            assert kinds[kinds.index("took_off") + 1 : kinds.index("took_off") + 3] == ["pause", "resume"]

            assert results[c].state is S.ABORTED
            assert "abort" in await check_persisted(r.store, w, results[c])
            landed = r.fleet.latest(c)
            dock_lon, dock_lat = off(0, 2 * SPACING)
            assert landed and not landed.armed
            assert abs(landed.lat - dock_lat) < 2e-5 and abs(landed.lon - dock_lon) < 2e-5  # back at its dock

            assert results[e].state is S.ABORTED
            assert "land_now" in await check_persisted(r.store, w, results[e])
            down = r.fleet.latest(e)
            assert down and not down.armed
            assert abs(down.lat - off(0, 4 * SPACING)[1]) > 1e-4  # came down out there (> 11 m from its dock)

            assert results[d].state is S.INTERRUPTED
            kinds = await check_persisted(r.store, w, results[d])
            assert "battery_failsafe" in kinds
            last = (await r.store.events_after(results[d].id))[-1]
            left = shape(last.data["remaining_area"])
            area = shape(small_area("x", 3 * SPACING).geometry)
            assert 0.05 < left.area / area.area < 0.95 and left.within(area.buffer(1e-6))
            assert 0.05 < last.data["covered_fraction"] < 0.95
            follow_up = await r.store.get_plan(last.data["follow_up_plan_id"])
            assert len(follow_up.items) >= 4

            # the bus: schema-valid telemetry for every drone at about 5 Hz, and its retained state
            for drone in drones:
                t = w.telemetry[drone]
                assert len(t) >= 20 and any(x.mission for x in t)
                span = (t[-1].time - t[0].time).total_seconds()
                assert len(t) / span < 6.0
                assert w.states[drone] and w.states[drone][-1].status == "online"
            audit = await r.store.audit_log(target=mc.id)
            assert [(e.actor, e.command, e.result) for e in audit] == [
                ("pilot:ana", "abort", "ok"), ("pilot:test", "start", "ok"), ("pilot:test", "mission.create", "ok"),
            ]  # fmt: skip


# --- the bus goes away --------------------------------------------------------------------------------


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[Broker]:
    _need(subprocess.run(["which", "mosquitto"], capture_output=True).returncode == 0, "the mosquitto binary")
    broker = Broker(tmp_path / "mosquitto", port=18700)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


class Broker:
    """A private Mosquitto that keeps sessions across restarts (persistence on, saved at SIGTERM)."""

    def __init__(self, where: Path, *, port: int) -> None:
        where.mkdir(parents=True, exist_ok=True)
        self.port, self.url = port, f"mqtt://127.0.0.1:{port}"
        self.conf = where / "mosquitto.conf"
        self.conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {where}/\nautosave_interval 1\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(["mosquitto", "-c", str(self.conf)], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while not _port_open(self.port):
            assert time.monotonic() < deadline, "private mosquitto did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(5)
        self.proc = None


async def test_broker_restart_mid_mission_loses_no_event(tmp_path: Path, private_broker: Broker) -> None:
    """Mosquitto stops while the drone flies (pause and resume happen meanwhile): every event still arrives."""
    from sim.runner import Simulator

    tag = f"br{uuid.uuid4().hex[:6]}"
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'patrol.db'}", private_broker.url)
    async with (
        Simulator(vehicles=1, speed=SPEED, home=HOME, gcs_port_base=17010, vehicle_port_base=17510) as _sim,
        running_service(settings) as r,
    ):
        (drone,) = await add_fleet(r, tag, 17010, 1)
        plan = await plan_for(r, small_area(f"{tag}-area", 0), f"{tag}-dock0")
        async with watching(private_broker.url, [drone], client_id=f"{tag}-watcher") as w:
            await ready(r, [drone])
            m = await r.service.create_mission(plan, drone)
            await r.service.start(m.id)
            await mission_at(r.store, m.id, lambda m: m.state is S.EXECUTING and m.progress.current_item >= 3)
            private_broker.stop()
            await until(lambda: not r.bus.connected, 5, "the bus to notice")
            await r.service.pause(m.id)
            await asyncio.sleep(0.5)
            await r.service.resume(m.id)
            queued = r.bus.stats.outbox
            await asyncio.sleep(1.0)
            private_broker.start()
            done = await r.service.wait(m.id, 60)
            assert done.state is S.COMPLETED
            assert queued >= 2 and r.bus.stats.connects >= 2
            kinds = await check_persisted(r.store, w, done)  # every seq from 0, in order, same as stored
            assert {"pause", "resume", "landed", "disarmed"} <= set(kinds)


# --- kill -9 and restart ----------------------------------------------------------------------------


def _spawn(args: list[str], out: BinaryIO, **extra_env: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **extra_env}
    env.pop("PATROL_MQTT__URL", None)
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=out,
        stderr=subprocess.STDOUT,
    )


def _config(path: Path, tag: str, gcs_port: int) -> Path:
    lon, lat = off(0, 0)
    path.write_text(
        f"""
[scheduler]
tick_s = 0.5

[[fleet.docks]]
id = "{tag}-dock"
lat = {lat}
lon = {lon}

[[fleet.drones]]  # no system_id: discovered on the connection
id = "{tag}-k"
connection_url = "udpin://127.0.0.1:{gcs_port}"
dock_id = "{tag}-dock"
"""
    )
    return path


@asynccontextmanager
async def planner(store: Store) -> AsyncIterator[object]:
    """The service facade over the store alone (no drone followed): enough to add areas, plans, schedules."""
    from mission.fleet import Fleet
    from mission.service import MissionService

    async with asyncio.TaskGroup() as tg:
        yield MissionService(store=store, fleet=Fleet(None, tg=tg), tg=tg)  # type: ignore[arg-type]


async def test_service_kill9_and_restart_reattaches(tmp_path: Path, mosquitto: str) -> None:
    """The service dies (kill -9) mid-mission; the drone (another process) flies on; the restart picks it up."""
    tag = f"k9{uuid.uuid4().hex[:6]}"
    db = f"sqlite+aiosqlite:///{tmp_path / 'patrol.db'}"
    log_path = tmp_path / "processes.log"
    log = log_path.open("ab")
    serve = ["-m", "mission", "serve", "--config", str(_config(tmp_path / "patrol.toml", tag, 17020))]
    serve += ["--db", db, "--mqtt", mosquitto]
    sim = _spawn(["-m", "sim", "--vehicles", "1", "--speed", str(SPEED), "--gcs-port-base", "17020",
                  "--vehicle-port-base", "17520", "--home", ",".join(map(str, HOME))], log)  # fmt: skip
    service = _spawn(serve, log)
    try:
        async with Store(db) as store, watching(mosquitto, [f"{tag}-k"]) as w:
            await until(lambda: _drone_known(store, f"{tag}-k"), 20, "the service to register the drone")
            async with planner(store) as svc:
                await svc.add_area(small_area(f"{tag}-area", 0))  # type: ignore[attr-defined]
                req = PlanRequest(altitude_m=20, speed_mps=10, spacing_m=10, dock_id=f"{tag}-dock")  # 7 lines
                (plan,) = await svc.plan_area(f"{tag}-area", req)  # type: ignore[attr-defined]
                from mission.model import Schedule

                sched = Schedule(id=f"{tag}-s", name="once", plan_id=plan.id, drone_id=f"{tag}-k",
                                 run_at=utcnow() + timedelta(seconds=1))  # fmt: skip
                await svc.add_schedule(sched)  # type: ignore[attr-defined]
            missions = await until(
                lambda: store.list_missions(drone_id=f"{tag}-k"), 30, "the scheduled mission"
            )
            mid = missions[0].id
            await mission_at(store, mid, lambda m: m.state is S.EXECUTING)
            await asyncio.sleep(1.0)
            service.kill()  # SIGKILL: no clean-up at all
            service.wait(5)
            service.stdin.close()  # type: ignore[union-attr]
            killed_at = utcnow()
            await asyncio.sleep(1.5)
            assert sim.poll() is None
            service = _spawn(serve, log)
            restarted_at = utcnow()

            done = await mission_at(
                store, mid, lambda m: m.state.value in ("completed", "aborted", "interrupted", "failed")
            )
            assert done.state is S.COMPLETED, log_path.read_text()[-3000:]
            assert [m.id for m in await store.list_missions(drone_id=f"{tag}-k")] == [mid]  # no duplicate
            kinds = await check_persisted(store, w, done)  # contiguous, and every seq on the bus
            assert kinds.count("service_restart") == 1
            restart = next(e for e in await store.events_after(mid) if e.kind == "service_restart")
            assert restart.from_state == restart.to_state  # re-attached in the state it was left in
            assert restart.data["vehicle_items"] == len((await store.get_plan(done.plan_id)).items)
            assert restart.data["vehicle_item"] >= 3  # it flew on meanwhile

            track = await store.track(mid)
            gaps = [(b.t - a.t).total_seconds() for a, b in itertools.pairwise(track)]
            # The service was away from the kill until the re-attach; on top of that only the points not
            # yet flushed when it died (at most one flush interval) and the 1 Hz spacing may be missing.
            away = (restart.at - killed_at).total_seconds()
            assert max(gaps) <= away + 1.0 + 1.5, (max(gaps), away)
            assert any(p.t > restarted_at for p in track) and any(p.t < killed_at for p in track)

            service.send_signal(signal.SIGTERM)  # a clean stop: exit 0, drones published offline
            assert service.wait(15) == 0
            await until(
                lambda: w.states[f"{tag}-k"] and w.states[f"{tag}-k"][-1].status == "offline", 5, "offline"
            )
    finally:
        for proc in (service, sim):
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
            if proc.stdin is not None:
                proc.stdin.close()
        log.close()


async def _drone_known(store: Store, drone_id: str) -> bool:
    return any(d.id == drone_id for d in await store.list_drones())


# --- PostgreSQL, and the go-to command --------------------------------------------------------------


@pytest.fixture
async def pg_schema() -> AsyncIterator[str]:
    schema = f"svc_{uuid.uuid4().hex[:10]}"
    dsn = PG_URL.replace("+asyncpg", "")
    try:
        conn = await asyncpg.connect(dsn, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        _need(False, f"PostgreSQL at {PG_URL} ({exc})")
    await conn.close()
    yield schema
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


async def test_postgres_mission_with_goto_and_resume(pg_schema: str, mosquitto: str) -> None:
    """On PostgreSQL: go to a point mid-mission (the mission pauses), resume, complete; all persisted."""
    from sim.runner import Simulator

    tag = f"pg{uuid.uuid4().hex[:6]}"
    async with (
        Simulator(vehicles=1, speed=SPEED, home=HOME, gcs_port_base=17030, vehicle_port_base=17530) as _sim,
        running_service(settings_for(PG_URL, mosquitto), db_schema=pg_schema) as r,
    ):
        assert r.store.dialect == "postgresql"
        (drone,) = await add_fleet(r, tag, 17030, 1)
        plan = await plan_for(r, small_area(f"{tag}-area", 0), f"{tag}-dock0")
        await ready(r, [drone])
        m = await r.service.create_mission(plan, drone)
        await r.service.start(m.id)
        await mission_at(r.store, m.id, lambda m: m.state is S.EXECUTING and m.progress.current_item >= 4)
        lon, lat = off(40, -40)  # a point of the area (inside the geofence), off the current leg
        await r.service.goto(m.id, lat, lon, 20.0, actor="pilot:ana")
        assert (await r.store.get_mission(m.id)).state is S.PAUSED

        def near() -> bool:
            s = r.fleet.latest(drone)
            return s is not None and abs(s.lat - lat) < 3e-5 and abs(s.lon - lon) < 3e-5

        await until(near, 20, "the drone at the go-to point")
        await r.service.resume(m.id, actor="pilot:ana")
        done = await r.service.wait(m.id, 60)
        assert done.state is S.COMPLETED
        kinds = await check_persisted(r.store, None, done)
        assert kinds[kinds.index("took_off") + 1 : kinds.index("took_off") + 3] == ["pause", "resume"]
        pause = next(e for e in await r.store.events_after(m.id) if e.kind == "pause")
        assert "go to" in pause.reason
        assert [a.command for a in await r.store.audit_log(target=m.id)][:2] == ["resume", "goto"]


# --- bad input: clear errors, nothing written --------------------------------------------------------


async def test_bad_input_is_refused_and_nothing_is_written(tmp_path: Path, mosquitto: str) -> None:
    from geo.errors import PlanningError
    from geo.items import return_to_launch, takeoff, waypoint
    from mission.errors import ConfigError, ConflictError, NotFoundError
    from mission.model import PlanRecord, Schedule

    tag = f"bad{uuid.uuid4().hex[:6]}"
    async with running_service(settings_for(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}", mosquitto)) as r:
        svc, store = r.service, r.store
        (drone,) = await add_fleet(r, tag, 17099, 1)  # nothing listens there: registered, never linked
        plan = await plan_for(r, small_area(f"{tag}-area", 0), f"{tag}-dock0")
        await svc.add_schedule(
            Schedule(id=f"{tag}-s1", name="nightly", plan_id=plan, drone_id=drone, cron="0 20 * * *")
        )
        before = {
            t: await store.count(t) for t in ("missions", "schedules", "plans", "areas", "mission_events")
        }

        with pytest.raises(NotFoundError, match="unknown drone: nobody"):
            await svc.create_mission(plan, "nobody", actor="pilot:ana")
        with pytest.raises(NotFoundError, match="unknown drone: nobody"):
            await svc.add_schedule(
                Schedule(id=f"{tag}-s2", name="x", plan_id=plan, drone_id="nobody", cron="0 3 * * *")
            )
        with pytest.raises(ConflictError, match=f"overlaps schedule {tag}-s1"):
            await svc.add_schedule(
                Schedule(id=f"{tag}-s3", name="x", plan_id=plan, drone_id=drone, cron="15 20 * * *")
            )
        with pytest.raises(ConfigError, match="cron '61 \\* \\* \\* \\*'"):
            await svc.add_schedule(
                Schedule(id=f"{tag}-s4", name="x", plan_id=plan, drone_id=drone, cron="61 * * * *")
            )
        with pytest.raises(PlanningError, match="altitude 500"):
            await svc.plan_area(f"{tag}-area", PlanRequest(altitude_m=500))
        lon, lat = off(30, 0)
        high = PlanRecord(
            id=f"{tag}-high",
            name="too high",
            items=(takeoff(20), waypoint(lat, lon, 300), return_to_launch()),
        )
        with pytest.raises(ConfigError, match="plan_altitude"):
            await svc.add_plan(high)
        with pytest.raises(NotFoundError, match="unknown mission: m-none"):
            await svc.start("m-none")
        with pytest.raises(NotFoundError, match="running mission"):
            await svc.pause("m-none")
        m = await svc.create_mission(plan, drone)
        with pytest.raises(Exception, match="no vehicle found") as exc:  # registered, but not connected
            await svc.start(m.id)
        assert type(exc.value).__name__ == "VehicleNotFoundError"

        after = {t: await store.count(t) for t in before}
        assert after == {**before, "missions": before["missions"] + 1}  # only the good mission
        assert (await store.get_mission(m.id)).state is S.SCHEDULED
        refused = [e for e in await store.audit_log(limit=50) if e.result != "ok"]
        assert len(refused) == 9 and all(e.result for e in refused)


# --- patrol serve: embedded broker, in-process simulator, signals ------------------------------------


async def test_serve_with_embedded_broker_and_sim_stops_on_sigint(tmp_path: Path) -> None:
    """``patrol serve --sim 2`` with no broker configured: an embedded one; SIGINT stops it cleanly."""
    env = {
        "PATROL_MQTT__EMBEDDED_PORT": "18701",
        "PATROL_SIM__GCS_PORT_BASE": "17040",
        "PATROL_SIM__VEHICLE_PORT_BASE": "17540",
    }
    with (tmp_path / "serve.log").open("ab") as log:
        args = ["-m", "mission", "serve", "--sim", "2", "--sim-speed", "10"]
        proc = _spawn([*args, "--db", f"sqlite+aiosqlite:///{tmp_path / 'p.db'}"], log, **env)
        try:
            await until(lambda: _port_open(18701), 20, "the embedded broker")
            async with watching("mqtt://127.0.0.1:18701", ["sim1", "sim2"]) as w:
                await until(
                    lambda: len(w.telemetry["sim1"]) >= 3 and len(w.telemetry["sim2"]) >= 3, 20, "telemetry"
                )
                assert w.telemetry["sim2"][-1].satellites > 0
                proc.send_signal(signal.SIGINT)
                assert proc.wait(15) == 0, (tmp_path / "serve.log").read_text()[-2000:]
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
            proc.stdin.close()  # type: ignore[union-attr]
    async with Store(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}") as store:
        assert [d.id for d in await store.list_drones()] == ["sim1", "sim2"]
        assert [d.id for d in await store.list_docks()] == ["dock-sim1", "dock-sim2"]


def test_serve_refuses_a_missing_config_file(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from mission.cli import app

    result = CliRunner().invoke(app, ["serve", "--config", str(tmp_path / "nope.toml")])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: settings file {tmp_path / 'nope.toml'} not found"
