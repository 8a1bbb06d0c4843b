"""`make demo` is the first thing a user runs: the service flies the three scheduled sample patrols to the end."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from geo.loader import load_areas
from geo.plan import plan_patrol
from mission.cli import app
from mission.demo import DEMO_PATROLS

# This file's ports: ground station 16200-16202, vehicles 16250-16252, embedded MQTT broker 16290.
PORTS = ["--port-base", "16200", "--vehicle-port-base", "16250", "--mqtt-port", "16290"]


def test_demo_patrols_avoid_no_fly_zones_and_fit_one_battery(sample_areas_path: Path) -> None:
    areas = load_areas(sample_areas_path)
    for p in DEMO_PATROLS:
        plan = plan_patrol(
            areas.area(p.area),
            pattern=p.pattern,
            altitude_m=p.altitude_m,
            no_fly=areas.no_fly,
            docks=[areas.dock(p.dock)],
        )
        assert len(plan.sorties) == 1, p
        assert plan.stats.length_in_no_fly_m == 0.0, p


def test_demo_flies_the_scheduled_patrols_to_the_end(tmp_path: Path, sample_areas_path: Path) -> None:
    args = [
        "demo",
        "--speed",
        "20",
        "--start-in",
        "3",
        "--areas",
        str(sample_areas_path),
        "--out",
        str(tmp_path),
    ]
    result = CliRunner().invoke(app, args + PORTS)
    assert result.exit_code == 0, result.output
    logs = sorted(tmp_path.glob("m-*.geojson"))
    assert len(logs) == 3, result.output
    for log in logs:
        features = json.loads(log.read_text())["features"]
        track = [f for f in features if f["geometry"]["type"] == "LineString"]
        assert track and len(track[0]["geometry"]["coordinates"]) > 10
    assert result.output.count(": completed,") == 3, result.output
