"""Score one ONNX model on one dataset: validate the bytes, run onnxruntime, compute metrics.

This module imports onnx, onnxruntime and scikit-learn. It runs inside a worker process of
the service (see ``_workers.py``), never in the controller.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from evotune.evaluation._datasets import Dataset, Task
from evotune.evaluation._errors import ModelRejected, RequestRefused

__all__ = [
    "METRICS",
    "METRIC_GOALS",
    "ScoreOutcome",
    "check_model_bytes",
    "resolve_metrics",
    "score_model",
]

#: Metrics by task, in the order a response lists them.
METRICS: dict[Task, tuple[str, ...]] = {
    "classification": ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "log_loss"),
    "regression": ("rmse", "mae", "r2"),
}
#: Whether a metric is better when larger ("max") or smaller ("min").
METRIC_GOALS: dict[str, str] = {
    "accuracy": "max",
    "balanced_accuracy": "max",
    "f1_macro": "max",
    "roc_auc": "max",
    "log_loss": "min",
    "rmse": "min",
    "mae": "min",
    "r2": "max",
}
_NEEDS_PROBABILITIES = frozenset({"roc_auc", "log_loss"})
_INPUT_DTYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64}
_PROBA_TOLERANCE = 1e-3


@dataclass(frozen=True)
class ScoreOutcome:
    """What scoring found: metric values (``None`` when not finite) and facts about the run."""

    scores: dict[str, float | None]
    rows: int
    inference_seconds: float
    input_name: str
    input_shape: list[int | str | None]
    input_type: str

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-safe dict (the worker sends it to the service as JSON)."""
        return asdict(self)


def resolve_metrics(task: Task, requested: Sequence[str] | None) -> tuple[str, ...] | None:
    """Check requested metric names against the task; ``None`` means all applicable.

    Raises :class:`RequestRefused` (status 400) for an unknown name or one that does not
    apply to the task.
    """
    if not requested:
        return None
    names = tuple(dict.fromkeys(n.strip() for item in requested for n in item.split(",")))
    names = tuple(n for n in names if n)
    for name in names:
        if name not in METRIC_GOALS:
            known = ", ".join(METRIC_GOALS)
            raise RequestRefused(f"unknown metric {name!r}; known: {known}", status_code=400)
        if name not in METRICS[task]:
            raise RequestRefused(f"metric {name!r} does not apply to {task}", status_code=400)
    return names or None


def check_model_bytes(model: bytes) -> None:
    """Refuse, by its first bytes, an upload that is plainly not an ONNX protobuf.

    Raises :class:`ModelRejected` with a message naming what the upload looks like.
    """
    if not model:
        raise ModelRejected(
            "empty upload: send the ONNX model as the request body", status_code=422
        )
    if model[:1] == b"\x80" and model[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        raise ModelRejected(
            "upload is a Python pickle; only ONNX models are accepted (a pickle runs code when loaded)",
            status_code=422,
        )
    if model[:4] == b"PK\x03\x04":
        raise ModelRejected(
            "upload is a zip archive (e.g. a PyTorch .pt file); only ONNX models are accepted",
            status_code=422,
        )


def score_model(model: bytes, dataset: Dataset, metrics: Sequence[str] | None) -> ScoreOutcome:
    """Validate ``model`` (ONNX bytes), run it on ``dataset`` and compute ``metrics``.

    ``metrics`` must already be checked by :func:`resolve_metrics`; ``None`` computes every
    metric that applies (ROC AUC and log loss only when the model gives probabilities).
    Never reads a file and never unpickles. Raises :class:`ModelRejected` (status 422) when
    the model is not valid ONNX, refers to external data, does not fit the dataset, fails
    at inference, gives non-finite outputs, or lacks the outputs a requested metric needs.
    """
    check_model_bytes(model)
    _check_onnx(model)
    session = _session(model)
    inputs = session.get_inputs()
    if len(inputs) != 1:
        names = ", ".join(i.name for i in inputs)
        raise _reject(f"model must have exactly one input, it has {len(inputs)}: {names}")
    spec = inputs[0]
    batch = _check_input(spec.name, spec.shape, spec.type, dataset)
    X = dataset.X.astype(_INPUT_DTYPES[spec.type])
    started = time.perf_counter()
    outputs = _run(session, spec.name, X, batch)
    seconds = time.perf_counter() - started
    types = [o.type for o in session.get_outputs()]
    if dataset.task == "classification":
        scores = _classification_scores(outputs, types, dataset, metrics)
    else:
        scores = _regression_scores(outputs, types, dataset, metrics)
    shape = [d if isinstance(d, (int, str)) else None for d in spec.shape]
    return ScoreOutcome(scores, dataset.rows, seconds, spec.name, shape, spec.type)


def _reject(message: str) -> ModelRejected:
    return ModelRejected(message, status_code=422)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def _check_onnx(model: bytes) -> None:
    import onnx
    from google.protobuf.message import DecodeError

    try:
        proto = onnx.load_model_from_string(model)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise _reject(f"upload is not an ONNX model: {_first_line(exc)}") from exc
    external = _external_tensor(proto)
    if external:
        raise _reject(f"model refers to external data (tensor {external!r}); embed all weights")
    if not proto.HasField("graph"):
        raise _reject("upload is not an ONNX model: it has no graph")
    try:
        onnx.checker.check_model(proto)
    except Exception as exc:  # the checker raises ValidationError and, on odd input, others
        raise _reject(f"ONNX checker refused the model: {_first_line(exc)}") from exc


def _external_tensor(proto: Any) -> str | None:
    """Return the name of a tensor stored outside the model, if any (in any subgraph)."""
    import onnx

    for tensor in _all_tensors(proto):
        if tensor.data_location == onnx.TensorProto.EXTERNAL or len(tensor.external_data):
            return str(tensor.name) or "(unnamed)"
    return None


def _all_tensors(proto: Any) -> Iterator[Any]:
    graphs = [proto.graph]
    for info in proto.training_info:
        graphs.extend((info.initialization, info.algorithm))
    nodes = [node for function in proto.functions for node in function.node]
    while graphs or nodes:
        if graphs:
            graph = graphs.pop()
            yield from graph.initializer
            for sparse in graph.sparse_initializer:
                yield sparse.values
                yield sparse.indices
            nodes.extend(graph.node)
            continue
        for attr in nodes.pop().attribute:
            if attr.HasField("t"):
                yield attr.t
            yield from attr.tensors
            if attr.HasField("sparse_tensor"):
                yield attr.sparse_tensor.values
                yield attr.sparse_tensor.indices
            for sparse in attr.sparse_tensors:
                yield sparse.values
                yield sparse.indices
            if attr.HasField("g"):
                graphs.append(attr.g)
            graphs.extend(attr.graphs)


def _session(model: bytes) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    # One thread per session: the service runs one worker process per concurrent request.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types, not a common base
        raise _reject(f"onnxruntime cannot load the model: {_first_line(exc)}") from exc


def _check_input(name: str, shape: Any, type_: str, dataset: Dataset) -> int | None:
    """Check the model input against the dataset; return a fixed batch size, if any."""
    if type_ not in _INPUT_DTYPES:
        raise _reject(f"model input {name!r} has type {type_}; expected tensor(float)")
    if not isinstance(shape, list) or len(shape) != 2:
        raise _reject(
            f"model input {name!r} has shape {shape}; expected [batch, {dataset.features}]"
        )
    width = shape[1]
    if isinstance(width, int) and width != dataset.features:
        raise _reject(
            f"model input {name!r} expects {width} features; "
            f"dataset {dataset.name} has {dataset.features}"
        )
    batch = shape[0]
    return batch if isinstance(batch, int) and batch > 0 else None


def _run(session: Any, name: str, X: npt.NDArray[Any], batch: int | None) -> list[Any]:
    """Run the model over all rows; a fixed batch size is served by padding the last batch."""
    try:
        if batch is None:
            return list(session.run(None, {name: X}))
        parts: list[list[Any]] = []
        for start in range(0, len(X), batch):
            chunk = X[start : start + batch]
            n = len(chunk)
            if n < batch:
                chunk = np.concatenate([chunk, np.repeat(chunk[-1:], batch - n, axis=0)])
            parts.append([out[:n] for out in session.run(None, {name: chunk})])
    except Exception as exc:  # onnxruntime's own exception types
        raise _reject(f"inference failed: {_first_line(exc)}") from exc
    return [_concat([p[i] for p in parts]) for i in range(len(parts[0]))]


def _concat(pieces: list[Any]) -> Any:
    if isinstance(pieces[0], list):
        return [item for piece in pieces for item in piece]
    return np.concatenate(pieces)


def _classification_scores(
    outputs: list[Any], types: list[str], dataset: Dataset, metrics: Sequence[str] | None
) -> dict[str, float | None]:
    from sklearn import metrics as skm

    proba = _probabilities(outputs, types, dataset)
    labels = _labels(outputs, types, dataset, proba)
    wanted = (
        list(metrics)
        if metrics
        else [
            m
            for m in METRICS["classification"]
            if proba is not None or m not in _NEEDS_PROBABILITIES
        ]
    )
    if proba is None and _NEEDS_PROBABILITIES.intersection(wanted):
        raise _reject("model gives no class probabilities; roc_auc and log_loss need them")
    y = dataset.y
    classes = list(dataset.classes)
    scores: dict[str, float | None] = {}
    for metric in wanted:
        if metric == "accuracy":
            value = skm.accuracy_score(y, labels)
        elif metric == "balanced_accuracy":
            value = skm.balanced_accuracy_score(y, labels)
        elif metric == "f1_macro":
            value = skm.f1_score(y, labels, average="macro", labels=classes, zero_division=0)
        elif metric == "roc_auc":
            assert proba is not None
            if len(classes) == 2:
                value = skm.roc_auc_score(y == classes[1], proba[:, 1])
            else:
                value = skm.roc_auc_score(y, proba, multi_class="ovr", labels=classes)
        else:
            assert metric == "log_loss" and proba is not None
            value = skm.log_loss(y, proba, labels=classes)
        scores[metric] = _finite(value)
    return scores


def _probabilities(
    outputs: list[Any], types: list[str], dataset: Dataset
) -> npt.NDArray[np.float64] | None:
    """Return class probabilities (rows x classes, in ``dataset.classes`` order) or None.

    A sequence of maps (skl2onnx's ZipMap) is read by key; a 2-D float tensor is read by
    column. Scores that are not a distribution (negative, or rows not summing to 1) are
    taken as logits and passed through a softmax. For two classes, a single float per row
    (shape [N] or [N, 1]) is the probability of the second class, or its logit.
    """
    n, k = dataset.rows, len(dataset.classes)
    for out, type_ in zip(outputs, types):
        if type_.startswith("seq(map("):
            try:
                matrix = np.array([[row[c] for c in dataset.classes] for row in out], dtype=float)
            except KeyError as exc:
                raise _reject(f"probability output lacks class {exc.args[0]!r}") from exc
            return _normalise(matrix, n)
    for out, type_ in zip(outputs, types):
        if type_ in ("tensor(float)", "tensor(double)") and np.ndim(out) == 2 and out.shape[1] > 1:
            if out.shape[1] != k:
                raise _reject(
                    f"probability output has {out.shape[1]} columns; "
                    f"dataset {dataset.name} has {k} classes"
                )
            return _normalise(np.asarray(out, dtype=np.float64), n)
    if k == 2:
        return _binary_probabilities(outputs, types, n)
    return None


def _binary_probabilities(
    outputs: list[Any], types: list[str], rows: int
) -> npt.NDArray[np.float64] | None:
    """Read one float per row as the probability of the second class (a logit if outside [0, 1])."""
    for out, type_ in zip(outputs, types):
        flat = np.ndim(out) == 1 or (np.ndim(out) == 2 and out.shape[1] == 1)
        if type_ in ("tensor(float)", "tensor(double)") and flat and np.size(out) == rows:
            p = np.asarray(out, dtype=np.float64).reshape(-1)
            if not np.all(np.isfinite(p)):
                raise _reject("probability output contains NaN or infinity")
            if np.any(p < 0) or np.any(p > 1):
                p = 1.0 / (1.0 + np.exp(-p))
            return np.column_stack([1.0 - p, p])
    return None


def _normalise(matrix: npt.NDArray[np.float64], rows: int) -> npt.NDArray[np.float64]:
    if matrix.shape[0] != rows:
        raise _reject(f"probability output has {matrix.shape[0]} rows; expected {rows}")
    if not np.all(np.isfinite(matrix)):
        raise _reject("probability output contains NaN or infinity")
    sums = matrix.sum(axis=1)
    if np.any(matrix < -_PROBA_TOLERANCE) or np.any(np.abs(sums - 1) > _PROBA_TOLERANCE):
        shifted = np.exp(matrix - matrix.max(axis=1, keepdims=True))
        return np.asarray(shifted / shifted.sum(axis=1, keepdims=True))
    matrix = np.clip(matrix, 0.0, None)
    # float32 rounding leaves sums a hair off 1, which scikit-learn's multiclass AUC refuses.
    return np.asarray(matrix / matrix.sum(axis=1, keepdims=True))


def _labels(
    outputs: list[Any],
    types: list[str],
    dataset: Dataset,
    proba: npt.NDArray[np.float64] | None,
) -> npt.NDArray[Any]:
    for out, type_ in zip(outputs, types):
        label_type = type_ in ("tensor(int64)", "tensor(int32)", "tensor(string)")
        if label_type and np.ndim(out) in (1, 2) and np.size(out) == dataset.rows:
            labels = np.asarray(out).reshape(-1)
            try:
                return labels.astype(dataset.y.dtype)
            except (ValueError, TypeError) as exc:
                raise _reject(f"label output does not match the dataset's labels: {exc}") from exc
    if proba is None:
        raise _reject("model gives neither class labels nor class probabilities")
    return np.asarray(np.asarray(dataset.classes)[np.argmax(proba, axis=1)])


def _regression_scores(
    outputs: list[Any], types: list[str], dataset: Dataset, metrics: Sequence[str] | None
) -> dict[str, float | None]:
    from sklearn import metrics as skm

    predictions = None
    for out, type_ in zip(outputs, types):
        if type_ in ("tensor(float)", "tensor(double)"):
            predictions = np.asarray(out, dtype=np.float64)
            break
    if predictions is None:
        raise _reject("model has no float output to read predictions from")
    if predictions.size != dataset.rows or predictions.ndim > 2:
        raise _reject(f"prediction output has shape {list(predictions.shape)}; expected [rows, 1]")
    predictions = predictions.reshape(-1)
    if not np.all(np.isfinite(predictions)):
        raise _reject("predictions contain NaN or infinity")
    y = dataset.y
    functions = {
        "rmse": skm.root_mean_squared_error,
        "mae": skm.mean_absolute_error,
        "r2": skm.r2_score,
    }
    return {m: _finite(functions[m](y, predictions)) for m in (metrics or METRICS["regression"])}


def _finite(value: Any) -> float | None:
    number = float(value)
    return number if np.isfinite(number) else None
