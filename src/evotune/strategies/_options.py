"""Reading a strategy's ``options`` mapping into checked values, or a :class:`SpecError`."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from evotune.errors import SpecError

__all__ = ["OptionReader"]


class OptionReader:
    """Reads a strategy's ``options`` mapping, raising :class:`SpecError` on any bad entry.

    Every read records the resolved value in :attr:`resolved`; :meth:`finish` rejects the
    options nobody read (unknown names).
    """

    def __init__(self, options: Mapping[str, Any] | None) -> None:
        self._given: dict[str, Any] = dict(options or {})
        for key in self._given:
            if not isinstance(key, str):
                raise SpecError("strategy.options", f"option names must be strings, got {key!r}")
        self.resolved: dict[str, Any] = {}

    @staticmethod
    def path(key: str) -> str:
        return f"strategy.options.{key}"

    def given(self, key: str) -> bool:
        return key in self._given and self._given[key] is not None

    def integer(self, key: str, default: int | None, *, minimum: int) -> int | None:
        value = self._given.get(key, default)
        if value is None:
            self.resolved[key] = None
            return None
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise SpecError(self.path(key), f"must be an integer, got {value!r}")
        value = int(value)
        if value < minimum:
            raise SpecError(self.path(key), f"must be >= {minimum}, got {value}")
        self.resolved[key] = value
        return value

    def number(
        self, key: str, default: float, *, low: float, high: float, low_open: bool = True
    ) -> float:
        """A real number in ``(low, high]`` (or ``[low, high]`` with ``low_open=False``)."""
        value = self._given.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise SpecError(self.path(key), f"must be a number, got {value!r}")
        value = float(value)
        too_low = value <= low if low_open else value < low
        if not math.isfinite(value) or too_low or value > high:
            left = "(" if low_open else "["
            raise SpecError(self.path(key), f"must be in {left}{low:g}, {high:g}], got {value!r}")
        self.resolved[key] = value
        return value

    def choice(self, key: str, default: str, choices: Sequence[str]) -> str:
        value = self._given.get(key, default)
        if value not in choices:
            known = ", ".join(repr(c) for c in choices)
            raise SpecError(self.path(key), f"must be one of {known}, got {value!r}")
        self.resolved[key] = value
        return str(value)

    def fail(self, key: str, problem: str) -> SpecError:
        return SpecError(self.path(key), problem)

    def finish(self) -> dict[str, Any]:
        unknown = sorted(k for k in self._given if k not in self.resolved)
        if unknown:
            known = ", ".join(sorted(self.resolved)) or "(none)"
            raise SpecError(self.path(unknown[0]), f"unknown option; known options: {known}")
        return dict(self.resolved)
