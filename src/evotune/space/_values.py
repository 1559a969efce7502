"""The plain values a space is built from and a config holds: checks, conversion, display.

A config value is a JSON scalar: ``str``, ``int``, ``float`` (finite) or ``bool``. ``bool`` is a
subclass of ``int`` in Python but never counts as a number here, because ``true`` and ``1`` are
different things in a study file and in a training script's argv.
"""

from __future__ import annotations

import math

import numpy as np

from evotune.errors import SpecError

Scalar = str | int | float | bool
"""A config value: a JSON scalar (never ``None``, never a non-finite float)."""


def is_bool(value: object) -> bool:
    return isinstance(value, (bool, np.bool_))


def is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not is_bool(value)


def is_number(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not is_bool(value)


def is_scalar(value: object) -> bool:
    return isinstance(value, str) or is_bool(value) or is_number(value)


def plain(value: Scalar) -> Scalar:
    """The value as a built-in Python type (numpy scalars become ``bool``/``int``/``float``)."""
    if isinstance(value, np.generic):
        converted: Scalar = value.item()
        return converted
    return value


def show(value: object) -> str:
    """How a value appears in an error message: as Python (and YAML) would write it."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return repr(value)
    if isinstance(value, (list, tuple)) and all(is_scalar(v) for v in value):
        return repr([plain(v) for v in value])
    return type(value).__name__


def same_scalar(a: object, b: object) -> bool:
    """Whether two scalars are the same config value: ``1 == 1.0``, but ``True != 1``."""
    if is_bool(a) != is_bool(b) or isinstance(a, str) != isinstance(b, str):
        return False
    return bool(a == b)


def scalar_key(value: Scalar) -> tuple[str, Scalar]:
    """A hashable identity for duplicate detection, consistent with :func:`same_scalar`."""
    if is_bool(value):
        return ("bool", bool(value))
    if isinstance(value, str):
        return ("str", value)
    return ("number", plain(value))


def require_number(value: object, path: str) -> float:
    """``value`` as a finite float; raises :class:`SpecError` at ``path`` otherwise."""
    if not is_number(value):
        raise SpecError(path, f"must be a number, got {describe(value)}")
    number = float(value)  # type: ignore[arg-type]
    if not math.isfinite(number):
        raise SpecError(path, f"must be finite, got {show(value)}")
    return number


def require_int(value: object, path: str) -> int:
    """``value`` as a Python int; raises :class:`SpecError` at ``path`` otherwise."""
    if not is_int(value):
        raise SpecError(path, f"must be an integer, got {describe(value)}")
    return int(value)  # type: ignore[call-overload,no-any-return]


def require_bool(value: object, path: str) -> bool:
    if not is_bool(value):
        raise SpecError(path, f"must be true or false, got {describe(value)}")
    return bool(value)


def require_scalar(value: object, path: str) -> Scalar:
    """``value`` as a plain JSON scalar; raises :class:`SpecError` at ``path`` otherwise."""
    if not is_scalar(value):
        raise SpecError(path, f"must be a string, number or boolean, got {describe(value)}")
    if is_number(value) and not math.isfinite(float(value)):  # type: ignore[arg-type]
        raise SpecError(path, f"must be finite, got {show(value)}")
    return plain(value)  # type: ignore[arg-type]


def describe(value: object) -> str:
    """Like show(), but says "a list"/"a dict" for containers and flags numeric strings."""
    # A number written as a string is the likeliest slip (PyYAML reads `1e-4` as a string),
    # so say plainly that it is a string.
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return show(value)
        return f"{show(value)} (a string)"
    if isinstance(value, (list, tuple, dict, set)):
        return f"a {type(value).__name__}"
    return show(value)
