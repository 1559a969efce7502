"""Argv templates: substitution, escaping, inactive parameters, validation."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evotune.errors import ConfigError, SpecError
from evotune.trial import build_argv, check_argv, format_value

CONFIG: dict[str, Any] = {
    "lr": 0.001,
    "tiny": 1e-05,
    "depth": 3,
    "act": "relu",
    "bn": True,
    "drop": False,
    "layers": [64, 32],
    "none": None,
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (["python", "train.py"], ["python", "train.py"]),
        (["--lr", "{lr}"], ["--lr", "0.001"]),
        (["--lr={lr}"], ["--lr=0.001"]),
        (["{tiny}"], ["1e-05"]),
        (["{depth}"], ["3"]),
        (["{act}"], ["relu"]),
        (["{bn}", "{drop}"], ["true", "false"]),
        (["{layers}"], ["[64,32]"]),
        (["{none}"], ["null"]),
        (["{act}-{depth}x{lr}"], ["relu-3x0.001"]),
        (["{{lr}}", "{{{lr}}}", "}}{{"], ["{lr}", "{0.001}", "}{"]),
        (["{ lr }"], ["0.001"]),
        # inactive parameter: the element goes, and a flag before a bare placeholder too
        (["train", "--gamma", "{gamma}", "--lr", "{lr}"], ["train", "--lr", "0.001"]),
        (["train", "--gamma={gamma}", "x"], ["train", "x"]),
        (["train", "-g", "{gamma}"], ["train"]),
        (["train", "--x", "{lr}{gamma}"], ["train"]),
        (["train", "--x", "a{gamma}"], ["train", "--x"]),  # not a bare placeholder
        (["train", "-1", "{gamma}"], ["train", "-1"]),  # a negative number is not a flag
        (["--a", "{a}", "--b", "{b}", "--lr", "{lr}"], ["--lr", "0.001"]),
        (["--lr", "{lr}", "{gamma}"], ["--lr", "0.001"]),  # the flag before is not free
    ],
)
def test_build_argv_table(template: list[str], expected: list[str]) -> None:
    assert build_argv(template, CONFIG) == tuple(expected)


def test_numpy_scalars_format_like_python_numbers() -> None:
    np = pytest.importorskip("numpy")
    config = {"lr": np.float64(0.001), "n": np.int64(7), "f": np.bool_(True)}
    assert build_argv(["{lr}", "{n}", "{f}"], config) == ("0.001", "7", "true")


def test_float_formatting_round_trips() -> None:
    for value in [0.1, 1e-8, 123456789.125, 3.0, -0.0, float("inf"), 2.5e300]:
        assert float(format_value(value)) == value


def test_value_argv_cannot_carry_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        build_argv(["{x}"], {"x": object()})


@given(st.text(), st.text())
def test_arbitrary_strings_reach_the_job_unchanged(value: str, literal: str) -> None:
    escaped = literal.replace("{", "{{").replace("}", "}}")
    argv = build_argv(["job", "{v}", escaped, f"{escaped}={{v}}"], {"v": value})
    assert argv == ("job", value, literal, f"{literal}={value}")


@pytest.mark.parametrize(
    ("template", "path", "problem"),
    [
        (["python", "--lr", "{lrr}"], "job.argv[2]", "unknown parameter {lrr}; known: depth, lr"),
        (["python", "{lr"], "job.argv[1]", "unclosed '{'"),
        (["python", "lr}"], "job.argv[1]", "unmatched '}'"),
        (["{}"], "job.argv[0]", "empty placeholder"),
        (['{"a": 1}'], "job.argv[0]", "literal braces"),
        ([], "job.argv", "must not be empty"),
        ("python train.py", "job.argv", "not one string"),
        (["python", 3], "job.argv[1]", "must be a string"),
    ],
)
def test_check_argv_points_at_the_bad_element(template: Any, path: str, problem: str) -> None:
    with pytest.raises(SpecError) as info:
        check_argv(template, ["lr", "depth"])
    assert info.value.path == path
    assert problem in info.value.problem
    assert "\n" not in str(info.value)


def test_check_argv_accepts_a_valid_template_and_a_custom_path() -> None:
    check_argv(["python", "--lr={lr}", "{{literal}}"], ["lr"])
    with pytest.raises(SpecError, match=r"^study\.job\.argv\[0\]: "):
        check_argv(["{x}"], ["lr"], path="study.job.argv")
