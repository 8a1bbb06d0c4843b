"""Flight log export: a mission's track and state events as GeoJSON, KML or CSV (pure functions -> str).

Events have no position of their own; each is placed at the track point nearest to it in time (and
has no geometry when the mission has no track, e.g. it failed preflight).
"""

from __future__ import annotations

import bisect
import csv
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from xml.sax.saxutils import escape

from mission.errors import ConfigError
from mission.model import MissionEvent, TrackPoint

__all__ = ["LogFormat", "export_log", "to_csv", "to_geojson", "to_kml"]


class LogFormat(StrEnum):
    GEOJSON = "geojson"
    KML = "kml"
    CSV = "csv"


def _iso(t: datetime) -> str:
    # Fixed width (milliseconds, UTC) so the text sorts as the times do.
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _nearest(track: Sequence[TrackPoint], t: datetime) -> TrackPoint | None:
    """The track point closest in time to ``t`` (track sorted by time)."""
    if not track:
        return None
    i = bisect.bisect_left([p.t for p in track], t)
    candidates = track[max(i - 1, 0) : i + 1]
    return min(candidates, key=lambda p: abs((p.t - t).total_seconds()))


def _sorted(track: Sequence[TrackPoint]) -> list[TrackPoint]:
    return sorted(track, key=lambda p: p.t)


def to_geojson(track: Sequence[TrackPoint], events: Sequence[MissionEvent], *, mission_id: str = "") -> str:
    """A FeatureCollection: the flown LineString (lon, lat, alt AMSL) and one Point per event."""
    pts = _sorted(track)
    features: list[dict[str, Any]] = []
    if len(pts) >= 2:
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": [[p.lon, p.lat, p.alt] for p in pts]},
                "properties": {
                    "kind": "track",
                    "mission": mission_id,
                    "start": _iso(pts[0].t),
                    "end": _iso(pts[-1].t),
                    "times": [_iso(p.t) for p in pts],
                },
            }
        )
    for e in events:
        p = _nearest(pts, e.at)
        features.append(
            {
                "type": "Feature",
                "geometry": None if p is None else {"type": "Point", "coordinates": [p.lon, p.lat, p.alt]},
                "properties": {
                    "kind": "event",
                    "mission": e.mission_id,
                    "seq": e.seq,
                    "time": _iso(e.at),
                    "event": e.kind,
                    "from_state": e.from_state.value,
                    "to_state": e.to_state.value,
                    "reason": e.reason,
                    "data": dict(e.data),
                },
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": features}, indent=1)


def _coords(p: TrackPoint) -> str:
    return f"{p.lon:.7f},{p.lat:.7f},{p.alt:.1f}"


def to_kml(track: Sequence[TrackPoint], events: Sequence[MissionEvent], *, mission_id: str = "") -> str:
    """KML 2.2: the track as an absolute-altitude LineString and a time-stamped Placemark per event."""
    pts = _sorted(track)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<kml xmlns="http://www.opengis.net/kml/2.2">',
        "<Document>",
        f"<name>{escape(mission_id or 'mission')}</name>",
    ]
    if len(pts) >= 2:
        out += [
            "<Placemark>",
            "<name>track</name>",
            f"<TimeSpan><begin>{_iso(pts[0].t)}</begin><end>{_iso(pts[-1].t)}</end></TimeSpan>",
            "<LineString><altitudeMode>absolute</altitudeMode><coordinates>",
            " ".join(_coords(p) for p in pts),
            "</coordinates></LineString>",
            "</Placemark>",
        ]
    for e in events:
        p = _nearest(pts, e.at)
        label = f"{e.seq}: {e.kind} ({e.from_state.value} -> {e.to_state.value})"
        out += [
            "<Placemark>",
            f"<name>{escape(label)}</name>",
            f"<description>{escape(e.reason)}</description>",
            f"<TimeStamp><when>{_iso(e.at)}</when></TimeStamp>",
        ]
        if p is not None:
            out.append(
                f"<Point><altitudeMode>absolute</altitudeMode><coordinates>{_coords(p)}</coordinates></Point>"
            )
        out.append("</Placemark>")
    out += ["</Document>", "</kml>", ""]
    return "\n".join(out)


CSV_COLUMNS = ("time", "record", "lat", "lon", "alt_m", "seq", "event", "from_state", "to_state", "reason")


def to_csv(track: Sequence[TrackPoint], events: Sequence[MissionEvent]) -> str:
    """One chronological table: a ``track`` row per point and an ``event`` row per transition."""
    rows: list[tuple[datetime, int, list[object]]] = [
        (p.t, 0, [_iso(p.t), "track", f"{p.lat:.7f}", f"{p.lon:.7f}", f"{p.alt:.1f}", "", "", "", "", ""])
        for p in track
    ]
    rows += [
        (
            e.at,
            1,
            [_iso(e.at), "event", "", "", "", e.seq, e.kind, e.from_state.value, e.to_state.value, e.reason],
        )
        for e in events
    ]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for _, _, row in sorted(rows, key=lambda r: (r[0], r[1])):
        w.writerow(row)
    return buf.getvalue()


def export_log(
    fmt: LogFormat | str, track: Sequence[TrackPoint], events: Sequence[MissionEvent], *, mission_id: str = ""
) -> str:
    try:
        f = LogFormat(fmt)
    except ValueError:
        raise ConfigError(f"unknown log format {fmt!r}: use geojson, kml or csv") from None
    if f is LogFormat.GEOJSON:
        return to_geojson(track, events, mission_id=mission_id)
    if f is LogFormat.KML:
        return to_kml(track, events, mission_id=mission_id)
    return to_csv(track, events)
