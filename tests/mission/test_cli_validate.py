"""`patrol validate AREA [--repair] [--out FIXED.geojson]` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from geo.loader import load_areas
from mission.cli import app

runner = CliRunner()
SQ = [[-99.21, 19.36], [-99.20, 19.36], [-99.20, 19.37], [-99.21, 19.37], [-99.21, 19.36]]


def _broken(tmp_path: Path) -> Path:
    features = [
        {
            "type": "Feature",
            "properties": {"name": "Loma"},
            "geometry": {"type": "Polygon", "coordinates": [SQ[:-1]]},
        },
        {
            "type": "Feature",
            "properties": {"name": "Bien"},
            "geometry": {"type": "Polygon", "coordinates": [SQ]},
        },
        {
            "type": "Feature",
            "properties": {"name": "Base", "kind": "dock"},
            "geometry": {"type": "Point", "coordinates": [19.3687, -99.2221]},
        },
    ]
    path = tmp_path / "areas.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def test_valid_file_exits_zero(sample_areas_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(sample_areas_path)])
    assert result.exit_code == 0, result.output
    assert "patrol_area 'Barranca Tarango - tramo norte': OK" in result.output
    assert result.output.count(": OK") == 9


def test_faults_exit_one_with_one_line_each(tmp_path: Path) -> None:
    path = _broken(tmp_path)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert "patrol_area 'Loma': 1 fault(s)" in lines
    assert "patrol_area 'Bien': OK" in lines
    assert any(line.strip().startswith("Loma: unclosed_ring at (-99.2100000, 19.3700000)") for line in lines)
    assert any(line.strip().startswith("Base: latlon_swapped") for line in lines)
    assert lines[-1] == f"2 fault(s) in {path}"
    assert not (tmp_path / "areas.fixed.geojson").exists()


def test_repair_writes_the_fixed_file_and_prints_changes(tmp_path: Path) -> None:
    path = _broken(tmp_path)
    out = tmp_path / "fixed.geojson"
    result = runner.invoke(app, ["validate", str(path), "--repair", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "repair: shell: closed the ring (appended the first vertex)" in result.output
    assert "repair: swapped latitude and longitude" in result.output
    assert f"wrote 3 of 3 feature(s) to {out}" in result.output
    fixed = load_areas(out)
    assert [a.name for a in fixed.areas] == ["Loma", "Bien"]
    assert fixed.dock("Base").position.lon == -99.2221


def test_unreadable_file_is_one_error_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.geojson"
    path.write_text('{"type": "FeatureCollection",\n "features": [,]}')
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert f"error: {path}: JSON syntax error at line 2, column" in result.stderr
