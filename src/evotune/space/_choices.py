"""Parameter kinds without a scale: Categorical (one of a list) and Fixed (one value)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from evotune.errors import SpecError

from ._base import Param
from ._values import Scalar, describe, require_scalar, same_scalar, scalar_key, show

__all__ = ["Categorical", "Fixed"]


class Categorical(Param):
    """One of a list of distinct JSON scalars (strings, numbers, booleans).

    One continuous coordinate per choice (a one-hot block); decode picks the choice with the
    largest coordinate (the first on a tie), encode gives 1 for the choice and 0 elsewhere.
    Continuous rather than binary coordinates keep ties, which would favour the first choice,
    to a measure-zero set, and let an evolution strategy move smoothly between choices.
    ``1`` and ``1.0`` are the same choice; ``true`` and ``1`` are not.
    """

    kind = "categorical"

    def __init__(self, choices: Sequence[Scalar], *, when: object = None) -> None:
        if isinstance(choices, (str, bytes)) or not isinstance(choices, (list, tuple)):
            raise SpecError("choices", f"must be a list, got {describe(choices)}")
        if not choices:
            raise SpecError("choices", "must not be empty")
        seen: set[tuple[str, Scalar]] = set()
        parsed = []
        for i, choice in enumerate(choices):
            value = require_scalar(choice, f"choices[{i}]")
            if scalar_key(value) in seen:
                raise SpecError(f"choices[{i}]", f"duplicate choice {show(value)}")
            seen.add(scalar_key(value))
            parsed.append(value)
        self.choices: tuple[Scalar, ...] = tuple(parsed)
        super().__init__(when)

    @property
    def width(self) -> int:
        return len(self.choices)

    def steps(self) -> list[float]:
        return [0.0] * self.width

    def bounds(self) -> list[tuple[float, float]]:
        return [(0.0, 1.0)] * self.width

    def index(self, value: object) -> int | None:
        """Position of ``value`` among the choices, or None."""
        for i, choice in enumerate(self.choices):
            if same_scalar(choice, value):
                return i
        return None

    def decode(self, x: np.ndarray) -> Scalar:
        return self.choices[int(np.argmax(x))]

    def encode(self, value: Scalar) -> list[float]:
        block = [0.0] * self.width
        index = self.index(value)
        assert index is not None, "encode() takes only values problem() accepts"
        block[index] = 1.0
        return block

    def problem(self, value: object) -> str | None:
        if self.index(value) is None:
            return f"must be one of {show(list(self.choices))}, got {show(value)}"
        return None

    def coordinate_names(self, name: str) -> list[str]:
        return [f"{name}={_label(choice)}" for choice in self.choices]

    def _args(self) -> tuple[Any, ...]:
        return (list(self.choices),)

    def _arg_names(self) -> tuple[str, ...]:
        return ("choices",)

    def _fields(self) -> dict[str, Any]:
        return {"choices": list(self.choices)}


class Fixed(Param):
    """A constant: takes no coordinate and always appears in the config."""

    kind = "fixed"

    def __init__(self, value: Scalar) -> None:
        self.value: Scalar = require_scalar(value, "value")
        super().__init__(None)

    @property
    def width(self) -> int:
        return 0

    def steps(self) -> list[float]:
        return []

    def bounds(self) -> list[tuple[float, float]]:
        return []

    def decode(self, x: np.ndarray) -> Scalar:
        return self.value

    def encode(self, value: Scalar) -> list[float]:
        return []

    def coordinate_names(self, name: str) -> list[str]:
        return []

    def problem(self, value: object) -> str | None:
        if not same_scalar(value, self.value):
            return f"must be {show(self.value)} (fixed), got {show(value)}"
        return None

    def _args(self) -> tuple[Any, ...]:
        return (self.value,)

    def _arg_names(self) -> tuple[str, ...]:
        return ("value",)

    def _fields(self) -> dict[str, Any]:
        return {"value": self.value}


def _label(choice: Scalar) -> str:
    # Labels appear in one-line messages and tables: escape what would break a line.
    if isinstance(choice, str) and choice.isprintable():
        return choice
    return json.dumps(choice)
