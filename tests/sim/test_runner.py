"""The multi-vehicle runner: ports, homes, speed factor, link faults, fault injection, CLI."""

from __future__ import annotations

import asyncio
import io
import math
import os
import signal
import subprocess
import sys
import time

import pytest
from pymavlink.dialects.v20 import common as mavlink

from sim.cli import CommandError, parse_command, parse_home
from sim.runner import SimConfig, Simulator, vehicle_home
from sim.streams import FLEET_ABOVE, FLEET_RATES, PX4_RATES, pick_profile
from tests.conftest import ROOT
from tests.sim._gcs import Gcs
from tests.sim._parts import HOME, autopilot_factory

M = mavlink
GCS_BASE, VEHICLE_BASE = 15200, 15280
SUBPROCESS_GCS, SUBPROCESS_VEHICLE = 15300, 15380  # apart from the in-process tests' sockets


def _sim(**kw) -> Simulator:
    kw.setdefault("gcs_port_base", GCS_BASE)
    kw.setdefault("vehicle_port_base", VEHICLE_BASE)
    return Simulator(autopilot_factory=autopilot_factory(), home=HOME, **kw)


def _distance_m(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    dn = (a[0] - b[0]) * 111_320
    de = (a[1] - b[1]) * 111_320 * math.cos(math.radians(a[0]))
    return math.hypot(dn, de)


def test_homes_are_apart_and_near_the_given_home() -> None:
    homes = [vehicle_home(HOME, i, 5.0) for i in range(50)]
    for i, a in enumerate(homes):
        assert _distance_m(a, HOME) < 100
        for b in homes[i + 1 :]:
            assert _distance_m(a, b) >= 4.9


def test_config_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        SimConfig(vehicles=0)
    with pytest.raises(ValueError):
        SimConfig(host="0.0.0.0")


async def test_each_vehicle_on_its_own_ports_with_its_sysid() -> None:
    async with _sim(vehicles=3) as sim, Gcs(port=GCS_BASE + 2, vehicle_port=VEHICLE_BASE + 2) as gcs:
        hb = await gcs.recv("HEARTBEAT", within=1.5)  # streamed from the start, before we said anything
        assert gcs.sources == {(3, 1)} and hb.autopilot == 12
        assert await gcs.command(M.MAV_CMD_REQUEST_MESSAGE, M.MAVLINK_MSG_ID_HOME_POSITION, target=3) == 0
        home = await gcs.recv("HOME_POSITION")
        assert home.latitude / 1e7 == pytest.approx(sim.vehicle(2).home[0], abs=1e-6)
        assert home.longitude / 1e7 == pytest.approx(sim.vehicle(2).home[1], abs=1e-6)
        assert _distance_m(sim.vehicle(0).home, sim.vehicle(2).home) >= 9


async def test_speed_factor_scales_physics_not_heartbeats() -> None:
    async with _sim(vehicles=1, speed=10.0) as sim, Gcs(port=GCS_BASE, vehicle_port=VEHICLE_BASE) as gcs:
        await gcs.recv("HEARTBEAT", within=1.5)
        t0, sim0 = time.monotonic(), sim.sim_time
        beats = await gcs.collect({"HEARTBEAT", "SYSTEM_TIME"}, 1.6)
        wall, simulated = time.monotonic() - t0, sim.sim_time - sim0
        assert simulated / wall == pytest.approx(10.0, rel=0.15)
        assert 1 <= sum(m.get_type() == "HEARTBEAT" for m in beats) <= 2  # still 1 Hz of wall clock
        boot = [m.time_boot_ms for m in beats if m.get_type() == "SYSTEM_TIME"]
        if len(boot) >= 2:  # boot time is simulation time
            assert boot[-1] - boot[0] > 5_000
        assert sim.vehicle(0).autopilot.params()["COM_DL_LOSS_T"][0] == pytest.approx(100)  # scaled, as PX4


async def test_drop_link_loss_and_latency() -> None:
    async with _sim(vehicles=1, seed=3) as sim, Gcs(port=GCS_BASE, vehicle_port=VEHICLE_BASE) as gcs:
        await gcs.recv("ATTITUDE", within=1.5)
        faults = sim.faults(0)
        faults.drop_link(0.6)
        gcs.drain()
        assert await gcs.collect({"ATTITUDE", "HEARTBEAT"}, 0.5) == []
        await gcs.recv("ATTITUDE", within=0.6)  # back after the outage

        faults.set_loss(0.5)
        gcs.drain()
        got = await gcs.collect({"ATTITUDE"}, 1.0)
        assert 0.3 * 100 <= len(got) <= 0.7 * 100
        assert faults.down.dropped > 0 and faults.down.passed > 0
        faults.set_loss(0.0)

        faults.set_latency(100)
        t0 = time.monotonic()
        assert await gcs.command(31999) == M.MAV_RESULT_UNSUPPORTED
        assert time.monotonic() - t0 >= 0.19  # 100 ms each way
        assert "latency 100/100ms" in sim.status_line(0)


async def test_battery_and_gps_faults_show_on_the_wire() -> None:
    async with _sim(vehicles=2) as sim, Gcs(port=GCS_BASE + 1, vehicle_port=VEHICLE_BASE + 1) as gcs:
        sim.set_battery(1, 12)
        sim.set_gps(1, False)
        status = await gcs.recv("SYS_STATUS", within=1.5, where=lambda m: m.battery_remaining <= 13)
        assert status.battery_remaining >= 11
        assert not status.onboard_control_sensors_health & M.MAV_SYS_STATUS_SENSOR_GPS
        gps = await gcs.recv("GPS_RAW_INT", within=1.0, where=lambda m: m.fix_type < 3)
        assert gps.fix_type < 3
        assert sim.vehicle(0).autopilot.snapshot().battery_pct > 90  # the other vehicle is untouched


def test_cli_commands_parse_and_reject_nonsense() -> None:
    assert parse_home("19.3,-99.2") == (19.3, -99.2, 0.0)
    assert parse_home("19.3,-99.2,2300") == (19.3, -99.2, 2300.0)
    with pytest.raises(ValueError):
        parse_home("91,0")
    assert parse_command("   ") is None
    for bad in ("fly 0", "drop-link 0", "loss 2", "gps 0 maybe", "battery x 3"):
        with pytest.raises(CommandError):
            parse_command(bad)


async def test_cli_commands_act_on_the_simulator() -> None:
    async with _sim(vehicles=2) as sim:
        assert "link down" in parse_command("drop-link 1 10")(sim)
        now = time.monotonic()
        assert sim.faults(1).down.is_down(now) and not sim.faults(0).down.is_down(now)
        parse_command("loss 0.2")(sim)
        assert sim.faults(0).up.loss == sim.faults(1).down.loss == 0.2
        parse_command("latency 30 0")(sim)
        assert sim.faults(0).down.latency_s == 0.03 and sim.faults(1).down.latency_s == 0
        parse_command("battery 0 12")(sim)
        assert sim.vehicle(0).autopilot.snapshot().battery_pct == pytest.approx(12, abs=1)
        parse_command("gps 1 off")(sim)
        with pytest.raises(CommandError):
            parse_command("gps 5 off")(sim)
        assert len(parse_command("status")(sim).splitlines()) == 2


def test_python_m_sim_runs_takes_commands_and_quits() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-m", "sim", "-n", "2", "--speed", "2", "--status-every", "0.3"]
    args += ["--gcs-port-base", str(SUBPROCESS_GCS), "--vehicle-port-base", str(SUBPROCESS_VEHICLE)]
    args += ["--home", "19.365,-99.215,2300"]
    proc = subprocess.run(
        args,
        input="battery 1 30\nbogus\nquit\n",
        capture_output=True,
        text=True,
        timeout=20,
        cwd=ROOT,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"listening on 127.0.0.1:{SUBPROCESS_VEHICLE}..{SUBPROCESS_VEHICLE + 1}" in proc.stdout
    assert "vehicle 1: battery 30 %" in proc.stdout
    assert "error: unknown command 'bogus'" in proc.stdout


async def test_cli_run_status_lines() -> None:
    from sim.cli import run

    out = io.StringIO()
    cfg = SimConfig(vehicles=2, gcs_port_base=GCS_BASE, vehicle_port_base=VEHICLE_BASE, home=HOME)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(run(cfg, status_every=0.2, out=out), 0.5)
    lines = out.getvalue().splitlines()
    assert any(line.strip().startswith("v1 sys2") for line in lines)


def test_ctrl_c_stops_cleanly() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-m", "sim", "--gcs-port-base", str(SUBPROCESS_GCS + 10)]
    args += ["--vehicle-port-base", str(SUBPROCESS_VEHICLE + 10)]
    proc = subprocess.Popen(
        args,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    try:
        assert proc.stdout is not None
        assert "listening on" in proc.stdout.readline()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0 and "Traceback" not in err


def test_profile_is_chosen_by_fleet_size() -> None:
    assert pick_profile("auto", FLEET_ABOVE) is PX4_RATES
    assert pick_profile("auto", FLEET_ABOVE + 1) is FLEET_RATES
    assert pick_profile("px4", 50) is PX4_RATES
    with pytest.raises(ValueError):
        pick_profile("fast", 1)


async def test_a_fleet_streams_reduced_rates() -> None:
    n = FLEET_ABOVE + 1
    async with _sim(vehicles=n), Gcs(port=GCS_BASE + n - 1, vehicle_port=VEHICLE_BASE + n - 1) as gcs:
        await gcs.recv("ATTITUDE", within=1.5)
        got = await gcs.collect({"ATTITUDE", "GLOBAL_POSITION_INT", "HEARTBEAT"}, 1.0)
        attitude = sum(m.get_type() == "ATTITUDE" for m in got)
        assert (
            FLEET_RATES[M.MAVLINK_MSG_ID_ATTITUDE] - 3
            <= attitude
            <= FLEET_RATES[M.MAVLINK_MSG_ID_ATTITUDE] + 3
        )
        assert gcs.sources == {(n, 1)}
