"""Sanity checks of the utilization and throughput benchmarks' measurements (fast)."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import pytest
from bench.throughput import ideal_seconds, overhead_pct, trial_latency
from bench.utilization import (
    SleepExecutor,
    Span,
    VirtualClock,
    draw_durations,
    run_once,
    utilization,
    zero_overhead_makespan,
)

from evotune.storage import TrialRecord


def test_busy_fractions_of_a_hand_made_schedule() -> None:
    # Two workers over 10 s. Worker A: job 0 (submit 0, runs 4 s, seen at 5), job 2 (submit 5,
    # runs 5 s, seen at 10). Worker B: job 1 (submit 0, runs 2 s, seen at 2), then idle.
    spans = [Span(0, 0.0, 4.0, 5.0), Span(1, 0.0, 2.0, 2.0), Span(2, 5.0, 5.0, 10.0)]
    u = utilization(spans, workers=2)
    assert u["makespan"] == 10.0
    assert u["busy"] == pytest.approx((5 + 2 + 5) / 20)
    assert u["job"] == pytest.approx((4 + 2 + 5) / 20)
    # Until the last submit (t = 5): A busy 5 s, B busy 2 s, out of 2 x 5 s.
    assert u["busy_while_queued"] == pytest.approx(7 / 10)
    assert u["ideal"] == pytest.approx(max(11 / 2, 5.0))
    assert u["finish_over_ideal"] == pytest.approx(10 / 5.5)
    assert u["mean_detect"] == pytest.approx(1 / 3)


def test_time_before_the_first_submit_is_not_counted() -> None:
    u = utilization([Span(0, 100.0, 1.0, 101.0)], workers=1)
    assert u["makespan"] == 1.0 and u["busy"] == 1.0 and math.isnan(u["busy_while_queued"])


def test_utilization_refuses_an_unfinished_or_empty_schedule() -> None:
    with pytest.raises(ValueError):
        utilization([], workers=1)
    with pytest.raises(ValueError):
        utilization([Span(0, 0.0, 1.0, None)], workers=1)


def test_zero_overhead_schedules() -> None:
    d = [3.0, 1.0, 1.0, 1.0, 2.0]
    # Asynchronous on 2 workers: A runs 3; B runs 1, 1, 1 (ends 3); the 2 s job starts at 3.
    assert zero_overhead_makespan(d, 2, "asynchronous") == 5.0
    # Generational, 2 per generation: max(3, 1) + max(1, 1) + 2.
    assert zero_overhead_makespan(d, 2, "generational") == 6.0
    assert zero_overhead_makespan(d, 10, "asynchronous") == 3.0


def test_durations_are_lognormal_with_the_given_median_and_seeded() -> None:
    d = draw_durations(4000, 0.5, seed=3)
    assert d == draw_durations(4000, 0.5, seed=3)
    assert statistics.median(d) == pytest.approx(0.5, rel=0.1)
    assert statistics.stdev(math.log(x) for x in d) == pytest.approx(1.0, rel=0.05)


def test_sleep_executor_answers_on_its_clock(tmp_path: Path) -> None:
    from evotune.executors import JobSpec, JobStatus

    clock = VirtualClock()
    ex = SleepExecutor([2.0], clock)
    spec = JobSpec(
        study="s",
        trial_number=0,
        attempt=1,
        argv=("sleep",),
        env={"EVOTUNE_CONFIG": '{"x0": 0.7, "x1": 0.7, "x2": 0.7, "x3": 0.7}'},
        output_dir=tmp_path / "out",
        stdout_path=tmp_path / "stdout.log",
        stderr_path=tmp_path / "stderr.log",
    )
    handle = ex.submit(spec)
    assert ex.poll(handle).status is JobStatus.RUNNING
    clock.skipped += 2.0
    assert ex.poll(handle).status is JobStatus.SUCCEEDED
    assert spec.stdout_path.read_text() == 'EVOTUNE_METRICS {"score": -0.0}\n'  # the optimum


@pytest.mark.parametrize("schedule", ["asynchronous", "generational"])
def test_a_small_virtual_run_through_the_real_controller(tmp_path: Path, schedule: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import evotune.executors as executors

    # Registered for this test only: other tests list the executor kinds a user has.
    monkeypatch.setitem(executors._REGISTRY, "sleep", SleepExecutor)
    durations = draw_durations(24, 0.5, seed=1)
    row = run_once(4, 24, schedule, durations, "virtual", 1, tmp_path)
    assert row["trials"] == 24
    # The real controller can only be slower than the zero-overhead schedule.
    assert row["makespan"] >= row["zero_overhead_makespan"] * 0.999
    assert 0 < row["job"] <= row["busy"] <= 1


def test_throughput_ideal_and_overhead() -> None:
    assert ideal_seconds(10_000, 100, 1.0) == 100.0
    assert ideal_seconds(1001, 100, 1.0) == 11.0
    assert overhead_pct(103.0, 100.0) == pytest.approx(3.0)


def test_trial_latency_beyond_the_job() -> None:
    def rec(start: float | None, end: float | None) -> TrialRecord:
        return TrialRecord(
            number=0,
            candidate_id=0,
            generation=0,
            config={},
            vector=[],
            state="succeeded",
            score=1.0,
            reason=None,
            metrics=None,
            attempts=1,
            job_handle=None,
            log_dir=None,
            created_at=0.0,
            started_at=start,
            finished_at=end,
        )

    lat = trial_latency([rec(0.0, 1.1), rec(5.0, 6.3), rec(None, None)], job_seconds=1.0)
    assert lat["median"] == pytest.approx(0.2)
    assert lat["mean"] == pytest.approx(0.2)
