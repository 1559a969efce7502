"""The evaluation service and its client: score a trial's ONNX model on held-out data.

The training job is not trusted to grade itself. It writes its model as ONNX; the service
holds validation data the job never sees, runs the model in onnxruntime and returns the scores.

Importing this package is light: the client needs only httpx, and the server side (FastAPI,
uvicorn, onnxruntime, scikit-learn) is imported on first use of its names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evotune.evaluation._errors import (
    EvaluationFailure,
    ModelRejected,
    RequestRefused,
    ServiceSetupError,
    ServiceUnavailable,
)

if TYPE_CHECKING:
    from evotune.evaluation._app import ServiceSettings, create_app
    from evotune.evaluation._client import EvaluationClient, ScoreResult
    from evotune.evaluation._datasets import SKLEARN_DATASETS, SPLIT_SEED, Dataset, load_split
    from evotune.evaluation._scoring import METRIC_GOALS, METRICS
    from evotune.evaluation._serve import BackgroundServer, serve, serve_eval

__all__ = [
    "METRICS",
    "METRIC_GOALS",
    "SKLEARN_DATASETS",
    "SPLIT_SEED",
    "BackgroundServer",
    "Dataset",
    "EvaluationClient",
    "EvaluationFailure",
    "ModelRejected",
    "RequestRefused",
    "ScoreResult",
    "ServiceSettings",
    "ServiceSetupError",
    "ServiceUnavailable",
    "create_app",
    "load_split",
    "serve",
    "serve_eval",
]

_LAZY = {
    "BackgroundServer": "_serve",
    "Dataset": "_datasets",
    "EvaluationClient": "_client",
    "METRICS": "_scoring",
    "METRIC_GOALS": "_scoring",
    "SKLEARN_DATASETS": "_datasets",
    "SPLIT_SEED": "_datasets",
    "ScoreResult": "_client",
    "ServiceSettings": "_app",
    "create_app": "_app",
    "load_split": "_datasets",
    "serve": "_serve",
    "serve_eval": "_serve",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"evotune.evaluation.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
