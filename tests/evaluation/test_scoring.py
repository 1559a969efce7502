"""Scoring in-process: what the service accepts, what it refuses, how it reads outputs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn import metrics as skm

from evotune.evaluation import ModelRejected, RequestRefused, load_split
from evotune.evaluation._datasets import Dataset, load_dataset
from evotune.evaluation._scoring import resolve_metrics, score_model


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_dataset("digits", "sklearn:digits:validation")


def _linear_onnx(clf: Any, batch: int | None, softmax: bool) -> bytes:
    """A hand-built linear model (no skl2onnx): X @ W + b, optionally through Softmax."""
    from onnx import TensorProto, helper, numpy_helper

    weights = numpy_helper.from_array(clf.coef_.T.astype(np.float32), "W")
    bias = numpy_helper.from_array(clf.intercept_.astype(np.float32), "B")
    nodes = [
        helper.make_node("MatMul", ["X", "W"], ["XW"]),
        helper.make_node("Add", ["XW", "B"], ["Z"]),
    ]
    out = "Z"
    if softmax:
        nodes.append(helper.make_node("Softmax", ["Z"], ["P"], axis=1))
        out = "P"
    graph = helper.make_graph(
        nodes,
        "linear",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [batch, 64])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, [batch, 10])],
        [weights, bias],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return bytes(model.SerializeToString())


def test_tensor_and_zipmap_probabilities_give_the_same_scores(
    digits: Dataset, digits_onnx: bytes, digits_onnx_zipmap: bytes
) -> None:
    a = score_model(digits_onnx, digits, None)
    b = score_model(digits_onnx_zipmap, digits, None)
    assert a.scores.keys() == {"accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "log_loss"}
    assert a.scores == pytest.approx(b.scores)


@pytest.mark.parametrize(("batch", "softmax"), [(None, True), (1, True), (7, False)])
def test_probability_only_models_fixed_batches_and_logits(
    digits: Dataset, digits_classifier: Any, batch: int | None, softmax: bool
) -> None:
    outcome = score_model(_linear_onnx(digits_classifier, batch, softmax), digits, None)
    proba = digits_classifier.predict_proba(digits.X)
    assert outcome.rows == 899 and outcome.input_shape == [batch, 64]
    assert outcome.scores["accuracy"] == pytest.approx(
        skm.accuracy_score(digits.y, digits_classifier.predict(digits.X)), abs=2e-3
    )
    assert outcome.scores["log_loss"] == pytest.approx(skm.log_loss(digits.y, proba), rel=1e-3)


@pytest.mark.parametrize("where", ["initializer", "constant node"])
def test_model_with_external_data_is_refused_before_anything_reads_it(
    digits: Dataset, digits_classifier: Any, where: str
) -> None:
    import onnx
    from onnx import helper

    model = onnx.load_model_from_string(_linear_onnx(digits_classifier, None, True))
    if where == "initializer":
        tensor = model.graph.initializer[0]
    else:
        unused = helper.make_tensor("C", onnx.TensorProto.FLOAT, [1], [0.0])
        model.graph.node.append(helper.make_node("Constant", [], ["unused"], value=unused))
        tensor = model.graph.node[-1].attribute[0].t
    tensor.ClearField("raw_data")
    tensor.ClearField("float_data")
    tensor.data_location = onnx.TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "/etc/passwd"
    with pytest.raises(ModelRejected, match="external data"):
        score_model(model.SerializeToString(), digits, None)


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (b"", "empty upload"),
        (b"\x80\x04\x95\x00", "Python pickle"),
        (b"PK\x03\x04rest", "zip archive"),
        (b"\x08\x07", "no graph"),
        (b"\xff\xff\xff\xff", "not an ONNX model"),
    ],
)
def test_uploads_that_are_not_onnx_are_refused(
    digits: Dataset, upload: bytes, message: str
) -> None:
    with pytest.raises(ModelRejected, match=message):
        score_model(upload, digits, None)


def test_regression_metrics_match_scikit_learn(
    diabetes_onnx: bytes, diabetes_regressor: Any
) -> None:
    data = load_dataset("diabetes", "sklearn:diabetes:validation")
    outcome = score_model(diabetes_onnx, data, ["r2", "rmse"])
    predicted = diabetes_regressor.predict(data.X)
    assert list(outcome.scores) == ["r2", "rmse"]
    assert outcome.scores["r2"] == pytest.approx(skm.r2_score(data.y, predicted), rel=1e-4)
    assert outcome.scores["rmse"] == pytest.approx(
        skm.root_mean_squared_error(data.y, predicted), rel=1e-4
    )


def test_binary_roc_auc_uses_the_positive_class_column(
    tmp_path: Any, digits_classifier: Any
) -> None:
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 4))
    y = np.where(X[:, 0] + 0.5 * rng.normal(size=200) > 0, "yes", "no")
    clf = LogisticRegression().fit(X[:100], y[:100])
    np.savez(tmp_path / "val.npz", X=X[100:], y=y[100:])
    data = load_dataset("b", str(tmp_path / "val.npz"))
    onnx_model = to_onnx(clf, X[:1].astype(np.float32), options={"zipmap": False})
    outcome = score_model(onnx_model.SerializeToString(), data, ["roc_auc", "accuracy"])
    expected = skm.roc_auc_score(y[100:] == "yes", clf.predict_proba(X[100:])[:, 1])
    assert outcome.scores["roc_auc"] == pytest.approx(expected, rel=1e-4)
    assert outcome.scores["accuracy"] == pytest.approx(clf.score(X[100:], y[100:]), abs=0.011)


@pytest.mark.parametrize("sigmoid", [True, False])
def test_binary_model_with_one_output_column(tmp_path: Any, sigmoid: bool) -> None:
    """A PyTorch-style binary model: one float per row, a probability or a logit."""
    from onnx import TensorProto, helper, numpy_helper
    from sklearn.linear_model import LogisticRegression

    X, y = load_split("breast_cancer", "train")
    clf = LogisticRegression(max_iter=5000).fit(X, y)
    nodes = [
        helper.make_node("MatMul", ["X", "W"], ["XW"]),
        helper.make_node("Add", ["XW", "B"], ["Z"]),
    ]
    if sigmoid:
        nodes.append(helper.make_node("Sigmoid", ["Z"], ["P"]))
    graph = helper.make_graph(
        nodes,
        "binary",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 30])],
        [helper.make_tensor_value_info("P" if sigmoid else "Z", TensorProto.FLOAT, [None, 1])],
        [
            numpy_helper.from_array(clf.coef_.T.astype(np.float32), "W"),
            numpy_helper.from_array(clf.intercept_.astype(np.float32), "B"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    data = load_dataset("bc", "sklearn:breast_cancer:validation")
    outcome = score_model(model.SerializeToString(), data, None)
    proba = clf.predict_proba(data.X)
    assert outcome.scores["roc_auc"] == pytest.approx(
        skm.roc_auc_score(data.y, proba[:, 1]), abs=1e-3
    )
    assert outcome.scores["log_loss"] == pytest.approx(skm.log_loss(data.y, proba), rel=1e-2)
    assert outcome.scores["accuracy"] == pytest.approx(clf.score(data.X, data.y), abs=0.01)


def test_metric_names_are_checked_against_the_task() -> None:
    assert resolve_metrics("classification", None) is None
    assert resolve_metrics("classification", ["accuracy,log_loss", "accuracy"]) == (
        "accuracy",
        "log_loss",
    )
    with pytest.raises(RequestRefused, match="unknown metric 'auc'"):
        resolve_metrics("classification", ["auc"])
    with pytest.raises(RequestRefused, match="does not apply to regression"):
        resolve_metrics("regression", ["accuracy"])
