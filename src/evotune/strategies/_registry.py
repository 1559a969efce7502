"""Strategies by name: :func:`create_strategy`, :func:`load_strategy`, :func:`strategy_names`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from evotune.errors import SpecError, StrategyError
from evotune.strategies._base import Strategy
from evotune.strategies._cma import CMAStrategy
from evotune.strategies._elitist import ElitistStrategy
from evotune.strategies._random import RandomStrategy, SobolStrategy

__all__ = ["create_strategy", "load_strategy", "strategy_names"]

_STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (CMAStrategy, ElitistStrategy, RandomStrategy, SobolStrategy)
}


def strategy_names() -> tuple[str, ...]:
    """The names :func:`create_strategy` accepts, sorted."""
    return tuple(sorted(_STRATEGIES))


def create_strategy(
    name: str,
    dim: int,
    *,
    seed: int = 0,
    direction: str = "minimize",
    steps: Sequence[float] | None = None,
    bounds: Sequence[tuple[float, float]] | None = None,
    options: Mapping[str, Any] | None = None,
) -> Strategy:
    """A new strategy ``name`` over ``[0, 1]^dim``.

    ``steps[i] > 0`` declares coordinate ``i`` discrete, its distinct values being
    ``bounds[i][0], bounds[i][0] + steps[i], ..., bounds[i][1]``; ``steps[i] == 0`` (and the
    default, ``None``) means continuous in ``[0, 1]``.

    Raises :class:`SpecError` (path ``strategy.name`` or ``strategy.options.<option>``) for an
    unknown name or a bad option, :class:`StrategyError` for a bad ``dim``/``seed``/grid.
    """
    cls = _STRATEGIES.get(name) if isinstance(name, str) else None
    if cls is None:
        known = ", ".join(strategy_names())
        raise SpecError("strategy.name", f"unknown strategy {name!r}; known: {known}")
    return cls(dim, seed=seed, direction=direction, steps=steps, bounds=bounds, options=options)


def load_strategy(state: Mapping[str, Any]) -> Strategy:
    """The strategy whose :meth:`Strategy.state_dict` is ``state``, continuing exactly.

    Raises :class:`StrategyError` when ``state`` is not such a dict.
    """
    if not isinstance(state, Mapping) or state.get("name") not in _STRATEGIES:
        name = state.get("name") if isinstance(state, Mapping) else None
        raise StrategyError(f"not a strategy state (strategy name {name!r})")
    return _STRATEGIES[state["name"]].from_state_dict(state)
