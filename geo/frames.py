"""Coordinate frames: WGS84 ``LonLat`` and a local metric ``EastNorth`` frame.

Planning happens in metres in an azimuthal equidistant frame centred on the area, and is
converted back to WGS84 at the end. The two coordinate kinds are distinct types so that
a function's signature says which frame it expects.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np
from pyproj import CRS, Transformer
from shapely import transform as shp_transform
from shapely.geometry.base import BaseGeometry


class LonLat(NamedTuple):
    """A WGS84 position in degrees (longitude first, as GeoJSON)."""

    lon: float
    lat: float


class EastNorth(NamedTuple):
    """A position in metres in a local frame (east, north)."""

    east: float
    north: float


@dataclass(frozen=True)
class LocalFrame:
    """An azimuthal equidistant frame centred on ``origin``.

    Round trips are exact to well under a centimetre over tens of kilometres.

    Examples
    --------
    >>> f = LocalFrame(origin=LonLat(-99.2150, 19.3650))
    >>> en = f.to_local(LonLat(-99.2100, 19.3700))
    >>> round(en.east), round(en.north)
    (525, 553)
    >>> back = f.to_lonlat(en)
    >>> abs(back.lon + 99.21) < 1e-9 and abs(back.lat - 19.37) < 1e-9
    True
    """

    origin: LonLat

    def __post_init__(self) -> None:
        lon, lat = self.origin
        if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
            raise ValueError(f"frame origin out of range: {self.origin}")

    @cached_property
    def crs(self) -> CRS:
        lon, lat = self.origin
        return CRS.from_proj4(f"+proj=aeqd +lat_0={lat} +lon_0={lon} +x_0=0 +y_0=0 +ellps=WGS84 +units=m")

    @cached_property
    def _forward(self) -> Transformer:
        return Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)

    @cached_property
    def _inverse(self) -> Transformer:
        return Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)

    def to_local(self, p: LonLat) -> EastNorth:
        e, n = self._forward.transform(p[0], p[1])
        return EastNorth(float(e), float(n))

    def to_lonlat(self, p: EastNorth) -> LonLat:
        lon, lat = self._inverse.transform(p[0], p[1])
        return LonLat(float(lon), float(lat))

    def geometry_to_local(self, geom: BaseGeometry) -> BaseGeometry:
        """Project a shapely geometry in (lon, lat) to this frame's metres."""
        return shp_transform(geom, lambda xy: _stack(self._forward.transform(xy[:, 0], xy[:, 1])))

    def geometry_to_lonlat(self, geom: BaseGeometry) -> BaseGeometry:
        """Project a shapely geometry in this frame's metres back to (lon, lat)."""
        return shp_transform(geom, lambda xy: _stack(self._inverse.transform(xy[:, 0], xy[:, 1])))


def _stack(xy: tuple) -> np.ndarray:
    return np.column_stack(xy)


def frame_for(geom: BaseGeometry) -> LocalFrame:
    """A local frame centred on the centroid of a (lon, lat) geometry."""
    c = geom.centroid
    return LocalFrame(origin=LonLat(c.x, c.y))
