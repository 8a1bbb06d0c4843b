"""The root of the project's exceptions, and the geometry errors.

``PatrolError`` lives here, in the innermost package, so that every package (``geo``,
``mission``, ``telemetry``, ``web``) can derive from one root without importing outward::

    PatrolError
    ├── GeoError                    (geo: bad input geometry or an impossible plan)
    │   ├── AreaValidationError     (one or more faults found in an area; .faults)
    │   ├── FormatError             (a file that cannot be read as the format it claims)
    │   └── PlanningError           (valid input, but no plan satisfies the constraints)
    └── ... mission.errors, telemetry errors (see mission/errors.py)
"""

from __future__ import annotations

import json


class PatrolError(Exception):
    """Root of every error this project raises on purpose."""


class GeoError(PatrolError):
    """Geometry input or planning failed."""


class FormatError(GeoError):
    """A file could not be read as the format it claims to be."""

    def __init__(self, message: str, *, source: str | None = None) -> None:
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class AreaValidationError(GeoError):
    """One or more faults found in an area; ``.faults`` holds them (``geo.areas.Fault``)."""

    def __init__(self, faults: list, *, source: str | None = None) -> None:
        self.faults = list(faults)
        self.source = source
        lines = "; ".join(str(f) for f in self.faults[:5])
        more = f" (+{len(self.faults) - 5} more)" if len(self.faults) > 5 else ""
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{len(self.faults)} fault(s): {lines}{more}")


def parse_json(text: str, *, source: str | None = None) -> object:
    """JSON text → a value, or a ``FormatError`` that says where the syntax breaks.

    Examples
    --------
    >>> parse_json('{"type": "Point"}')
    {'type': 'Point'}
    >>> parse_json('{"type": }', source="a.geojson")
    Traceback (most recent call last):
    ...
    geo.errors.FormatError: a.geojson: JSON syntax error at line 1, column 10: Expecting value
    """
    if not text.strip():
        raise FormatError("empty file", source=source)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(
            f"JSON syntax error at line {exc.lineno}, column {exc.colno}: {exc.msg}", source=source
        ) from exc


class PlanningError(GeoError):
    """The input is valid, but no plan satisfies the constraints."""
