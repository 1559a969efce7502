"""The benchmark's problem registry: tuning problems and test functions behind one shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .functions import FUNCTION_NAMES, TestFunction
from .params import Param
from .tuning import TUNING_NAMES, TuningProblem

DIMENSIONS: tuple[int, ...] = (2, 5, 10)


@dataclass(frozen=True)
class Problem:
    """A named minimisation problem: its space, its objective and, if known, its optimum.

    ``kind`` is ``"tuning"`` (scored by Bayesmark normalisation) or ``"function"``
    (scored by targets on ``f - f_opt``); ``f_opt`` is ``None`` for tuning problems.
    """

    name: str
    kind: str
    params: tuple[Param, ...]
    evaluate: Callable[[dict[str, Any]], float]
    f_opt: float | None = None

    @property
    def dim(self) -> int:
        """The number of search dimensions."""
        return len(self.params)


def all_problem_names() -> list[str]:
    """Every problem of the full run: 10 tuning problems, then 6 functions x 3 dimensions."""
    functions = [f"{name}-{d}d" for name in FUNCTION_NAMES for d in DIMENSIONS]
    return list(TUNING_NAMES) + functions


def make_problem(name: str) -> Problem:
    """Build a problem by name: ``"SVM-wine"`` or ``"rastrigin-5d"``."""
    if name in TUNING_NAMES:
        tp = TuningProblem.make(name)
        return Problem(name, "tuning", tp.params(), tp.evaluate)
    base, _, dim = name.rpartition("-")
    if base not in FUNCTION_NAMES or not dim.endswith("d") or not dim[:-1].isdigit():
        raise ValueError(f"unknown problem {name!r}")
    fn = TestFunction.make(base, int(dim[:-1]))
    return Problem(name, "function", fn.params(), fn.evaluate, fn.f_opt)
