"""The strategy contract and the bookkeeping every strategy shares.

A strategy proposes vectors in the unit cube ``[0, 1]^dim`` (the search space decodes them into
configurations) and learns from their scores. Every concrete strategy derives from
:class:`Strategy` and implements its hooks (``_setup``, ``_ask``, ``_tell``, ``generation``,
``_algorithm_state``, ``_load_algorithm_state``); the base class owns candidate ids, the
optimisation direction, the best result so far and the outer state format, so each algorithm
only ever *minimises*.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import numpy as np
import numpy.typing as npt

from evotune.errors import SpecError, StrategyError
from evotune.strategies._options import OptionReader
from evotune.strategies._state import Vector, decode_generator, encode_generator

__all__ = ["Candidate", "Strategy", "Vector"]

STATE_FORMAT = 1
DIRECTIONS = ("minimize", "maximize")

_S = TypeVar("_S", bound="Strategy")


@dataclass(frozen=True, eq=False)
class Candidate:
    """One proposal of a strategy: a point of ``[0, 1]^dim`` to evaluate.

    ``id`` counts asks from 0 in ask order; ``generation`` is the strategy's generation when the
    candidate was asked. ``vector`` is a read-only float64 array of shape ``(dim,)``.
    Candidates compare by identity (an array has no single truth value).
    """

    id: int
    vector: Vector
    generation: int


class Strategy(ABC):
    """An ask/tell optimiser over ``[0, 1]^dim``: pure, seeded, asynchronous, resumable.

    The contract every strategy keeps (``tests/strategies/test_contract.py`` checks it):

    - :meth:`ask` returns a :class:`Candidate` with ids 0, 1, 2, ... in ask order and a float64
      vector inside ``[0, 1]^dim``. It never raises or waits because earlier candidates are
      still out: any number of candidates may be outstanding.
    - :meth:`tell` takes the score of an outstanding candidate, in any order. ``None``, NaN and
      infinities mean a failed evaluation. Scores are in the user's direction; the strategy
      negates them once, here, for ``maximize`` (the algorithms always minimise).
      Telling an id never asked, or the same id twice, raises :class:`StrategyError`.
    - The same seed and the same sequence of calls give the same candidates. No I/O, no clock.
    - :meth:`state_dict` is JSON-safe (``json.loads(json.dumps(s))`` returns an equal dict,
      no NaN or infinity inside) and holds every random-generator state;
      ``load_strategy(s.state_dict())`` continues exactly as the original would, outstanding
      candidates included. ``ask``/``tell`` are the only calls that change the state.
    - :attr:`best` is ``(vector, score)`` of the best successful evaluation told so far, in the
      user's direction, or ``None``.

    Example (an asynchronous loop: three evaluations out at any time, resumed half-way)::

        >>> import json
        >>> from evotune.strategies import create_strategy, load_strategy
        >>> s = create_strategy("cma", dim=3, seed=0, direction="maximize")
        >>> out = [s.ask() for _ in range(3)]
        >>> for i in range(600):
        ...     c = out.pop(0)
        ...     s.tell(c.id, -float(((c.vector - 0.3) ** 2).sum()))
        ...     out.append(s.ask())
        ...     if i == 300:
        ...         s = load_strategy(json.loads(json.dumps(s.state_dict())))
        >>> vector, score = s.best
        >>> bool(score > -1e-6), vector.round(2).tolist()
        (True, [0.3, 0.3, 0.3])
    """

    name: ClassVar[str] = ""

    def __init__(
        self,
        dim: int,
        *,
        seed: int = 0,
        direction: str = "minimize",
        steps: Sequence[float] | None = None,
        bounds: Sequence[tuple[float, float]] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
            raise StrategyError(f"dim must be a positive integer, got {dim!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise StrategyError(f"seed must be a non-negative integer, got {seed!r}")
        if direction not in DIRECTIONS:
            raise SpecError("direction", f"must be 'minimize' or 'maximize', got {direction!r}")
        self._dim = int(dim)
        self._seed = int(seed)
        self._direction = direction
        self._sign = 1.0 if direction == "minimize" else -1.0
        self._steps, self._bounds = _check_grid(self._dim, steps, bounds)
        self._rng = np.random.default_rng(self._seed)
        self._next_id = 0
        self._outstanding: dict[int, Candidate] = {}
        self._best: tuple[Vector, float] | None = None  # (vector, loss), loss minimised
        reader = OptionReader(options)
        self._setup(reader)
        self._options = reader.finish()

    # --- the hooks a concrete strategy implements -------------------------------------------

    @abstractmethod
    def _setup(self, options: OptionReader) -> None:
        """Read the options (through ``options``) and build the initial algorithm state."""

    @abstractmethod
    def _ask(self, candidate_id: int) -> tuple[Vector, int]:
        """The vector to evaluate as candidate ``candidate_id`` and its generation.

        Must not raise or block, whatever is outstanding.
        """

    @abstractmethod
    def _tell(self, candidate: Candidate, loss: float | None) -> None:
        """The loss (minimised) of an outstanding candidate, ``None`` when it failed."""

    @abstractmethod
    def _algorithm_state(self) -> dict[str, Any]:
        """The algorithm's own state as JSON-safe data (see the ``encode_*`` helpers)."""

    @abstractmethod
    def _load_algorithm_state(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`_algorithm_state` returned, on a freshly built instance."""

    @property
    @abstractmethod
    def generation(self) -> int:
        """The current generation (0 before the first update of the search distribution)."""

    # --- the public contract ----------------------------------------------------------------

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def direction(self) -> str:
        return self._direction

    @property
    def options(self) -> dict[str, Any]:
        """The options as resolved (defaults filled in)."""
        return dict(self._options)

    @property
    def generation_size(self) -> int | None:
        """How many asks make up the current generation, for a generational schedule.

        A controller that asks this many, waits for all their results and tells them, sees the
        generation advance. (Further asks are served too; see each strategy.) ``None`` for a
        strategy without generations.
        """
        return None

    @property
    def outstanding(self) -> tuple[int, ...]:
        """Ids of the candidates asked and not yet told, in ask order."""
        return tuple(self._outstanding)

    @property
    def best(self) -> tuple[Vector, float] | None:
        if self._best is None:
            return None
        vector, loss = self._best
        return vector.copy(), self._sign * loss

    def ask(self) -> Candidate:
        """Propose the next candidate (see the class docstring for the contract)."""
        raw, generation = self._ask(self._next_id)
        vector = np.array(raw, dtype=np.float64).reshape(self._dim)
        assert np.all((vector >= 0.0) & (vector <= 1.0)), "strategy left the unit cube"
        vector.setflags(write=False)
        candidate = Candidate(id=self._next_id, vector=vector, generation=int(generation))
        self._next_id += 1
        self._outstanding[candidate.id] = candidate
        return candidate

    def tell(self, candidate_id: int, score: float | None) -> None:
        """Report the score of candidate ``candidate_id``; ``None``/NaN/inf mean it failed.

        Raises :class:`StrategyError` for an id never asked, an id already told, or a score
        that is not a number.
        """
        if isinstance(candidate_id, bool) or not isinstance(candidate_id, (int, np.integer)):
            raise StrategyError(f"candidate id must be an integer, got {candidate_id!r}")
        candidate_id = int(candidate_id)
        if candidate_id not in self._outstanding:
            if 0 <= candidate_id < self._next_id:
                raise StrategyError(f"candidate {candidate_id} was already told")
            raise StrategyError(
                f"unknown candidate {candidate_id}: {self.name} has asked ids 0..{self._next_id - 1}"
            )
        loss: float | None = None
        if score is not None:
            if isinstance(score, bool) or not isinstance(
                score, (int, float, np.integer, np.floating)
            ):
                raise StrategyError(f"score of candidate {candidate_id} must be a number or None")
            try:
                value = float(score)
            except OverflowError:  # an int too large for a float: not a usable score
                value = math.inf
            if math.isfinite(value):
                loss = self._sign * value
        candidate = self._outstanding.pop(candidate_id)
        if loss is not None and (self._best is None or loss < self._best[1]):
            self._best = (candidate.vector.copy(), loss)
        self._tell(candidate, loss)

    def state_dict(self) -> dict[str, Any]:
        """The complete state as plain JSON data (see the class docstring)."""
        return {
            "format": STATE_FORMAT,
            "name": self.name,
            "dim": self._dim,
            "seed": self._seed,
            "direction": self._direction,
            "steps": None if self._steps is None else self._steps.tolist(),
            "bounds": None if self._bounds is None else self._bounds.tolist(),
            "options": dict(self._options),
            "next_id": self._next_id,
            "outstanding": [
                {"id": c.id, "generation": c.generation, "vector": c.vector.tolist()}
                for c in self._outstanding.values()
            ],
            "best": None
            if self._best is None
            else {"vector": self._best[0].tolist(), "loss": self._best[1]},
            "rng": encode_generator(self._rng),
            "algorithm": self._algorithm_state(),
        }

    @classmethod
    def from_state_dict(cls: type[_S], state: Mapping[str, Any]) -> _S:  # noqa: PYI019 (3.10)
        """Rebuild a strategy from :meth:`state_dict`; raises :class:`StrategyError` if bad."""
        try:
            if state.get("format") != STATE_FORMAT:
                raise StrategyError(f"unsupported strategy state format {state.get('format')!r}")
            if state["name"] != cls.name:
                raise StrategyError(f"state of {state['name']!r} given to {cls.name!r}")
            steps, bounds = state["steps"], state["bounds"]
            strategy = cls(
                state["dim"],
                seed=state["seed"],
                direction=state["direction"],
                steps=steps,
                bounds=None if bounds is None else [tuple(b) for b in bounds],
                options=state["options"],
            )
            strategy._next_id = int(state["next_id"])
            for item in state["outstanding"]:
                vector = np.array(item["vector"], dtype=np.float64)
                vector.setflags(write=False)
                candidate = Candidate(int(item["id"]), vector, int(item["generation"]))
                strategy._outstanding[candidate.id] = candidate
            best = state["best"]
            if best is not None:
                strategy._best = (np.array(best["vector"], dtype=np.float64), float(best["loss"]))
            strategy._rng = decode_generator(state["rng"])
            strategy._load_algorithm_state(state["algorithm"])
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise StrategyError(f"bad {cls.name} strategy state: {exc!r}") from exc
        return strategy

    # --- helpers for subclasses -------------------------------------------------------------

    @property
    def discrete(self) -> npt.NDArray[np.bool_]:
        """Mask of the discrete coordinates (``steps[i] > 0``)."""
        if self._steps is None:
            return np.zeros(self._dim, dtype=bool)
        return self._steps > 0

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.name!r} dim={self._dim} generation={self.generation}"
            f" asked={self._next_id} outstanding={len(self._outstanding)}>"
        )


def _check_grid(
    dim: int, steps: Sequence[float] | None, bounds: Sequence[tuple[float, float]] | None
) -> tuple[Vector | None, Vector | None]:
    """Validate the discrete grid description; raises :class:`StrategyError` on misuse."""
    if steps is None:
        if bounds is not None:
            raise StrategyError("bounds were given without steps")
        return None, None
    steps_a = np.array(steps, dtype=np.float64)
    if steps_a.shape != (dim,) or not np.all(np.isfinite(steps_a)) or np.any(steps_a < 0):
        raise StrategyError(f"steps must be {dim} finite numbers >= 0, got {list(steps)!r}")
    if bounds is None:
        bounds_a = np.tile([0.0, 1.0], (dim, 1))
    else:
        bounds_a = np.array([tuple(b) for b in bounds], dtype=np.float64)
        if bounds_a.shape != (dim, 2) or not np.all(np.isfinite(bounds_a)):
            raise StrategyError(f"bounds must be {dim} (low, high) pairs, got {list(bounds)!r}")
    for i in np.flatnonzero(steps_a > 0):
        low, high = bounds_a[i]
        if not 0.0 <= low < high <= 1.0:
            raise StrategyError(f"bounds[{i}] must satisfy 0 <= low < high <= 1, got {low, high}")
        if high + steps_a[i] / 2 - low < steps_a[i]:
            raise StrategyError(f"coordinate {i} has fewer than two grid points")
    return steps_a, bounds_a
