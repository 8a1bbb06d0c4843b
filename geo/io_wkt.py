"""WKT in and out: one geometry per line, or one geometry spread over several lines.

A comment line ``# name=Parque La Loma; kind=patrol_area; pattern=sweep; altitude_m=50`` gives
the properties of the geometry that follows it (``dump_wkt`` writes these). Without one,
polygons are patrol areas and points are docks.

Parsing is our own small reader rather than ``shapely.from_wkt``: GEOS rejects unclosed
rings outright, and we want to report them (``geo.validate``) with the rest of the faults.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from geo.areas import AreaSet, Circle, Kind, RawFeature
from geo.errors import FormatError

_TOKEN = re.compile(
    r"\s*(?:(?P<word>[A-Za-z]+)|(?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)|(?P<sym>[(),]))"
)
_KINDS = {"POINT", "POLYGON", "MULTIPOLYGON", "MULTIPOINT", "GEOMETRYCOLLECTION"}


def parse_wkt(text: str, *, source: str | None = None) -> list[RawFeature]:
    """Read WKT text into raw features.

    Examples
    --------
    >>> fs = parse_wkt("# name=Parque; altitude_m=50\\nPOLYGON ((0 0, 1 0, 1 1, 0 0))\\nPOINT (0.5 0.2)")
    >>> [(f.kind.value, f.name, f.properties.get("altitude_m")) for f in fs]
    [('patrol_area', 'Parque', '50'), ('dock', 'dock 2', None)]
    """
    if not text.strip():
        raise FormatError("empty file", source=source)
    out: list[RawFeature] = []
    props: dict[str, str] = {}
    buf: list[str] = []
    start = 0
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not buf and (not stripped or stripped.startswith("#")):
            if "=" in stripped:
                props = _comment_props(stripped[1:])
            continue
        if not buf:
            start = lineno
        buf.append(line)
        joined = "\n".join(buf)
        if joined.count("(") <= joined.count(")") or joined.rstrip().upper().endswith("EMPTY"):
            out.extend(_features(joined, start, len(out), props, source))
            buf, props = [], {}
    if buf:
        raise FormatError(f"line {start}: geometry is not finished (unbalanced parentheses)", source=source)
    if not out:
        raise FormatError("no geometry found", source=source)
    return out


def _comment_props(text: str) -> dict[str, str]:
    props = {}
    for part in text.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            props[key.strip()] = value.strip()
    return props


def _features(
    text: str, line: int, first: int, props: dict[str, str], source: str | None
) -> list[RawFeature]:
    try:
        gtype, value = _Parser(text).geometry()
    except ValueError as exc:
        raise FormatError(f"line {line}: {exc}", source=source) from None
    return [_raw(t, v, line, first + i, props, source) for i, (t, v) in enumerate(_flatten(gtype, value))]


def _flatten(gtype: str, value: Any) -> list[tuple[str, Any]]:
    if gtype == "GEOMETRYCOLLECTION":
        return [x for t, v in value for x in _flatten(t, v)]
    if gtype == "POINT" and value is not None:
        return [("POINT", value[0])]
    if gtype == "MULTIPOINT":
        return [("POINT", p[0] if isinstance(p[0], list) else p) for p in value]
    return [(gtype, value)]


def _raw(
    gtype: str, value: Any, line: int, index: int, props: dict[str, str], source: str | None
) -> RawFeature:
    if value is None:
        raise FormatError(f"line {line}: {gtype} EMPTY is not an area", source=source)
    kind_text = props.get("kind") or ("dock" if gtype == "POINT" else "patrol_area")
    try:
        kind = Kind(kind_text)
    except ValueError:
        raise FormatError(f"line {line}: unknown kind {kind_text!r}", source=source) from None
    name = props.get("name") or f"{kind.value.replace('_', ' ')} {index + 1}"
    if gtype == "POINT":
        if len(value) < 2:
            raise FormatError(f"line {line}: a point needs two numbers", source=source)
        if kind is Kind.DOCK:
            geom = {"type": "Point", "coordinates": value}
        elif "radius_m" in props:
            geom = {"type": "Circle", "coordinates": value, "radius": float(props["radius_m"])}
        else:
            raise FormatError(f"line {line}: a {kind.value} POINT needs radius_m", source=source)
    else:
        geom = {"type": "Polygon" if gtype == "POLYGON" else "MultiPolygon", "coordinates": value}
        if kind is Kind.DOCK:
            raise FormatError(f"line {line}: a dock must be a POINT", source=source)
    return RawFeature(kind=kind, name=name, index=index, geometry=geom, properties=dict(props))


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def _next(self) -> tuple[str, str]:
        m = _TOKEN.match(self.text, self.pos)
        if not m:
            rest = self.text[self.pos :].strip()
            if not rest:
                return "end", ""
            raise ValueError(f"unexpected text {rest[:20]!r} at character {self.pos + 1}")
        self.pos = m.end()
        kind = m.lastgroup or "end"
        return kind, m.group(kind)

    def _peek(self) -> tuple[str, str]:
        pos = self.pos
        try:
            return self._next()
        finally:
            self.pos = pos

    def geometry(self) -> tuple[str, Any]:
        kind, word = self._next()
        gtype = word.upper()
        if kind != "word" or gtype not in _KINDS:
            known = ", ".join(sorted(_KINDS))
            if kind == "word" and gtype in ("LINESTRING", "MULTILINESTRING"):
                raise ValueError(f"geometry type {gtype} is not an area (expected one of {known})")
            raise ValueError(f"expected a geometry type ({known}), got {word!r}")
        nxt = self._peek()
        if nxt[0] == "word" and nxt[1].upper() in ("Z", "M", "ZM"):
            self._next()
            nxt = self._peek()
        if nxt[0] == "word" and nxt[1].upper() == "EMPTY":
            self._next()
            return gtype, None
        value = self._collection() if gtype == "GEOMETRYCOLLECTION" else self._list()
        return gtype, value

    def _collection(self) -> list[tuple[str, Any]]:
        self._expect("(")
        items = [self.geometry()]
        while self._peek()[1] == ",":
            self._next()
            items.append(self.geometry())
        self._expect(")")
        return items

    def _list(self) -> list[Any]:
        self._expect("(")
        items = [self._element()]
        while self._peek()[1] == ",":
            self._next()
            items.append(self._element())
        self._expect(")")
        return items

    def _element(self) -> Any:
        if self._peek()[1] == "(":
            return self._list()
        numbers = []
        while self._peek()[0] == "num":
            numbers.append(float(self._next()[1]))
        if len(numbers) < 2:
            raise ValueError(f"expected a coordinate pair at character {self.pos + 1}")
        return numbers

    def _expect(self, sym: str) -> None:
        _, value = self._next()
        if value != sym:
            raise ValueError(f"expected {sym!r} at character {self.pos}, got {value or 'end of text'!r}")


def dump_wkt(areas: AreaSet) -> str:
    """An ``AreaSet`` as WKT lines, each preceded by a ``# name=...; kind=...`` comment."""
    lines: list[str] = []
    for a in areas.areas:
        meta = {"name": a.name, "kind": "patrol_area", "pattern": a.pattern, "altitude_m": a.altitude_m}
        lines += [_comment(meta), to_wkt(a.polygon)]
    for z in areas.no_fly:
        lines += _zone(z.shape, {"name": z.name, "kind": "no_fly", "reason": z.reason})
    for k in areas.keep_in:
        lines += _zone(k.shape, {"name": k.name, "kind": "keep_in"})
    for d in areas.docks:
        lines += [
            _comment({"name": d.name, "kind": "dock", "alt_m": d.alt_m}),
            f"POINT ({_num(d.position.lon)} {_num(d.position.lat)})",
        ]
    return "\n".join(lines) + "\n"


def _zone(shape: Any, meta: dict[str, Any]) -> list[str]:
    if isinstance(shape, Circle):
        meta["radius_m"] = shape.radius_m
        return [_comment(meta), f"POINT ({_num(shape.center.lon)} {_num(shape.center.lat)})"]
    return [_comment(meta), to_wkt(shape)]


def _comment(meta: dict[str, Any]) -> str:
    parts = [f"{k}={str(v).replace(';', ',')}" for k, v in meta.items() if v not in (None, "")]
    return "# " + "; ".join(parts)


def to_wkt(geom: Any) -> str:
    """A Polygon or MultiPolygon as WKT with full float precision (round trips exactly).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> to_wkt(box(0, 0, 1, 1))
    'POLYGON ((1.0 0.0, 1.0 1.0, 0.0 1.0, 0.0 0.0, 1.0 0.0))'
    """
    if geom.geom_type == "Polygon":
        return f"POLYGON {_poly(geom)}"
    return "MULTIPOLYGON (" + ", ".join(_poly(p) for p in geom.geoms) + ")"


def _poly(p: Any) -> str:
    rings = [p.exterior, *p.interiors]
    return (
        "("
        + ", ".join("(" + ", ".join(f"{_num(x)} {_num(y)}" for x, y, *_ in r.coords) + ")" for r in rings)
        + ")"
    )


def _num(x: float) -> str:
    return repr(float(x))


def load_wkt(path: Path) -> list[RawFeature]:
    return parse_wkt(path.read_text(encoding="utf-8"), source=str(path))
