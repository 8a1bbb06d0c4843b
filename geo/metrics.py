"""Plan quality measures, in a metric frame: coverage, length inside zones, turns, the area/W lower bound.

The definitions follow /work/shared/data/coverage-reference.md so that numbers compare with Fields2Cover:
coverage = region ∩ (path buffered by W/2, flat caps) / region; lower bound = region area / W;
efficiency = path length / (coverage × lower bound), metres flown per metre of swath actually covered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry

from geo.energy import count_turns
from geo.visibility import path_length


@dataclass(frozen=True, kw_only=True)
class Metrics:
    length_m: float
    coverage: float
    turns: int
    lower_bound_m: float
    efficiency: float
    length_in_no_fly_m: float


def coverage(region: BaseGeometry, path: np.ndarray, width: float) -> float:
    """Share of ``region`` within W/2 of the path (flat caps).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> round(coverage(box(0, 0, 100, 50), np.array([[0, 25], [100, 25]]), 50.0), 6)
    1.0
    >>> round(coverage(box(0, 0, 100, 100), np.array([[0, 25], [100, 25]]), 50.0), 6)
    0.5
    """
    if region.area <= 0 or len(path) < 2:
        return 0.0
    swept = LineString(path).buffer(width / 2.0, cap_style="flat")
    if not swept.is_valid:  # a path that doubles back on itself can buffer to a bow-tie
        swept = shapely.make_valid(swept)
    return float(region.intersection(swept).area / region.area)


def length_inside(path: np.ndarray, zones: BaseGeometry | None) -> float:
    """Metres of the path inside ``zones``.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> length_inside(np.array([[0, 5], [30, 5]]), box(10, 0, 20, 10))
    10.0
    """
    if zones is None or zones.is_empty or len(path) < 2:
        return 0.0
    return float(LineString(path).intersection(zones).length)


def measure(region: BaseGeometry, path: np.ndarray, width: float, no_fly: BaseGeometry | None) -> Metrics:
    length = path_length(path)
    cov = coverage(region, path, width)
    bound = region.area / width
    return Metrics(
        length_m=length,
        coverage=cov,
        turns=count_turns(path),
        lower_bound_m=bound,
        efficiency=length / (cov * bound) if cov > 0 else float("inf"),
        length_in_no_fly_m=length_inside(path, no_fly),
    )
