"""Flight log export: GeoJSON, KML and CSV from a track and events; ``patrol logs export`` on a real store."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from geo.items import takeoff, waypoint
from mission.cli import app
from mission.errors import ConfigError
from mission.logs import export_log, to_csv, to_geojson, to_kml
from mission.model import Dock, Drone, Mission, MissionEvent, PlanRecord, TrackPoint
from mission.settings import load_settings
from mission.states import MissionState, transition
from mission.storage.repository import Store

T0 = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
TRACK = [
    TrackPoint(t=T0 + timedelta(seconds=i), lat=19.365 + i * 1e-4, lon=-99.215, alt=2300 + i)
    for i in range(10)
]
EVENTS = [
    MissionEvent(
        mission_id="m1",
        seq=1,
        at=T0 + timedelta(seconds=2.4),
        kind="took_off",
        from_state=MissionState.ARMED,
        to_state=MissionState.EXECUTING,
    ),
    MissionEvent(
        mission_id="m1",
        seq=2,
        at=T0 + timedelta(seconds=8.6),
        kind="abort",
        from_state=MissionState.EXECUTING,
        to_state=MissionState.RETURNING,
        reason='pilot: "wind" & <gusts>',
        data={"by": "ana"},
    ),
]


def test_geojson_has_the_track_and_events_at_their_nearest_point() -> None:
    fc = json.loads(to_geojson(TRACK, EVENTS, mission_id="m1"))
    assert fc["type"] == "FeatureCollection"
    line, ev1, ev2 = fc["features"]
    assert line["geometry"]["type"] == "LineString" and len(line["geometry"]["coordinates"]) == 10
    assert line["geometry"]["coordinates"][0] == [-99.215, 19.365, 2300]
    assert (
        line["properties"]["start"] == "2026-12-02T03:00:00.000Z" and len(line["properties"]["times"]) == 10
    )
    assert ev1["geometry"]["coordinates"] == [TRACK[2].lon, TRACK[2].lat, TRACK[2].alt]  # 2.4 s -> point 2
    assert ev2["geometry"]["coordinates"][2] == TRACK[9].alt  # 8.6 s -> point 9
    assert {"event": "abort", "to_state": "returning"}.items() <= ev2["properties"].items()
    assert ev2["properties"]["data"] == {"by": "ana"}
    no_track = json.loads(to_geojson([], EVENTS[:1]))
    assert [f["geometry"] for f in no_track["features"]] == [None]


def test_kml_is_valid_xml_with_escaped_text() -> None:
    root = ET.fromstring(to_kml(TRACK, EVENTS, mission_id="m1"))
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    coords = root.find(".//k:LineString/k:coordinates", ns)
    assert coords is not None and coords.text is not None and len(coords.text.split()) == 10
    names = [n.text for n in root.findall(".//k:Placemark/k:name", ns)]
    assert names == ["track", "1: took_off (armed -> executing)", "2: abort (executing -> returning)"]
    descs = [d.text for d in root.findall(".//k:Placemark/k:description", ns)]
    assert descs[-1] == 'pilot: "wind" & <gusts>'
    assert [w.text for w in root.findall(".//k:TimeStamp/k:when", ns)] == [
        "2026-12-02T03:00:02.400Z",
        "2026-12-02T03:00:08.600Z",
    ]


def test_csv_is_one_chronological_table() -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(TRACK, EVENTS))))
    assert len(rows) == 12
    assert [r["record"] for r in rows[:4]] == ["track", "track", "track", "event"]
    assert rows[3]["event"] == "took_off" and rows[3]["lat"] == ""
    assert rows[-2]["event"] == "abort" and rows[-2]["reason"] == 'pilot: "wind" & <gusts>'
    assert [r["time"] for r in rows] == sorted(r["time"] for r in rows)


def test_unknown_format() -> None:
    with pytest.raises(ConfigError, match="unknown log format 'gpx'"):
        export_log("gpx", TRACK, EVENTS)


async def _seed(url: str) -> None:
    async with Store(url) as s:
        await s.add_dock(Dock(id="k1", name="Dock", lat=19.365, lon=-99.215))
        await s.add_drone(Drone(id="d1", name="Alfa", connection_url="udpin://0.0.0.0:14540", dock_id="k1"))
        await s.add_plan(PlanRecord(id="p1", name="P", items=(takeoff(30), waypoint(19.366, -99.216, 40))))
        await s.add_mission(Mission(id="m-20261202-abc123", plan_id="p1", drone_id="d1"))
        status = (await s.get_mission("m-20261202-abc123")).state
        for i, ev in enumerate(["start", "preflight_ok", "uploaded", "armed", "took_off"]):
            t = transition(status, ev, at=T0 + timedelta(seconds=i))
            await s.record_transition("m-20261202-abc123", t)
            status = t.after
        await s.add_track_points("m-20261202-abc123", TRACK)


def test_cli_exports_a_stored_mission(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'p.db'}"
    asyncio.run(_seed(url))
    out = tmp_path / "log.csv"
    runner = CliRunner()
    res = runner.invoke(
        app, ["logs", "export", "m-20261202-abc123", "--format", "csv", "--db", url, "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert sum(r["record"] == "track" for r in rows) == 10
    assert [r["event"] for r in rows if r["record"] == "event"] == [
        "start",
        "preflight_ok",
        "uploaded",
        "armed",
        "took_off",
    ]
    res = runner.invoke(app, ["logs", "export", "m-20261202-abc123", "--db", url])  # geojson to stdout
    assert res.exit_code == 0 and json.loads(res.stdout)["type"] == "FeatureCollection"
    res = runner.invoke(app, ["logs", "export", "m-nope", "--db", url])
    assert res.exit_code == 1 and "unknown mission: m-nope" in res.output


def test_cli_takes_the_database_from_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'env.db'}"
    asyncio.run(_seed(url))
    monkeypatch.setenv("PATROL_DATABASE__URL", url)
    res = CliRunner().invoke(app, ["logs", "export", "m-20261202-abc123", "--format", "kml"])
    assert res.exit_code == 0, res.output
    assert ET.fromstring(res.stdout).tag == "{http://www.opengis.net/kml/2.2}kml"


def test_settings_from_a_toml_file_under_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "patrol.toml"
    cfg.write_text('timezone = "UTC"\nmax_altitude_m = 100\n[database]\nurl = "sqlite+aiosqlite:///f.db"\n')
    monkeypatch.delenv("PATROL_DATABASE__URL", raising=False)
    s = load_settings(cfg)
    assert (s.timezone, s.max_altitude_m, s.database.url) == ("UTC", 100, "sqlite+aiosqlite:///f.db")
    monkeypatch.setenv("PATROL_DATABASE__URL", "postgresql+asyncpg://db/patrol")
    assert load_settings(cfg).database.url == "postgresql+asyncpg://db/patrol"  # environment wins
    assert load_settings().timezone == "America/Mexico_City"
    cfg.write_text("max_altitude_m = 'high'\n")
    with pytest.raises(ConfigError, match=r"invalid settings in .*patrol.toml"):
        load_settings(cfg)
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "missing.toml")
