"""Search-space declarations shared by every optimizer in the benchmark.

A problem declares its parameters once, as a tuple of :class:`Param`. Each optimizer
adapter turns that declaration into its own native space (an evotune ``Space``, Optuna
distributions, a Nevergrad parametrization), so that nobody gets an easier problem.
Optimizers that work on the unit cube (pycma, plain random search) use evotune's
``Space`` encoding and ``Space.decode`` (:func:`to_space`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from evotune.space import Categorical, Float, Int, Space


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


def to_space(params: Sequence[Param]) -> Space:
    """The evotune :class:`~evotune.space.Space` of a declaration.

    pycma and plain random search also search this space's unit cube and decode with
    ``Space.decode``, so they see exactly the vectors evotune's strategies see (a
    categorical is a one-hot block, a linear int a discrete coordinate).
    """
    out: dict[str, Any] = {}
    for p in params:
        if p.kind == "float":
            out[p.name] = Float(p.low, p.high, log=p.log)
        elif p.kind == "int":
            out[p.name] = Int(int(p.low), int(p.high), log=p.log)
        else:
            out[p.name] = Categorical(list(p.choices))
    return Space(**out)


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
