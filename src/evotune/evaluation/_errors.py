"""Errors of the evaluation part, all under :class:`evotune.errors.EvaluationError`.

Every error carries ``transient``: ``True`` when trying the same request again later may
succeed (the service was down, overloaded or slow), ``False`` when it will fail the same way.
The controller retries a transient error as an infrastructure failure and tells the strategy a
:class:`ModelRejected` as a failed evaluation of the trial.
"""

from __future__ import annotations

from evotune.errors import EvaluationError

__all__ = [
    "EvaluationFailure",
    "ModelRejected",
    "RequestRefused",
    "ServiceSetupError",
    "ServiceUnavailable",
]


class EvaluationFailure(EvaluationError):
    """An evaluation request failed; ``status_code`` is the HTTP status, if one came back."""

    transient: bool = False

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        self.status_code = status_code
        super().__init__(message)


class ModelRejected(EvaluationFailure):
    """The service refused the model itself (not ONNX, wrong input width, too large, too slow).

    This is the trial's own fault: the same model would fail again. Not transient.
    """

    transient = False


class RequestRefused(EvaluationFailure):
    """The service refused the request for a reason that is not the model's fault.

    A bad or missing token (401), an unknown dataset (404), an unknown or inapplicable metric
    (400), or an error inside the service (500). Not transient: it is a setup problem that
    every trial would meet, so the study should stop rather than fail trials one by one.
    """

    transient = False


class ServiceUnavailable(EvaluationFailure):
    """The service could not be reached or stayed busy through every retry. Transient."""

    transient = True


class ServiceSetupError(EvaluationError, ValueError):
    """The evaluation service cannot start: a bad dataset source, no token, a bad limit."""
