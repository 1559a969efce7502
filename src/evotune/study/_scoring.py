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


def check_service(spec: StudySpec) -> None:
    """Before the first trial: the service answers, the token is accepted, the dataset exists
    and serves the objective's metric. Raises :class:`EvaluationError` with one line."""
    ev = spec.objective.evaluation
    if spec.objective.source != "evaluation" or ev is None:
        return
    client = make_client(spec)
    try:
        datasets = {d["name"]: d for d in client.datasets()}
    except EvaluationError as exc:
        raise EvaluationError(f"evaluation service {ev.url}: {exc}") from None
    finally:
        client.close()
    if ev.dataset not in datasets:
        raise SpecError("objective.evaluation.dataset",
                        f"the service at {ev.url} has no dataset {ev.dataset!r}; it has: "
                        f"{', '.join(sorted(datasets)) or 'none'}")
    from evotune.evaluation import METRIC_GOALS, METRICS

    task, metric = datasets[ev.dataset].get("task"), spec.objective.metric
    known = METRICS.get(task, ())
    if metric not in known:
        raise SpecError("objective.metric", f"the service scores {ev.dataset!r} ({task}) with "
                                            f"{', '.join(known)}; not {metric!r}")
    wanted = "maximize" if METRIC_GOALS[metric] == "max" else "minimize"
    if spec.objective.direction != wanted:
        raise SpecError("objective.direction", f"{metric} is better when "
                                               f"{'larger' if wanted == 'maximize' else 'smaller'}: "
                                               f"use {wanted}")


def score_with_service(spec: StudySpec, job: JobSpec, state: JobState, extra: dict[str, Any],
                       client: Any) -> Outcome:
    ev, metric = spec.objective.evaluation, spec.objective.metric
    assert ev is not None
    model = job.output_dir / ev.model_file
    if not model.is_file():
        return Outcome(Verdict.OBJECTIVE_FAILURE, None,
                       f"the job wrote no model file {ev.model_file!r} to its output folder", extra)
    from evotune.evaluation import ModelRejected, ServiceUnavailable

    try:
        result = client.score(model, ev.dataset, [metric])
    except ModelRejected as exc:  # the trial's own fault: a failed evaluation
        return Outcome(Verdict.OBJECTIVE_FAILURE, None, f"evaluation: {exc}", extra)
    except ServiceUnavailable as exc:  # down or overloaded through every retry: run it again
        return Outcome(Verdict.INFRA_FAILURE, None, f"evaluation: {exc}", extra)
    except (KeyError, TypeError, ValueError) as exc:  # a reply that is not the service's form
        return Outcome(Verdict.INFRA_FAILURE, None, f"evaluation: unexpected reply ({exc!r})", extra)
    # Any other EvaluationError (a bad token, an unknown dataset or metric) is a setup fault
    # every trial would meet: it propagates and stops the study.
    scores = dict(result.scores)
    extra = dict(extra, evaluation={"scores": scores, "rows": result.rows,
                                    "inference_seconds": result.inference_seconds})
    return judge(state, scores.get(metric), metric, extra)
