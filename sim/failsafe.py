"""PX4's failsafes: data-link loss, battery levels, geofence.

Like PX4's failsafe framework, link loss and the critical battery first hold for
COM_FAIL_ACT_T seconds ("Failsafe activated: entering Hold for 5 seconds") and then take
the configured action; the emergency battery level and a geofence breach act at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sim import fence
from sim import px4_modes as modes

if TYPE_CHECKING:
    from sim.autopilot import Autopilot

SEV_CRITICAL, SEV_WARNING, SEV_INFO = 2, 4, 6

# actions
NONE, WARN, HOLD, RTL, LAND, TERMINATE = "none", "warn", "hold", "rtl", "land", "terminate"
_DLL_ACTIONS = {0: NONE, 1: HOLD, 2: RTL, 3: LAND}
_GF_ACTIONS = {0: NONE, 1: WARN, 2: HOLD, 3: RTL, 4: TERMINATE, 5: LAND}
BAT_OK, BAT_LOW, BAT_CRITICAL, BAT_EMERGENCY = 0, 1, 2, 3


@dataclass(kw_only=True)
class Failsafes:
    last_gcs: float | None = None  # sim time of the last ground-station HEARTBEAT
    link_lost: bool = False
    battery_level: int = BAT_OK
    fence_breached: bool = False
    pending: str = NONE  # action waiting for the hold delay
    pending_at: float = 0.0
    pending_reason: str = ""

    def gcs_heartbeat(self, ap: Autopilot) -> None:
        self.last_gcs = ap.t
        if self.link_lost:
            self.link_lost = False
            ap.say("Data link regained", SEV_INFO)
            if self.pending_reason == "link":
                self.pending = NONE

    def step(self, ap: Autopilot) -> None:
        self._link(ap)
        self._battery(ap)
        self._fence(ap)
        if self.pending != NONE and ap.t >= self.pending_at:
            action, self.pending = self.pending, NONE
            ap.say("Failsafe activated", SEV_CRITICAL)
            self._act(ap, action)

    def _delayed(self, ap: Autopilot, action: str, reason: str) -> None:
        if action == NONE or not ap.flying():
            return
        delay = ap.p("COM_FAIL_ACT_T")
        if action == HOLD or delay <= 0:
            ap.say("Failsafe activated", SEV_CRITICAL)
            self._act(ap, action)
            return
        ap.say(f"Failsafe activated: entering Hold for {delay:.0f} seconds", SEV_CRITICAL)
        ap.switch(modes.AUTO_LOITER)
        self.pending, self.pending_at, self.pending_reason = action, ap.t + delay, reason

    def _act(self, ap: Autopilot, action: str) -> None:
        if action == HOLD:
            ap.switch(modes.AUTO_LOITER)
        elif action == RTL:
            ap.switch(modes.AUTO_RTL)
        elif action == LAND:
            ap.switch(modes.AUTO_LAND)
        elif action == TERMINATE:
            ap.terminate()

    def _link(self, ap: Autopilot) -> None:
        if self.last_gcs is None or self.link_lost:
            return
        if ap.t - self.last_gcs > ap.p("COM_DL_LOSS_T"):
            self.link_lost = True
            ap.say("Connection to ground station lost", SEV_CRITICAL)
            if ap.armed:
                self._delayed(ap, _DLL_ACTIONS.get(int(ap.p("NAV_DLL_ACT")), NONE), "link")

    def _battery(self, ap: Autopilot) -> None:
        rem = ap.battery.remaining
        level = BAT_OK
        if rem < ap.p("BAT_EMERGEN_THR"):
            level = BAT_EMERGENCY
        elif rem < ap.p("BAT_CRIT_THR"):
            level = BAT_CRITICAL
        elif rem < ap.p("BAT_LOW_THR"):
            level = BAT_LOW
        if level <= self.battery_level:
            self.battery_level = level  # recharged (set_battery): warnings may come again
            return
        crossed = range(self.battery_level + 1, level + 1)
        self.battery_level = level
        for lvl in crossed:
            ap.say(("Low battery", "Critical battery", "Emergency battery level")[lvl - 1], SEV_CRITICAL)
        act = int(ap.p("COM_LOW_BAT_ACT"))
        if level == BAT_CRITICAL and ap.armed:
            self._delayed(ap, {2: LAND, 3: RTL}.get(act, NONE), "battery")
        elif level == BAT_EMERGENCY and ap.flying() and act in (2, 3):
            self.pending = NONE
            ap.say("Failsafe activated: Landing", SEV_CRITICAL)
            ap.switch(modes.AUTO_LAND)

    def _fence(self, ap: Autopilot) -> None:
        if not ap.flying():
            self.fence_breached = False
            return
        max_hor, max_ver = ap.p("GF_MAX_HOR_DIST"), ap.p("GF_MAX_VER_DIST")
        if not ap.fence_zones and max_hor <= 0 and max_ver <= 0:
            return
        hn, he, hd = ap.home_ned()
        s = ap.state
        why = fence.breach(
            ap.fence_zones, s.n, s.e, home_ne=(hn, he), alt_rel=hd - s.d, max_hor=max_hor, max_ver=max_ver
        )
        if why is None:
            self.fence_breached = False
            return
        if self.fence_breached:
            return
        self.fence_breached = True
        action = _GF_ACTIONS.get(int(ap.p("GF_ACTION")), NONE)
        ap.say(f"Geofence breached: {why}", SEV_CRITICAL)
        if action not in (NONE, WARN):
            self._act(ap, action)
