"""The Space API the strategies and the study rely on, on the issue's example space."""

from __future__ import annotations

import doctest

import numpy as np

import evotune.space
from evotune.space import Categorical, Fixed, Float, Int, Space, _space

PYTHON = Space(
    lr=Float(1e-4, 1e-1, log=True),
    depth=Int(1, 10),
    kernel=Categorical(["rbf", "linear"]),
    gamma=Float(1e-4, 1.0, log=True, when={"kernel": ["rbf"]}),
    bs=Fixed(32),
)
DICT_FORM = {
    "lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
    "depth": {"type": "int", "low": 1, "high": 10},
    "kernel": {"type": "categorical", "choices": ["rbf", "linear"]},
    "gamma": {"type": "float", "low": 1e-4, "high": 1.0, "log": True, "when": {"kernel": ["rbf"]}},
    "bs": {"type": "fixed", "value": 32},
}


def test_python_and_dict_forms_agree() -> None:
    assert Space.from_dict(DICT_FORM) == PYTHON
    assert PYTHON.to_dict() == DICT_FORM
    scalar_when = {**DICT_FORM, "gamma": {**DICT_FORM["gamma"], "when": {"kernel": "rbf"}}}
    assert Space.from_dict(scalar_when) == PYTHON
    assert Space.from_dict({**DICT_FORM, "depth": {**DICT_FORM["depth"], "log": True}}) != PYTHON


def test_layout_for_strategies() -> None:
    assert PYTHON.dim == 5
    assert PYTHON.names == ["lr", "depth", "kernel", "gamma", "bs"]
    assert PYTHON.coordinate_names() == ["lr", "depth", "kernel=rbf", "kernel=linear", "gamma"]
    assert PYTHON.steps.tolist() == [0.0, 0.1, 0.0, 0.0, 0.0]
    last = np.arange(0.05, 0.95 + 0.05, 0.1)[-1]  # the grid CMAwM derives: 10 points
    assert PYTHON.bounds.tolist() == [[0, 1], [0.05, last], [0, 1], [0, 1], [0, 1]]
    assert PYTHON.coordinates("kernel") == slice(2, 4)
    assert PYTHON.coordinates("bs") == slice(5, 5)


def test_arrays_handed_out_are_copies() -> None:
    PYTHON.steps[:] = 7
    PYTHON.bounds[:] = 7
    assert PYTHON.steps[0] == 0 and PYTHON.bounds[0, 1] == 1


def test_mapping_and_display() -> None:
    assert len(PYTHON) == 5
    assert list(PYTHON) == PYTHON.names
    assert PYTHON["gamma"] == Float(1e-4, 1.0, log=True, when={"kernel": "rbf"})
    assert "bs" in PYTHON and "foo" not in PYTHON
    assert dict(PYTHON.params) == dict(PYTHON.items())
    assert repr(PYTHON) == (
        "Space(lr=Float(0.0001, 0.1, log=True), depth=Int(1, 10), "
        "kernel=Categorical(['rbf', 'linear']), "
        "gamma=Float(0.0001, 1.0, log=True, when={'kernel': ['rbf']}), bs=Fixed(32))"
    )
    assert repr(Space(**{"learning-rate": Fixed(1)})) == "Space(**{'learning-rate': Fixed(1)})"


def test_parameters_compare_by_value_and_kind() -> None:
    assert Categorical([1, "a"]) == Categorical([1.0, "a"])
    assert Categorical([1, "a"]) != Categorical([True, "a"])
    assert Fixed(1) != Fixed(True)
    assert Float(0, 1) != Int(0, 1)
    assert len({Float(0, 1), Float(0.0, 1.0)}) == 1


def test_inactive_parameters_encode_to_neutral_coordinates() -> None:
    vector = PYTHON.encode({"lr": 0.1, "depth": 1, "kernel": "linear", "bs": 32})
    assert vector.tolist() == [1.0, 0.05, 0.0, 1.0, 0.5]


def test_fixed_only_space_has_no_coordinates() -> None:
    space = Space(bs=Fixed(32), opt=Fixed("adam"))
    assert space.dim == 0 and space.steps.shape == (0,) and space.bounds.shape == (0, 2)
    assert space.decode(np.empty(0)) == {"bs": 32, "opt": "adam"}


def test_docstring_examples_run() -> None:
    result = doctest.testmod(_space, extraglobs=vars(evotune.space))
    assert result.attempted > 0 and result.failed == 0


def test_coordinate_labels_stay_on_one_line() -> None:
    space = Space(k=Categorical(["rbf", "a\nb", 1, True]))
    assert space.coordinate_names() == ["k=rbf", 'k="a\\nb"', "k=1", "k=true"]


def test_repeated_condition_values_collapse_in_order() -> None:
    assert Float(0, 1, when={"k": ["b", "a", "b", 1, 1.0, True]}).when == {"k": ["b", "a", 1, True]}
