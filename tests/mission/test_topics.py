"""The bus schema: topic builders, encode/decode, and docs/mqtt.md kept in step with the models.

The tables between ``<!-- generated:NAME -->`` markers in docs/mqtt.md are rendered from the pydantic models;
after changing a model run ``PATROL_UPDATE_DOCS=1 pytest tests/mission/test_topics.py`` to rewrite them.
The ```json examples in the doc are validated against the models.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mission.ports import TelemetrySample
from mission.topics import (
    PAYLOADS,
    SPECS,
    DroneState,
    MissionEvent,
    PayloadError,
    Telemetry,
    decode,
    decode_message,
    incident_topic,
    iso_utc,
    json_schemas,
    mission_events_topic,
    offline_state,
    parse_topic,
    state_from_sample,
    state_topic,
    telemetry_from_sample,
    telemetry_topic,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "mqtt.md"
T0 = datetime(2026, 5, 1, 14, 3, 7, 250000, tzinfo=UTC)


def sample(**changes: Any) -> TelemetrySample:
    base = TelemetrySample(
        time=T0,
        lat=19.365,
        lon=-99.215,
        alt_amsl_m=2340.5,
        alt_rel_m=40.2,
        heading_deg=271.5,
        ground_speed_mps=8.1,
        climb_rate_mps=-0.2,
        roll_deg=1.0,
        pitch_deg=-3.0,
        battery_pct=76.4,
        battery_v=15.8,
        mode="MISSION",
        armed=True,
        in_air=True,
        landed_state="IN_AIR",
        gps_fix=3,
        satellites=14,
        mission_item=4,
        mission_count=12,
    )
    return replace(base, **changes)


# --- topics ------------------------------------------------------------------------------------


def test_topic_builders_and_parser_agree() -> None:
    assert telemetry_topic("d1") == "patrol/v1/drones/d1/telemetry"
    assert state_topic("d1") == "patrol/v1/drones/d1/state"
    assert mission_events_topic("m-7") == "patrol/v1/missions/m-7/events"
    assert incident_topic("i.3") == "patrol/v1/incidents/i.3"
    assert telemetry_topic("+") == "patrol/v1/drones/+/telemetry"
    for build, kind in [
        (telemetry_topic, "telemetry"),
        (state_topic, "state"),
        (mission_events_topic, "mission_event"),
    ]:
        assert parse_topic(build("x_1")) == (kind, "x_1")


@pytest.mark.parametrize("bad", ["", "a/b", "#", "a+", "d 1", "x" * 65, "../x"])
def test_topic_levels_reject_separators_and_wildcards(bad: str) -> None:
    with pytest.raises(PayloadError):
        telemetry_topic(bad)


def test_parse_topic_rejects_other_versions() -> None:
    with pytest.raises(PayloadError):
        parse_topic("patrol/v2/drones/d1/state")


# --- encode / decode ---------------------------------------------------------------------------


def test_telemetry_round_trip_with_iso_utc_z() -> None:
    msg = telemetry_from_sample("d1", sample(), mission="m1")
    raw = json.loads(msg.to_json())
    assert raw["schema"] == 1
    assert raw["time"] == "2026-05-01T14:03:07.250Z"
    required = {"drone", "time", "lat", "lon", "alt_amsl_m", "alt_rel_m", "heading_deg", "ground_speed_mps"}
    required |= {"battery_pct", "mode", "armed", "in_air", "mission", "mission_item"}
    assert required <= raw.keys()
    back = decode_message(telemetry_topic("d1"), msg.to_json())
    assert back == msg


def test_times_in_other_zones_are_written_in_utc() -> None:
    local = T0.astimezone(timezone(timedelta(hours=-6)))
    assert iso_utc(local) == "2026-05-01T14:03:07.250Z"
    with pytest.raises(PayloadError):
        iso_utc(datetime(2026, 5, 1))  # naive


def test_sample_values_are_clamped_into_the_documented_ranges() -> None:
    msg = telemetry_from_sample("d1", sample(heading_deg=-90.0, battery_pct=100.4), mission=None)
    assert msg.heading_deg == 270.0
    assert msg.battery_pct == 100.0


def good_telemetry() -> dict[str, Any]:
    return json.loads(telemetry_from_sample("d1", sample(), mission="m1").to_json())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("time", "2026-05-01T14:03:07.250+00:00"),  # must end in Z
        ("time", "2026-05-01T14:03:07"),  # naive
        ("time", "yesterday"),
        ("lat", 91.0),
        ("lon", "-99.2"),  # strings are not numbers
        ("armed", "true"),  # nor booleans
        ("battery_pct", 101),
        ("schema", 2),
        ("mission_item", -1),
    ],
)
def test_decode_rejects_bad_payloads(field: str, value: Any) -> None:
    raw = good_telemetry() | {field: value}
    with pytest.raises(PayloadError):
        decode(Telemetry, json.dumps(raw))


def test_decode_rejects_missing_fields_and_non_json() -> None:
    raw = good_telemetry()
    del raw["lat"]
    with pytest.raises(PayloadError):
        decode(Telemetry, json.dumps(raw))
    with pytest.raises(PayloadError):
        decode(Telemetry, b"\x00not json")


def test_decode_ignores_unknown_fields_for_additive_changes() -> None:
    raw = good_telemetry() | {"wind_mps": 3.2}
    assert decode(Telemetry, json.dumps(raw)).lat == 19.365


def test_decode_message_checks_the_topic_matches_the_payload() -> None:
    with pytest.raises(PayloadError, match="differs"):
        decode_message(telemetry_topic("d2"), telemetry_from_sample("d1", sample(), mission=None).to_json())


def test_state_health_and_offline_will() -> None:
    st_ = state_from_sample("d1", sample(battery_pct=14.2, gps_fix=2), mission="m1", link="ok", time=T0)
    assert (st_.status, st_.battery, st_.gps, st_.battery_pct) == ("online", "critical", "2d", 14)
    will = decode(DroneState, offline_state("d1").to_json())
    assert will.status == "offline" and will.time is None and will.link is None


@settings(max_examples=30)
@given(
    seq=st.integers(0, 2**31),
    data=st.dictionaries(st.text(max_size=5), st.one_of(st.integers(), st.text(max_size=10), st.none())),
)
def test_mission_event_round_trip(seq: int, data: dict[str, Any]) -> None:
    ev = MissionEvent(
        mission="m1", seq=seq, time=T0, kind="transition", from_state="a", to_state="b", data=data
    )
    assert decode(MissionEvent, ev.to_json()) == ev


def test_json_schema_export_matches_the_models() -> None:
    schemas = json_schemas()
    assert schemas.keys() == PAYLOADS.keys()
    tel = schemas["telemetry"]
    assert tel["properties"]["time"]["format"] == "date-time"
    assert tel["properties"]["alt_amsl_m"]["x-unit"] == "m"
    assert "lat" in tel["required"]


# --- docs/mqtt.md ------------------------------------------------------------------------------


def _type(prop: dict[str, Any]) -> str:
    if "const" in prop:
        return f"`{json.dumps(prop['const'])}`"
    if "enum" in prop:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in prop["enum"])
    if "anyOf" in prop:
        return " \\| ".join(_type(p) for p in prop["anyOf"])
    kind = prop.get("type", "any")
    if kind == "string" and prop.get("format") == "date-time":
        return "string (date-time)"
    return str(kind)


def _range(prop: dict[str, Any]) -> str:
    parts = [p for p in prop.get("anyOf", [prop]) if "minimum" in p or "maximum" in p]
    if not parts:
        return ""
    lo, hi = parts[0].get("minimum"), parts[0].get("maximum")
    return f"{lo if lo is not None else ''} … {hi if hi is not None else ''}".strip()


def render_fields(kind: str) -> str:
    schema = json_schemas()[kind]
    rows = ["| Field | Type | Unit | Range | Required | Description |", "|---|---|---|---|---|---|"]
    required = set(schema.get("required", []))
    for name, prop in schema["properties"].items():
        unit = prop.get("x-unit", "")
        req = "yes" if name in required else "no"
        rows.append(
            f"| `{name}` | {_type(prop)} | {unit} | {_range(prop)} | {req} | {prop.get('description', '')} |"
        )
    return "\n".join(rows)


def render_topics() -> str:
    rows = ["| Topic | Payload | QoS | Retained | Notes |", "|---|---|---|---|---|"]
    for spec in SPECS.values():
        retained = "yes" if spec.retain else "no"
        rows.append(f"| `{spec.pattern}` | {spec.model.__name__} | {spec.qos} | {retained} | {spec.note} |")
    return "\n".join(rows)


def generated_blocks() -> dict[str, str]:
    tables = {"topics": render_topics()} | {f"fields:{kind}": render_fields(kind) for kind in PAYLOADS}
    return {name: table + "\n" for name, table in tables.items()}


BLOCK = re.compile(r"(<!-- generated:(?P<name>[\w:]+) -->\n)(?P<body>.*?)(<!-- /generated -->)", re.S)


def test_docs_tables_match_the_models() -> None:
    text = DOC.read_text()
    expected = generated_blocks()
    if os.environ.get("PATROL_UPDATE_DOCS"):
        text = BLOCK.sub(lambda m: m.group(1) + expected[m.group("name")] + m.group(4), text)
        DOC.write_text(text)
    found = {m.group("name"): m.group("body") for m in BLOCK.finditer(text)}
    assert found.keys() == expected.keys(), "docs/mqtt.md lacks or has extra generated blocks"
    for name, body in expected.items():
        assert found[name] == body, f"docs/mqtt.md block {name!r} is stale: run with PATROL_UPDATE_DOCS=1"


EXAMPLE = re.compile(r"<!-- example:(?P<kind>\w+) (?P<topic>\S+) -->\n```json\n(?P<body>.*?)\n```", re.S)


def test_docs_examples_validate_against_the_models() -> None:
    examples = list(EXAMPLE.finditer(DOC.read_text()))
    assert {m.group("kind") for m in examples} == set(PAYLOADS), "one example per payload"
    for m in examples:
        msg = decode_message(m.group("topic"), m.group("body"))
        assert type(msg) is PAYLOADS[m.group("kind")]
