"""Validation datasets: where they come from, and the fixed train/validation split.

A dataset is named on the command line as ``NAME=SOURCE``. ``SOURCE`` is one of::

    sklearn:digits:validation          a split of a dataset bundled with scikit-learn
    path/to/val.npz[:task=TASK]        arrays ``X`` (rows x features) and ``y`` (rows)
    path/to/val.csv:target=COL[:task=TASK]
                                       a CSV with a header row; column COL is the target,
                                       every other column is a numeric feature

``TASK`` is ``classification`` or ``regression``. When it is not given, the task is inferred:
a string or boolean target, or an integer-valued target with at most 50 distinct values, is
classification; any other target is regression.

The bundled datasets are split once, deterministically, into two halves named ``train`` and
``validation`` (stratified by class for classification, seed :data:`SPLIT_SEED`). A training job
loads its half with :func:`load_split`; the service scores on the other half, which the job
never sees.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from evotune.evaluation._errors import ServiceSetupError

__all__ = [
    "SKLEARN_DATASETS",
    "SPLIT_SEED",
    "Dataset",
    "Task",
    "load_dataset",
    "load_split",
    "parse_dataset_arg",
]

Task = Literal["classification", "regression"]

#: The seed of the fixed train/validation split of the bundled datasets. Changing it changes
#: which rows are held out, so it never changes.
SPLIT_SEED = 0

#: Bundled scikit-learn datasets (no download needed) and their task.
SKLEARN_DATASETS: dict[str, Task] = {
    "breast_cancer": "classification",
    "diabetes": "regression",
    "digits": "classification",
    "iris": "classification",
    "wine": "classification",
}

_SPLITS = ("train", "validation")
_TASKS: tuple[Task, ...] = ("classification", "regression")
_MAX_CLASSES_INFERRED = 50
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class Dataset:
    """One validation dataset held by the service.

    ``X`` is float64 with shape (rows, features); ``y`` has one entry per row. For
    classification, ``classes`` lists the class labels in sorted order: a model's probability
    columns are read in this order.
    """

    name: str
    source: str
    task: Task
    X: npt.NDArray[np.float64]
    y: npt.NDArray[Any]
    classes: tuple[Any, ...] = field(default=())

    @property
    def rows(self) -> int:
        """Number of validation rows."""
        return int(self.X.shape[0])

    @property
    def features(self) -> int:
        """Number of feature columns a model's input must have."""
        return int(self.X.shape[1])


def load_split(name: str, split: str) -> tuple[npt.NDArray[np.float64], npt.NDArray[Any]]:
    """Return ``(X, y)`` of one half of a bundled scikit-learn dataset.

    ``name`` is a key of :data:`SKLEARN_DATASETS`, ``split`` is ``"train"`` or
    ``"validation"``. The split is the same on every machine and every call. Training jobs
    must load only ``"train"``. Raises :class:`ServiceSetupError` for an unknown name or split.
    """
    if name not in SKLEARN_DATASETS:
        known = ", ".join(sorted(SKLEARN_DATASETS))
        raise ServiceSetupError(f"unknown bundled dataset {name!r}; known: {known}")
    if split not in _SPLITS:
        raise ServiceSetupError(f"unknown split {split!r}; use 'train' or 'validation'")
    from sklearn import datasets as skdatasets
    from sklearn.model_selection import train_test_split

    bunch = getattr(skdatasets, f"load_{name}")()
    X = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target)
    stratify = y if SKLEARN_DATASETS[name] == "classification" else None
    X_train, X_val, y_train, y_val = train_test_split(
        X, y, test_size=0.5, random_state=SPLIT_SEED, stratify=stratify
    )
    return (X_train, y_train) if split == "train" else (X_val, y_val)


def parse_dataset_arg(arg: str) -> tuple[str, str]:
    """Split ``NAME=SOURCE`` into its name and source; raise :class:`ServiceSetupError`."""
    name, sep, source = arg.partition("=")
    if not sep or not source:
        raise ServiceSetupError(f"dataset {arg!r}: expected NAME=SOURCE")
    if not _NAME_RE.match(name):
        raise ServiceSetupError(
            f"dataset {arg!r}: name must be letters, digits, '_', '.', '-' (at most 64)"
        )
    return name, source


def load_dataset(name: str, source: str) -> Dataset:
    """Load the dataset ``source`` (syntax in the module docstring) under ``name``.

    Raises :class:`ServiceSetupError` with a one-line message when the source is malformed,
    missing, or its arrays are not usable (not 2-D, not numeric, not finite, mismatched rows).
    """
    if source.startswith("sklearn:"):
        parts = source.split(":")
        if len(parts) != 3:
            raise ServiceSetupError(f"dataset {name}: expected sklearn:NAME:SPLIT, got {source!r}")
        X, y = load_split(parts[1], parts[2])
        task: Task | None = SKLEARN_DATASETS[parts[1]]
    else:
        path, options = _split_options(name, source)
        task = _task_option(name, options)
        if path.suffix == ".npz":
            if "target" in options:
                raise ServiceSetupError(f"dataset {name}: target= applies to .csv files only")
            X, y = _read_npz(name, path)
        elif path.suffix == ".csv":
            if "target" not in options:
                raise ServiceSetupError(f"dataset {name}: a .csv source needs :target=COLUMN")
            X, y = _read_csv(name, path, options["target"])
        else:
            raise ServiceSetupError(f"dataset {name}: source must be sklearn:..., .npz or .csv")
    return _build(name, source, X, y, task)


def _split_options(name: str, source: str) -> tuple[Path, dict[str, str]]:
    parts = source.split(":")
    options: dict[str, str] = {}
    while len(parts) > 1 and "=" in parts[-1]:
        key, _, value = parts.pop().partition("=")
        if key not in ("target", "task"):
            raise ServiceSetupError(f"dataset {name}: unknown option {key!r}; use target or task")
        options[key] = value
    return Path(":".join(parts)), options


def _task_option(name: str, options: dict[str, str]) -> Task | None:
    task = options.get("task")
    if task is None:
        return None
    for known in _TASKS:
        if task == known:
            return known
    raise ServiceSetupError(f"dataset {name}: task must be classification or regression")


def _read_npz(name: str, path: Path) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    try:
        # allow_pickle=False: an object array inside the .npz would otherwise run code.
        with np.load(path, allow_pickle=False) as archive:
            if "X" not in archive or "y" not in archive:
                raise ServiceSetupError(f"dataset {name}: {path} must hold arrays X and y")
            return np.asarray(archive["X"]), np.asarray(archive["y"])
    except (OSError, ValueError) as exc:
        raise ServiceSetupError(f"dataset {name}: cannot read {path}: {exc}") from exc


def _read_csv(name: str, path: Path, target: str) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    try:
        with path.open(newline="") as handle:
            rows = list(csv.reader(handle))
    except OSError as exc:
        raise ServiceSetupError(f"dataset {name}: cannot read {path}: {exc}") from exc
    if not rows or target not in rows[0]:
        raise ServiceSetupError(f"dataset {name}: {path} has no column {target!r}")
    col = rows[0].index(target)
    body = [row for row in rows[1:] if row]
    try:
        X = np.array([[float(v) for i, v in enumerate(r) if i != col] for r in body])
    except ValueError as exc:
        raise ServiceSetupError(f"dataset {name}: non-numeric feature in {path}: {exc}") from exc
    labels = [r[col] for r in body]
    try:
        y: npt.NDArray[Any] = np.array([float(v) for v in labels])
    except ValueError:
        y = np.array(labels)
    return X, y


def _infer_task(y: npt.NDArray[Any]) -> Task:
    if y.dtype.kind in "USOb":
        return "classification"
    integral = y.dtype.kind in "iu" or bool(np.all(np.mod(y, 1) == 0))
    if integral and len(np.unique(y)) <= _MAX_CLASSES_INFERRED:
        return "classification"
    return "regression"


def _build(
    name: str, source: str, X: npt.NDArray[Any], y: npt.NDArray[Any], task: Task | None
) -> Dataset:
    if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0] or X.shape[0] == 0:
        raise ServiceSetupError(
            f"dataset {name}: need X of shape (rows, features) and y of shape (rows,), "
            f"got {X.shape} and {y.shape}"
        )
    if X.dtype.kind not in "iufb":
        raise ServiceSetupError(f"dataset {name}: features must be numeric, got {X.dtype}")
    X = X.astype(np.float64)
    if not np.all(np.isfinite(X)):
        raise ServiceSetupError(f"dataset {name}: features contain NaN or infinity")
    task = task or _infer_task(y)
    if task == "regression":
        if y.dtype.kind not in "iuf":
            raise ServiceSetupError(f"dataset {name}: a regression target must be numeric")
        return Dataset(name, source, task, X, y.astype(np.float64))
    if y.dtype.kind == "f":
        if not np.all(np.mod(y, 1) == 0):
            raise ServiceSetupError(f"dataset {name}: class labels must be integers or strings")
        y = y.astype(np.int64)
    classes = tuple(np.unique(y).tolist())
    if len(classes) < 2:
        raise ServiceSetupError(f"dataset {name}: classification needs at least 2 classes")
    return Dataset(name, source, task, X, y, classes)
