"""The contract every parameter kind keeps, and the form of a condition.

Each kind owns a block of ``width`` coordinates of the search vector and promises:

- ``decode(x)`` maps any block of finite numbers in [0, 1] to a value that ``problem`` accepts;
- ``encode(v)`` maps an accepted value to a block in [0, 1] (on the declared grid for discrete
  coordinates), and ``decode(encode(v)) == v`` exactly for every value ``decode`` can produce
  (for floats off the value grid, see :class:`~evotune.space.Float`);
- ``steps()`` and ``bounds()`` describe each coordinate as :class:`~evotune.space.Space` documents.

Constructors check their own arguments and raise :class:`~evotune.errors.SpecError` with a path
relative to the parameter (``low``, ``choices[2]``, ``when.kernel``); the space prefixes it.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from evotune.errors import SpecError

from ._values import Scalar, describe, is_scalar, require_scalar, scalar_key, show

__all__ = ["Condition", "Param", "parse_when"]

Condition = tuple[tuple[str, tuple[Scalar, ...]], ...]
"""``((parent, (value, ...)), ...)``: active when every parent is active and has one of the
values."""


def parse_when(when: object) -> Condition:
    """Check the form of a condition (not its parents, which only the space knows)."""
    if when is None:
        return ()
    if not isinstance(when, Mapping):
        raise SpecError(
            "when", f"must be a mapping of parent names to values, got {describe(when)}"
        )
    if not when:
        raise SpecError("when", "must name at least one parent")
    parsed = []
    for parent, values in when.items():
        if not isinstance(parent, str):
            raise SpecError("when", f"parent names must be strings, got {show(parent)}")
        path = f"when.{parent}"
        if is_scalar(values):
            items: tuple[Scalar, ...] = (require_scalar(values, path),)
        elif isinstance(values, (list, tuple)):
            if not values:
                raise SpecError(path, "must list at least one value")
            items = tuple(require_scalar(v, f"{path}[{i}]") for i, v in enumerate(values))
        else:
            raise SpecError(path, f"must be a value or a list of values, got {describe(values)}")
        unique: dict[tuple[str, Scalar], Scalar] = {}
        for value in items:
            unique.setdefault(scalar_key(value), value)  # a repeated value is harmless
        parsed.append((parent, tuple(unique.values())))
    return tuple(parsed)


class Param(abc.ABC):
    """One parameter of a search space. Subclasses: Float, Int, Categorical, Fixed."""

    kind: ClassVar[str]

    def __init__(self, when: object = None) -> None:
        self._when = parse_when(when)

    @property
    def condition(self) -> Condition:
        """The condition as ``((parent, (value, ...)), ...)``; empty if always active."""
        return self._when

    @property
    def when(self) -> dict[str, list[Scalar]]:
        """The condition: parent name -> values under which this parameter is active."""
        return {parent: list(values) for parent, values in self._when}

    @property
    @abc.abstractmethod
    def width(self) -> int:
        """Number of coordinates this parameter takes in the search vector."""

    @abc.abstractmethod
    def steps(self) -> list[float]:
        """Per coordinate: 0 for continuous, else the spacing of its grid (see Space.steps)."""

    @abc.abstractmethod
    def bounds(self) -> list[tuple[float, float]]:
        """Per coordinate: (low, high), within [0, 1]."""

    @abc.abstractmethod
    def decode(self, x: np.ndarray) -> Scalar:
        """The value for a block of finite coordinates already clipped to [0, 1]."""

    @abc.abstractmethod
    def encode(self, value: Scalar) -> list[float]:
        """The block for a value that :meth:`problem` accepts."""

    @abc.abstractmethod
    def problem(self, value: object) -> str | None:
        """Why ``value`` is not a value of this parameter, or None if it is."""

    @abc.abstractmethod
    def _fields(self) -> dict[str, Any]:
        """The dict form without ``type`` and ``when``."""

    @abc.abstractmethod
    def _args(self) -> tuple[Any, ...]:
        """Positional constructor arguments, for repr and equality."""

    def neutral(self) -> list[float]:
        """The block encoded for an inactive parameter: ignored by decode, mid-range."""
        return [0.5] * self.width

    def coordinate_names(self, name: str) -> list[str]:
        return [name]

    def to_dict(self) -> dict[str, Any]:
        """The dict form (as in a study file) that ``Space.from_dict`` reads back."""
        form: dict[str, Any] = {"type": self.kind, **self._fields()}
        if self._when:
            form["when"] = self.when
        return form

    def _key(self) -> tuple[Any, ...]:
        # scalar_key, so that Fixed(1) != Fixed(True) although 1 == True in Python.
        fields = tuple(
            (k, tuple(map(scalar_key, v)) if isinstance(v, list) else scalar_key(v))
            for k, v in self._fields().items()
        )
        when = tuple((p, tuple(map(scalar_key, vs))) for p, vs in self._when)
        return (type(self), fields, when)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Param):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        parts = [repr(a) for a in self._args()]
        parts += [f"{k}={v!r}" for k, v in self._fields().items() if k not in self._arg_names()]
        if self._when:
            parts.append(f"when={self.when!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def _arg_names(self) -> tuple[str, ...]:
        return ()
