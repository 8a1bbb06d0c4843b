"""The mission state machine: every edge, every refusal, and random event sequences (hypothesis)."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mission.errors import InvalidTransitionError, PatrolError
from mission.states import (
    IN_FLIGHT_STATES,
    TERMINAL_STATES,
    TRANSITIONS,
    Ending,
    Event,
    MissionState,
    MissionStatus,
    allowed_events,
    is_terminal,
    transition,
)

T0 = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
S, E = MissionState, Event


def run(*events: str, start: MissionStatus | MissionState = S.SCHEDULED) -> MissionStatus:
    status = start if isinstance(start, MissionStatus) else MissionStatus(state=start)
    for i, ev in enumerate(events):
        status = transition(status, ev, at=T0 + timedelta(seconds=i)).after
    return status


TO_EXECUTING = ("start", "preflight_ok", "uploaded", "armed", "took_off")


@pytest.mark.parametrize(
    ("events", "final", "ending"),
    [
        ((*TO_EXECUTING, "mission_finished", "landed", "disarmed"), S.COMPLETED, Ending.COMPLETED),
        (
            (*TO_EXECUTING, "pause", "resume", "pause", "resume", "mission_finished", "disarmed"),
            S.COMPLETED,
            None,
        ),
        ((*TO_EXECUTING, "abort", "landed", "disarmed"), S.ABORTED, Ending.ABORTED),
        ((*TO_EXECUTING, "pause", "land_now", "landed", "disarmed"), S.ABORTED, Ending.ABORTED),
        ((*TO_EXECUTING, "battery_failsafe", "landed", "disarmed"), S.INTERRUPTED, Ending.INTERRUPTED),
        ((*TO_EXECUTING, "link_lost", "landed", "link_lost", "disarmed"), S.INTERRUPTED, None),
        ((*TO_EXECUTING, "landed", "disarmed"), S.INTERRUPTED, None),  # came down early by itself
        # A failsafe on the way home from a finished patrol does not spoil it.
        ((*TO_EXECUTING, "mission_finished", "battery_failsafe", "landed", "disarmed"), S.COMPLETED, None),
        ((*TO_EXECUTING, "mission_finished", "land_now", "disarmed"), S.COMPLETED, None),
        # The first cut-short reason wins.
        ((*TO_EXECUTING, "abort", "battery_failsafe", "landed", "disarmed"), S.ABORTED, None),
        ((*TO_EXECUTING, "battery_failsafe", "abort", "landed", "disarmed"), S.INTERRUPTED, None),
        (("start", "preflight_failed"), S.FAILED, None),
        (("start", "preflight_ok", "upload_failed"), S.FAILED, None),
        (("start", "preflight_ok", "abort"), S.ABORTED, None),
        (("abort",), S.ABORTED, None),
        (("start", "preflight_ok", "uploaded", "armed", "disarmed"), S.FAILED, None),  # PX4 auto-disarm
        (("start", "preflight_ok", "uploaded", "armed", "abort", "disarmed"), S.ABORTED, None),
        ((*TO_EXECUTING, "error"), S.FAILED, None),
        (("start", "preflight_ok", "service_restart"), S.SCHEDULED, None),  # pipeline restarts from preflight
        ((*TO_EXECUTING, "service_restart", "pause", "service_restart"), S.PAUSED, None),
        (("start", "preflight_ok", "uploaded", "armed", "executing"), S.EXECUTING, None),  # alias
    ],
)
def test_paths(events: tuple[str, ...], final: MissionState, ending: Ending | None) -> None:
    status = run(*events)
    assert status.state is final
    if ending is not None:
        assert status.ending is ending


@pytest.mark.parametrize("state", list(MissionState))
def test_every_legal_edge(state: MissionState) -> None:
    for event, (target, _) in TRANSITIONS[state].items():
        t = transition(state, event, at=T0, reason="because")
        assert t.from_state is state and t.event is event and t.reason == "because" and t.at == T0
        assert t.to_state in MissionState
        if target != "disarm":
            assert t.to_state is target


@pytest.mark.parametrize("state", list(MissionState))
def test_every_illegal_edge_raises(state: MissionState) -> None:
    illegal = [e for e in Event if e not in TRANSITIONS[state]]
    assert illegal  # no state accepts everything
    for event in illegal:
        with pytest.raises(InvalidTransitionError) as exc:
            transition(state, event, at=T0)
        assert (exc.value.state, exc.value.event) == (state.value, event.value)
        assert isinstance(exc.value, PatrolError)
        assert f"cannot {event.value} a mission that is {state.value}" in str(exc.value)


def test_table_shape() -> None:
    assert set(TRANSITIONS) == set(MissionState)
    assert all(not TRANSITIONS[s] for s in TERMINAL_STATES)
    assert all(is_terminal(s) == (s in TERMINAL_STATES) for s in MissionState)
    assert allowed_events("paused") >= {E.RESUME, E.ABORT, E.LAND_NOW}
    assert not IN_FLIGHT_STATES & TERMINAL_STATES and S.SCHEDULED not in IN_FLIGHT_STATES


def _successors(status: MissionStatus) -> set[MissionStatus]:
    return {transition(status, e, at=T0).after for e in TRANSITIONS[status.state]}


def test_every_state_is_reachable_and_every_status_can_finish() -> None:
    start = MissionStatus(state=S.SCHEDULED)
    seen, todo = {start}, deque([start])
    while todo:
        for nxt in _successors(todo.popleft()) - seen:
            seen.add(nxt)
            todo.append(nxt)
    assert {s.state for s in seen} == set(MissionState)
    for status in seen:  # from anywhere reachable, some path ends in a terminal state
        frontier, visited = {status}, {status}
        while frontier and not any(s.terminal for s in frontier):
            frontier = {n for s in frontier for n in _successors(s)} - visited
            visited |= frontier
        assert any(s.terminal for s in visited), status


def test_unknown_event_and_naive_time_are_refused() -> None:
    with pytest.raises(InvalidTransitionError, match="cannot fly_to_moon"):
        transition(S.EXECUTING, "fly_to_moon", at=T0)
    with pytest.raises(ValueError, match="timezone-aware"):
        transition(S.SCHEDULED, "start", at=datetime(2026, 1, 1))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(list(Event)), max_size=40))
def test_random_event_sequences_stay_inside_the_machine(events: list[Event]) -> None:
    status = MissionStatus(state=S.SCHEDULED)
    for ev in events:
        if ev in TRANSITIONS[status.state]:
            t = transition(status, ev, at=T0)
            assert t.before == status
            assert t.after.state in TRANSITIONS  # a defined state, with a row in the table
            if status.ending is not Ending.COMPLETED:
                assert t.after.ending is status.ending  # once cut short, always cut short
            if t.after.state in TERMINAL_STATES and t.after.state is not S.FAILED and ev is E.DISARMED:
                assert t.after.state.value == status.ending.value
            status = t.after
        else:
            with pytest.raises(InvalidTransitionError):
                transition(status, ev, at=T0)
        if status.terminal:
            assert allowed_events(status.state) == frozenset()
