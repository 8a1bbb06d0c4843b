"""A planned sweep, split into two sorties by the battery, flown in the simulator: the flown tracks cover the area."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from shapely.geometry import LineString
from shapely.ops import unary_union

from geo.energy import Battery
from geo.frames import frame_for
from geo.loader import load_areas
from geo.plan import plan_patrol
from mission.flight import FlightTimeouts, fly_route
from tests.vehicle_env import reset, vehicle_env

GCS_PORT, VEHICLE_PORT = 16300, 16800  # this file's ports
AREA, DOCK = "Predio CAI - perímetro", "Base CAI"


async def test_two_sortie_sweep_flown_covers_the_area(sample_areas_path: Path) -> None:
    areas = load_areas(sample_areas_path)
    area, dock = areas.area(AREA), areas.dock(DOCK)
    # A 5-minute battery (225 s usable) cannot sweep the 6.6 ha facility in one go: two sorties.
    plan = plan_patrol(
        area, pattern="sweep", altitude_m=40, no_fly=areas.no_fly, docks=[dock], battery=Battery(flight_min=5)
    )
    assert len(plan.sorties) == 2
    home = (dock.position.lat, dock.position.lon, 2300.0)
    tracks = []
    async with vehicle_env(gcs_port=GCS_PORT, vehicle_port=VEHICLE_PORT, speed=20, home=home) as env:
        for sortie in plan.sorties:
            summary = await fly_route(env.link, sortie.items, timeouts=FlightTimeouts(flight_s=120))
            assert summary.completed, summary
            assert summary.landed_from_home_m is not None and summary.landed_from_home_m < 2.0
            tracks.append(summary.track)
            await reset(env.link)
    frame = frame_for(area.polygon)
    region = frame.geometry_to_local(area.polygon)
    swept = unary_union(
        [
            LineString(np.array([frame.to_local((lon, lat)) for lon, lat, _ in track])).buffer(
                plan.spacing_m / 2.0, cap_style="flat"
            )
            for track in tracks
        ]
    )
    covered = region.intersection(swept).area / region.area
    print(f"flown tracks of {len(tracks)} sorties cover {covered:.2%} of the area")
    assert covered >= 0.98, f"flown tracks cover {covered:.1%} of the area"
