"""Fixtures: real scikit-learn models converted to ONNX, and real services on loopback."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from evotune.evaluation import BackgroundServer, ServiceSettings, load_split

TOKEN = "evotune-test-token"


@pytest.fixture(scope="session")
def token() -> str:
    return TOKEN


@pytest.fixture(scope="session")
def digits_classifier() -> Any:
    from sklearn.linear_model import LogisticRegression

    X, y = load_split("digits", "train")
    return LogisticRegression(max_iter=300).fit(X, y)


def _to_onnx(model: Any, features: int, **options: Any) -> bytes:
    from skl2onnx import to_onnx

    sample = np.zeros((1, features), dtype=np.float32)
    opts = {id(model): options} if options else None
    return bytes(to_onnx(model, sample, options=opts).SerializeToString())


@pytest.fixture(scope="session")
def digits_onnx(digits_classifier: Any) -> bytes:
    """Digits classifier, probabilities as a tensor (zipmap=False)."""
    return _to_onnx(digits_classifier, 64, zipmap=False)


@pytest.fixture(scope="session")
def digits_onnx_zipmap(digits_classifier: Any) -> bytes:
    """The same classifier, probabilities as a list of maps (skl2onnx's default)."""
    return _to_onnx(digits_classifier, 64)


@pytest.fixture(scope="session")
def diabetes_regressor() -> Any:
    from sklearn.linear_model import Ridge

    X, y = load_split("diabetes", "train")
    return Ridge(alpha=0.1).fit(X, y)


@pytest.fixture(scope="session")
def diabetes_onnx(diabetes_regressor: Any) -> bytes:
    return _to_onnx(diabetes_regressor, 10)


@pytest.fixture(scope="session")
def pickled_model(digits_classifier: Any) -> bytes:
    return pickle.dumps(digits_classifier)


@pytest.fixture(scope="session")
def slow_onnx() -> bytes:
    """A valid model for 64 features that loops a billion times: it outlives any time limit."""
    from onnx import TensorProto, helper

    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("Add", ["v_in", "zero"], ["v_out"]),
        ],
        "body",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("v_in", TensorProto.FLOAT, None),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("v_out", TensorProto.FLOAT, None),
        ],
        [helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])],
    )
    graph = helper.make_graph(
        [helper.make_node("Loop", ["trips", "cond", "X"], ["Y"], body=body)],
        "slow",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 64])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, 64])],
        [
            helper.make_tensor("trips", TensorProto.INT64, [], [10**9]),
            helper.make_tensor("cond", TensorProto.BOOL, [], [True]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return bytes(model.SerializeToString())


@pytest.fixture(scope="session")
def service(token: str) -> Iterator[BackgroundServer]:
    """The service with digits and diabetes, generous limits, two workers."""
    settings = ServiceSettings(
        datasets=("digits=sklearn:digits:validation", "diabetes=sklearn:diabetes:validation"),
        token=token,
        max_upload_bytes=4 * 2**20,
        timeout_s=20.0,
        max_concurrency=2,
    )
    with BackgroundServer(settings) as server:
        yield server


@pytest.fixture(scope="session")
def tight_service(token: str) -> Iterator[BackgroundServer]:
    """One worker, a 3 s scoring limit and a 0.5 s wait for a slot: limits are easy to hit."""
    settings = ServiceSettings(
        datasets=("digits=sklearn:digits:validation",),
        token=token,
        max_upload_bytes=2**20,
        timeout_s=3.0,
        max_concurrency=1,
        queue_timeout_s=0.5,
    )
    with BackgroundServer(settings) as server:
        yield server
