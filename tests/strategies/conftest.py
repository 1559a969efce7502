"""Shared fixtures: every strategy variant the contract suite runs against."""

from __future__ import annotations

from typing import Any

import pytest

from evotune.strategies import Strategy, create_strategy, strategy_names

DIM = 5
# A mixed space for the margin variant: two grids (one not starting at 0) and three reals.
STEPS = [0.0, 0.2, 0.0, 0.25, 0.0]
BOUNDS = [(0.0, 1.0), (0.1, 0.9), (0.0, 1.0), (0.0, 1.0), (0.0, 1.0)]

# (id, name, options, discrete?) -- every name of the registry appears at least once.
VARIANTS: list[tuple[str, str, dict[str, Any], bool]] = [
    ("random", "random", {}, False),
    ("sobol", "sobol", {}, False),
    ("elitist-tournament", "elitist", {"population_size": 8}, False),
    ("elitist-none", "elitist", {"population_size": 8, "parent_selection": "none"}, False),
    ("elitist-steady", "elitist", {"population_size": 8, "mode": "steady_state"}, False),
    ("cma-full", "cma", {}, False),
    ("cma-sep", "cma", {"variant": "sep"}, False),
    ("cma-margin", "cma", {}, True),
    ("cma-noipop", "cma", {"restarts": "none", "population_size": 6}, True),
]
assert {v[1] for v in VARIANTS} == set(strategy_names())


class Variant:
    def __init__(self, name: str, options: dict[str, Any], discrete: bool) -> None:
        self.name, self.options, self.discrete = name, options, discrete

    def make(self, seed: int = 0, direction: str = "minimize", dim: int = DIM) -> Strategy:
        grid: dict[str, Any] = {}
        if self.discrete:
            assert dim == DIM
            grid = {"steps": STEPS, "bounds": BOUNDS}
        return create_strategy(
            self.name, dim, seed=seed, direction=direction, options=self.options, **grid
        )


@pytest.fixture(params=VARIANTS, ids=[v[0] for v in VARIANTS])
def variant(request: pytest.FixtureRequest) -> Variant:
    _, name, options, discrete = request.param
    return Variant(name, options, discrete)
