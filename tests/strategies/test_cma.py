"""CMA-ES: search quality, discrete coordinates, asynchronous results, restarts, exact state."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from evotune.strategies import Candidate, CMAStrategy, Strategy, create_strategy, load_strategy


def sphere(x: np.ndarray) -> float:
    return float(((x - 0.3) ** 2).sum())


def evaluations_to(s: Strategy, f: Any, target: float, budget: int) -> int:
    for n in range(1, budget + 1):
        c = s.ask()
        value = f(c.vector)
        s.tell(c.id, value)
        if value is not None and value < target:
            return n
    return budget + 1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reaches_1e_8_on_the_10d_sphere_within_3000_evaluations(seed: int) -> None:
    s = create_strategy("cma", 10, seed=seed)
    # Measured: 1,067-1,263 evaluations over seeds 0-4.
    assert evaluations_to(s, sphere, 1e-8, 3000) <= 3000


def test_separable_variant_also_solves_the_sphere() -> None:
    s = create_strategy("cma", 10, seed=0, options={"variant": "sep"})
    assert evaluations_to(s, sphere, 1e-8, 3000) <= 3000


def test_still_converges_when_some_evaluations_fail() -> None:
    s = create_strategy("cma", 10, seed=4)
    rng = np.random.default_rng(0)
    assert (
        evaluations_to(s, lambda x: None if rng.random() < 0.3 else sphere(x), 1e-6, 3000) <= 3000
    )


STEPS = [0.0, 0.2, 0.0, 0.25, 0.125]
BOUNDS = [(0.0, 1.0), (0.1, 0.9), (0.0, 1.0), (0.0, 1.0), (0.0, 1.0)]
TARGET = np.array([0.3, 0.7, 0.6, 0.25, 0.875])  # on the grids; the start is 0.5 / 0.5 / 0.5


def test_margin_keeps_discrete_coordinates_on_their_grid_and_moves_them() -> None:
    s = create_strategy("cma", 5, seed=0, steps=STEPS, bounds=BOUNDS)
    discrete = [1, 3, 4]
    seen: list[np.ndarray] = []
    for _ in range(1500):
        c = s.ask()
        seen.append(c.vector)
        s.tell(c.id, sphere(c.vector - TARGET + 0.3))
    values = np.array(seen)
    for i in discrete:
        low, high = BOUNDS[i]
        grid = np.arange(low, high + STEPS[i] / 2, STEPS[i])  # cmaes.CMAwM's points
        assert np.all(np.isin(values[:, i], grid)), f"coordinate {i} left its grid"
        assert len(np.unique(values[:, i])) >= 3, f"coordinate {i} froze"
    assert s.best is not None
    best_x, best_f = s.best
    assert np.allclose(best_x[discrete], TARGET[discrete])  # the optimum needs them moved
    assert best_f < 1e-6


def test_late_results_enter_the_current_batch() -> None:
    s = create_strategy("cma", 4, seed=0, options={"population_size": 6})
    first = [s.ask() for _ in range(12)]  # twice a generation, all from generation 0
    for c in first[:6]:
        s.tell(c.id, sphere(c.vector))
    assert s.generation == 1
    for c in first[6:]:  # late: asked in generation 0, told in generation 1
        s.tell(c.id, sphere(c.vector))
    assert s.generation == 2  # they made up generation 1's batch
    counts = s.state_dict()["algorithm"]["counts"]
    assert counts == {"received": 12, "updated": 12, "late": 6, "stale": 0, "failed": 0}


@pytest.mark.parametrize("seed", [1, 4])
def test_converges_with_three_times_popsize_evaluations_out(seed: int) -> None:
    s = create_strategy("cma", 10, seed=seed)  # popsize 10
    rng = np.random.default_rng(seed)
    out = [s.ask() for _ in range(32)]
    for n in range(3000):
        c = out.pop(int(rng.integers(len(out))))
        value = sphere(c.vector)
        s.tell(c.id, value)
        if value < 1e-8:
            break
        out.append(s.ask())
    # Measured: ~1,400-1,700 evaluations; these seeds stall (> 6,000) when late results of any
    # age update the distribution.
    assert value < 1e-8
    counts = s.state_dict()["algorithm"]["counts"]
    assert counts["late"] > 0 and counts["stale"] > 0


def test_results_older_than_late_generations_only_update_best() -> None:
    s = create_strategy("cma", 3, seed=0, options={"population_size": 4, "late_generations": 1})
    held = [s.ask() for _ in range(2)]
    for generation in (1, 2):
        for _ in range(4):
            c = s.ask()
            s.tell(c.id, sphere(c.vector))
        assert s.generation == generation
        s.tell(held[generation - 1].id, -1.0)  # one generation late, then two
    counts = s.state_dict()["algorithm"]["counts"]
    assert (
        counts["late"] == 1
        and counts["stale"] == 1
        and len(s.state_dict()["algorithm"]["batch"]) == 1
    )
    assert s.best is not None and s.best[1] == -1.0


def test_a_late_far_sample_has_its_step_shortened() -> None:
    s = create_strategy("cma", 4, seed=0)
    assert isinstance(s, CMAStrategy)
    mean = np.full(4, 0.5)
    near, far = mean + 0.3 * 0.1, mean + 0.3 * 10.0  # sigma0 = 0.3, C = I
    assert np.array_equal(s._clip_step(near), near)
    clipped = s._clip_step(far)
    limit = math.sqrt(4) + 2 * 4 / 6
    assert np.isclose(np.linalg.norm((clipped - mean) / 0.3), limit)
    assert np.allclose((clipped - mean) / np.linalg.norm(clipped - mean), 0.5)  # same direction


def test_ipop_restarts_with_a_doubled_population_and_counts_stale_results() -> None:
    s = create_strategy("cma", 2, seed=0, options={"population_size": 4})
    held = s.ask()  # stays out across the restart
    flat = 0
    while s.state_dict()["algorithm"]["run"] == 0 and flat < 2000:
        c = s.ask()
        s.tell(c.id, 1.0)  # a flat objective: cmaes' tolfun criterion stops the run
        flat += 1
    state = s.state_dict()["algorithm"]
    assert state["run"] == 1 and state["optimizer"]["population_size"] == 8
    s.tell(held.id, -5.0)
    counts = s.state_dict()["algorithm"]["counts"]
    assert counts["stale"] == 1 and s.best is not None and s.best[1] == -5.0
    assert counts["received"] == counts["updated"] + len(s.state_dict()["algorithm"]["batch"]) + 1
    t = load_strategy(json.loads(json.dumps(s.state_dict())))
    assert np.array_equal(s.ask().vector, t.ask().vector)


def test_no_restarts_when_asked_not_to() -> None:
    s = create_strategy("cma", 2, seed=0, options={"population_size": 4, "restarts": "none"})
    for _ in range(400):
        c = s.ask()
        s.tell(c.id, 1.0)
    assert s.state_dict()["algorithm"]["run"] == 0


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.random.RandomState):
        sa, sb = a.get_state(), b.get_state()
        return all(_same(x, y) for x, y in zip(sa, sb))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        nan = a.dtype.kind == "f"
        return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=nan))
    if hasattr(a, "__dict__") and not isinstance(a, type):
        return type(a) is type(b) and _same_dicts(vars(a), vars(b))
    return bool(a == b) or (isinstance(a, float) and math.isnan(a) and math.isnan(b))


def _same_dicts(a: dict[str, Any], b: dict[str, Any]) -> bool:
    assert a.keys() == b.keys()
    bad = [k for k in a if not _same(a[k], b[k])]
    assert not bad, f"attributes differ after load: {bad}"
    return True


@pytest.mark.parametrize("variant", ["full", "sep", "margin"])
def test_loaded_cmaes_object_equals_the_original_attribute_by_attribute(variant: str) -> None:
    grid: dict[str, Any] = {"steps": STEPS, "bounds": BOUNDS} if variant == "margin" else {}
    s = create_strategy("cma", 5, seed=3, options={"variant": variant}, **grid)
    out: list[Candidate] = []
    for i in range(123):
        out.append(s.ask())
        if i % 3:
            c = out.pop(0)
            s.tell(c.id, sphere(c.vector))
    assert s.generation >= 5 and out
    t = load_strategy(json.loads(json.dumps(s.state_dict())))
    assert _same(s._opt, t._opt)  # type: ignore[attr-defined]
