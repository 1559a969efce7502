"""Ask/tell evolution strategies over vectors in ``[0, 1]^dim``.

Pure (numpy, scipy, cmaes; no I/O, no clock), seeded, asynchronous, and resumable from plain
JSON state. See :class:`Strategy` for the contract every strategy keeps.

Strategies: ``elitist`` (the source design's elitist mutation ES), ``cma`` (CMA-ES, with margin
for discrete coordinates, separable variant, IPOP restarts), ``random`` and ``sobol`` baselines.
"""

from evotune.strategies._base import Candidate, Strategy
from evotune.strategies._cma import CMAStrategy
from evotune.strategies._elitist import ElitistStrategy
from evotune.strategies._random import RandomStrategy, SobolStrategy
from evotune.strategies._registry import create_strategy, load_strategy, strategy_names

__all__ = [
    "CMAStrategy",
    "Candidate",
    "ElitistStrategy",
    "RandomStrategy",
    "SobolStrategy",
    "Strategy",
    "create_strategy",
    "load_strategy",
    "strategy_names",
]
