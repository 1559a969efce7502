"""The elitist mutation evolution strategy of the source design (``update_population``).

The source design's pseudocode sorts the population by score, keeps the ``elite_size`` best
unchanged, and mutates every other individual in place: each coordinate, with probability
``mutation_rate``, gets Gaussian noise of scale 0.1. Here the noise scale is the ``sigma``
option (in the encoded space), children are clipped to ``[0, 1]``, and scores are minimised
(the base class negates them for ``maximize``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from evotune.strategies._base import Candidate, Strategy, Vector
from evotune.strategies._options import OptionReader

__all__ = ["ElitistStrategy"]


@dataclass
class _Member:
    vector: Vector
    loss: float | None  # None: failed evaluation, ranks after every success

    def to_json(self) -> dict[str, Any]:
        return {"vector": self.vector.tolist(), "loss": self.loss}

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> _Member:
        loss = data["loss"]
        return _Member(
            np.array(data["vector"], dtype=np.float64), None if loss is None else float(loss)
        )


def _ranked(members: Sequence[_Member]) -> list[_Member]:
    """Best first; failures last; ties keep their order (the order results were told)."""
    order = sorted(
        range(len(members)),
        key=lambda i: (members[i].loss is None, members[i].loss or 0.0, i),
    )
    return [members[i] for i in order]


class ElitistStrategy(Strategy):
    """Elitist mutation ES (the source design's ``update_population``), generational or steady.

    Options (``strategy.options``):

    - ``population_size`` (int >= 2, default 16): N.
    - ``elite_size`` (int, 0 <= E < N, default max(1, N // 8)): the best E carry over unchanged.
    - ``mutation_rate`` (0 < p <= 1, default 0.2): per-coordinate mutation probability.
    - ``sigma`` (0 < s <= 1, default 0.1): standard deviation of the Gaussian mutation.
    - ``parent_selection`` (``tournament`` | ``none``, default ``tournament``). ``none`` is the
      pseudocode exactly: the non-elite at rank k (k = E..N-1) is mutated in place, i.e. it is
      its own parent. ``tournament``: each of the N - E children is a mutated copy of the best
      of ``tournament_size`` members drawn uniformly with replacement from the sorted population.
    - ``tournament_size`` (int, 1..N, default 3).
    - ``mode`` (``generational`` | ``steady_state``, default ``generational``).

    ``generational``: generation 0 is N uniform random vectors. When all of a generation's
    results are in, the N best of everything told since the last update (the generation, its
    carried-over elites and any extra children, failures last, ties in tell order) form the
    sorted population; the E elites are kept with their known scores and are *not* asked again
    (a deterministic objective is the common case; re-evaluate noisy objectives by other means),
    so generations >= 1 ask N - E children. Asks made while every child of the generation is
    already out are served with *extra* children: a mutated copy of a parent chosen (by
    tournament, or the best with ``none``) from the members known so far in this generation,
    falling back to the previous population, or uniform random in generation 0. An extra's
    result, whenever it arrives, joins the selection pool of the next update: nothing is lost.

    ``steady_state`` (needs ``parent_selection: tournament``): the first N asks are uniform
    random; every later ask is a mutated copy of a tournament winner among the members known now
    (uniform random while none is). A result joins the population while it has fewer than N
    members, else replaces the worst member if it is better; a failure never replaces anyone.
    ``elite_size`` has no role here (the best member is never replaced); ``generation`` counts
    N results told.

    Random draws (documented so that tests can recompute them): generation 0 is one
    ``rng.random((N, dim))``; each mutation draws ``u = rng.random(dim)`` then
    ``z = rng.normal(0, sigma, dim)`` and sets ``x[j] = clip(x[j] + z[j], 0, 1)`` where
    ``u[j] < mutation_rate``; a tournament draws ``rng.integers(0, n, size=tournament_size)``
    before the mutation. ``rng = numpy.random.default_rng(seed)``.

    Discrete coordinates (``steps[i] > 0``) are mutated like the others, but with a noise scale
    of at least their step (``max(sigma, steps[i])``): with ``sigma`` alone a coordinate whose
    grid is coarser than the noise would almost never leave its grid point. Vectors are not
    snapped to the grid; the search space rounds them when it decodes them.

    Example::

        >>> from evotune.strategies import create_strategy
        >>> s = create_strategy("elitist", dim=4, seed=0, options={"population_size": 8})
        >>> for _ in range(400):
        ...     c = s.ask()
        ...     s.tell(c.id, float(((c.vector - 0.3) ** 2).sum()))
        >>> s.best[1] < 0.01
        True
    """

    name = "elitist"

    def _setup(self, options: OptionReader) -> None:
        n = options.integer("population_size", 16, minimum=2)
        assert n is not None
        elite = options.integer("elite_size", max(1, n // 8), minimum=0)
        assert elite is not None
        if elite >= n:
            raise options.fail("elite_size", f"must be < population_size ({n}), got {elite}")
        self._mutation_rate = options.number("mutation_rate", 0.2, low=0.0, high=1.0)
        self._sigma = options.number("sigma", 0.1, low=0.0, high=1.0)
        self._selection = options.choice("parent_selection", "tournament", ("tournament", "none"))
        tsize = options.integer("tournament_size", min(3, n), minimum=1)
        assert tsize is not None
        if tsize > n:
            raise options.fail("tournament_size", f"must be <= population_size ({n}), got {tsize}")
        self._mode = options.choice("mode", "generational", ("generational", "steady_state"))
        if self._mode == "steady_state" and self._selection == "none":
            raise options.fail(
                "parent_selection", "must be 'tournament' when mode is 'steady_state', got 'none'"
            )
        self._n, self._elite, self._tsize = n, elite, tsize
        steps = self._steps if self._steps is not None else np.zeros(self._dim)
        self._scale = np.where(steps > 0, np.maximum(self._sigma, steps), self._sigma)

        self._generation = 0
        self._population: list[_Member] = []  # generational: sorted parents of this generation
        self._pool: list[_Member] = []  # generational: told since the last update (+ elites)
        self._queue: list[Vector] = []  # generational: children not yet asked
        self._slot_ids: set[int] = set()  # generational: this generation's children still out
        self._remaining = 0  # generational: this generation's children not yet told
        self._extras = 0  # generational: extra children asked so far
        self._initial_left = n  # steady_state: uniform random asks still to make
        self._told = 0  # steady_state: results told
        if self._mode == "generational":
            self._queue = list(self._rng.random((n, self._dim)))
            self._remaining = n

    @property
    def generation(self) -> int:
        if self._mode == "steady_state":
            return self._told // self._n
        return self._generation

    @property
    def population_size(self) -> int:
        return self._n

    @property
    def generation_size(self) -> int:
        """N in generation 0, then N - E (elites are not asked again); N in steady state."""
        if self._mode == "steady_state" or self._generation == 0:
            return self._n
        return self._n - self._elite

    # --- variation --------------------------------------------------------------------------

    def _mutate(self, parent: Vector) -> Vector:
        mask = self._rng.random(self._dim) < self._mutation_rate
        noise = self._rng.normal(0.0, self._scale, self._dim)
        child = parent.copy()
        child[mask] = np.clip(parent[mask] + noise[mask], 0.0, 1.0)
        return child

    def _tournament(self, ranked: Sequence[_Member]) -> _Member:
        picks = self._rng.integers(0, len(ranked), size=self._tsize)
        return ranked[int(picks.min())]  # ranked best first: the lowest rank wins

    def _child_of(self, members: Sequence[_Member]) -> Vector:
        """A mutated copy of a parent chosen among ``members``, uniform random if none."""
        if not members:
            return self._rng.random(self._dim)
        ranked = _ranked(members)
        parent = self._tournament(ranked) if self._selection == "tournament" else ranked[0]
        return self._mutate(parent.vector)

    # --- ask / tell -------------------------------------------------------------------------

    def _ask(self, candidate_id: int) -> tuple[Vector, int]:
        if self._mode == "steady_state":
            if self._initial_left > 0:
                self._initial_left -= 1
                return self._rng.random(self._dim), self.generation
            return self._child_of(self._population), self.generation
        if self._queue:
            self._slot_ids.add(candidate_id)
            return self._queue.pop(0), self._generation
        self._extras += 1
        return self._child_of(self._pool or self._population), self._generation

    def _tell(self, candidate: Candidate, loss: float | None) -> None:
        member = _Member(np.array(candidate.vector, dtype=np.float64), loss)
        if self._mode == "steady_state":
            self._told += 1
            self._replace_worst(member)
            return
        self._pool.append(member)
        if candidate.id in self._slot_ids:
            self._slot_ids.remove(candidate.id)
            self._remaining -= 1
            if self._remaining == 0:
                self._breed()

    def _replace_worst(self, member: _Member) -> None:
        if len(self._population) < self._n:
            self._population.append(member)
            return
        worst_index = max(
            range(len(self._population)),
            key=lambda i: (self._population[i].loss is None, self._population[i].loss or 0.0, -i),
        )
        worst = self._population[worst_index]
        if member.loss is not None and (worst.loss is None or member.loss < worst.loss):
            self._population[worst_index] = member

    def _breed(self) -> None:
        """The source design's ``update_population``, on everything told this generation."""
        population = _ranked(self._pool)[: self._n]
        elites = population[: self._elite]
        if self._selection == "none":
            # The pseudocode: the non-elite at rank k is mutated in place.
            children = [self._mutate(m.vector) for m in population[self._elite :]]
        else:
            children = [
                self._mutate(self._tournament(population).vector)
                for _ in range(self._n - self._elite)
            ]
        self._population = population
        self._pool = list(elites)
        self._queue = children
        self._remaining = len(children)
        self._generation += 1

    # --- state ------------------------------------------------------------------------------

    def _algorithm_state(self) -> dict[str, Any]:
        return {
            "generation": self._generation,
            "population": [m.to_json() for m in self._population],
            "pool": [m.to_json() for m in self._pool],
            "queue": [v.tolist() for v in self._queue],
            "slot_ids": sorted(self._slot_ids),
            "remaining": self._remaining,
            "extras": self._extras,
            "initial_left": self._initial_left,
            "told": self._told,
        }

    def _load_algorithm_state(self, state: Mapping[str, Any]) -> None:
        self._generation = int(state["generation"])
        self._population = [_Member.from_json(m) for m in state["population"]]
        self._pool = [_Member.from_json(m) for m in state["pool"]]
        self._queue = [np.array(v, dtype=np.float64) for v in state["queue"]]
        self._slot_ids = {int(i) for i in state["slot_ids"]}
        self._remaining = int(state["remaining"])
        self._extras = int(state["extras"])
        self._initial_left = int(state["initial_left"])
        self._told = int(state["told"])
