"""Bad names and options fail with the exact one-line SpecError a user sees."""

from __future__ import annotations

from typing import Any

import pytest

from evotune.errors import SpecError, StrategyError
from evotune.strategies import create_strategy, strategy_names


def test_strategy_names() -> None:
    assert strategy_names() == ("cma", "elitist", "random", "sobol")


KNOWN_ELITIST = (
    "elite_size, mode, mutation_rate, parent_selection, population_size, sigma, tournament_size"
)
# fmt: off
BAD_OPTIONS: list[tuple[str, int, dict[str, Any], str]] = [
    ("nope", 3, {},
     "strategy.name: unknown strategy 'nope'; known: cma, elitist, random, sobol"),
    ("elitist", 3, {"population_size": 8, "elite_size": 8},
     "strategy.options.elite_size: must be < population_size (8), got 8"),
    ("elitist", 3, {"elite_size": 16},
     "strategy.options.elite_size: must be < population_size (16), got 16"),
    ("elitist", 3, {"population_size": 1},
     "strategy.options.population_size: must be >= 2, got 1"),
    ("elitist", 3, {"population_size": "ten"},
     "strategy.options.population_size: must be an integer, got 'ten'"),
    ("elitist", 3, {"population_size": True},
     "strategy.options.population_size: must be an integer, got True"),
    ("elitist", 3, {"mutation_rate": 0},
     "strategy.options.mutation_rate: must be in (0, 1], got 0.0"),
    ("elitist", 3, {"sigma": 1.5},
     "strategy.options.sigma: must be in (0, 1], got 1.5"),
    ("elitist", 3, {"sigma": float("nan")},
     "strategy.options.sigma: must be in (0, 1], got nan"),
    ("elitist", 3, {"parent_selection": "roulette"},
     "strategy.options.parent_selection: must be one of 'tournament', 'none', got 'roulette'"),
    ("elitist", 3, {"mode": "steady_state", "parent_selection": "none"},
     ("strategy.options.parent_selection: must be 'tournament' when mode is 'steady_state', "
      "got 'none'")),
    ("elitist", 3, {"population_size": 4, "tournament_size": 5},
     "strategy.options.tournament_size: must be <= population_size (4), got 5"),
    ("elitist", 3, {"mutation_rat": 0.1},
     f"strategy.options.mutation_rat: unknown option; known options: {KNOWN_ELITIST}"),
    ("cma", 3, {"variant": "bipop"},
     "strategy.options.variant: must be one of 'auto', 'full', 'sep', 'margin', got 'bipop'"),
    ("cma", 3, {"variant": "margin"},
     "strategy.options.variant: 'margin' needs a discrete coordinate (a step > 0)"),
    ("cma", 1, {"variant": "sep"},
     "strategy.options.variant: 'sep' needs dim >= 2, got dim 1"),
    ("cma", 3, {"sigma0": 0},
     "strategy.options.sigma0: must be in (0, 1], got 0.0"),
    ("cma", 3, {"restarts": "bipop"},
     "strategy.options.restarts: must be one of 'ipop', 'none', got 'bipop'"),
    ("cma", 3, {"late_generations": -1},
     "strategy.options.late_generations: must be >= 0, got -1"),
    ("cma", 3, {"population_size": 2.5},
     "strategy.options.population_size: must be an integer, got 2.5"),
    ("cma", 3, {"popsize": 8},
     ("strategy.options.popsize: unknown option; "
      "known options: late_generations, population_size, restarts, sigma0, variant")),
    ("random", 3, {"x": 1},
     "strategy.options.x: unknown option; known options: (none)"),
    ("sobol", 3, {"x": 1},
     "strategy.options.x: unknown option; known options: (none)"),
]
# fmt: on


@pytest.mark.parametrize(("name", "dim", "options", "message"), BAD_OPTIONS)
def test_bad_options_give_exact_messages(
    name: str, dim: int, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(SpecError) as info:
        create_strategy(name, dim, options=options)
    assert str(info.value) == message


def test_good_options_are_resolved_with_their_defaults() -> None:
    s = create_strategy("elitist", 3, options={"population_size": 32})
    assert s.options == {
        "population_size": 32, "elite_size": 4, "mutation_rate": 0.2, "sigma": 0.1,
        "parent_selection": "tournament", "tournament_size": 3, "mode": "generational",
    }  # fmt: skip
    assert (
        create_strategy("cma", 3, options={"population_size": 12.0}).options["population_size"]
        == 12
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"dim": 0}, "dim must be a positive integer"),
        ({"seed": -1}, "seed must be a non-negative integer"),
        ({"steps": [0.1, 0.0]}, "steps must be 3 finite numbers >= 0"),
        ({"steps": [0.5, 0, 0], "bounds": [(0.0, 0.2), (0, 1), (0, 1)]}, "fewer than two"),
        ({"steps": [0.5, 0, 0], "bounds": [(0.2, 1.5), (0, 1), (0, 1)]}, r"bounds\[0\] must"),
        ({"bounds": [(0, 1)] * 3}, "bounds were given without steps"),
    ],
)
def test_bad_space_arguments_are_misuse(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(StrategyError, match=match):
        create_strategy("cma", **{"dim": 3, **kwargs})


def test_bad_direction() -> None:
    with pytest.raises(SpecError, match="direction: must be 'minimize' or 'maximize', got 'max'"):
        create_strategy("random", 3, direction="max")
