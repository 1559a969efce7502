"""Turn pydantic's validation errors into one-line :class:`SpecError` messages with a field path."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from evotune.errors import SpecError


def field_path(loc: Sequence[int | str], prefix: str = "") -> str:
    """``("budget", "max_trials")`` -> ``budget.max_trials``; list indices as ``job.argv[2]``."""
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith(("function-", "tagged-union", "union[")):
            continue  # pydantic's internal validator steps say nothing to a user
        else:
            out = f"{out}.{part}" if out else str(part)
    return out


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _problem(err: Any) -> str:
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        return "unknown field"
    for key, sign in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
        if key in ctx and kind.startswith(("greater", "less")):
            return f"must be {sign} {ctx[key]}, got {_shown(value)}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"must be a whole number, got {_shown(value)}"
    if kind in ("float_type", "float_parsing", "finite_number"):
        return f"must be a number, got {_shown(value)}"
    if kind in ("bool_type", "bool_parsing"):
        return f"must be true or false, got {_shown(value)}"
    if kind in ("string_type",):
        return f"must be a string, got {_shown(value)}"
    if kind in ("list_type", "tuple_type"):
        return f"must be a list, got {_shown(value)}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be a mapping, got {_shown(value)}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}, got {_shown(value)}"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    if kind in ("too_short", "string_too_short"):
        return f"must not be empty, got {_shown(value)}"
    msg = str(err["msg"])
    return (msg[0].lower() + msg[1:]) if msg else kind


def spec_error_from(exc: ValidationError, prefix: str = "") -> SpecError:
    """The first error of ``exc`` as a :class:`SpecError` (one line: ``path: problem``)."""
    err = exc.errors()[0]
    return SpecError(field_path(err["loc"], prefix) or "study", _problem(err))
