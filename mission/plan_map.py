"""An offline folium map of a plan: area, holes, no-fly zones, sorties in colours, docks.

Folium links Leaflet (and jQuery, Bootstrap…) from CDNs; the map must open in the field with no network,
so the CDN links are dropped and Leaflet's JS and CSS, vendored in web/static/vendor/leaflet/ (npm
``leaflet`` 1.9.4), are inlined. No tile layer: the plan is drawn on a blank background.
"""

from __future__ import annotations

import re
from pathlib import Path

import folium
from branca.element import Element
from shapely.geometry import mapping

from geo.areas import AreaSet, PatrolArea
from geo.plan import Plan

LEAFLET_DIR = Path(__file__).resolve().parent.parent / "web" / "static" / "vendor" / "leaflet"
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")
_REMOTE_ASSET = re.compile(r"""<(?:script|link)[^>]+(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)


def remote_assets(html: str) -> list[str]:
    """``<script src>`` / ``<link href>`` tags that would load from the network.

    Examples
    --------
    >>> remote_assets('<script src="https://cdn.example/x.js"></script><script>var a;</script>')
    ['<script src="https://']
    """
    return _REMOTE_ASSET.findall(html)


def build_map(area: PatrolArea, areas: AreaSet, plan: Plan) -> folium.Map:
    lon0, lat0 = plan.origin
    m = folium.Map(location=[lat0, lon0], zoom_start=16, tiles=None, control_scale=True)
    m.default_js, m.default_css = [], []  # inlined below instead of CDN links
    folium.GeoJson(
        mapping(area.polygon),
        name=f"area: {area.name}",
        style_function=lambda _: {"color": "#333", "weight": 2, "fillOpacity": 0.08},
    ).add_to(m)
    for z in areas.no_fly:
        folium.GeoJson(
            mapping(z.polygon),
            name=f"no-fly: {z.name}",
            tooltip=z.name,
            style_function=lambda _: {"color": "#c00", "fillColor": "#f33", "fillOpacity": 0.35},
        ).add_to(m)
    for s in plan.sorties:
        colour = COLOURS[(s.drone * 3 + s.index) % len(COLOURS)]
        folium.PolyLine(
            [(p.lat, p.lon) for p in s.path],
            color=colour,
            weight=2,
            tooltip=f"drone {s.drone + 1} sortie {s.index + 1}: {s.length_m:.0f} m, "
            f"{s.est_time_s / 60:.1f} min",
        ).add_to(m)
    for d in areas.docks:
        folium.CircleMarker(
            [d.position.lat, d.position.lon],
            radius=6,
            color="#000",
            fill=True,
            fill_color="#ff0",
            tooltip=f"dock: {d.name}",
        ).add_to(m)
    for s in plan.sorties:
        folium.CircleMarker(
            [s.dock.lat, s.dock.lon], radius=4, color="#000", fill=True, fill_color="#0a0", tooltip="take-off"
        ).add_to(m)
    bounds = area.polygon.bounds
    m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    return m


def render_offline(m: folium.Map) -> str:
    js = (LEAFLET_DIR / "leaflet.js").read_text(encoding="utf-8")
    css = (LEAFLET_DIR / "leaflet.css").read_text(encoding="utf-8")
    root = m.get_root()
    root.header.add_child(Element(f"<style>{css}</style>"), name="leaflet_css_inline", index=0)
    root.header.add_child(Element(f"<script>{js}</script>"), name="leaflet_js_inline", index=0)
    html = root.render()
    bad = remote_assets(html)
    if bad:
        raise RuntimeError(f"map would load assets from the network: {bad[:3]}")
    return html


def write_map(path: Path, area: PatrolArea, areas: AreaSet, plan: Plan) -> None:
    path.write_text(render_offline(build_map(area, areas, plan)), encoding="utf-8")
