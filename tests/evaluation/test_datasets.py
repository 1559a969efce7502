"""Dataset sources and the fixed train/validation split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evotune.errors import EvaluationError
from evotune.evaluation import SKLEARN_DATASETS, ServiceSetupError, load_split
from evotune.evaluation._datasets import load_dataset, parse_dataset_arg


@pytest.mark.parametrize("name", sorted(SKLEARN_DATASETS))
def test_split_is_deterministic_disjoint_and_complete(name: str) -> None:
    X_train, y_train = load_split(name, "train")
    X_val, y_val = load_split(name, "validation")
    again, _ = load_split(name, "validation")
    np.testing.assert_array_equal(X_val, again)
    assert abs(len(X_train) - len(X_val)) <= 1
    # Together the halves are the whole dataset, each row once (iris has duplicate rows, so
    # compare as multisets rather than as sets).
    from sklearn import datasets

    full = getattr(datasets, f"load_{name}")()
    rows = sorted(map(tuple, np.column_stack([full.data, full.target]).tolist()))
    halves = np.vstack([np.column_stack([X_train, y_train]), np.column_stack([X_val, y_val])])
    assert sorted(map(tuple, halves.tolist())) == rows


def test_classification_split_is_stratified() -> None:
    _, y_train = load_split("digits", "train")
    _, y_val = load_split("digits", "validation")
    assert set(np.unique(y_train)) == set(np.unique(y_val)) == set(range(10))
    assert np.abs(np.bincount(y_train) - np.bincount(y_val)).max() <= 1


@pytest.mark.parametrize(
    ("name", "split"), [("mnist", "train"), ("digits", "test"), ("digits", "")]
)
def test_unknown_dataset_or_split_is_refused(name: str, split: str) -> None:
    with pytest.raises(ServiceSetupError):
        load_split(name, split)


def test_sklearn_source_and_its_task() -> None:
    digits = load_dataset("d", "sklearn:digits:validation")
    assert (digits.task, digits.features, digits.classes) == (
        "classification",
        64,
        tuple(range(10)),
    )
    assert load_dataset("r", "sklearn:diabetes:validation").task == "regression"


def test_npz_source_infers_task_and_accepts_a_declared_one(tmp_path: Path) -> None:
    path = tmp_path / "val.npz"
    rng = np.random.default_rng(0)
    np.savez(path, X=rng.normal(size=(30, 3)), y=np.arange(30) % 3)
    assert load_dataset("a", str(path)).task == "classification"
    assert load_dataset("b", f"{path}:task=regression").task == "regression"
    np.savez(path, X=rng.normal(size=(30, 3)), y=rng.normal(size=30))
    assert load_dataset("c", str(path)).task == "regression"


def test_npz_with_object_arrays_is_refused_without_unpickling(tmp_path: Path) -> None:
    path = tmp_path / "val.npz"
    np.savez(path, X=np.zeros((2, 2)), y=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(ServiceSetupError, match="cannot read"):
        load_dataset("a", str(path))


def test_csv_source_with_a_target_column(tmp_path: Path) -> None:
    path = tmp_path / "val.csv"
    path.write_text("f1,label,f2\n1.0,cat,2\n3,dog,4.5\n5,cat,6\n")
    data = load_dataset("pets", f"{path}:target=label")
    assert data.task == "classification" and data.classes == ("cat", "dog")
    np.testing.assert_array_equal(data.X, [[1, 2], [3, 4.5], [5, 6]])


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("digits", "NAME=SOURCE"),
        ("bad name=sklearn:digits:train", "name must be"),
        ("x=sklearn:digits", "sklearn:NAME:SPLIT"),
        ("x=data.parquet", "sklearn:..., .npz or .csv"),
        ("x=data.csv", "needs :target="),
        ("x=data.npz:target=y", "csv files only"),
        ("x=data.npz:task=ranking", "task must be"),
        ("x=data.npz:colour=red", "unknown option"),
        ("x=/nonexistent/val.npz", "cannot read"),
    ],
)
def test_bad_sources_give_one_line_errors(arg: str, message: str) -> None:
    with pytest.raises(ServiceSetupError, match=message) as info:
        load_dataset(*parse_dataset_arg(arg))
    assert isinstance(info.value, EvaluationError) and "\n" not in str(info.value)
