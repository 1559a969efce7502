"""Numeric parameter kinds: Float and Int, on a linear or log scale."""

from __future__ import annotations

import math
from typing import Any, Generic, TypeVar

import numpy as np

from evotune.errors import SpecError

from ._base import Param
from ._values import Scalar, is_int, is_number, require_bool, require_int, require_number, show

__all__ = ["FLOAT_DIGITS", "INT_LIMIT", "Float", "Int"]

INT_LIMIT = 2**40
"""Largest magnitude of an int bound: keeps every int exact through float coordinates."""

FLOAT_DIGITS = 12
"""Significant digits of a decoded log-scale float (see :class:`Float`)."""


def _check_bounds(low: float, high: float, log: bool, raw_low: object, raw_high: object) -> None:
    if log and low <= 0:
        raise SpecError("low", f"must be > 0 for a log scale, got {show(raw_low)}")
    if not low < high:
        raise SpecError("low", f"must be less than high ({show(raw_high)}), got {show(raw_low)}")


_N = TypeVar("_N", int, float)


class _Range(Param, Generic[_N]):
    """What Float and Int share: a range ``[low, high]`` on a linear or log scale."""

    low: _N
    high: _N
    log: bool

    def _args(self) -> tuple[Any, ...]:
        return (self.low, self.high)

    def _arg_names(self) -> tuple[str, ...]:
        return ("low", "high")

    def _fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"low": self.low, "high": self.high}
        if self.log:
            fields["log"] = True
        return fields


class Float(_Range[float]):
    """A real number in [low, high]; with ``log=True``, uniform in log space (low > 0).

    One continuous coordinate x in [0, 1]: ``low + x*(high-low)``, or ``low*(high/low)**x``.
    Decoded values are snapped to a decimal grid, so that configs read well and a value a user
    writes survives encode/decode exactly: on a log scale, 12 significant digits; on a linear
    scale, 12 digits after the leading digit of max(|low|, |high|) (a fixed step, 1e-12 for
    [0, 1]). ``low`` and ``high`` themselves are always values. ``decode(encode(v)) == v``
    exactly for every value on that grid (every value decode produces, and any value written
    with that many digits); any other float in bounds is encoded to its nearest grid value, so
    it moves by at most half a grid step (relative 5e-12 on a log scale).
    """

    kind = "float"

    def __init__(self, low: float, high: float, *, log: bool = False, when: object = None) -> None:
        self.low = require_number(low, "low")
        self.high = require_number(high, "high")
        self.log = require_bool(log, "log")
        _check_bounds(self.low, self.high, self.log, low, high)
        if self.log:
            self._origin = math.log(self.low)
            self._span = math.log(self.high) - self._origin
            self._places = 0
        else:
            self._origin = self.low
            self._span = self.high - self.low
            if not math.isfinite(self._span):
                raise SpecError(
                    "high", f"is too far from low (high - low overflows), got {show(high)}"
                )
            magnitude = max(abs(self.low), abs(self.high))
            self._places = FLOAT_DIGITS - math.floor(math.log10(magnitude))
        super().__init__(when)

    @property
    def width(self) -> int:
        return 1

    def steps(self) -> list[float]:
        return [0.0]

    def bounds(self) -> list[tuple[float, float]]:
        return [(0.0, 1.0)]

    def decode(self, x: np.ndarray) -> float:
        return self._value(float(x[0]))

    def _value(self, x: float) -> float:
        # The bounds are exact values even when they are off the decimal grid.
        if x <= 0.0:
            return self.low
        if x >= 1.0:
            return self.high
        if self.log:
            try:
                raw = math.exp(self._origin + x * self._span)
            except OverflowError:
                return self.high
            snapped = float(f"{raw:.{FLOAT_DIGITS - 1}e}")
        else:
            # round() on floats is correctly rounded; "+ 0.0" turns -0.0 into 0.0.
            snapped = round(self._origin + x * self._span, self._places) + 0.0
        return min(max(snapped, self.low), self.high)

    def encode(self, value: Scalar) -> list[float]:
        v = float(value)
        if v <= self.low:
            return [0.0]
        if v >= self.high:
            return [1.0]
        if self.log:
            x = (math.log(v) - self._origin) / self._span
        else:
            x = (v - self._origin) / self._span
        # Keep x strictly inside (0, 1): v is not a bound, and x may round to 0 or 1 when v is
        # within an ulp of one. Elsewhere the rounding errors in x are far below half a grid
        # step, so decode snaps back to v exactly whenever v is on the grid.
        return [min(max(x, 5e-324), math.nextafter(1.0, 0.0))]

    def problem(self, value: object) -> str | None:
        if not is_number(value):
            return f"must be a number, got {show(value)}"
        v = float(value)  # type: ignore[arg-type]
        if not self.low <= v <= self.high:
            return f"must be in [{show(self.low)}, {show(self.high)}], got {show(value)}"
        return None



class Int(_Range[int]):
    """An integer in [low, high] (both within ±2**40); with ``log=True``, log-uniform (low >= 1).

    Linear scale, n = high - low + 1 values: one discrete coordinate whose grid is the bin
    centres (k + 0.5)/n, k = 0..n-1 (computed as ``np.arange`` computes them), step 1/n;
    decode takes the bin ``floor(x*n)``, so every x in [0, 1] has a value and uniform x gives
    uniform ints. Log scale: one continuous coordinate over [log(low-0.5), log(high+0.5)],
    decoded by rounding, encoded at the log-centre of the value's bin.
    """

    kind = "int"

    def __init__(self, low: int, high: int, *, log: bool = False, when: object = None) -> None:
        self.low = require_int(low, "low")
        self.high = require_int(high, "high")
        self.log = require_bool(log, "log")
        for path, bound in (("low", self.low), ("high", self.high)):
            if abs(bound) > INT_LIMIT:
                raise SpecError(path, f"must be within ±2**40, got {bound}")
        _check_bounds(self.low, self.high, self.log, low, high)
        self._n = self.high - self.low + 1
        if self.log:
            self._origin = math.log(self.low - 0.5)
            self._span = math.log(self.high + 0.5) - self._origin
        else:
            self._first = 0.5 / self._n
            self._step = 1.0 / self._n
            # np.arange (and so cmaes' CMAwM) steps by (first + step) - first, not by step.
            self._delta = (self._first + self._step) - self._first
        super().__init__(when)

    @property
    def width(self) -> int:
        return 1

    def _point(self, k: int) -> float:
        return self._first + k * self._delta

    def steps(self) -> list[float]:
        return [0.0] if self.log else [self._step]

    def bounds(self) -> list[tuple[float, float]]:
        return [(0.0, 1.0)] if self.log else [(self._first, self._point(self._n - 1))]

    def decode(self, x: np.ndarray) -> int:
        u = float(x[0])
        if self.log:
            k = math.floor(math.exp(self._origin + u * self._span) + 0.5)
            return min(max(k, self.low), self.high)
        return self.low + min(int(u * self._n), self._n - 1)

    def encode(self, value: Scalar) -> list[float]:
        v = int(value)
        if not self.log:
            return [self._point(v - self.low)]
        centre = (math.log(v - 0.5) + math.log(v + 0.5)) / 2
        return [min(max((centre - self._origin) / self._span, 0.0), 1.0)]

    def neutral(self) -> list[float]:
        return [0.5] if self.log else [self._point((self._n - 1) // 2)]

    def problem(self, value: object) -> str | None:
        if not is_int(value):
            return f"must be an integer, got {show(value)}"
        if not self.low <= int(value) <= self.high:  # type: ignore[call-overload]
            return f"must be in [{self.low}, {self.high}], got {show(value)}"
        return None

