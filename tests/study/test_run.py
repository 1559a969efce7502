"""A study end to end with real subprocess jobs, the local executor and SQLite storage."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evotune.cli import main
from evotune.storage import get_storage
from evotune.study import load_study, run_study


def _trials(path: Path) -> list[Any]:
    spec = load_study(path)
    storage = get_storage(spec.storage_url)
    study = storage.get_study(spec.name)
    assert study is not None
    return storage.trials(study.id)


def _events(path: Path) -> list[Any]:
    spec = load_study(path)
    storage = get_storage(spec.storage_url)
    study = storage.get_study(spec.name)
    assert study is not None
    return list(storage.events(study.id))


def test_study_runs_to_its_budget(make_study: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    path = make_study(budget={"max_trials": 10}, parallelism=3)
    assert main(["run", str(path), "--plain"]) == 0
    out = capsys.readouterr().out
    trials = _trials(path)
    assert len(trials) == 10
    assert all(t.state == "succeeded" and t.attempts == 1 for t in trials)
    best = max(trials, key=lambda t: t.score)
    assert f"best score: {best.score:.6g} (trial {best.number})" in out
    assert "trial 9 " in out or "trial 9 score" in out
    # every trial has its own folder with logs and the job's outputs
    for t in trials:
        folder = Path(t.log_dir)
        assert (folder / "stdout.log").read_text().count("EVOTUNE_METRICS") == 2
        env = json.loads((folder / "output" / "env.json").read_text())
        assert json.loads(env["EVOTUNE_CONFIG"]) == t.config
        assert env["EVOTUNE_TRIAL_ID"] == str(t.number) and env["EVOTUNE_STUDY"] == "toy"
        assert Path(env["EVOTUNE_OUTPUT_DIR"]) == folder / "output"
        assert t.metrics["reported"]["score"] == pytest.approx(t.score)
    # the last reported value is the score, not the intermediate one
    assert all(t.score > 0.5 * t.score or t.score < 0 for t in trials)
    # the journal holds one ask, one submit, one handle and one result per trial
    kinds = [e.kind for e in _events(path)]
    for kind in ("ask", "submit", "handle", "result"):
        assert kinds.count(kind) == 10


def test_cli_status_best_trials(make_study: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    path = make_study(budget={"max_trials": 5})
    assert main(["run", str(path), "--quiet"]) == 0
    capsys.readouterr()
    trials = _trials(path)
    best = max(trials, key=lambda t: t.score)

    assert main(["best", str(path)]) == 0
    assert json.loads(capsys.readouterr().out) == best.config

    assert main(["trials", str(path), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [t["number"] for t in data["trials"]] == [0, 1, 2, 3, 4]
    assert data["trials"][best.number]["score"] == best.score

    assert main(["trials", str(path), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 5 and float(rows[best.number]["score"]) == best.score
    assert {"x", "lr", "choice"} <= set(rows[0])

    assert main(["status", str(path)]) == 0
    out = capsys.readouterr().out
    assert "succeeded 5" in out and f"{best.score:.6g}" in out

    assert main(["trials", str(path), "--format", "xml"]) == 2


def test_best_with_no_success_exits_3(make_study: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    path = make_study(budget={"max_trials": 2}, job={"env": {"TOY_BEHAVIOUR": "silent"}})
    assert main(["run", str(path), "--quiet"]) == 0
    assert main(["best", str(path)]) == 3
    assert "no successful trial" in capsys.readouterr().err


def test_argv_values_reach_the_job_unchanged(make_study: Callable[..., Path]) -> None:
    nasty = "a; rm -rf ~ $(x) `id` | cat > /tmp/evotune-pwned \"'"
    path = make_study(space={"choice": {"type": "categorical", "choices": [nasty]},
                             "x": {"type": "float", "low": 0.0, "high": 1.0}},
                      budget={"max_trials": 1})
    assert main(["run", str(path), "--quiet"]) == 0
    (t,) = _trials(path)
    argv = json.loads((Path(t.log_dir) / "output" / "argv.json").read_text())
    assert argv == ["--choice", nasty]
    assert not Path("/tmp/evotune-pwned").exists()


def test_crashing_job_is_retried_then_failed(make_study: Callable[..., Path]) -> None:
    path = make_study(budget={"max_trials": 2}, job={"env": {"TOY_BEHAVIOUR": "crash"}, "retries": 2})
    assert main(["run", str(path), "--quiet"]) == 0
    trials = _trials(path)
    assert [t.state for t in trials] == ["failed", "failed"]
    assert all(t.attempts == 3 and t.reason == "exit code 3 (attempt 3)" for t in trials)
    assert "about to crash" in (Path(trials[0].log_dir) / "stderr.log").read_text()
    assert [e.kind for e in _events(path)].count("retry") == 4


def test_hanging_job_hits_its_timeout(make_study: Callable[..., Path]) -> None:
    path = make_study(budget={"max_trials": 1}, job={"env": {"TOY_BEHAVIOUR": "hang"}, "timeout": 1, "retries": 1})
    assert main(["run", str(path), "--quiet"]) == 0
    (t,) = _trials(path)
    assert t.state == "failed" and t.attempts == 2 and t.reason == "timeout (attempt 2)"


def test_nan_score_is_a_failed_evaluation_not_retried(make_study: Callable[..., Path]) -> None:
    path = make_study(budget={"max_trials": 3}, job={"env": {"TOY_BEHAVIOUR": "nan"}, "retries": 3})
    assert main(["run", str(path), "--quiet"]) == 0
    trials = _trials(path)
    assert all(t.state == "failed" and t.attempts == 1 and t.reason == "score is nan" for t in trials)


def test_flaky_job_succeeds_on_retry(make_study: Callable[..., Path], tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    path = make_study(budget={"max_trials": 3},
                      job={"env": {"TOY_BEHAVIOUR": "flaky", "TOY_MARKERS": str(markers)}, "retries": 1})
    assert main(["run", str(path), "--quiet"]) == 0
    trials = _trials(path)
    assert all(t.state == "succeeded" and t.attempts == 2 for t in trials)


def test_target_stops_the_study(make_study: Callable[..., Path]) -> None:
    path = make_study(budget={"max_trials": 40, "target": 0.0}, parallelism=1)
    summary = run_study(load_study(path))
    assert summary.stop_reason is not None and summary.stop_reason.startswith("target reached")
    assert len([t for t in summary.trials if t.state == "succeeded"]) == 1


def test_generational_schedule_waits_for_each_generation(make_study: Callable[..., Path]) -> None:
    path = make_study(budget={"max_trials": 12}, parallelism=3, schedule="generational",
                      strategy={"name": "elitist", "population_size": 4, "elite_size": 1})
    summary = run_study(load_study(path))
    trials = summary.trials
    assert len(trials) == 12 and all(t.state == "succeeded" for t in trials)
    # no trial of generation g+1 starts before every trial of generation g has finished
    for t in trials:
        earlier = [u for u in trials if u.generation < t.generation]
        assert all(u.finished_at <= t.started_at for u in earlier)
    # population 4 with 1 elite kept (not re-run): 4 new trials, then 3 per generation
    sizes = [sum(1 for t in trials if t.generation == g) for g in range(4)]
    assert sizes == [4, 3, 3, 2]


def test_run_again_resumes_and_extends_the_budget(make_study: Callable[..., Path]) -> None:
    path = make_study(budget={"max_trials": 4})
    assert main(["run", str(path), "--quiet"]) == 0
    first = _trials(path)
    path2 = make_study(budget={"max_trials": 7})
    assert path2 == path
    assert main(["run", str(path), "--quiet"]) == 0
    trials = _trials(path)
    assert len(trials) == 7 and [t.config for t in trials[:4]] == [t.config for t in first]


def test_changed_space_is_refused(make_study: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    path = make_study(budget={"max_trials": 2})
    assert main(["run", str(path), "--quiet"]) == 0
    make_study(budget={"max_trials": 2}, space={"x": {"type": "float", "low": 0.0, "high": 2.0}})
    assert main(["run", str(path), "--quiet"]) == 1
    assert "with a different 'space'" in capsys.readouterr().err


def test_resume_of_unknown_study(make_study: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    path = make_study()
    assert main(["resume", str(path)]) == 1
    assert "no study named 'toy'" in capsys.readouterr().err


def test_a_second_controller_on_a_running_study_is_refused(make_study: Callable[..., Path],
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    import subprocess
    import sys
    import time

    path = make_study(budget={"max_trials": 4}, parallelism=1, job={"env": {"TOY_SLEEP": "1.0"}})
    first = subprocess.Popen([sys.executable, "-m", "evotune", "run", str(path), "--plain"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not ((path.parent / "evotune.db").exists()
                   and any(e.kind == "handle" for e in _events_or_none(path))):
            assert time.monotonic() < deadline, "the first controller did not start a trial"
            assert first.poll() is None, "the first controller ended early"
            time.sleep(0.05)
        assert main(["run", str(path), "--quiet"]) == 1
        assert f"being run by another controller (pid {first.pid}" in capsys.readouterr().err
    finally:
        first.kill()
        first.wait()
    # once the first controller is gone (even killed), the study resumes
    assert main(["resume", str(path), "--quiet"]) == 0
    assert len(_trials(path)) == 4


def _events_or_none(path: Path) -> list[Any]:
    spec = load_study(path)
    storage = get_storage(spec.storage_url)
    study = storage.get_study(spec.name)
    return [] if study is None else list(storage.events(study.id))


def test_a_cancel_does_not_use_up_a_retry(make_study: Callable[..., Path], tmp_path: Path) -> None:
    """Ctrl-C during a flaky job's first attempt, then resume: the job still gets its retry."""
    import signal
    import subprocess
    import sys
    import time

    markers = tmp_path / "markers"
    markers.mkdir()
    path = make_study(budget={"max_trials": 1}, parallelism=1,
                      job={"env": {"TOY_BEHAVIOUR": "flaky", "TOY_MARKERS": str(markers),
                                   "TOY_SLEEP": "1.5"}, "retries": 1})
    first = subprocess.Popen([sys.executable, "-m", "evotune", "run", str(path), "--plain"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not ((path.parent / "evotune.db").exists()
               and any(e.kind == "handle" for e in _events_or_none(path))):
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.05)
    first.send_signal(signal.SIGINT)  # cancels attempt 1 before it could fail
    assert first.wait(timeout=60) == 130
    assert main(["resume", str(path), "--quiet"]) == 0
    (t,) = _trials(path)
    # attempt 2 fails (its first real run), attempt 3 succeeds: one retry, as promised
    assert t.state == "succeeded" and t.attempts == 3, t.reason


def test_nan_metrics_are_stored_as_valid_json(make_study: Callable[..., Path],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = make_study(budget={"max_trials": 1}, job={"env": {"TOY_BEHAVIOUR": "nan"}})
    assert main(["run", str(path), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["trials", str(path), "--format", "json"]) == 0

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")

    data = json.loads(capsys.readouterr().out, parse_constant=refuse)
    assert data["trials"][0]["metrics"]["reported"]["score"] == "nan"


def test_unwritable_runs_dir_is_one_line_and_writes_nothing(make_study: Callable[..., Path],
                                                            tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    path = make_study(runs_dir=str(blocker / "runs"))
    assert main(["run", str(path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("evotune: error: runs_dir: cannot create") and err.count("\n") == 1
    assert not (path.parent / "evotune.db").exists()


def test_status_of_a_study_never_run_is_one_line_and_creates_nothing(
        make_study: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    path = make_study()
    assert main(["status", str(path)]) == 1
    assert "no study named 'toy'" in capsys.readouterr().err
    assert not (path.parent / "evotune.db").exists()
