"""The dict form of a space, as a study file writes it.

    lr: {type: float, low: 1.0e-4, high: 0.1, log: true}
    depth: {type: int, low: 1, high: 10}
    kernel: {type: categorical, choices: [rbf, linear]}
    gamma: {type: float, low: 1.0e-4, high: 1.0, log: true, when: {kernel: [rbf]}}
    bs: {type: fixed, value: 32}

Parsing checks each definition's form and builds its parameter; errors carry the full path
(``space.lr.low``). What needs the whole space (condition parents, cycles) is checked by Space.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from evotune.errors import SpecError

from ._base import Param
from ._choices import Categorical, Fixed
from ._numbers import Float, Int
from ._values import describe

# kind -> (allowed keys besides `type`, required keys)
_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "float": (("low", "high", "log", "when"), ("low", "high")),
    "int": (("low", "high", "log", "when"), ("low", "high")),
    "categorical": (("choices", "when"), ("choices",)),
    "fixed": (("value",), ("value",)),
}


def join(path: str, sub: str) -> str:
    """``space`` + ``lr`` -> ``space.lr``; ``choices`` + ``[2]`` -> ``choices[2]``."""
    if not sub:
        return path
    if not path:
        return sub
    return f"{path}{sub}" if sub.startswith("[") else f"{path}.{sub}"


@contextmanager
def under(path: str) -> Iterator[None]:
    """Re-raise a SpecError from inside with ``path`` prefixed to its path."""
    try:
        yield
    except SpecError as exc:
        raise SpecError(join(path, exc.path), exc.problem) from None


def parse_space(spec: object, path: str) -> dict[str, Param]:
    """Parameters (name -> Param, in order) from the dict form; raises SpecError."""
    if not isinstance(spec, Mapping):
        raise SpecError(
            path, f"must be a mapping of parameter names to definitions, got {describe(spec)}"
        )
    return {name: parse_param(form, join(path, str(name))) for name, form in spec.items()}


def parse_param(form: object, path: str) -> Param:
    """One parameter from its dict form; raises SpecError at ``path`` or below it."""
    if not isinstance(form, Mapping):
        raise SpecError(path, f"must be a mapping with a 'type' key, got {describe(form)}")
    if "type" not in form:
        raise SpecError(join(path, "type"), "missing")
    kind = form["type"]
    if not isinstance(kind, str) or kind not in _KEYS:
        expected = ", ".join(sorted(_KEYS))
        raise SpecError(
            join(path, "type"), f"unknown type {describe(kind)} (expected one of {expected})"
        )
    allowed, required = _KEYS[kind]
    for key in form:
        if key != "type" and key not in allowed:
            raise SpecError(
                join(path, str(key)),
                f"unknown key for a {kind} parameter (expected {', '.join(allowed)})",
            )
    for key in required:
        if key not in form:
            raise SpecError(join(path, key), "missing")
    with under(path):
        if kind == "float":
            return Float(
                form["low"], form["high"], log=form.get("log", False), when=form.get("when")
            )
        if kind == "int":
            return Int(form["low"], form["high"], log=form.get("log", False), when=form.get("when"))
        if kind == "categorical":
            return Categorical(form["choices"], when=form.get("when"))
        return Fixed(form["value"])
