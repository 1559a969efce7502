"""A study scored by a real evaluation service on loopback, its trials in containers."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from evotune.cli import main
from evotune.evaluation import BackgroundServer, EvaluationClient, ServiceSettings, load_split
from evotune.storage import get_storage
from evotune.study import load_study

pytestmark = [pytest.mark.docker, pytest.mark.slow]
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits"
IMAGE = "evotune/digits:latest"
TOKEN = "test-token-5c1e"


@pytest.fixture(scope="module", autouse=True)
def engine() -> None:
    from evotune.errors import BackendUnavailable, ImageNotFound
    from evotune.executors._docker import DockerExecutor

    try:
        executor = DockerExecutor(image=IMAGE)
        executor.check()
        executor.close()
    except (BackendUnavailable, ImageNotFound) as exc:
        if os.environ.get("EVOTUNE_REQUIRE_DOCKER") == "1":
            pytest.fail(f"EVOTUNE_REQUIRE_DOCKER=1 but the Docker tests cannot run: {exc}")
        pytest.skip(f"no usable Docker engine or image: {exc}")


@pytest.fixture(scope="module")
def service() -> Iterator[BackgroundServer]:
    settings = ServiceSettings(datasets=("digits=sklearn:digits:validation",), token=TOKEN,
                               timeout_s=60.0, max_concurrency=2)
    with BackgroundServer(settings) as server:
        yield server


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


def test_evaluation_example_runs_in_containers(service: BackgroundServer, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVOTUNE_EVAL_TOKEN", TOKEN)
    spec = yaml.safe_load((EXAMPLE / "study-evaluation-docker.yaml").read_text())
    assert spec["executor"]["network"] is False  # the controller, not the job, talks to the service
    spec["name"] = f"digits-evaluation-docker-{os.getpid()}"
    spec["objective"]["evaluation"]["url"] = service.url
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
    client = EvaluationClient(service.url, token=TOKEN)
    for t in trials:
        assert t.metrics is not None and t.log_dir is not None
        # the score is the service's accuracy on the validation rows, for the model the
        # container wrote into its mounted output folder...
        assert t.score == t.metrics["evaluation"]["scores"]["accuracy"]
        assert t.metrics["evaluation"]["rows"] == 899
        rescored = client.score(Path(t.log_dir) / "output" / "model.onnx", "digits", ["accuracy"])
        assert rescored.scores["accuracy"] == pytest.approx(t.score)
        # ...while the job's own cross-validated accuracy is kept beside it, never as the score
        assert 0.0 < t.metrics["reported"]["accuracy"] <= 1.0
        assert t.metrics["reported"]["accuracy"] != t.score
        assert "EVOTUNE_METRICS" in (Path(t.log_dir) / "stdout.log").read_text()
    assert _containers(spec["name"]) == []  # nothing left behind
