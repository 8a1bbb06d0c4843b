"""Coverage bench: the sweep planner on the sample areas and two synthetic ones, against Fields2Cover.

Run: ``.venv/bin/python -m bench.coverage [--json out.json] [--no-brute]``

W = 50 m, no-fly zones and holes subtracted with a 10 m buffer (as in coverage-reference.md): coverage is
measured against area minus (no-fly + buffer), the path may not enter no-fly + buffer. Runtime = frame,
obstacles, flyable region, visibility graph and the sweep with its angle search (median of 3 runs), not
sorties/items. "angle ok" = the chosen angle's path is within 15 % of the shortest over 1° steps (brute
force with straight joins between swaths and the turns' inset and fill the search assumes, as it does).
"inset/fill" = the turns' inset and notch fill (shares, see geo/sweep.py) the final plan settled on.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
from shapely.geometry import Point, Polygon, box
from shapely.ops import unary_union

from geo.energy import FlightModel
from geo.frames import LocalFrame, LonLat, frame_for
from geo.loader import load_areas
from geo.metrics import length_inside, measure
from geo.sweep import FINAL_STEPS, SEARCH_STEP, plan_sweep, sweep_at_angle
from geo.visibility import VisibilityGraph, path_length

W = 50.0
BUFFER = 10.0
ROOT = Path(__file__).resolve().parent.parent
# Fields2Cover 2.1.0 best path per coverage (F2C*): efficiency and runtime, from coverage-reference.md.
F2C_STAR = {
    "Barranca Tarango - tramo norte": (1.194, 473),
    "Parque La Loma - ladera": (1.123, 226),
    "Barranca Becerra - sector con escuela": (1.125, 647),
    "Predio CAI - perímetro": (1.125, 46),
}


def synthetic_areas() -> list[tuple[str, Polygon, list[Polygon]]]:
    """(name, local polygon, local no-fly zones): a ~0.5 km² irregular park and a ~4 km² area, 3 holes."""
    park = Polygon([(0, 0), (820, -60), (900, 420), (520, 700), (140, 640), (-80, 300)])
    big = box(-1000, -1000, 1000, 1000).difference(box(900, 700, 1000, 1000))
    holes = [
        Polygon([(-600, -500), (-380, -560), (-320, -300), (-560, -260)]),
        Point(150, 200).buffer(120, quad_segs=4),
        Polygon([(400, -700), (700, -650), (650, -420)]),
    ]
    big = Polygon(big.exterior, [h.exterior for h in holes])
    school = Point(-400, 500).buffer(60, quad_segs=4)
    return [("synthetic park ~0.5 km²", park, []), ("synthetic 4 km², 3 holes + no-fly", big, [school])]


def setup(area: Polygon, no_fly: list[Polygon]):
    raw = unary_union(no_fly) if no_fly else Polygon()
    obstacles = unary_union([Polygon(r) for r in area.interiors] + list(no_fly)).buffer(
        BUFFER, join_style="mitre"
    )
    region = area.difference(obstacles)
    flyable = Polygon(area.exterior).buffer(W / 2, join_style="mitre").difference(obstacles)
    return region, raw, obstacles, flyable


def run_one(name: str, area: Polygon, no_fly: list[Polygon], brute: bool) -> dict:
    model = FlightModel()
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        region, raw, obstacles, flyable = setup(area, no_fly)
        graph = VisibilityGraph(flyable)
        result = plan_sweep(region, graph, W, model=model)
        times.append(time.perf_counter() - t0)
    m = measure(region, result.path, W, raw)
    row = {
        "area": name,
        "ha": round(region.area / 1e4, 1),
        "runtime_ms": round(1000 * statistics.median(times), 1),
        "angle_deg": round(result.angle_deg, 1),
        "cells": result.cells,
        "inset/fill": f"{result.inset:g}/{result.fill:g}",
        "length_m": round(m.length_m),
        "turns": m.turns,
        "coverage": round(m.coverage, 4),
        "in_no_fly_m": round(m.length_in_no_fly_m, 2),
        "in_no_fly_plus_buffer_m": round(length_inside(result.path, obstacles.buffer(-0.05)), 2),
        "lower_bound_m": round(m.lower_bound_m),
        "ratio_to_lower_bound": round(m.length_m / m.lower_bound_m, 3),
        "efficiency": round(m.efficiency, 3),
    }
    if name in F2C_STAR:
        eff, ms = F2C_STAR[name]
        row["f2c_star_efficiency"] = eff
        row["efficiency_vs_f2c_star"] = round(m.efficiency / eff, 3)
        row["runtime_vs_f2c_star"] = round(row["runtime_ms"] / ms, 3)
    if brute:
        graph = VisibilityGraph(flyable)
        inset, fill = FINAL_STEPS[SEARCH_STEP]

        def length(a: float) -> float:
            r = sweep_at_angle(region, graph, W, a, model=model, join=False, inset=inset, fill=fill)
            return path_length(r.path)

        chosen = length(result.angle_deg)
        lengths = [length(float(a)) for a in range(180)]
        best = int(np.argmin(lengths))
        row["best_angle_1deg"] = best
        row["chosen_vs_best_length"] = round(chosen / lengths[best], 3)
        row["angle_ok"] = chosen <= 1.15 * lengths[best]
    return row


def sample_rows(brute: bool) -> list[dict]:
    s = load_areas(ROOT / "examples" / "alvaro_obregon_areas.geojson")
    rows = []
    for a in s.areas:
        frame = frame_for(a.polygon)
        rows.append(
            run_one(
                a.name,
                frame.geometry_to_local(a.polygon),
                [frame.geometry_to_local(z.polygon) for z in s.no_fly],
                brute,
            )
        )
    return rows


def table(rows: list[dict]) -> str:
    cols = [
        "area",
        "ha",
        "runtime_ms",
        "angle_deg",
        "inset/fill",
        "length_m",
        "turns",
        "coverage",
        "in_no_fly_m",
        "in_no_fly_plus_buffer_m",
        "ratio_to_lower_bound",
        "efficiency",
        "f2c_star_efficiency",
        "runtime_vs_f2c_star",
        "chosen_vs_best_length",
        "angle_ok",
    ]
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        out.append("| " + " | ".join(str(r.get(c, "-")) for c in cols) + " |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, help="also write the rows here")
    ap.add_argument("--no-brute", action="store_true", help="skip the 1° brute-force angle check")
    args = ap.parse_args()
    rows = sample_rows(not args.no_brute)
    for name, area, no_fly in synthetic_areas():
        # Place the synthetic areas in Álvaro Obregón too (only the local frame matters to the planner).
        _ = LocalFrame(origin=LonLat(-99.21, 19.36))
        rows.append(run_one(name, area, no_fly, not args.no_brute))
    text = json.dumps(rows, indent=1, ensure_ascii=False)
    print(text)
    print()
    print("coverage measured against area minus (no-fly zones and holes + 10 m buffer); W = 50 m")
    print(table(rows))
    if args.json:
        args.json.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
