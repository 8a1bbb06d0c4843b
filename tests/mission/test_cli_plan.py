import json

import pytest
from typer.testing import CliRunner

from geo.qgc_plan import load_plan
from mission.cli import app
from mission.plan_map import remote_assets

runner = CliRunner()


def test_plan_sweep_writes_plan_map_and_geojson(sample_areas_path, tmp_path) -> None:
    out, html, gj = tmp_path / "cai.plan", tmp_path / "cai.html", tmp_path / "cai.geojson"
    result = runner.invoke(
        app,
        [
            "plan",
            str(sample_areas_path),
            "--area",
            "Predio CAI - perímetro",
            "--pattern",
            "sweep",
            "--alt",
            "40",
            "--spacing",
            "50",
            "--dock",
            "19.3687091,-99.2221414",
            "--speed",
            "8",
            "--battery-min",
            "20",
            "--reserve-pct",
            "25",
            "--out",
            str(out),
            "--map",
            str(html),
            "--geojson",
            str(gj),
        ],
    )
    assert result.exit_code == 0, result.output
    for word in ("path length", "estimated flight time", "sorties 1", "turns", "coverage"):
        assert word in result.output, result.output
    plan = load_plan(out)
    assert plan.items[0].command == 22 and plan.items[-1].command == 20
    assert len(plan.inclusion) == 1 and len(plan.exclusion) >= 1
    page = html.read_text()
    assert remote_assets(page) == [] and "L.map(" in page and "L.polyline(" in page
    assert any(f["properties"]["kind"] == "sortie" for f in json.loads(gj.read_text())["features"])


def test_plan_two_drones_one_file_per_sortie(sample_areas_path, tmp_path) -> None:
    out = tmp_path / "loma.plan"
    result = runner.invoke(
        app,
        [
            "plan",
            str(sample_areas_path),
            "--area",
            "Parque La Loma - ladera",
            "--drones",
            "2",
            "--spacing",
            "50",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in tmp_path.glob("loma-d*-s*.plan"))
    assert {n.split("-")[1] for n in written} == {"d1", "d2"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--area", "Predio CAI - perímetro", "--alt", "150"], "altitude 150"),
        (["--area", "Nowhere"], "no patrol area named 'Nowhere'"),
        (["--area", "Predio CAI - perímetro", "--dock", "banana"], "LAT,LON"),
        (["--area", "Predio CAI - perímetro", "--pattern", "zigzag"], "unknown pattern"),
        ([], "several areas"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(sample_areas_path, args, message) -> None:
    result = runner.invoke(app, ["plan", str(sample_areas_path), *args])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_missing_file_fails_cleanly(tmp_path) -> None:
    result = runner.invoke(app, ["plan", str(tmp_path / "none.geojson")])
    assert result.exit_code != 0 and "Traceback" not in result.output
