"""Parameter kinds: what values each may take and how each maps to coordinates in [0, 1].

Each kind owns a block of ``width`` coordinates of the search vector and promises:

- ``decode(x)`` maps any block of finite numbers in [0, 1] to a value that ``problem`` accepts;
- ``encode(v)`` maps an accepted value to a block in [0, 1] (on the declared grid for discrete
  coordinates), and ``decode(encode(v)) == v`` exactly for every value ``decode`` can produce
  (for floats off the value grid, see :class:`Float`);
- ``steps()`` and ``bounds()`` describe each coordinate as :class:`~evotune.space.Space` documents.

Constructors check their own arguments and raise :class:`~evotune.errors.SpecError` with a path
relative to the parameter (``low``, ``choices[2]``, ``when.kernel``); the space prefixes it.
"""

from __future__ import annotations

import abc
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from evotune.errors import SpecError

from ._values import (
    Scalar,
    describe,
    is_int,
    is_number,
    is_scalar,
    require_bool,
    require_int,
    require_number,
    require_scalar,
    same_scalar,
    scalar_key,
    show,
)

__all__ = ["Categorical", "Fixed", "Float", "Int", "Param"]

INT_LIMIT = 2**40
"""Largest magnitude of an int bound: keeps every int exact through float coordinates."""

FLOAT_DIGITS = 12
"""Significant digits of a decoded log-scale float (see :class:`Float`)."""

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
        unique = {scalar_key(v): v for v in reversed(items)}  # first occurrence wins
        parsed.append((parent, tuple(v for k, v in reversed(unique.items()))))
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
        args = tuple(scalar_key(a) if is_scalar(a) else a for a in self._args())
        when = tuple((p, tuple(scalar_key(v) for v in vs)) for p, vs in self._when)
        return (type(self), args, tuple(sorted(self._fields().items())), when)

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


def _check_bounds(low: float, high: float, log: bool, raw_low: object, raw_high: object) -> None:
    if log and low <= 0:
        raise SpecError("low", f"must be > 0 for a log scale, got {show(raw_low)}")
    if not low < high:
        raise SpecError("low", f"must be less than high ({show(raw_high)}), got {show(raw_low)}")


class Float(Param):
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

    def _args(self) -> tuple[Any, ...]:
        return (self.low, self.high)

    def _arg_names(self) -> tuple[str, ...]:
        return ("low", "high")

    def _fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"low": self.low, "high": self.high}
        if self.log:
            fields["log"] = True
        return fields


class Int(Param):
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

    def _args(self) -> tuple[Any, ...]:
        return (self.low, self.high)

    def _arg_names(self) -> tuple[str, ...]:
        return ("low", "high")

    def _fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"low": self.low, "high": self.high}
        if self.log:
            fields["log"] = True
        return fields


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

    def _key(self) -> tuple[Any, ...]:
        when = tuple((p, tuple(scalar_key(v) for v in vs)) for p, vs in self._when)
        return (Categorical, tuple(scalar_key(c) for c in self.choices), when)

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
