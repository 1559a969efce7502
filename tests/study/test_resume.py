"""SIGKILL the controller at several points; the resumed study must equal an uninterrupted one."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evotune.storage import get_storage
from evotune.study import load_study, run_study

pytestmark = pytest.mark.slow


def _journal(path: Path) -> tuple[Any, Any]:
    spec = load_study(path)
    storage = get_storage(spec.storage_url)
    return storage, storage.get_study(spec.name)


def _event_count(path: Path) -> int:
    storage, study = _journal(path)
    if study is None:
        return 0
    n = sum(1 for _ in storage.events(study.id))
    storage.close()
    return n


def _controller(path: Path, command: str = "run") -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "evotune", command, str(path), "--plain"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _kill_after(path: Path, events: int, proc: subprocess.Popen[bytes]) -> bool:
    """SIGKILL ``proc`` once the journal holds ``events`` events; False if it ended first."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if _event_count(path) >= events:
            proc.kill()
            proc.wait()
            return True
        time.sleep(0.003)
    raise AssertionError("the controller made no progress for 60 s")


def _outcome(path: Path) -> list[tuple[int, dict[str, Any], str, float | None, int]]:
    storage, study = _journal(path)
    return [(t.number, t.config, t.state, t.score, t.generation) for t in storage.trials(study.id)]


def test_sigkill_at_many_points_then_resume_equals_uninterrupted_run(
        make_study: Callable[..., Path], tmp_path: Path) -> None:
    # patience ends this study after 9 trials: a resumed study must count trials without
    # improvement across its restarts, as the uninterrupted one does
    study = {"budget": {"max_trials": 14, "patience": 6}, "parallelism": 1,
             "strategy": {"name": "elitist", "population_size": 4, "elite_size": 1},
             "job": {"env": {"TOY_SLEEP": "0.15"}, "retries": 0}}
    reference = make_study(name="reference", **study)
    summary = run_study(load_study(reference))
    expected = _outcome(reference)
    assert len(expected) == 9 and summary.stop_reason == "no improvement in the last 6 trials"

    killed = make_study(name="killed", **study)
    kills = 0
    # Kill points spread over the whole journal: just after a start, mid-ask/submit, while a
    # job runs, right after a result, near the end.
    for point in (2, 5, 9, 14, 21, 26, 31, 35):
        proc = _controller(killed, "run" if kills == 0 else "resume")
        if _kill_after(killed, point, proc):
            kills += 1
    assert kills >= 6
    final = _controller(killed, "resume")
    out, _ = final.communicate(timeout=120)
    assert final.returncode == 0, out.decode()

    got = _outcome(killed)
    assert [(n, c, s, g) for n, c, s, _, g in got] == [(n, c, s, g) for n, c, s, _, g in expected]
    assert [sc for *_, sc, _ in got] == pytest.approx([sc for *_, sc, _ in expected])
    storage, rec = _journal(killed)
    results = [e.trial_number for e in storage.events(rec.id, kinds=["result"])]
    assert sorted(results) == list(range(9))  # each trial told exactly once


def test_ctrl_c_cancels_running_trials_and_resume_finishes(make_study: Callable[..., Path]) -> None:
    path = make_study(budget={"max_trials": 6}, parallelism=2, job={"env": {"TOY_SLEEP": "1.0"}})
    proc = _controller(path)
    deadline = time.monotonic() + 30
    storage, study = None, None
    while time.monotonic() < deadline:
        storage, study = _journal(path)
        if study is not None and any(True for _ in storage.events(study.id, kinds=["handle"])):
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 130, out.decode()
    storage, study = _journal(path)
    assert storage.get_study("toy").status == "interrupted"
    cancelled = [t for t in storage.trials(study.id) if t.state == "cancelled"]
    assert cancelled and all(t.reason.startswith("interrupted") for t in cancelled)

    resumed = _controller(path, "resume")
    out, _ = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, out.decode()
    trials = storage.trials(study.id)
    assert len(trials) == 6 and all(t.state == "succeeded" for t in trials)
