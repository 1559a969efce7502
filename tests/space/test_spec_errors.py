"""A bad space definition raises SpecError naming the field and showing the bad value."""

from __future__ import annotations

from typing import Any

import pytest

from evotune.errors import SpecError
from evotune.space import Categorical, Fixed, Float, Int, Space

KERNEL = {"type": "categorical", "choices": ["rbf", "linear"]}
LR = {"type": "float", "low": 1e-4, "high": 0.1, "log": True}


def with_lr(**fields: Any) -> dict[str, Any]:
    return {"lr": {**LR, **fields}}


BAD_SPACES: list[tuple[object, str]] = [
    # the space itself
    ([1, 2], "space: must be a mapping of parameter names to definitions, got a list"),
    ({}, "space: must define at least one parameter"),
    (
        {"2lr": LR},
        (
            "space.2lr: invalid parameter name '2lr' (use letters, digits, _ and -, starting "
            "with a letter or _)"
        ),
    ),
    (
        {"a=b": LR},
        (
            "space.a=b: invalid parameter name 'a=b' (use letters, digits, _ and -, starting "
            "with a letter or _)"
        ),
    ),
    ({"lr": 0.1}, "space.lr: must be a mapping with a 'type' key, got 0.1"),
    # kinds and keys
    ({"lr": {"low": 1, "high": 2}}, "space.lr.type: missing"),
    (
        {"lr": {"type": "flaot", "low": 1, "high": 2}},
        "space.lr.type: unknown type 'flaot' (expected one of categorical, fixed, float, int)",
    ),
    (
        {"lr": {"type": 3}},
        "space.lr.type: unknown type 3 (expected one of categorical, fixed, float, int)",
    ),
    (
        with_lr(lo=1),
        "space.lr.lo: unknown key for a float parameter (expected low, high, log, when)",
    ),
    (
        {"bs": {"type": "fixed", "value": 32, "when": {"k": "a"}}},
        "space.bs.when: unknown key for a fixed parameter (expected value)",
    ),
    ({"lr": {"type": "float", "high": 2}}, "space.lr.low: missing"),
    ({"d": {"type": "int", "low": 2}}, "space.d.high: missing"),
    ({"k": {"type": "categorical"}}, "space.k.choices: missing"),
    ({"bs": {"type": "fixed"}}, "space.bs.value: missing"),
    # numbers
    (with_lr(low=-1), "space.lr.low: must be > 0 for a log scale, got -1"),
    (with_lr(low=0.0), "space.lr.low: must be > 0 for a log scale, got 0.0"),
    (with_lr(low=0.5), "space.lr.low: must be less than high (0.1), got 0.5"),
    (with_lr(low=0.1), "space.lr.low: must be less than high (0.1), got 0.1"),
    (with_lr(low="abc"), "space.lr.low: must be a number, got 'abc'"),
    (with_lr(low="1e-4"), "space.lr.low: must be a number, got '1e-4' (a string)"),
    (with_lr(high=True), "space.lr.high: must be a number, got True"),
    (with_lr(high=None), "space.lr.high: must be a number, got None"),
    (with_lr(high=[1]), "space.lr.high: must be a number, got a list"),
    (with_lr(high=float("inf")), "space.lr.high: must be finite, got inf"),
    (with_lr(low=float("nan")), "space.lr.low: must be finite, got nan"),
    (with_lr(log="yes"), "space.lr.log: must be true or false, got 'yes'"),
    (
        {"x": {"type": "float", "low": -1e308, "high": 1e308}},
        "space.x.high: is too far from low (high - low overflows), got 1e+308",
    ),
    ({"d": {"type": "int", "low": 1.5, "high": 3}}, "space.d.low: must be an integer, got 1.5"),
    ({"d": {"type": "int", "low": 1, "high": 3.0}}, "space.d.high: must be an integer, got 3.0"),
    ({"d": {"type": "int", "low": False, "high": 3}}, "space.d.low: must be an integer, got False"),
    ({"d": {"type": "int", "low": 3, "high": 3}}, "space.d.low: must be less than high (3), got 3"),
    (
        {"d": {"type": "int", "low": 0, "high": 8, "log": True}},
        "space.d.low: must be > 0 for a log scale, got 0",
    ),
    (
        {"d": {"type": "int", "low": 0, "high": 2**41}},
        "space.d.high: must be within ±2**40, got 2199023255552",
    ),
    # choices
    (
        {"k": {"type": "categorical", "choices": "rbf"}},
        "space.k.choices: must be a list, got 'rbf'",
    ),
    ({"k": {"type": "categorical", "choices": []}}, "space.k.choices: must not be empty"),
    (
        {"k": {"type": "categorical", "choices": ["a", "b", "a"]}},
        "space.k.choices[2]: duplicate choice 'a'",
    ),
    (
        {"k": {"type": "categorical", "choices": [1, 1.0]}},
        "space.k.choices[1]: duplicate choice 1.0",
    ),
    (
        {"k": {"type": "categorical", "choices": ["a", None]}},
        "space.k.choices[1]: must be a string, number or boolean, got None",
    ),
    (
        {"k": {"type": "categorical", "choices": [[1]]}},
        "space.k.choices[0]: must be a string, number or boolean, got a list",
    ),
    (
        {"k": {"type": "categorical", "choices": [float("nan")]}},
        "space.k.choices[0]: must be finite, got nan",
    ),
    (
        {"bs": {"type": "fixed", "value": None}},
        "space.bs.value: must be a string, number or boolean, got None",
    ),
    # conditions
    (
        {"kernel": KERNEL, "gamma": {**LR, "when": "rbf"}},
        "space.gamma.when: must be a mapping of parent names to values, got 'rbf'",
    ),
    (
        {"kernel": KERNEL, "gamma": {**LR, "when": {}}},
        "space.gamma.when: must name at least one parent",
    ),
    (
        {"kernel": KERNEL, "gamma": {**LR, "when": {"kernel": []}}},
        "space.gamma.when.kernel: must list at least one value",
    ),
    (
        {"kernel": KERNEL, "gamma": {**LR, "when": {"kernel": [None]}}},
        "space.gamma.when.kernel[0]: must be a string, number or boolean, got None",
    ),
    (
        {"kernel": KERNEL, "gamma": {**LR, "when": {"kernle": ["rbf"]}}},
        "space.gamma.when.kernle: unknown parameter 'kernle'",
    ),
    (
        {"depth": {"type": "int", "low": 1, "high": 3}, "gamma": {**LR, "when": {"depth": 2}}},
        "space.gamma.when.depth: 'depth' is not categorical (it is int)",
    ),
    (
        {"kernel": KERNEL, "gamma": {**LR, "when": {"kernel": ["rbf", "poly"]}}},
        "space.gamma.when.kernel: 'poly' is not a choice of 'kernel' ['rbf', 'linear']",
    ),
    (
        {
            "flag": {"type": "categorical", "choices": [True, False]},
            "x": {**LR, "when": {"flag": 1}},
        },
        "space.x.when.flag: 1 is not a choice of 'flag' [True, False]",
    ),
    (
        {"a": {**KERNEL, "when": {"a": "rbf"}}},
        "space.a.when: condition cycle a -> a",
    ),
    (
        {
            "x": {**LR, "when": {"b": "rbf"}},
            "a": {**KERNEL, "when": {"b": "rbf"}},
            "b": {**KERNEL, "when": {"c": "linear"}},
            "c": {**KERNEL, "when": {"a": "rbf"}},
        },
        "space.a.when: condition cycle a -> b -> c -> a",
    ),
]


@pytest.mark.parametrize(("spec", "message"), BAD_SPACES, ids=[m for _, m in BAD_SPACES])
def test_bad_space_names_field_and_problem(spec: object, message: str) -> None:
    with pytest.raises(SpecError) as info:
        Space.from_dict(spec)
    assert str(info.value) == message
    path, _, problem = message.partition(": ")
    assert (info.value.path, info.value.problem) == (path, problem)


def test_path_prefix_is_the_callers() -> None:
    with pytest.raises(
        SpecError, match=r"^study\.search\.lr\.low: must be > 0 for a log scale, got -1$"
    ):
        Space.from_dict(with_lr(low=-1), path="study.search")


BAD_PYTHON: list[tuple[Any, str]] = [
    (lambda: Float(1, 0), "low: must be less than high (0), got 1"),
    (lambda: Float(-1, 1, log=True), "low: must be > 0 for a log scale, got -1"),
    (lambda: Int(1, 2, log=1), "log: must be true or false, got 1"),
    (lambda: Categorical(["a"], when={"k": ()}), "when.k: must list at least one value"),
    (lambda: Fixed(float("inf")), "value: must be finite, got inf"),
    (lambda: Space(lr=0.1), "space.lr: must be a Float, Int, Categorical or Fixed, got float"),
    (
        lambda: Space(gamma=Float(1, 2, when={"kernel": "rbf"})),
        "space.gamma.when.kernel: unknown parameter 'kernel'",
    ),
]


@pytest.mark.parametrize(("build", "message"), BAD_PYTHON, ids=[m for _, m in BAD_PYTHON])
def test_bad_python_definition(build: Any, message: str) -> None:
    with pytest.raises(SpecError) as info:
        build()
    assert str(info.value) == message
