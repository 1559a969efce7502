"""The environment a job sees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evotune.errors import SpecError
from evotune.trial import build_env


def test_env_holds_exactly_the_contract_and_extra(tmp_path: Path) -> None:
    config = {"lr": 0.001, "act": "relu", "layers": [1, 2]}
    env = build_env(
        config=config,
        study="s1",
        trial_number=7,
        seed=42,
        output_dir=tmp_path / "out",
        extra={"OMP_NUM_THREADS": 1, "MODE": "fast"},
    )
    assert env == {
        "EVOTUNE_CONFIG": json.dumps(config, separators=(",", ":")),
        "EVOTUNE_TRIAL_ID": "7",
        "EVOTUNE_STUDY": "s1",
        "EVOTUNE_SEED": "42",
        "EVOTUNE_OUTPUT_DIR": str(tmp_path / "out"),
        "OMP_NUM_THREADS": "1",
        "MODE": "fast",
    }
    assert json.loads(env["EVOTUNE_CONFIG"]) == config


def test_output_dir_is_made_absolute_and_objective_is_optional(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = build_env(
        config={}, study="s", trial_number=0, seed=1, output_dir=Path("rel"), objective="acc"
    )
    assert env["EVOTUNE_OUTPUT_DIR"] == str(tmp_path / "rel")
    assert env["EVOTUNE_OBJECTIVE"] == "acc"
    assert env["EVOTUNE_CONFIG"] == "{}"


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        ({"EVOTUNE_SEED": "1"}, "job.env.EVOTUNE_SEED"),
        ({"A=B": "1"}, "job.env.A=B"),
        ({"X": [1]}, "job.env.X"),
        ({"X": None}, "job.env.X"),
    ],
)
def test_bad_extra_env_is_a_spec_error(extra: dict[str, object], path: str) -> None:
    with pytest.raises(SpecError) as info:
        build_env(config={}, study="s", trial_number=0, seed=1, output_dir=Path("/o"), extra=extra)
    assert info.value.path == path
