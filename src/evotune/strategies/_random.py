"""Baselines: independent uniform sampling (``random``) and scrambled Sobol' points (``sobol``).

Neither learns from scores; both only track the best result. Discrete coordinates are not
treated specially: the search space rounds a vector onto its grid when it decodes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.stats import qmc

from evotune.strategies._base import Candidate, Strategy, Vector
from evotune.strategies._options import OptionReader

__all__ = ["RandomStrategy", "SobolStrategy"]


class RandomStrategy(Strategy):
    """Uniform random search over ``[0, 1]^dim``. No options; ``generation`` is always 0.

    Example::

        >>> from evotune.strategies import create_strategy
        >>> s = create_strategy("random", dim=3, seed=1)
        >>> for _ in range(50):
        ...     c = s.ask()
        ...     s.tell(c.id, float(((c.vector - 0.3) ** 2).sum()))
        >>> s.best[1] < 0.1
        True
    """

    name = "random"

    def _setup(self, options: OptionReader) -> None:
        pass

    def _ask(self, candidate_id: int) -> tuple[Vector, int]:
        return self._rng.random(self._dim), 0

    def _tell(self, candidate: Candidate, loss: float | None) -> None:
        pass

    @property
    def generation(self) -> int:
        return 0

    def _algorithm_state(self) -> dict[str, Any]:
        return {}

    def _load_algorithm_state(self, state: Mapping[str, Any]) -> None:
        pass


class SobolStrategy(Strategy):
    """Scrambled Sobol' points (``scipy.stats.qmc.Sobol``, scrambling seeded by ``seed``).

    Points come in sequence order, so any prefix of length ``2^k`` keeps the sequence's balance.
    No options; ``generation`` is always 0. The state is just the number of points drawn: the
    scrambled sequence is rebuilt from the seed and fast-forwarded.

    Example::

        >>> from evotune.strategies import create_strategy
        >>> s = create_strategy("sobol", dim=3, seed=1)
        >>> for _ in range(64):
        ...     c = s.ask()
        ...     s.tell(c.id, float(((c.vector - 0.3) ** 2).sum()))
        >>> s.best[1] < 0.1
        True
    """

    name = "sobol"

    def _setup(self, options: OptionReader) -> None:
        self._sobol = self._make_engine()

    def _make_engine(self) -> qmc.Sobol:
        return qmc.Sobol(self._dim, scramble=True, rng=np.random.default_rng(self._seed))

    def _ask(self, candidate_id: int) -> tuple[Vector, int]:
        if self._sobol.num_generated >= self._sobol.maxn:
            # The 2^30 points of the sequence are used up: go on uniformly rather than fail.
            return self._rng.random(self._dim), 0
        point = np.asarray(self._sobol.random(1)[0], dtype=np.float64)
        return np.clip(point, 0.0, 1.0), 0

    def _tell(self, candidate: Candidate, loss: float | None) -> None:
        pass

    @property
    def generation(self) -> int:
        return 0

    def _algorithm_state(self) -> dict[str, Any]:
        return {"num_generated": int(self._sobol.num_generated)}

    def _load_algorithm_state(self, state: Mapping[str, Any]) -> None:
        self._sobol = self._make_engine()
        n = int(state["num_generated"])
        if n > 0:
            self._sobol.fast_forward(n)
