from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

JOBS = Path(__file__).parent / "jobs"


@pytest.fixture
def make_study(tmp_path: Path) -> Callable[..., Path]:
    """Write a study file for the toy job into tmp_path and return its path."""

    def make(name: str = "toy", **overrides: Any) -> Path:
        spec: dict[str, Any] = {
            "name": name,
            "seed": 3,
            "space": {
                "x": {"type": "float", "low": 0.0, "high": 1.0},
                "lr": {"type": "float", "low": 1e-4, "high": 1.0, "log": True},
                "choice": {"type": "categorical", "choices": ["a", "b", "c"]},
            },
            "strategy": {"name": "elitist", "population_size": 4, "elite_size": 1},
            "objective": {"metric": "score", "direction": "maximize"},
            "budget": {"max_trials": 8},
            "parallelism": 2,
            "job": {"argv": [sys.executable, str(JOBS / "toy.py"), "--choice", "{choice}"],
                    "timeout": 30, "retries": 1, "env": {}},
        }
        for key, value in overrides.items():
            if isinstance(value, dict) and isinstance(spec.get(key), dict):
                spec[key] = {**spec[key], **value}
            else:
                spec[key] = value
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(spec, sort_keys=False))
        return path

    return make
