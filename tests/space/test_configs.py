"""validate() says why a config is outside the space; decode() refuses malformed vectors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from evotune.errors import ConfigError
from evotune.space import Categorical, Fixed, Float, Int, Space

SPACE = Space(
    lr=Float(1e-4, 1e-1, log=True),
    depth=Int(1, 10),
    kernel=Categorical(["rbf", "linear"]),
    gamma=Float(1e-4, 1.0, log=True, when={"kernel": ["rbf"]}),
    bs=Fixed(32),
)
GOOD = {"lr": 0.001, "depth": 3, "kernel": "rbf", "gamma": 0.01, "bs": 32}


def good(**changes: Any) -> dict[str, Any]:
    config = {**GOOD, **changes}
    return {k: v for k, v in config.items() if v is not DROP}


DROP = object()

BAD_CONFIGS: list[tuple[object, str]] = [
    ([1, 2], "config must be a mapping of parameter names to values, got a list"),
    (good(foo=1), "foo: unknown parameter (expected one of lr, depth, kernel, gamma, bs)"),
    (good(depth=DROP), "depth: missing"),
    (good(bs=DROP), "bs: missing"),
    (good(gamma=DROP), "gamma: missing"),
    (good(lr=0.5), "lr: must be in [0.0001, 0.1], got 0.5"),
    (good(lr=float("nan")), "lr: must be in [0.0001, 0.1], got nan"),
    (good(lr="0.01"), "lr: must be a number, got '0.01'"),
    (good(lr=True), "lr: must be a number, got True"),
    (good(depth=11), "depth: must be in [1, 10], got 11"),
    (good(depth=2.0), "depth: must be an integer, got 2.0"),
    (good(kernel="poly"), "kernel: must be one of ['rbf', 'linear'], got 'poly'"),
    (
        good(kernel="linear"),
        "gamma: given but inactive, since kernel is 'linear' (needs one of ['rbf'])",
    ),
    (good(bs=64), "bs: must be 32 (fixed), got 64"),
    (good(bs="32"), "bs: must be 32 (fixed), got '32'"),
]


@pytest.mark.parametrize(("config", "message"), BAD_CONFIGS, ids=[m for _, m in BAD_CONFIGS])
def test_validate_explains(config: object, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        SPACE.validate(config)
    assert str(info.value) == message
    with pytest.raises(ConfigError):
        SPACE.encode(config)  # type: ignore[arg-type]


def test_valid_configs_pass() -> None:
    SPACE.validate(GOOD)
    SPACE.validate(good(kernel="linear", gamma=DROP))
    SPACE.validate(good(bs=32.0))  # 32.0 is the number 32
    space = Space(x=Float(0, 10))
    space.validate({"x": 3})  # an int is a float
    assert space.decode(space.encode({"x": 3})) == {"x": 3.0}


CHAIN = Space(
    a=Categorical(["x", "y"]),
    b=Categorical([True, False], when={"a": "x"}),
    c=Int(0, 3, when={"b": [True]}),
)


def test_chained_conditions() -> None:
    assert CHAIN.decode([1, 0, 1, 0, 0.9]) == {"a": "x", "b": True, "c": 3}
    assert CHAIN.decode([1, 0, 0, 1, 0.9]) == {"a": "x", "b": False}
    assert CHAIN.decode([0, 1, 1, 0, 0.9]) == {"a": "y"}
    assert CHAIN.active({"a": "y"}) == ["a"]
    assert CHAIN.active({"a": "x", "b": True}) == ["a", "b", "c"]
    assert CHAIN.active({"a": "x", "b": 1}) == ["a", "b"]  # 1 is not True
    with pytest.raises(ConfigError, match=r"^c: given but inactive, since b is inactive$"):
        CHAIN.validate({"a": "y", "c": 1})
    with pytest.raises(ConfigError, match=r"^b: missing$"):
        CHAIN.validate({"a": "x"})


def test_children_may_be_declared_before_parents() -> None:
    space = Space(c=Int(0, 3, when={"b": True}), b=Categorical([True, False]))
    assert space.decode([0.9, 1, 0]) == {"c": 3, "b": True}
    assert space.names == ["c", "b"]


def test_several_parents_must_all_hold() -> None:
    space = Space(
        a=Categorical(["x", "y"]),
        b=Categorical(["u", "v"]),
        c=Fixed(1),
        d=Float(0, 1, when={"a": "x", "b": ["u"]}),
    )
    assert "d" in space.decode([1, 0, 1, 0, 0.5])
    assert "d" not in space.decode([1, 0, 0, 1, 0.5])
    assert "d" not in space.decode([0, 1, 1, 0, 0.5])


BAD_VECTORS: list[tuple[object, str]] = [
    ([0.5] * 4, r"^vector must have shape \(5,\), got \(4,\)$"),
    ([[0.5] * 5], r"^vector must have shape \(5,\), got \(1, 5\)$"),
    (0.5, r"^vector must have shape \(5,\), got \(\)$"),
    (["a", 0, 0, 0, 0], r"^vector must be a sequence of 5 numbers: "),
    ([0.5, 0.5, 0.5, np.nan, 0.5], r"^vector\[3\] \(kernel=linear\) is nan$"),
    ([0.5, 0.5, 0.5, 0.5, np.nan], r"^vector\[4\] \(gamma\) is nan$"),  # even if inactive
]


@pytest.mark.parametrize(("vector", "message"), BAD_VECTORS, ids=[m for _, m in BAD_VECTORS])
def test_decode_refuses(vector: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SPACE.decode(vector)


def test_out_of_range_coordinates_are_clipped() -> None:
    assert SPACE.decode([-np.inf, 7.0, 2.0, -3.0, np.inf]) == SPACE.decode([0, 1, 1, 0, 1])
    assert SPACE.decode([-1, 2, 1, 0, 5]) == {
        "lr": 1e-4,
        "depth": 10,
        "kernel": "rbf",
        "gamma": 1.0,
        "bs": 32,
    }
