"""evotune's strategies behind the benchmark's batch ask/tell shape.

Each strategy searches the problem's evotune ``Space`` (``steps``/``bounds`` passed, so CMA
uses its margin variant on discrete coordinates) with the product's default options; only
the elitist ES's ``mode`` is set, to benchmark both of its schedules. The harness asks 8
candidates, evaluates them, then tells the 8 scores (a non-finite loss is told as ``None``,
a failed evaluation).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from evotune.strategies import create_strategy

from .params import to_space
from .peers import Pair
from .problems import Problem

# benchmark name -> (strategy name, options)
EVOTUNE_STRATEGIES: dict[str, tuple[str, dict[str, Any]]] = {
    "evotune-elitist-gen": ("elitist", {"mode": "generational"}),
    "evotune-elitist-ss": ("elitist", {"mode": "steady_state"}),
    "evotune-cma": ("cma", {}),
    "evotune-random": ("random", {}),
    "evotune-sobol": ("sobol", {}),
}
EVOTUNE_NAMES: tuple[str, ...] = tuple(EVOTUNE_STRATEGIES)


class EvotuneOptimizer:
    """One evotune strategy over the problem's ``Space``."""

    def __init__(self, strategy: str, options: dict[str, Any], problem: Problem, seed: int):
        self._space = to_space(problem.params)
        self._strategy = create_strategy(
            strategy, self._space.dim, seed=seed, direction="minimize",
            steps=self._space.steps, bounds=self._space.bounds, options=options,
        )

    def ask(self, k: int) -> list[Pair]:
        cands = [self._strategy.ask() for _ in range(k)]
        return [(c.id, self._space.decode(c.vector)) for c in cands]

    def tell(self, results: Sequence[tuple[Any, float]]) -> None:
        for cid, value in results:
            self._strategy.tell(cid, value if math.isfinite(value) else None)


def make_evotune(name: str, problem: Problem, seed: int) -> EvotuneOptimizer:
    """Build ``evotune-<strategy>`` for ``problem``."""
    if name not in EVOTUNE_STRATEGIES:
        raise ValueError(f"unknown evotune strategy {name!r}; known: {', '.join(EVOTUNE_NAMES)}")
    strategy, options = EVOTUNE_STRATEGIES[name]
    return EvotuneOptimizer(strategy, options, problem, seed)
