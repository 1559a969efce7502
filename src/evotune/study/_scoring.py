"""Score a finished job with the evaluation service (``objective.source: evaluation``).

The job's own reported metrics stay extra metrics; the service's score is the trial's score.
A missing model file or a model the service refuses is an objective failure of the trial; a
service that stays unreachable after the client's retries is an infrastructure failure, so the
trial is retried under the study's failure policy.
"""

from __future__ import annotations

import os
from typing import Any

from evotune.errors import EvaluationError, SpecError
from evotune.executors import JobSpec, JobState
from evotune.study._outcome import Outcome, Verdict, judge
from evotune.study._spec import StudySpec


def make_client(spec: StudySpec) -> Any:
    from evotune.evaluation import EvaluationClient

    ev = spec.objective.evaluation
    assert ev is not None
    token = ev.token or (os.environ.get(ev.token_env) if ev.token_env else None)
    if not token:
        raise SpecError("objective.evaluation.token",
                        f"no token: set it here or in the environment variable {ev.token_env}")
    return EvaluationClient(ev.url, token=token, timeout=ev.timeout, retries=ev.retries)


def score_with_service(spec: StudySpec, job: JobSpec, state: JobState, extra: dict[str, Any],
                       client: Any) -> Outcome:
    ev, metric = spec.objective.evaluation, spec.objective.metric
    assert ev is not None
    model = job.output_dir / ev.model_file
    if not model.is_file():
        return Outcome(Verdict.OBJECTIVE_FAILURE, None,
                       f"the job wrote no model file {ev.model_file!r} to its output folder", extra)
    try:
        result = client.score(model, ev.dataset, [metric])
    except EvaluationError as exc:
        verdict = Verdict.INFRA_FAILURE if getattr(exc, "transient", False) else Verdict.OBJECTIVE_FAILURE
        return Outcome(verdict, None, f"evaluation: {exc}", extra)
    scores = dict(result.scores)
    extra = dict(extra, evaluation={"scores": scores, "rows": result.rows,
                                    "inference_seconds": result.inference_seconds})
    return judge(state, scores.get(metric), metric, extra)
