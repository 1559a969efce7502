"""Search-space declarations shared by every optimizer in the benchmark.

A problem declares its parameters once, as a tuple of :class:`Param`. Each optimizer
adapter turns that declaration into its own native space (an evotune ``Space``, Optuna
distributions, a Nevergrad parametrization), so that nobody gets an easier problem.
Optimizers that work on the unit cube (pycma, plain random search) use
:func:`decode_unit`, the same mapping as evotune's ``Space.decode`` for these types.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np


@dataclass(frozen=True)
class Param:
    """One search dimension: ``float``, ``int`` (both optionally log-scaled) or ``cat``."""

    name: str
    kind: str  # "float" | "int" | "cat"
    low: float = 0.0
    high: float = 1.0
    log: bool = False
    choices: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in ("float", "int", "cat"):
            raise ValueError(f"{self.name}: unknown kind {self.kind!r}")
        if self.kind == "cat" and not self.choices:
            raise ValueError(f"{self.name}: a categorical parameter needs choices")
        if self.kind != "cat" and not self.low < self.high:
            raise ValueError(f"{self.name}: low must be < high")
        if self.log and self.low <= 0:
            raise ValueError(f"{self.name}: a log scale needs low > 0")


def real(name: str, low: float, high: float, *, log: bool = False) -> Param:
    """A bounded float, linear or log-scaled."""
    return Param(name, "float", low, high, log)


def integer(name: str, low: int, high: int, *, log: bool = False) -> Param:
    """An integer in ``[low, high]`` (both included), linear or log-scaled."""
    return Param(name, "int", low, high, log)


def categorical(name: str, choices: Sequence[Any]) -> Param:
    """One of a few unordered choices."""
    return Param(name, "cat", choices=tuple(choices))


def decode_one(p: Param, u: float) -> Any:
    """Map a coordinate ``u`` in [0, 1] to a value of ``p``.

    Floats: linear (or linear in log space) interpolation. Integers: the unit interval is
    cut into ``high - low + 1`` equal bins (in log space when log-scaled), so every
    integer is equally likely under uniform sampling; log-scaled integers are the rounded
    log-uniform float. Categoricals: equal bins.
    """
    u = min(max(float(u), 0.0), 1.0)
    if p.kind == "cat":
        return p.choices[min(int(u * len(p.choices)), len(p.choices) - 1)]
    if p.kind == "float":
        if p.log:
            return math.exp(math.log(p.low) + u * (math.log(p.high) - math.log(p.low)))
        return p.low + u * (p.high - p.low)
    lo, hi = int(p.low), int(p.high)
    if p.log:
        v = int(round(math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))))
        return min(max(v, lo), hi)
    return min(lo + int(u * (hi - lo + 1)), hi)


def decode_unit(params: Sequence[Param], vector: Sequence[float] | np.ndarray) -> dict[str, Any]:
    """Decode a vector in [0, 1]^d into a configuration ``{name: value}``."""
    if len(vector) != len(params):
        raise ValueError(f"expected a vector of length {len(params)}, got {len(vector)}")
    return {p.name: decode_one(p, u) for p, u in zip(params, vector)}


def config_key(config: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """A hashable, order-independent key for a configuration (floats rounded to 12 digits)."""
    items = []
    for k in sorted(config):
        v = config[k]
        if isinstance(v, (float, np.floating)):
            v = float(f"{float(v):.12g}")
        elif isinstance(v, np.integer):
            v = int(v)
        elif isinstance(v, np.bool_):
            v = bool(v)
        items.append((k, v))
    return tuple(items)
