"""``patrol fly`` end to end: a 10-waypoint route on the in-process simulator, and bad input.

Ports: ground station 16020-16029, vehicle 16520-16529.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mission.cli import app
from mission.routes import load_route, route_length_m
from tests.vehicle_env import HOME, offset

runner = CliRunner()

# A zigzag of 10 waypoints with 50 m legs, starting 30 m north of home.
NE = [(30, 0), (80, 0), (80, 50), (30, 50), (30, 100), (80, 100), (80, 150), (30, 150), (30, 200), (80, 200)]


@pytest.fixture
def route(tmp_path: Path) -> Path:
    coords = [[lon, lat] for lat, lon in (offset(HOME[0], HOME[1], n, e) for n, e in NE)]
    path = tmp_path / "route.geojson"
    path.write_text(json.dumps({"type": "LineString", "coordinates": coords}))
    return path


def fly(*args: str) -> object:
    return runner.invoke(app, ["fly", *args], catch_exceptions=False)


@pytest.mark.sim
@pytest.mark.slow
def test_fly_a_route_on_the_simulator(route: Path, tmp_path: Path) -> None:
    out = tmp_path / "summary.json"
    result = fly(
        "--route", str(route), "--sim", "--sim-speed", "10", "--alt", "15", "--speed", "10",
        "--connect", "udpin://127.0.0.1:16020", "--sim-vehicle-port", "16520", "--summary", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    summary = json.loads(out.read_text())
    assert summary["completed"] is True
    assert (summary["waypoints_reached"], summary["waypoints_total"]) == (10, 10)
    assert summary["distance_m"] >= route_length_m(load_route(route, alt_m=15))
    assert summary["landed_from_home_m"] < 2.0
    assert 14 <= summary["max_alt_rel_m"] <= 40  # the route at 15 m, the return at RTL_RETURN_ALT
    assert summary["battery_used_pct"] > 0
    track = summary["track"]
    assert track["type"] == "LineString" and len(track["coordinates"]) >= 20


def _bad(tmp_path: Path, name: str, content: str | None) -> Path:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    return path


@pytest.mark.parametrize(
    ("name", "content", "extra", "reason"),
    [
        ("missing.geojson", None, [], "not found"),
        ("empty.geojson", "", [], "empty"),
        ("bad.geojson", '{"type": "LineString", "coordinates": [[1, 2]', [], "not valid JSON"),
        ("none.geojson", '{"type": "LineString", "coordinates": []}', [], "no waypoints"),
        ("ok.geojson", '{"type": "Point", "coordinates": [-99.215, 19.366]}', ["--alt", "0"], "altitude 0 m"),
        (
            "ok.geojson",
            '{"type": "Point", "coordinates": [-99.215, 19.366]}',
            ["--alt", "500"],
            "altitude 500 m",
        ),
        (
            "ok.geojson",
            '{"type": "Point", "coordinates": [-99.215, 19.366]}',
            ["--connect", "udpin://127.0.0.1:16029", "--timeout", "1"],
            "no heartbeat",
        ),
    ],
    ids=["missing", "empty", "malformed", "no-waypoints", "alt-0", "alt-500", "no-vehicle"],
)
def test_bad_input_fails_with_one_line(
    tmp_path: Path, name: str, content: str | None, extra: list[str], reason: str
) -> None:
    result = fly("--route", str(_bad(tmp_path, name, content)), "--summary", str(tmp_path / "s.json"), *extra)
    assert result.exit_code != 0  # type: ignore[attr-defined]
    err = result.stderr.strip()  # type: ignore[attr-defined]
    assert err.startswith("error: ") and reason in err and "\n" not in err, err
    assert not (tmp_path / "s.json").exists()
