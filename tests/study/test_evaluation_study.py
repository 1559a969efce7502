"""A study scored by a real evaluation service on loopback, with the real digits job."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from evotune.cli import main
from evotune.storage import get_storage
from evotune.study import load_study

pytestmark = pytest.mark.slow
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits"
TOKEN = "test-token-5c1e"  # the eval_service fixture's (tests/study/conftest.py)


def _study(tmp_path: Path, url: str, **changes: Any) -> Path:
    spec = yaml.safe_load((EXAMPLE / "study-evaluation.yaml").read_text())
    spec["objective"]["evaluation"]["url"] = url
    spec["budget"] = {"max_trials": 4}
    spec["job"]["argv"][0] = sys.executable
    spec["job"]["workdir"] = str(EXAMPLE)
    spec.update(changes)
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_scores_come_from_the_service(eval_service: Any, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch,
                                      assert_scored_by_service: Any) -> None:
    monkeypatch.setenv("EVOTUNE_EVAL_TOKEN", TOKEN)
    path = _study(tmp_path, eval_service.url)
    assert main(["run", str(path), "--quiet"]) == 0
    spec = load_study(path)
    storage = get_storage(spec.storage_url)
    trials = storage.trials(storage.get_study(spec.name).id)
    assert len(trials) == 4 and all(t.state == "succeeded" for t in trials)
    assert_scored_by_service(trials)


def test_a_job_without_a_model_is_a_failed_evaluation(eval_service: Any, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVOTUNE_EVAL_TOKEN", TOKEN)
    path = _study(tmp_path, eval_service.url)
    spec = yaml.safe_load(path.read_text())
    spec["job"]["argv"].remove("--export-onnx")
    spec["budget"] = {"max_trials": 2}
    path.write_text(yaml.safe_dump(spec))
    assert main(["run", str(path), "--quiet"]) == 0
    loaded = load_study(path)
    storage = get_storage(loaded.storage_url)
    trials = storage.trials(storage.get_study(loaded.name).id)
    assert [t.state for t in trials] == ["failed", "failed"]
    assert all(t.attempts == 1 and "no model file 'model.onnx'" in t.reason for t in trials)


def test_a_corrupt_model_is_refused_and_fails_the_trial(eval_service: Any, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVOTUNE_EVAL_TOKEN", TOKEN)
    job = tmp_path / "job.py"
    job.write_text("import os, pickle\n"
                   "open(os.path.join(os.environ['EVOTUNE_OUTPUT_DIR'], 'model.onnx'), 'wb')"
                   ".write(pickle.dumps({'not': 'onnx'}))\n")
    path = _study(tmp_path, eval_service.url, job={"argv": [sys.executable, str(job)], "retries": 2})
    assert main(["run", str(path), "--quiet"]) == 0
    loaded = load_study(path)
    storage = get_storage(loaded.storage_url)
    trials = storage.trials(storage.get_study(loaded.name).id)
    assert all(t.state == "failed" and t.attempts == 1 and t.reason.startswith("evaluation:")
               for t in trials)


def test_wrong_token_stops_before_the_first_trial(eval_service: Any, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("EVOTUNE_EVAL_TOKEN", "wrong")
    path = _study(tmp_path, eval_service.url)
    assert main(["run", str(path), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("evotune: error: evaluation service") and err.count("\n") == 1
    assert not (tmp_path / "evotune.db").exists()


def test_unknown_dataset_is_a_spec_error(eval_service: Any, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("EVOTUNE_EVAL_TOKEN", TOKEN)
    path = _study(tmp_path, eval_service.url)
    spec = yaml.safe_load(path.read_text())
    spec["objective"]["evaluation"]["dataset"] = "mnist"
    path.write_text(yaml.safe_dump(spec))
    assert main(["run", str(path), "--quiet"]) == 2
    assert "objective.evaluation.dataset: the service at" in capsys.readouterr().err


def test_service_down_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("EVOTUNE_EVAL_TOKEN", TOKEN)
    path = _study(tmp_path, "http://127.0.0.1:9")
    spec = yaml.safe_load(path.read_text())
    spec["objective"]["evaluation"]["retries"] = 0
    path.write_text(yaml.safe_dump(spec))
    assert main(["run", str(path), "--quiet"]) == 1
    assert "evotune: error: evaluation service http://127.0.0.1:9" in capsys.readouterr().err




@pytest.mark.parametrize("change,message", [
    ({"metric": "rmse"}, "objective.metric: the service scores 'digits' (classification) with "
                         "accuracy, balanced_accuracy, f1_macro, roc_auc, log_loss; not 'rmse'"),
    ({"metric": "log_loss"}, "objective.direction: log_loss is better when smaller: use minimize"),
])
def test_metric_and_direction_are_checked_before_any_trial(eval_service: Any, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str],
                                                           change: dict[str, str], message: str) -> None:
    monkeypatch.setenv("EVOTUNE_EVAL_TOKEN", TOKEN)
    path = _study(tmp_path, eval_service.url)
    spec = yaml.safe_load(path.read_text())
    spec["objective"].update(change)
    path.write_text(yaml.safe_dump(spec))
    assert main(["run", str(path), "--quiet"]) == 2
    assert capsys.readouterr().err == f"evotune: error: {message}\n"
    assert not (tmp_path / "evotune.db").exists()
