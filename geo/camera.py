"""Camera footprint on the ground: how wide a strip one pass sees, and the line spacing for an overlap.

Only the nadir footprint across track is needed to plan sweeps; pixel-to-ground for a tilted camera will
live here too when it comes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# About a small-drone camera: 60 m altitude and 30 % side overlap give ~50 m between lines.
DEFAULT_HFOV_DEG = 61.9


@dataclass(frozen=True, kw_only=True)
class Camera:
    """A camera given either by its horizontal field of view or by sensor width and focal length.

    Examples
    --------
    >>> round(Camera(sensor_width_mm=13.2, focal_length_mm=8.8).hfov_deg_effective, 1)
    73.7
    >>> Camera().hfov_deg_effective == DEFAULT_HFOV_DEG
    True
    """

    hfov_deg: float | None = None
    sensor_width_mm: float | None = None
    focal_length_mm: float | None = None

    def __post_init__(self) -> None:
        if self.hfov_deg is not None and not (0.0 < self.hfov_deg < 180.0):
            raise ValueError(f"camera HFOV must be in (0, 180) degrees, got {self.hfov_deg}")
        lens = (self.sensor_width_mm, self.focal_length_mm)
        if (lens[0] is None) != (lens[1] is None):
            raise ValueError("give both sensor_width_mm and focal_length_mm, or neither")
        if lens[0] is not None and not (lens[0] > 0 and lens[1] > 0):
            raise ValueError("sensor width and focal length must be positive")

    @property
    def hfov_deg_effective(self) -> float:
        if self.hfov_deg is not None:
            return self.hfov_deg
        if self.sensor_width_mm is not None and self.focal_length_mm is not None:
            return math.degrees(2.0 * math.atan(self.sensor_width_mm / (2.0 * self.focal_length_mm)))
        return DEFAULT_HFOV_DEG


def footprint_width_m(camera: Camera, altitude_m: float) -> float:
    """Ground width seen across track by a nadir camera at ``altitude_m`` above flat ground.

    Examples
    --------
    >>> round(footprint_width_m(Camera(hfov_deg=90.0), 50.0), 6)
    100.0
    """
    if altitude_m <= 0:
        raise ValueError(f"altitude must be positive, got {altitude_m}")
    return 2.0 * altitude_m * math.tan(math.radians(camera.hfov_deg_effective) / 2.0)


def line_spacing_m(camera: Camera, altitude_m: float, side_overlap_pct: float) -> float:
    """Distance between adjacent sweep lines for a side overlap in percent.

    Examples
    --------
    >>> round(line_spacing_m(Camera(), 60.0, 30.0), 1)
    50.4
    """
    if not (0.0 <= side_overlap_pct < 100.0):
        raise ValueError(f"side overlap must be in [0, 100) %, got {side_overlap_pct}")
    return footprint_width_m(camera, altitude_m) * (1.0 - side_overlap_pct / 100.0)
