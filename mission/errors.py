"""The service's exceptions. The root ``PatrolError`` is defined in ``geo.errors``::

    PatrolError
    ├── GeoError ...                  (geo.errors)
    ├── ConfigError                   (bad settings or command-line input)
    ├── NotFoundError                 (unknown drone, mission, area, schedule; .kind, .key)
    ├── ConflictError                 (overlapping schedule, drone busy, duplicate id)
    ├── InvalidTransitionError        (mission state machine refused a command; .state, .event)
    ├── PreflightError                (a preflight check failed; .checks)
    ├── VehicleError                  (the vehicle link; raised by telemetry adapters)
    │   ├── VehicleTimeoutError       (no answer in time; .operation, .timeout_s)
    │   ├── VehicleNotFoundError      (no vehicle appeared on a connection)
    │   ├── CommandRejectedError      (vehicle answered no; .operation, .result)
    │   └── MissionTransferError      (mission/fence upload or download failed; .operation, .result)
    └── BusError                      (message bus unavailable)
"""

from __future__ import annotations

from geo.errors import PatrolError

__all__ = [
    "BusError",
    "CommandRejectedError",
    "ConfigError",
    "ConflictError",
    "InvalidTransitionError",
    "MissionTransferError",
    "NotFoundError",
    "PatrolError",
    "PreflightError",
    "VehicleError",
    "VehicleNotFoundError",
    "VehicleTimeoutError",
]


class ConfigError(PatrolError):
    """Settings or command-line input are invalid."""


class NotFoundError(PatrolError):
    def __init__(self, kind: str, key: object) -> None:
        self.kind, self.key = kind, key
        super().__init__(f"unknown {kind}: {key}")


class ConflictError(PatrolError):
    """The request conflicts with existing state (nothing was changed)."""


class InvalidTransitionError(PatrolError):
    def __init__(self, state: str, event: str) -> None:
        self.state, self.event = state, event
        super().__init__(f"cannot {event} a mission that is {state}")


class PreflightError(PatrolError):
    def __init__(self, checks: dict[str, str]) -> None:
        self.checks = checks  # check name -> why it failed
        super().__init__("preflight failed: " + "; ".join(f"{k}: {v}" for k, v in checks.items()))


class VehicleError(PatrolError):
    """The vehicle link failed."""


class VehicleTimeoutError(VehicleError):
    def __init__(self, operation: str, timeout_s: float) -> None:
        self.operation, self.timeout_s = operation, timeout_s
        super().__init__(f"{operation}: no answer from the vehicle within {timeout_s:g} s")


class VehicleNotFoundError(VehicleError):
    """No vehicle appeared on the connection within the timeout."""


class CommandRejectedError(VehicleError):
    def __init__(self, operation: str, result: str) -> None:
        self.operation, self.result = operation, result
        super().__init__(f"{operation} rejected by the vehicle: {result}")


class MissionTransferError(VehicleError):
    def __init__(self, operation: str, result: str) -> None:
        self.operation, self.result = operation, result
        super().__init__(f"{operation} failed: {result}")


class BusError(PatrolError):
    """The message bus is unavailable."""
