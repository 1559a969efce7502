"""Argv templates: ``{name}`` placeholders filled from a trial's configuration.

Rules (also in ``docs/job-contract.md``):

- Each template element is substituted on its own; an element may hold text around one or
  more placeholders (``--lr={lr}``). ``{{`` and ``}}`` stand for literal braces. Nothing is
  ever passed through a shell, so a value reaches the job byte for byte.
- Values are formatted by :func:`format_value`: ``bool`` as ``true``/``false``, ``int`` in
  decimal, ``float`` as Python's shortest round-trip repr (``0.001``, ``1e-05``, ``nan``),
  ``str`` as it is, anything else (``None``, lists, dicts) as compact JSON.
- A placeholder naming a parameter absent from the configuration (an inactive conditional
  parameter) drops its whole element. When that element consists of placeholders only
  (``"{gamma}"``) and the element before it is a flag (``"--gamma"``, ``"-g"``: starts with
  ``-`` followed by a letter or ``-``, and holds no placeholder), the flag is dropped too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evotune.errors import ConfigError, SpecError

__all__ = ["build_argv", "check_argv", "format_value", "placeholders"]

_FLAG = re.compile(r"^-(-|[A-Za-z])")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


@dataclass(frozen=True)
class _Part:
    """A piece of a parsed element: literal text (``name is None``) or a placeholder."""

    text: str
    name: str | None = None


def _parse(element: str) -> list[_Part]:
    """Split one template element into literal text and placeholders.

    Raises :class:`ValueError` with a short problem description for an unbalanced brace or
    an empty placeholder.
    """
    parts: list[_Part] = []
    literal: list[str] = []
    i, n = 0, len(element)
    while i < n:
        ch = element[i]
        if ch == "{" and element.startswith("{{", i):
            literal.append("{")
            i += 2
        elif ch == "}" and element.startswith("}}", i):
            literal.append("}")
            i += 2
        elif ch == "{":
            end = element.find("}", i + 1)
            inner = element[i + 1 : end] if end != -1 else ""
            if end == -1 or "{" in inner:
                raise ValueError(
                    f"unclosed '{{' at position {i} (write '{{{{' for a literal brace)"
                )
            name = inner.strip()
            if not name:
                raise ValueError(f"empty placeholder '{{}}' at position {i}")
            if literal:
                parts.append(_Part("".join(literal)))
                literal = []
            parts.append(_Part(element[i : end + 1], name))
            i = end + 1
        elif ch == "}":
            raise ValueError(f"unmatched '}}' at position {i} (write '}}}}' for a literal brace)")
        else:
            literal.append(ch)
            i += 1
    if literal:
        parts.append(_Part("".join(literal)))
    return parts


def placeholders(element: str) -> list[str]:
    """The parameter names one template element refers to, in order.

    Raises :class:`ValueError` when the element is not a valid template.
    """
    return [p.name for p in _parse(element) if p.name is not None]


def _plain(value: Any) -> Any:
    """Turn a numpy scalar (or anything with ``.item()``) into the Python scalar it holds,
    without importing numpy."""
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, (str, bytes, list, dict, tuple)):
        try:
            return item()
        except (TypeError, ValueError):
            return value
    return value


def format_value(value: Any) -> str:
    """The text a configuration value becomes in argv (see the module docstring).

    Raises :class:`~evotune.errors.ConfigError` for a value JSON cannot express.
    """
    value = _plain(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, separators=(",", ":"), default=_json_default)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"cannot put a {type(value).__name__} value in argv: {exc}") from exc


def _json_default(value: Any) -> Any:
    plain = _plain(value)
    if plain is value:
        raise TypeError(f"{type(value).__name__} is not JSON serializable")
    return plain


def _check_template(template: Sequence[str], path: str) -> None:
    if isinstance(template, (str, bytes)):
        raise SpecError(path, "must be a list of strings, one per argument, not one string")
    if len(template) == 0:
        raise SpecError(path, "must not be empty")
    for i, element in enumerate(template):
        if not isinstance(element, str):
            raise SpecError(f"{path}[{i}]", f"must be a string, got {type(element).__name__}")


def check_argv(template: Sequence[str], param_names: Iterable[str], path: str = "job.argv") -> None:
    """Validate an argv template against the search space's parameter names, at study load.

    Raises :class:`~evotune.errors.SpecError` pointing at the bad element
    (``job.argv[3]: unknown parameter {foo}; known: lr, depth``) for a malformed element or a
    placeholder naming no parameter.
    """
    _check_template(template, path)
    known = list(param_names)
    known_set = set(known)
    for i, element in enumerate(template):
        try:
            names = placeholders(element)
        except ValueError as exc:
            raise SpecError(f"{path}[{i}]", str(exc)) from None
        for name in names:
            if name not in known_set:
                listing = ", ".join(sorted(known)) or "(none)"
                hint = "" if _NAME.match(name) else " (write {{ and }} for literal braces)"
                raise SpecError(
                    f"{path}[{i}]", f"unknown parameter {{{name}}}; known: {listing}{hint}"
                )


def build_argv(template: Sequence[str], config: Mapping[str, Any]) -> tuple[str, ...]:
    """Substitute a configuration into an argv template (rules in the module docstring).

    The template is assumed checked by :func:`check_argv`; a placeholder whose parameter is
    not in ``config`` is an inactive parameter and drops its element (and a flag before a
    placeholder-only element). Raises :class:`~evotune.errors.SpecError` for a malformed
    element and :class:`~evotune.errors.ConfigError` for a value argv cannot carry.
    """
    _check_template(template, "job.argv")
    out: list[str] = []
    previous_is_flag = False  # whether out[-1] is a placeholder-free flag
    for i, element in enumerate(template):
        try:
            parts = _parse(element)
        except ValueError as exc:
            raise SpecError(f"job.argv[{i}]", str(exc)) from None
        names = [p.name for p in parts if p.name is not None]
        if any(name not in config for name in names):
            only_placeholders = all(p.name is not None for p in parts)
            if only_placeholders and previous_is_flag:
                out.pop()
            previous_is_flag = False
            continue
        out.append(
            "".join(p.text if p.name is None else format_value(config[p.name]) for p in parts)
        )
        previous_is_flag = not names and bool(_FLAG.match(element))
    return tuple(out)
