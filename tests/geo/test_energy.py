import itertools
import math

import numpy as np
import pytest

from geo.energy import Battery, FlightModel, count_turns, split_sorties
from geo.errors import PlanningError


def straight(a, b):
    return [a, b]


def test_turns_cost_more_the_sharper_they_are() -> None:
    m = FlightModel(speed_mps=8.0, accel_mps2=3.0)
    assert m.turn_time_s(0.0) == 0.0
    assert m.turn_time_s(math.pi / 4) < m.turn_time_s(math.pi / 2) == m.turn_time_s(math.pi)
    square = np.array([[0, 0], [100, 0], [100, 100], [0, 100]])
    line = np.array([[0, 0], [300, 0]])
    assert m.path_time_s(square) > m.path_time_s(line)
    assert count_turns(square) == 2


def test_battery_validation() -> None:
    assert Battery(flight_min=30, reserve_pct=0).usable_s == 1800
    with pytest.raises(ValueError):
        Battery(flight_min=10, reserve_pct=100)


def test_sorties_fit_the_budget_and_cover_the_path_in_order() -> None:
    xs = np.arange(0, 2001, 100.0)
    work = np.array([(x, y) for i, x in enumerate(xs) for y in ((0, 400) if i % 2 == 0 else (400, 0))])
    model = FlightModel()
    budget = 600.0
    legs = split_sorties(
        work, (1000.0, -200.0), model=model, budget_s=budget, altitude_m=60, connect=straight
    )
    assert len(legs) > 1
    assert all(leg.time_s <= budget + 1e-6 for leg in legs)
    joined = np.vstack([legs[0].work] + [leg.work[1:] for leg in legs[1:]])
    total = float(np.hypot(*np.diff(work, axis=0).T).sum())
    assert float(np.hypot(*np.diff(joined, axis=0).T).sum()) == pytest.approx(total, rel=1e-6)
    assert np.allclose(joined[0], work[0]) and np.allclose(joined[-1], work[-1])
    for a, b in itertools.pairwise(legs):
        assert np.allclose(a.work[-1], b.work[0])  # the next sortie resumes where the last stopped


def test_unreachable_work_raises() -> None:
    with pytest.raises(PlanningError, match="battery"):
        split_sorties(
            np.array([[5000.0, 0], [5100.0, 0]]),
            (0.0, 0.0),
            model=FlightModel(),
            budget_s=60.0,
            altitude_m=60,
            connect=straight,
        )
