from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
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


# -- shared by the studies that need Docker or the evaluation service ------------------------

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits"
DIGITS_IMAGE = "evotune/digits:latest"
EVAL_TOKEN = "test-token-5c1e"


@pytest.fixture(scope="module")
def digits_image() -> str:
    """The example job image on a reachable engine; skipped without one, a failure when
    ``EVOTUNE_REQUIRE_DOCKER=1`` (CI)."""
    import os

    from evotune.errors import BackendUnavailable, ImageNotFound
    from evotune.executors._docker import DockerExecutor

    try:
        executor = DockerExecutor(image=DIGITS_IMAGE)
        executor.check()
        executor.close()
    except (BackendUnavailable, ImageNotFound) as exc:
        if os.environ.get("EVOTUNE_REQUIRE_DOCKER") == "1":
            pytest.fail(f"EVOTUNE_REQUIRE_DOCKER=1 but the Docker tests cannot run: {exc}")
        pytest.skip(f"no usable Docker engine or image: {exc}")
    return DIGITS_IMAGE


@pytest.fixture(scope="module")
def eval_service() -> Iterator[Any]:
    """A real evaluation service on a loopback port, holding the digits validation split."""
    from evotune.evaluation import BackgroundServer, ServiceSettings

    settings = ServiceSettings(datasets=("digits=sklearn:digits:validation",), token=EVAL_TOKEN,
                               timeout_s=60.0, max_concurrency=2)
    with BackgroundServer(settings) as server:
        yield server


@pytest.fixture
def assert_scored_by_service(eval_service: Any) -> Callable[[list[Any]], None]:
    """Check that trials were scored by the service, their own reports kept aside."""
    from evotune.evaluation import EvaluationClient

    def check(trials: list[Any]) -> None:
        client = EvaluationClient(eval_service.url, token=EVAL_TOKEN)
        for t in trials:
            assert t.metrics is not None and t.log_dir is not None
            # the trial's score is the service's accuracy on the validation rows...
            assert t.score == t.metrics["evaluation"]["scores"]["accuracy"]
            assert t.metrics["evaluation"]["rows"] == 899
            rescored = client.score(Path(t.log_dir) / "output" / "model.onnx", "digits", ["accuracy"])
            assert rescored.scores["accuracy"] == pytest.approx(t.score)
            # ...while the job's own cross-validated accuracy is kept beside it, never as the score
            assert 0.0 < t.metrics["reported"]["accuracy"] <= 1.0
            assert t.metrics["reported"]["accuracy"] != t.score
            assert "EVOTUNE_METRICS" in (Path(t.log_dir) / "stdout.log").read_text()

    return check
