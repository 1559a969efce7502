"""Every mistake in a study file: one line naming the field, exit code 2, nothing written."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from evotune.cli import main
from evotune.errors import SpecError
from evotune.study import parse_study

GOOD: dict[str, Any] = {
    "name": "toy",
    "space": {
        "lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
        "depth": {"type": "int", "low": 1, "high": 8},
        "kernel": {"type": "categorical", "choices": ["rbf", "linear"]},
    },
    "objective": {"metric": "score", "direction": "maximize"},
    "budget": {"max_trials": 10},
    "job": {"argv": ["python", "job.py", "--lr", "{lr}"]},
}


def _with(path: str, value: Any) -> dict[str, Any]:
    spec = copy.deepcopy(GOOD)
    *parents, leaf = path.split(".")
    node = spec
    for p in parents:
        node = node.setdefault(p, {})
    if value is _DELETE:
        del node[leaf]
    else:
        node[leaf] = value
    return spec


_DELETE = object()

# (change, expected message: exact)
CASES = [
    (("budget.max_trials", -3), "budget.max_trials: must be > 0, got -3"),
    (("budget.max_trials", "many"), "budget.max_trials: must be a whole number, got 'many'"),
    (("budget.max_trials", 2.5), "budget.max_trials: must be a whole number, got 2.5"),
    (("budget", {}), "budget: set at least one of max_trials, max_generations, time_limit"),
    (("budget.time_limit", "soon"), "budget.time_limit: must be a duration like 30, '90s', '15m' or '2h', got 'soon'"),
    (("budget.patience", 0), "budget.patience: must be > 0, got 0"),
    (("budget.max_generations", 0), "budget.max_generations: must be > 0, got 0"),
    (("budget.colour", "red"), "budget.colour: unknown field"),
    (("name", _DELETE), "name: required"),
    (("name", "my study!"), "name: must be letters, digits, '_', '.', '-' (at most 100), got 'my study!'"),
    (("objective.direction", "up"), "objective.direction: must be one of 'maximize' or 'minimize', got 'up'"),
    (("objective.metric", ""), "objective.metric: must not be empty, got ''"),
    (("objective.source", "evaluation"), "objective: source 'evaluation' needs an 'evaluation' section (url, dataset)"),
    (("objective.source", "oracle"), "objective.source: must be one of 'reported' or 'evaluation', got 'oracle'"),
    (("parallelism", 0), "parallelism: must be > 0, got 0"),
    (("parallelism", True), "parallelism: must be a whole number, got True"),
    (("schedule", "eager"), "schedule: must be one of 'asynchronous' or 'generational', got 'eager'"),
    (("job.argv", []), "job.argv: must not be empty, got []"),
    (("job.argv", "python job.py"), "job.argv: must be a list, got 'python job.py'"),
    (("job.argv", ["python", "job.py", "{momentum}"]), None),  # checked below: names the unknown parameter
    (("job.retries", -1), "job.retries: must be >= 0, got -1"),
    (("job.timeout", "-5s"), "job.timeout: must be a duration like 30, '90s', '15m' or '2h', got '-5s'"),
    (("job.env", {"1BAD": "x"}), "job.env: '1BAD' is not a valid environment variable name"),
    (("seed", -1), "seed: must be >= 0, got -1"),
    (("space", {}), "space: must declare at least one parameter"),
    (("executor.kind", "mainframe"), "executor.kind: unknown executor 'mainframe'; known: docker, local"),
    (("strategy.name", "simulated_annealing"), None),  # message owned by strategies: checked below
    (("space.lr.low", -1), None),  # message owned by space: checked below
    (("colour", "blue"), "colour: unknown field"),
]


@pytest.mark.parametrize("change,message", CASES, ids=[c[0][0] for c in CASES])
def test_each_bad_field_names_itself(change: tuple[str, Any], message: str | None) -> None:
    with pytest.raises(SpecError) as info:
        parse_study(_with(*change))
    text = str(info.value)
    assert "\n" not in text
    if message is not None:
        assert text == message
    else:
        assert text.startswith(change[0].rsplit(".", 1)[0] if change[0] != "job.argv" else "job.argv[2]")


def test_unknown_placeholder_names_the_element() -> None:
    with pytest.raises(SpecError) as info:
        parse_study(_with("job.argv", ["python", "job.py", "{momentum}"]))
    assert str(info.value).startswith("job.argv[2]:")
    assert "momentum" in str(info.value)


def test_good_spec_parses() -> None:
    spec = parse_study(GOOD)
    assert spec.parallelism == 1 and spec.strategy.name == "elitist" and spec.executor.kind == "local"


def test_cli_bad_file_one_line_exit_2_nothing_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(_with("budget.max_trials", -3)))
    code = main(["run", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err == "evotune: error: budget.max_trials: must be > 0, got -3\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study.yaml"]  # no database, no run folder


@pytest.mark.parametrize("text,fragment", [
    ("name: [unclosed", "not valid YAML: line 1"),
    ("", "the file is empty"),
    ("- just\n- a list\n", "study: must be a mapping of fields, got list"),
])
def test_cli_unreadable_files(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, fragment: str) -> None:
    path = tmp_path / "study.yaml"
    path.write_text(text)
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err and "Traceback" not in err


def test_cli_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", str(tmp_path / "nope.yaml")]) == 2
    assert capsys.readouterr().err.strip().endswith("nope.yaml: no such file")


def test_exponent_floats_without_a_dot_are_numbers(tmp_path: Path) -> None:
    from evotune.study import load_study

    path = tmp_path / "study.yaml"
    text = yaml.safe_dump(GOOD).replace("0.0001", "1e-4")
    assert "low: 1e-4" in text
    path.write_text(text)
    spec = load_study(path)
    assert spec.space["lr"]["low"] == 1e-4 and isinstance(spec.space["lr"]["low"], float)
