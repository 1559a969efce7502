"""Studies whose trials are containers on the real Docker engine."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from evotune.cli import main
from evotune.storage import get_storage
from evotune.study import load_study

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.usefixtures("digits_image")]
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits"
IMAGE = "evotune/digits:latest"


def _containers(study: str) -> list[str]:
    out = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=evotune.study={study}"],
                         capture_output=True, text=True, check=True).stdout
    return out.split()


def _trials(path: Path) -> tuple[list[Any], list[Any]]:
    spec = load_study(path)
    storage = get_storage(spec.storage_url)
    study = storage.get_study(spec.name)
    return storage.trials(study.id), list(storage.events(study.id))


def test_digits_example_runs_unchanged_in_containers(tmp_path: Path) -> None:
    spec = yaml.safe_load((EXAMPLE / "study-docker.yaml").read_text())
    spec["name"] = f"digits-docker-{os.getpid()}"
    spec["budget"] = {"max_trials": 16}
    spec["parallelism"] = 4
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(spec))
    assert main(["run", str(path), "--quiet"]) == 0
    trials, _ = _trials(path)
    assert len(trials) == 16 and all(t.state == "succeeded" for t in trials), [t.reason for t in trials]
    assert all(0.0 < t.score <= 1.0 for t in trials) and max(t.score for t in trials) > 0.9
    # several containers ran at once
    overlap = max(sum(1 for u in trials if u.started_at <= t.started_at < u.finished_at) for t in trials)
    assert overlap >= 2
    # the same metric lines and logs as a local process
    assert all("EVOTUNE_METRICS" in (Path(t.log_dir) / "stdout.log").read_text() for t in trials)
    assert _containers(spec["name"]) == []  # nothing left behind


def test_resume_reattaches_to_running_containers_instead_of_rerunning(tmp_path: Path) -> None:
    name = f"reattach-{os.getpid()}"
    code = ("import json, os, time; from evotune.trial import report; "
            "c = json.loads(os.environ['EVOTUNE_CONFIG']); time.sleep(4); report(score=-(c['x'] - 0.3) ** 2)")
    spec = {"name": name, "seed": 1, "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
            "objective": {"metric": "score", "direction": "maximize"}, "budget": {"max_trials": 3},
            "parallelism": 3, "job": {"argv": ["python3", "-c", code], "retries": 0},
            "executor": {"kind": "docker", "image": IMAGE}}
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(spec))
    proc = subprocess.Popen([sys.executable, "-m", "evotune", "run", str(path), "--plain"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        storage = get_storage(load_study(path).storage_url)
        study = storage.get_study(name)
        if study is not None and sum(e.kind == "handle" for e in storage.events(study.id)) == 3:
            break
        time.sleep(0.1)
    proc.kill()
    proc.wait()
    assert len(_containers(name)) == 3  # the containers outlive their controller

    assert main(["resume", str(path), "--quiet"]) == 0
    trials, events = _trials(path)
    assert all(t.state == "succeeded" and t.attempts == 1 for t in trials)
    assert sum(e.kind == "submit" for e in events) == 3  # waited for them, ran none again
    assert _containers(name) == []
