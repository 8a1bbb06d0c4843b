"""The store against real databases: a SQLite temp file and the PostgreSQL at 127.0.0.1:5432/test.

Each PostgreSQL test runs in its own schema (dropped afterwards), so parallel runs do not clash.
Without a reachable server the PostgreSQL cases skip locally and FAIL under ``CI``.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from geo.items import takeoff, waypoint
from mission.errors import ConfigError, ConflictError, NotFoundError
from mission.model import (
    Area,
    AuditEntry,
    Dock,
    Drone,
    MissedRunPolicy,
    Mission,
    PlanRecord,
    Progress,
    Schedule,
    TimeWindow,
    TrackPoint,
    area_from_geo,
    dock_from_geo,
    item_to_json,
)
from mission.states import Ending, MissionState, MissionStatus, transition
from mission.storage import StorageError, Store
from mission.storage.migrate import current_revision, head_revision
from mission.storage.tables import Base

PG_URL = os.environ.get("PATROL_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
T0 = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)


def _pg_reachable() -> str | None:
    async def probe() -> None:
        conn = await asyncpg.connect(PG_URL.replace("+asyncpg", ""), timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


async def _drop_schema(schema: str) -> None:
    conn = await asyncpg.connect(PG_URL.replace("+asyncpg", ""), timeout=5)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


async def _migrate_and_seed(store: Store) -> None:
    """Migrate, then add what every test starts from: dock k1, drones d1 (at k1) and d2, plan p1."""
    async with store as s:
        await s.add_dock(Dock(id="k1", name="Dock Norte", lat=19.3650, lon=-99.2150, alt_amsl_m=2300))
        await s.add_drone(Drone(id="d1", name="Alfa", connection_url="udpin://0.0.0.0:14540", dock_id="k1"))
        await s.add_drone(Drone(id="d2", name="Bravo", connection_url="udpin://0.0.0.0:14541", system_id=2))
        await s.add_plan(
            PlanRecord(
                id="p1",
                name="ravine",
                items=(takeoff(30), waypoint(19.366, -99.216, 40), waypoint(19.367, -99.217, 40)),
                stats={"energy_pct": 35.0, "length_m": 900.0},
                created_at=T0,
            )
        )


def _pg_or_skip(why: str | None) -> None:
    if why is not None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at {PG_URL} unreachable under CI: {why}")
        pytest.skip(f"PostgreSQL at {PG_URL} unreachable (start it, or set PATROL_TEST_PG_URL): {why}")


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[tuple[str | None, str | None]]:
    """One migrated, seeded schema for the session (reset before each test); (schema, why unreachable)."""
    why = _pg_reachable()
    if why is not None:
        yield None, why
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    asyncio.run(_migrate_and_seed(Store(PG_URL, schema=schema)))
    yield schema, None
    asyncio.run(_drop_schema(schema))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db") / "template.db"
    asyncio.run(_migrate_and_seed(Store(f"sqlite+aiosqlite:///{path}")))
    return path


StoreFactory = Callable[[], Store]
# Back to the seeded state: everything a test may add goes, the seed rows stay.
RESET = """
    TRUNCATE audit_log, track_points, mission_events, missions, schedules RESTART IDENTITY;
    DELETE FROM plans WHERE id <> 'p1';
    DELETE FROM areas;
    DELETE FROM drones WHERE id NOT IN ('d1', 'd2');
    DELETE FROM docks WHERE id <> 'k1';
"""


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
async def open_store(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
    pg_schema: tuple[str | None, str | None],
) -> StoreFactory:
    """A factory of Stores on one seeded database, so a test can close and reopen it (a restart)."""
    if request.param == "sqlite":
        path = tmp_path / "patrol.db"
        shutil.copyfile(sqlite_template, path)
        return lambda: Store(f"sqlite+aiosqlite:///{path}")
    schema, why = pg_schema
    _pg_or_skip(why)
    conn = await asyncpg.connect(PG_URL.replace("+asyncpg", ""), timeout=5)
    try:
        await conn.execute(f'SET search_path TO "{schema}";' + RESET)
    finally:
        await conn.close()
    return lambda: Store(PG_URL, schema=schema)


@pytest.fixture
async def store(open_store: StoreFactory) -> AsyncIterator[Store]:
    async with open_store() as s:
        yield s


async def _mission(store: Store, mid: str = "m1", drone: str = "d1") -> Mission:
    return await store.add_mission(Mission(id=mid, plan_id="p1", drone_id=drone, created_at=T0))


async def _walk(store: Store, mid: str, *events: str, start: datetime = T0) -> MissionStatus:
    status = (await store.get_mission(mid)).status
    for i, ev in enumerate(events):
        t = transition(status, ev, at=start + timedelta(seconds=10 * i), reason=f"step {i}")
        await store.record_transition(mid, t)
        status = t.after
    return status


@pytest.mark.parametrize("dialect", ["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
async def test_opening_an_empty_database_migrates_it_to_head(dialect: str, tmp_path: Path) -> None:
    if dialect == "sqlite":
        make = lambda: Store(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")  # noqa: E731
    else:
        _pg_or_skip(await asyncio.to_thread(_pg_reachable))
        schema = f"t_{uuid.uuid4().hex[:12]}"
        make = lambda: Store(PG_URL, schema=schema)  # noqa: E731
    try:
        async with make() as store:
            assert store.migrated
            assert store._engine is not None
            async with store._engine.connect() as conn:
                rev = await conn.run_sync(current_revision)
                diff = await conn.run_sync(
                    lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata)
                )
            assert rev == head_revision() == "0001"
            assert diff == []  # the hand-checked migration creates exactly what tables.py declares
            await store.add_dock(Dock(id="k9", name="D", lat=19.0, lon=-99.0))
        async with make() as store:  # a restart: nothing to migrate, the data is there
            assert not store.migrated
            assert [d.id for d in await store.list_docks()] == ["k9"]
    finally:
        if dialect == "postgresql":
            await _drop_schema(schema)


async def test_round_trips_domain_values(store: Store) -> None:
    area = Area(
        id="a1",
        name="Barranca",
        geometry={
            "type": "Polygon",
            "coordinates": [[[-99.2, 19.3], [-99.21, 19.3], [-99.2, 19.31], [-99.2, 19.3]]],
        },
        properties={"priority": 2},
    )
    nfz = Area(
        id="n1", name="Hospital", kind="no_fly", geometry={"type": "Point", "coordinates": [-99.2, 19.3]}
    )
    await store.add_area(area)
    await store.add_area(nfz)
    assert await store.get_area("a1") == area
    assert await store.list_no_fly_zones() == [nfz]
    plan = await store.get_plan("p1")
    assert [item_to_json(i) for i in plan.items] == [
        item_to_json(i) for i in (takeoff(30), waypoint(19.366, -99.216, 40), waypoint(19.367, -99.217, 40))
    ]
    assert math.isnan(plan.items[1].param4)  # "no yaw change" survives the JSON round trip
    assert plan.created_at == T0 and plan.created_at.tzinfo is not None
    assert (await store.get_drone("d1")).dock_id == "k1"
    with pytest.raises(ConflictError, match="drone d1 already exists"):
        await store.add_drone(Drone(id="d1", name="again", connection_url="udpin://0.0.0.0:1"))


async def test_unknown_references_raise_not_found_and_write_nothing(store: Store) -> None:
    with pytest.raises(NotFoundError) as e:
        await store.add_mission(Mission(id="m1", plan_id="p1", drone_id="ghost"))
    assert (e.value.kind, e.value.key) == ("drone", "ghost")
    with pytest.raises(NotFoundError, match="unknown dock: nowhere"):
        await store.add_drone(Drone(id="d9", name="x", connection_url="udpin://0.0.0.0:1", dock_id="nowhere"))
    with pytest.raises(NotFoundError, match="unknown mission: m404"):
        await store.get_mission("m404")
    assert await store.count("missions") == 0
    assert await store.count("drones") == 2


async def test_plan_outside_limits_is_refused(store: Store) -> None:
    too_high = PlanRecord(id="p2", name="high", items=(takeoff(30), waypoint(19.366, -99.216, 150)))
    with pytest.raises(ConfigError, match=r"plan p2 outside limits: plan_altitude: .*150 m.*120 m"):
        await store.add_plan(too_high)
    assert [p.id for p in await store.list_plans()] == ["p1"]


async def test_transitions_and_events_are_stored_together(store: Store) -> None:
    await _mission(store)
    path = ["start", "preflight_ok", "uploaded", "armed", "took_off", "pause", "resume"]
    path += ["mission_finished", "landed", "disarmed"]
    final = await _walk(store, "m1", *path)
    assert final.state is MissionState.COMPLETED
    m = await store.get_mission("m1")
    assert (m.state, m.last_seq) == (MissionState.COMPLETED, len(path))
    assert m.started_at == T0 and m.ended_at == T0 + timedelta(seconds=10 * (len(path) - 1))
    events = await store.events_after("m1", 0)
    assert [e.seq for e in events] == list(range(1, len(path) + 1))
    assert [e.kind for e in events] == path
    assert all(a.to_state == b.from_state for a, b in itertools.pairwise(events))
    assert [e.kind for e in await store.events_after("m1", 8)] == ["landed", "disarmed"]


async def test_failed_event_insert_rolls_back_the_state_change(store: Store) -> None:
    await _mission(store)
    await _walk(store, "m1", "start")
    bad = transition(MissionState.PREFLIGHT, "preflight_ok", at=T0, data={"sample": object()})
    with pytest.raises(ConfigError, match="event data cannot be stored"):
        await store.record_transition("m1", bad)
    m = await store.get_mission("m1")
    assert (m.state, m.last_seq) == (MissionState.PREFLIGHT, 1)
    assert len(await store.events_after("m1")) == 1


async def test_stale_transition_is_refused_and_writes_nothing(store: Store) -> None:
    await _mission(store)
    await _walk(store, "m1", "start", "preflight_ok")
    stale = transition(MissionState.PREFLIGHT, "preflight_failed", at=T0)
    with pytest.raises(ConflictError, match="m1 is uploading"):
        await store.record_transition("m1", stale)
    assert (await store.get_mission("m1")).last_seq == 2


async def test_concurrent_transitions_exactly_one_wins(store: Store) -> None:
    await _mission(store)
    await _walk(store, "m1", "start", "preflight_ok", "uploaded", "armed", "took_off")
    a = transition(MissionState.EXECUTING, "pause", at=T0)
    b = transition(MissionState.EXECUTING, "battery_failsafe", at=T0)
    results = await asyncio.gather(
        store.record_transition("m1", a), store.record_transition("m1", b), return_exceptions=True
    )
    assert sorted(type(r).__name__ for r in results) == ["ConflictError", "MissionEvent"]
    m = await store.get_mission("m1")
    assert m.last_seq == 6 and len(await store.events_after("m1")) == 6


async def test_missions_in_flight_survive_a_restart(open_store: StoreFactory, store: Store) -> None:
    for mid in ("m1", "m2", "m3", "m4"):
        await _mission(store, mid)
    await _walk(store, "m2", "start", "preflight_ok", "uploaded", "armed", "took_off", "battery_failsafe")
    await _walk(store, "m3", "start", "preflight_failed")
    await _walk(store, "m4", "start")
    await store.update_progress(
        "m2", Progress(current_item=2, total_items=3, distance_m=420.0, covered_fraction=0.4)
    )
    async with open_store() as again:  # a second process over the same database
        flying = {m.id: m for m in await again.missions_in_flight()}
    assert set(flying) == {"m2", "m4"}
    assert (flying["m2"].state, flying["m2"].ending) == (MissionState.RETURNING, Ending.INTERRUPTED)
    assert flying["m2"].progress.distance_m == 420.0
    assert [m.id for m in await store.list_missions(state="scheduled")] == ["m1"]


async def test_schedule_conflict_writes_nothing(store: Store) -> None:
    nightly = Schedule(
        id="s1", name="ravine nightly", plan_id="p1", drone_id="d1", cron="0 21 * * *", duration_s=3600
    )
    await store.add_schedule(nightly, now=T0)
    patrol = Schedule(
        id="s2",
        name="facility 2h",
        plan_id="p1",
        drone_id="d1",
        cron="30 */2 * * *",
        window=TimeWindow(start=time(20, 0), end=time(5, 0)),
        duration_s=2400,  # 20:30-21:10 runs into the nightly 21:00
    )
    with pytest.raises(
        ConflictError,
        match=r"s2 \(facility 2h\) overlaps schedule s1 \(ravine nightly\).*2026-12-02T21:00-06:00",
    ):
        await store.add_schedule(patrol, now=T0)
    other_drone = Schedule(id="s3", name="facility", plan_id="p1", drone_id="d2", cron="30 */2 * * *")
    await store.add_schedule(other_drone, now=T0)
    with pytest.raises(ConfigError, match=r"cron '0 25 \* \* \*'"):
        await store.add_schedule(Schedule(id="s4", name="bad", plan_id="p1", cron="0 25 * * *"), now=T0)
    with pytest.raises(NotFoundError, match="drone: d7"):
        await store.add_schedule(Schedule(id="s5", name="x", plan_id="p1", drone_id="d7", cron="0 3 * * *"))
    stored = await store.list_schedules()
    assert [s.id for s in stored] == ["s1", "s3"]
    await store.set_schedule_enabled("s1", False)
    await store.mark_schedule_run("s3", T0)
    s3 = await store.get_schedule("s3")
    assert s3.last_run_at == T0 and s3.missed_policy is MissedRunPolicy.SKIP
    assert [s.id for s in await store.list_schedules(enabled_only=True)] == ["s3"]
    await store.add_schedule(patrol, now=T0)  # s1 disabled: no clash any more
    assert (await store.get_schedule("s2")).window == patrol.window


async def test_track_is_downsampled_to_one_point_per_second(store: Store) -> None:
    await _mission(store)
    base = T0 + timedelta(milliseconds=300)
    stream = [
        TrackPoint(t=base + timedelta(seconds=i / 10), lat=19.36 + i * 1e-5, lon=-99.21, alt=2340)
        for i in range(50)
    ]
    kept = await store.add_track_points("m1", stream)  # 18:00:00.3 .. 18:00:05.2 -> seconds 0..5
    assert kept == 6
    again = await store.add_track_points(
        "m1", [*stream[45:], TrackPoint(t=T0 + timedelta(seconds=7), lat=1, lon=2, alt=3)]
    )
    assert again == 1
    track = await store.track("m1")
    assert [int(p.t.timestamp()) - int(T0.timestamp()) for p in track] == [0, 1, 2, 3, 4, 5, 7]
    assert track[0] == stream[0] and track[1] == stream[7]  # the first sample of each second is kept
    with pytest.raises(NotFoundError):
        await store.add_track_points("ghost", stream)


async def test_audit_log(store: Store) -> None:
    await store.add_audit(
        AuditEntry(at=T0, actor="pilot:ana", command="abort", target="m1", args={"why": "wind"})
    )
    await store.add_audit(
        AuditEntry(
            at=T0 + timedelta(seconds=1), actor="scheduler", command="start", target="m2", result="drone busy"
        )
    )
    log = await store.audit_log()
    assert [(e.command, e.target, e.result) for e in log] == [
        ("start", "m2", "drone busy"),
        ("abort", "m1", "ok"),
    ]
    assert log[1].args == {"why": "wind"} and log[1].at == T0 and log[1].id is not None
    assert [e.actor for e in await store.audit_log(target="m1")] == ["pilot:ana"]
    with pytest.raises(ConfigError, match="not JSON"):
        await store.add_audit(AuditEntry(at=T0, actor="x", command="y", target="z", args={"bad": {1, 2}}))
    assert await store.count("audit_log") == 2


async def test_unreachable_database_is_a_storage_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="cannot open the database"):
        async with Store(f"sqlite+aiosqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}"):
            pass
    with pytest.raises(ConfigError, match="schema name"):
        async with Store(PG_URL, schema="x; DROP TABLE y"):
            pass


async def test_planner_areas_and_docks_are_stored(store: Store) -> None:
    from shapely.geometry import Polygon

    from geo.areas import Circle, NoFlyZone, PatrolArea
    from geo.areas import Dock as GeoDock
    from geo.frames import LonLat

    ring = [(-99.22, 19.36), (-99.21, 19.36), (-99.21, 19.37), (-99.22, 19.36)]
    patrol = area_from_geo(PatrolArea(name="Barranca", polygon=Polygon(ring), altitude_m=45), area_id="a1")
    hospital = NoFlyZone(
        name="Hospital", shape=Circle(center=LonLat(-99.2, 19.35), radius_m=300), reason="helipad"
    )
    await store.add_area(patrol)
    await store.add_area(area_from_geo(hospital, area_id="n1"))
    await store.add_dock(
        dock_from_geo(GeoDock(name="Sur", position=LonLat(-99.21, 19.33), alt_m=2290), dock_id="k2")
    )
    got = await store.get_area("a1")
    assert got.geometry["type"] == "Polygon" and got.geometry["coordinates"][0][1] == [-99.21, 19.36]
    assert got.properties["altitude_m"] == 45 and got.properties["pattern"] == "sweep"
    (nfz,) = await store.list_no_fly_zones()
    assert (
        nfz.geometry == {"type": "Point", "coordinates": [-99.2, 19.35]} and nfz.properties["radius_m"] == 300
    )
    assert (await store.get_dock("k2")).alt_amsl_m == 2290
