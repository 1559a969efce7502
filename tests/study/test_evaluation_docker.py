"""A study scored by a real evaluation service on loopback, its trials in containers."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from evotune.cli import main
from evotune.evaluation import load_split
from evotune.storage import get_storage
from evotune.study import load_study

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.usefixtures("digits_image")]
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits"
IMAGE = "evotune/digits:latest"
TOKEN = "test-token-5c1e"  # the eval_service fixture's (tests/study/conftest.py)


def _containers(study: str) -> list[str]:
    out = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=evotune.study={study}"],
                         capture_output=True, text=True, check=True).stdout
    return out.split()


def test_the_image_trains_on_the_services_training_split() -> None:
    # The image's scikit-learn is Debian's, not the host's: the split must still be the same,
    # or a job would train on rows the service scores it on.
    code = ("import hashlib; from evotune.evaluation import load_split; "
            "X, y = load_split('digits', 'train'); "
            "print(hashlib.sha256(X.tobytes() + y.astype('int64').tobytes()).hexdigest())")
    out = subprocess.run(["docker", "run", "--rm", "--network", "none", IMAGE, "python", "-c", code],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    X, y = load_split("digits", "train")
    assert out.strip() == hashlib.sha256(X.tobytes() + y.astype("int64").tobytes()).hexdigest()


def test_evaluation_example_runs_in_containers(eval_service: Any, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               assert_scored_by_service: Any) -> None:
    monkeypatch.setenv("EVOTUNE_EVAL_TOKEN", TOKEN)
    spec = yaml.safe_load((EXAMPLE / "study-evaluation-docker.yaml").read_text())
    assert spec["executor"]["network"] is False  # the controller, not the job, talks to the service
    spec["name"] = f"digits-evaluation-docker-{os.getpid()}"
    spec["objective"]["evaluation"]["url"] = eval_service.url
    spec["budget"] = {"max_trials": 4}
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(spec))
    assert main(["run", str(path), "--quiet"]) == 0

    loaded = load_study(path)
    storage = get_storage(loaded.storage_url)
    study = storage.get_study(loaded.name)
    assert study is not None
    trials = storage.trials(study.id)
    assert len(trials) == 4 and all(t.state == "succeeded" for t in trials), [t.reason for t in trials]
    assert_scored_by_service(trials)
    assert _containers(spec["name"]) == []  # nothing left behind
