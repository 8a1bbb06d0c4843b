"""Shared fixtures: paths to the sample data shipped in ``examples/``."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def sample_areas_path() -> Path:
    return EXAMPLES / "alvaro_obregon_areas.geojson"


@pytest.fixture(scope="session")
def qgc_plan_path() -> Path:
    return EXAMPLES / "qgc" / "PX4SITL-PX4-MultiRotor.plan"
