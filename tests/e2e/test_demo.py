"""`make demo` is the first thing a user runs: three drones fly the sample patrols to the end."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from geo.loader import load_areas
from mission.cli import app
from mission.demo import DEMO_PATROLS, plan_demo

GCS_PORT_BASE = 16200  # this file's ports: 16200-16202 (ground station), 16250-16252 (vehicles)


def test_demo_plans_avoid_no_fly_zones_and_fit_one_battery(sample_areas_path: Path) -> None:
    areas = load_areas(sample_areas_path)
    plans = plan_demo(areas)
    assert [p.pattern for p in plans] == [d.pattern for d in DEMO_PATROLS]
    for plan in plans:
        assert len(plan.sorties) == 1
        assert plan.stats.length_in_no_fly_m == 0.0


def test_demo_flies_three_patrols_to_the_end(tmp_path: Path, sample_areas_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "demo",
            "--speed",
            "20",
            "--areas",
            str(sample_areas_path),
            "--out",
            str(tmp_path),
            "--port-base",
            str(GCS_PORT_BASE),
            "--vehicle-port-base",
            "16250",
        ],
    )
    assert result.exit_code == 0, result.output
    for i in range(3):
        summary = json.loads((tmp_path / f"drone-{i + 1}.json").read_text())
        assert summary["completed"] is True
        assert summary["waypoints_reached"] == summary["waypoints_total"] > 0
        assert summary["landed_from_home_m"] < 2.0
