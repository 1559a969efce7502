"""What a finished job means for its trial: a score, a failed evaluation, or a retry.

Failures are data. An *infrastructure* failure (the job crashed or exited non-zero before
reporting a score, timed out, was killed or lost) is retried with the same configuration up
to ``job.retries``; an *objective* failure (the job ran, but its score is missing, NaN or
infinite, or its model was refused by the evaluation service) is told to the strategy as a
failed evaluation at once. Neither stops the study.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Any

from evotune.executors import JobState, JobStatus


class Verdict(str, Enum):
    SCORED = "scored"  # succeeded: tell the score
    OBJECTIVE_FAILURE = "objective"  # tell a failed evaluation, no retry
    INFRA_FAILURE = "infra"  # retry while attempts remain, then a failed evaluation


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    score: float | None
    reason: str | None
    metrics: dict[str, Any]


def judge(state: JobState, score: float | None, metric: str, metrics: dict[str, Any]) -> Outcome:
    """Classify a job that reached a final state, given the last reported value of ``metric``."""
    usable = score is not None and math.isfinite(score)
    if state.status is JobStatus.SUCCEEDED:
        if usable:
            return Outcome(Verdict.SCORED, score, None, metrics)
        why = f"no value reported for {metric!r}" if score is None else f"{metric} is {score}"
        return Outcome(Verdict.OBJECTIVE_FAILURE, None, why, metrics)
    reason = state.reason or state.status.value
    if state.status is JobStatus.FAILED and usable and reason.startswith("exit code"):
        # The job reported its score, then failed on the way out (say, in cleanup): the score
        # is the job's answer; the exit code is kept as a note.
        return Outcome(Verdict.SCORED, score, f"{reason} after reporting", metrics)
    return Outcome(Verdict.INFRA_FAILURE, None, reason, metrics)


def json_safe(values: dict[str, float]) -> dict[str, float | str]:
    """Metric values fit for any JSON store: NaN and infinities as the strings "nan", "inf"."""
    return {k: (v if math.isfinite(v) else str(v)) for k, v in values.items()}
