"""The mission state machine, as pure data: a table of (state, event) -> next state, and ``transition()``.

No I/O here; the supervisor feeds events observed on the vehicle (or commanded by a pilot) and
persists each ``Transition`` with ``Store.record_transition`` before acting on it::

    scheduled -start-> preflight -preflight_ok-> uploading -uploaded-> ready -armed-> armed
                           |                         |                                 |
                    preflight_failed           upload_failed                       took_off
                           v                         v                                 v
                         failed                    failed             +--resume-- executing --pause--> paused
                                                                      |                |                 |
                                                                      +----------------|-----------------+
                                                                              mission_finished
                                                                                       v
                                                     abort | land_now | failsafe -> returning -landed-> landed
                                                     (from armed, executing, paused)   |                 |
                                                                                       +----disarmed-----+
                                                                                                v
                                                                          completed | aborted | interrupted

    before arming (scheduled, preflight, uploading, ready):  abort -> aborted;  link_lost -> failed
    any non-terminal state:                                 error -> failed
    executing | paused:  landed -> landed (came down early: ending = interrupted)

``ready`` (uploaded, waiting to arm) sits between ``uploading`` and ``armed`` so that ``uploaded`` and
``armed`` are distinct edges. ``disarmed`` is also accepted straight from ``returning`` (a landing we
did not see) and from ``armed`` (PX4 disarms by itself when no take-off follows: ``failed`` unless the
pilot aborted). ``service_restart`` re-attaches: flying states stay as they are; a mission caught
before arming goes back to ``scheduled`` so preflight runs again with fresh telemetry.

The *ending* (``MissionStatus.ending``) is what ``disarmed`` resolves to: ``abort``/``land_now`` set
it to aborted, ``battery_failsafe``/``link_lost`` to interrupted. The first cut-short reason wins, and
edges from ``returning`` leave it alone, so a failsafe during a normal return does not turn a finished
patrol into an interrupted one. Terminal states: completed, aborted, interrupted, failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from mission.errors import InvalidTransitionError

__all__ = [
    "FLYING_STATES",
    "IN_FLIGHT_STATES",
    "TERMINAL_STATES",
    "TRANSITIONS",
    "Ending",
    "Event",
    "MissionState",
    "MissionStatus",
    "Transition",
    "allowed_events",
    "is_terminal",
    "transition",
]


class MissionState(StrEnum):
    SCHEDULED = "scheduled"
    PREFLIGHT = "preflight"
    UPLOADING = "uploading"
    READY = "ready"
    ARMED = "armed"
    EXECUTING = "executing"
    PAUSED = "paused"
    RETURNING = "returning"
    LANDED = "landed"
    COMPLETED = "completed"
    ABORTED = "aborted"
    INTERRUPTED = "interrupted"
    FAILED = "failed"


class Event(StrEnum):
    START = "start"
    PREFLIGHT_OK = "preflight_ok"
    PREFLIGHT_FAILED = "preflight_failed"
    UPLOADED = "uploaded"
    UPLOAD_FAILED = "upload_failed"
    ARMED = "armed"
    TOOK_OFF = "took_off"
    PAUSE = "pause"
    RESUME = "resume"
    ABORT = "abort"
    LAND_NOW = "land_now"
    MISSION_FINISHED = "mission_finished"
    LANDED = "landed"
    DISARMED = "disarmed"
    BATTERY_FAILSAFE = "battery_failsafe"
    LINK_LOST = "link_lost"
    ERROR = "error"
    SERVICE_RESTART = "service_restart"

    @classmethod
    def _missing_(cls, value: object) -> Event | None:
        # "executing" is the name the vehicle side uses for the same edge.
        return cls.TOOK_OFF if value == "executing" else None


class Ending(StrEnum):
    """What the mission will have been once the vehicle disarms."""

    COMPLETED = "completed"
    ABORTED = "aborted"
    INTERRUPTED = "interrupted"


S, E = MissionState, Event
TERMINAL_STATES = frozenset({S.COMPLETED, S.ABORTED, S.INTERRUPTED, S.FAILED})
# The vehicle may be armed or airborne: what recovery must re-attach to after a restart.
IN_FLIGHT_STATES = frozenset(
    {S.PREFLIGHT, S.UPLOADING, S.READY, S.ARMED, S.EXECUTING, S.PAUSED, S.RETURNING, S.LANDED}
)
FLYING_STATES = frozenset({S.ARMED, S.EXECUTING, S.PAUSED, S.RETURNING})

# A target is a state, or DISARM (resolved from the pending ending). The second element, when not
# None, is the ending this edge sets (if the mission has not already been cut short).
_DISARM = "disarm"
_Target = tuple[MissionState | str, Ending | None]


def _ground() -> dict[Event, _Target]:
    """Edges shared by the states before arming: nothing has flown, so abort ends the mission here."""
    return {
        E.ABORT: (S.ABORTED, None),
        E.LINK_LOST: (S.FAILED, None),
        E.ERROR: (S.FAILED, None),
        E.SERVICE_RESTART: (S.SCHEDULED, None),
    }


def _airborne() -> dict[Event, _Target]:
    return {
        E.ABORT: (S.RETURNING, Ending.ABORTED),
        E.LAND_NOW: (S.RETURNING, Ending.ABORTED),
        E.BATTERY_FAILSAFE: (S.RETURNING, Ending.INTERRUPTED),
        E.LINK_LOST: (S.RETURNING, Ending.INTERRUPTED),
        E.ERROR: (S.FAILED, None),
    }


TRANSITIONS: dict[MissionState, dict[Event, _Target]] = {
    S.SCHEDULED: {**_ground(), E.START: (S.PREFLIGHT, None)},
    S.PREFLIGHT: {
        **_ground(),
        E.PREFLIGHT_OK: (S.UPLOADING, None),
        E.PREFLIGHT_FAILED: (S.FAILED, None),
    },
    S.UPLOADING: {**_ground(), E.UPLOADED: (S.READY, None), E.UPLOAD_FAILED: (S.FAILED, None)},
    S.READY: {**_ground(), E.ARMED: (S.ARMED, None)},
    S.ARMED: {
        **_airborne(),
        E.TOOK_OFF: (S.EXECUTING, None),
        E.DISARMED: (_DISARM, None),
        E.SERVICE_RESTART: (S.ARMED, None),
    },
    S.EXECUTING: {
        **_airborne(),
        E.PAUSE: (S.PAUSED, None),
        E.MISSION_FINISHED: (S.RETURNING, None),
        E.LANDED: (S.LANDED, Ending.INTERRUPTED),  # came down before the mission finished
        E.SERVICE_RESTART: (S.EXECUTING, None),
    },
    S.PAUSED: {
        **_airborne(),
        E.RESUME: (S.EXECUTING, None),
        E.LANDED: (S.LANDED, Ending.INTERRUPTED),
        E.SERVICE_RESTART: (S.PAUSED, None),
    },
    S.RETURNING: {
        E.LANDED: (S.LANDED, None),
        E.DISARMED: (_DISARM, None),
        # Already coming home: the mission was finished or already cut short; nothing to change.
        E.ABORT: (S.RETURNING, None),
        E.LAND_NOW: (S.RETURNING, None),
        E.BATTERY_FAILSAFE: (S.RETURNING, None),
        E.LINK_LOST: (S.RETURNING, None),
        E.ERROR: (S.FAILED, None),
        E.SERVICE_RESTART: (S.RETURNING, None),
    },
    S.LANDED: {
        E.DISARMED: (_DISARM, None),
        E.LINK_LOST: (S.LANDED, None),
        E.ERROR: (S.FAILED, None),
        E.SERVICE_RESTART: (S.LANDED, None),
    },
    S.COMPLETED: {},
    S.ABORTED: {},
    S.INTERRUPTED: {},
    S.FAILED: {},
}


@dataclass(frozen=True, kw_only=True)
class MissionStatus:
    """A mission's position in the machine: its state and what ``disarmed`` will make of it."""

    state: MissionState
    ending: Ending = Ending.COMPLETED

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", MissionState(self.state))
        object.__setattr__(self, "ending", Ending(self.ending))

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_STATES


@dataclass(frozen=True, kw_only=True)
class Transition:
    """One accepted edge: persisted as a ``MissionEvent`` together with the new state."""

    event: Event
    before: MissionStatus
    after: MissionStatus
    at: datetime
    reason: str = ""
    data: dict[str, object] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("Transition.at must be timezone-aware")

    @property
    def from_state(self) -> MissionState:
        return self.before.state

    @property
    def to_state(self) -> MissionState:
        return self.after.state


def is_terminal(state: MissionState | str) -> bool:
    return MissionState(state) in TERMINAL_STATES


def allowed_events(state: MissionState | str) -> frozenset[Event]:
    return frozenset(TRANSITIONS[MissionState(state)])


def _resolve_disarm(before: MissionStatus) -> MissionState:
    if before.state is S.ARMED and before.ending is Ending.COMPLETED:
        return S.FAILED  # disarmed on the ground without taking off, nobody asked for it
    return MissionState(before.ending.value)


def transition(
    state: MissionStatus | MissionState | str,
    event: Event | str,
    *,
    at: datetime,
    reason: str = "",
    data: dict[str, object] | None = None,
) -> Transition:
    """The edge ``event`` takes from ``state``; ``InvalidTransitionError`` when there is none.

    >>> from datetime import UTC, datetime
    >>> t = transition(MissionState.EXECUTING, "battery_failsafe", at=datetime(2026, 1, 1, tzinfo=UTC))
    >>> t.to_state, t.after.ending
    (<MissionState.RETURNING: 'returning'>, <Ending.INTERRUPTED: 'interrupted'>)
    """
    before = state if isinstance(state, MissionStatus) else MissionStatus(state=MissionState(state))
    try:
        ev = Event(event)
    except ValueError:
        raise InvalidTransitionError(before.state.value, str(event)) from None
    edge = TRANSITIONS[before.state].get(ev)
    if edge is None:
        raise InvalidTransitionError(before.state.value, ev.value)
    target, ending = edge
    new_ending = ending if ending is not None and before.ending is Ending.COMPLETED else before.ending
    to_state = _resolve_disarm(before) if target == _DISARM else MissionState(target)
    after = MissionStatus(state=to_state, ending=new_ending)
    return Transition(event=ev, before=before, after=after, at=at, reason=reason, data=dict(data or {}))
