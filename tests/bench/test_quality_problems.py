"""Sanity checks of the search-quality benchmark's problems and scores (fast)."""

from __future__ import annotations

import numpy as np
import pytest

from bench.quality.functions import FUNCTION_NAMES, TestFunction
from bench.quality.params import to_space
from bench.quality.problems import all_problem_names, make_problem
from bench.quality.scoring import TARGETS, normalized_score, paired_wilcoxon, ranks, targets_reached
from bench.quality.tuning import TUNING_NAMES


@pytest.mark.parametrize("name", FUNCTION_NAMES)
@pytest.mark.parametrize("dim", [2, 5, 10])
def test_known_optimum_gives_f_opt(name: str, dim: int) -> None:
    f = TestFunction.make(name, dim)
    assert f(f.x_opt) == pytest.approx(f.f_opt, abs=1e-12)
    assert np.all(np.abs(f.x_opt) <= f.bound)
    rng = np.random.default_rng(0)
    for _ in range(200):  # nothing in the box is better than the optimum
        assert f(rng.uniform(-f.bound, f.bound, dim)) >= f.f_opt - 1e-12


def test_reference_values() -> None:
    assert TestFunction.make("styblinski_tang", 2).f_opt == pytest.approx(-78.33233, abs=1e-4)
    # unshifted forms at known points
    from bench.quality import functions as fn

    assert fn.rosenbrock(np.zeros(2)) == 1.0
    assert fn.rastrigin(np.full(2, 0.5)) == pytest.approx(20.0 + 2 * (0.25 + 10.0))
    assert fn.ackley(np.zeros(3)) == pytest.approx(0.0, abs=1e-12)
    assert fn.ellipsoid(np.array([1.0, 1.0])) == pytest.approx(1.0 + 1e6)


def test_shift_moves_the_optimum_off_centre() -> None:
    for name in ("sphere", "rastrigin", "ackley"):
        f = TestFunction.make(name, 5)
        assert f(np.zeros(5)) > f.f_opt + 1.0


def test_problem_registry_covers_the_plan() -> None:
    names = all_problem_names()
    assert len(names) == len(TUNING_NAMES) + 3 * len(FUNCTION_NAMES) == 28
    for name in ("SVM-wine", "lasso-diabetes", "rosenbrock-10d"):
        p = make_problem(name)
        assert p.dim == len(p.params)
    with pytest.raises(ValueError):
        make_problem("lasso-wine")


def test_tuning_objective_is_deterministic() -> None:
    p = make_problem("kNN-wine")
    config = {"n_neighbors": 7, "p": 2}
    from bench.quality.tuning import _cv_loss

    first = p.evaluate(config)
    _cv_loss.cache_clear()
    assert p.evaluate(config) == first
    assert 0.0 < first < 2.0


def test_search_spaces_decode_inside_their_bounds() -> None:
    for name in TUNING_NAMES:
        p = make_problem(name)
        space = to_space(p.params)
        for u in (np.zeros(space.dim), np.ones(space.dim)):
            config = space.decode(u)
            for param in p.params:
                if param.kind != "cat":
                    assert param.low <= config[param.name] <= param.high


def test_normalization_maps_random_median_to_0_and_best_to_100() -> None:
    median, best = 0.4, 0.1
    s = normalized_score(np.array([median, best, 0.25, 5.0]), median, best)
    assert s.tolist() == pytest.approx([0.0, 100.0, 50.0, 0.0])


def test_targets_fraction() -> None:
    assert len(TARGETS) == 11
    assert targets_reached(np.array([1e3]), 0.0)[0] == 0.0
    assert targets_reached(np.array([5.0]), 0.0)[0] == pytest.approx(2 / 11)  # 1e2, 1e1
    assert targets_reached(np.array([-3.0]), -3.0)[0] == 1.0


def test_ranks_and_wilcoxon() -> None:
    assert ranks({"a": 1.0, "b": 3.0, "c": 1.0}) == {"a": 1.5, "b": 3.0, "c": 1.5}
    r = paired_wilcoxon([1.0, 2.0, 3.0, 4.0], [0.0, 1.0, 2.0, 4.0])
    assert (r["wins"], r["losses"], r["ties"]) == (3, 0, 1)


@pytest.mark.parametrize("opt", ["evotune-cma", "evotune-elitist-gen", "evotune-elitist-ss",
                                 "evotune-sobol", "optuna-tpe", "optuna-cmaes", "pycma"])
def test_budget_agnostic_runs_are_prefixes(opt: str) -> None:
    """The runner reads the budget-64 figure off the budget-128 run; that is sound only
    if a shorter run is exactly the start of a longer one (seeded, budget-blind)."""
    from bench.quality.harness import run

    p = make_problem("sphere-2d")
    assert run(opt, p, 3, 16).losses == run(opt, p, 3, 32).losses[:16]
