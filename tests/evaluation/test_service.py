"""The service over real HTTP on loopback: scores, refusals, limits, and that it stays up."""

from __future__ import annotations

import select
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sklearn import metrics as skm

from evotune.evaluation import BackgroundServer, load_split


def _post(
    server: BackgroundServer, token: str | None, body: bytes, dataset: str = "digits", **kwargs: Any
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    headers["Content-Type"] = "application/octet-stream"
    return httpx.post(
        f"{server.url}/v1/datasets/{dataset}/score",
        content=body,
        headers=headers,
        timeout=60,
        **kwargs,
    )


def _assert_still_serving(server: BackgroundServer, token: str, model: bytes) -> None:
    assert httpx.get(f"{server.url}/healthz", timeout=10).json() == {"status": "ok"}
    response = _post(server, token, model)
    assert response.status_code == 200, response.text
    assert response.json()["scores"]["accuracy"] > 0.9


def test_scores_match_scikit_learn_on_the_validation_split(
    service: BackgroundServer, token: str, digits_onnx: bytes, digits_classifier: Any
) -> None:
    response = _post(service, token, digits_onnx)
    assert response.status_code == 200, response.text
    body = response.json()
    X, y = load_split("digits", "validation")
    proba = digits_classifier.predict_proba(X)
    predicted = digits_classifier.predict(X)
    expected = {
        "accuracy": skm.accuracy_score(y, predicted),
        "balanced_accuracy": skm.balanced_accuracy_score(y, predicted),
        "f1_macro": skm.f1_score(y, predicted, average="macro"),
        "roc_auc": skm.roc_auc_score(y, proba, multi_class="ovr"),
        "log_loss": skm.log_loss(y, proba),
    }
    # ONNX runs in float32, scikit-learn in float64: allow a borderline row to flip.
    assert body["scores"] == pytest.approx(expected, abs=2.5e-3)
    assert body["rows"] == len(y) == 899
    assert body["task"] == "classification" and body["dataset"] == "digits"
    assert body["model_input"] == {"name": "X", "shape": [None, 64], "type": "tensor(float)"}
    assert 0 <= body["inference_seconds"] < 5


def test_regression_and_chosen_metrics(
    service: BackgroundServer, token: str, diabetes_onnx: bytes, diabetes_regressor: Any
) -> None:
    response = _post(service, token, diabetes_onnx, "diabetes", params={"metrics": "mae,r2"})
    assert response.status_code == 200, response.text
    X, y = load_split("diabetes", "validation")
    predicted = diabetes_regressor.predict(X)
    assert response.json()["scores"] == pytest.approx(
        {"mae": skm.mean_absolute_error(y, predicted), "r2": skm.r2_score(y, predicted)},
        rel=1e-4,
    )


def test_multipart_upload_is_accepted(
    service: BackgroundServer, token: str, digits_onnx_zipmap: bytes
) -> None:
    response = httpx.post(
        f"{service.url}/v1/datasets/digits/score",
        files={"model": ("model.onnx", digits_onnx_zipmap)},
        params=[("metrics", "accuracy"), ("metrics", "roc_auc")],
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert list(response.json()["scores"]) == ["accuracy", "roc_auc"]


def test_datasets_are_listed(service: BackgroundServer, token: str) -> None:
    response = httpx.get(f"{service.url}/v1/datasets", headers={"Authorization": f"Bearer {token}"})
    assert response.json() == [
        {"name": "digits", "rows": 899, "features": 64, "task": "classification", "classes": 10},
        {"name": "diabetes", "rows": 221, "features": 10, "task": "regression", "classes": None},
    ]


@pytest.mark.parametrize(
    ("case", "status", "message"),
    [
        ("pickle", 422, "Python pickle"),
        ("truncated", 422, "not an ONNX model"),
        ("wrong width", 422, "expects 10 features; dataset digits has 64"),
        ("empty", 422, "empty upload"),
        ("no token", 401, "bearer token"),
        ("wrong token", 401, "bearer token"),
        ("unknown dataset", 404, "no dataset named 'mnist'"),
        ("unknown metric", 400, "unknown metric 'auc'"),
        ("metric for another task", 400, "does not apply to classification"),
    ],
)
def test_bad_requests_are_refused_and_the_service_stays_up(
    service: BackgroundServer,
    token: str,
    digits_onnx: bytes,
    diabetes_onnx: bytes,
    pickled_model: bytes,
    case: str,
    status: int,
    message: str,
) -> None:
    body, who, dataset, params = digits_onnx, token, "digits", None
    if case == "pickle":
        body = pickled_model
    elif case == "truncated":
        body = digits_onnx[: len(digits_onnx) // 2]
    elif case == "wrong width":
        body = diabetes_onnx
    elif case == "empty":
        body = b""
    elif case == "no token":
        who = None
    elif case == "wrong token":
        who = token + "x"
    elif case == "unknown dataset":
        dataset = "mnist"
    elif case == "unknown metric":
        params = {"metrics": "accuracy,auc"}
    else:
        params = {"metrics": "rmse"}
    response = _post(service, who, body, dataset, params=params)
    assert response.status_code == status
    assert message in response.json()["detail"]
    assert "\n" not in response.json()["detail"]
    _assert_still_serving(service, token, digits_onnx)


def test_a_token_that_is_not_ascii_is_refused_not_crashed_on(
    service: BackgroundServer, token: str, digits_onnx: bytes
) -> None:
    response = httpx.get(
        f"{service.url}/v1/datasets", headers={"Authorization": b"Bearer \xe9t\xe9"}
    )
    assert response.status_code == 401
    _assert_still_serving(service, token, digits_onnx)


def _raw_request(server: BackgroundServer, head: str) -> socket.socket:
    url = urlsplit(server.url)
    sock = socket.create_connection((url.hostname, url.port), timeout=10)
    sock.sendall(head.encode())
    return sock


def test_declared_100_mb_upload_is_refused_before_the_body_is_sent(
    service: BackgroundServer, token: str, digits_onnx: bytes
) -> None:
    started = time.monotonic()
    sock = _raw_request(
        service,
        (
            "POST /v1/datasets/digits/score HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {100 * 2**20}\r\n\r\n"
        ),
    )
    with sock:
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert time.monotonic() - started < 3
    _assert_still_serving(service, token, digits_onnx)


def test_streamed_100_mb_upload_is_cut_off_near_the_limit(
    service: BackgroundServer, token: str, digits_onnx: bytes
) -> None:
    sock = _raw_request(
        service,
        (
            "POST /v1/datasets/digits/score HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/octet-stream\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"
        ),
    )
    chunk = b"%x\r\n%s\r\n" % (2**16, b"\0" * 2**16)
    sent = 0
    with sock:
        sock.setblocking(False)
        while sent < 100 * 2**20:
            readable, writable, _ = select.select([sock], [sock], [], 10)
            if readable:
                break
            if writable:
                try:
                    sent += sock.send(chunk)
                except BlockingIOError:
                    continue
        sock.setblocking(True)
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    # The 4 MiB limit, plus what socket buffers hold: far below the 100 MiB offered.
    print(f"sent {sent / 2**20:.1f} MiB before the 413")
    assert sent < 40 * 2**20
    _assert_still_serving(service, token, digits_onnx)


def test_client_sending_100_mb_gets_413(
    service: BackgroundServer, token: str, digits_onnx: bytes
) -> None:
    from evotune.evaluation import EvaluationClient, ModelRejected

    client = EvaluationClient(service.url, token=token, retries=0)
    with client, pytest.raises(ModelRejected, match="413") as info:
        client.score_bytes(b"\0" * (100 * 2**20), "digits")
    assert info.value.transient is False and info.value.status_code == 413
    _assert_still_serving(service, token, digits_onnx)


def test_a_slow_model_holds_the_only_slot_until_the_time_limit_then_its_worker_is_replaced(
    tight_service: BackgroundServer, token: str, slow_onnx: bytes, digits_onnx: bytes
) -> None:
    _assert_still_serving(tight_service, token, digits_onnx)  # the one worker is up
    slow: list[tuple[httpx.Response, float]] = []

    def hog() -> None:
        started = time.monotonic()
        slow.append((_post(tight_service, token, slow_onnx), time.monotonic() - started))

    thread = threading.Thread(target=hog)
    thread.start()
    time.sleep(0.3)
    started = time.monotonic()
    busy = _post(tight_service, token, digits_onnx)
    waited = time.monotonic() - started
    thread.join()
    # While the slot is taken, a request queues for the 0.5 s allowed, then gets 503.
    assert busy.status_code == 503, busy.text
    assert busy.headers["Retry-After"] == "1"
    assert 0.4 < waited < 1.5
    # The slow model is stopped at the 3 s limit: its worker is killed and replaced.
    response, took = slow[0]
    assert response.status_code == 422
    assert "longer than the 3 s limit" in response.json()["detail"]
    assert 2.9 < took < 8
    _assert_still_serving(tight_service, token, digits_onnx)


def test_openapi_schema_is_published(service: BackgroundServer) -> None:
    schema = httpx.get(f"{service.url}/openapi.json").json()
    operation = schema["paths"]["/v1/datasets/{name}/score"]["post"]
    assert set(operation["requestBody"]["content"]) == {
        "application/octet-stream",
        "multipart/form-data",
    }
    assert {"400", "401", "404", "413", "422", "503"} <= set(operation["responses"])
