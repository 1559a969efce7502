"""The client against real tiny HTTP servers that fail on purpose, and against the service."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from evotune.errors import EvaluationError
from evotune.evaluation import (
    BackgroundServer,
    EvaluationClient,
    ModelRejected,
    RequestRefused,
    ServiceUnavailable,
)

_SCORED = {
    "dataset": "digits",
    "task": "classification",
    "scores": {"accuracy": 0.5},
    "rows": 3,
    "inference_seconds": 0.001,
    "model_input": {"name": "X", "shape": [None, 64], "type": "tensor(float)"},
}


class _Scripted(ThreadingHTTPServer):
    """Answers request n with script[n] (the last entry repeats): (status, body, delay_s)."""

    daemon_threads = True

    def __init__(self, port: int, script: list[tuple[int, dict[str, object], float]]) -> None:
        self.script = script
        self.requests = 0
        super().__init__(("127.0.0.1", port), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Scripted

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        index = min(self.server.requests, len(self.server.script) - 1)
        self.server.requests += 1
        status, body, delay = self.server.script[index]
        time.sleep(delay)
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(server: _Scripted) -> Iterator[_Scripted]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"not checked by the scripted server")
    return path


def _client(port: int, retries: int = 3, timeout: float = 5.0) -> EvaluationClient:
    return EvaluationClient(
        f"http://127.0.0.1:{port}",
        token="t",
        timeout=timeout,
        retries=retries,
        backoff_s=0.05,
        max_backoff_s=0.2,
    )


@pytest.mark.parametrize("status", [502, 503, 504])
def test_transient_statuses_are_retried_until_success(model_file: Path, status: int) -> None:
    script = [
        (status, {"detail": "busy"}, 0.0),
        (status, {"detail": "busy"}, 0.0),
        (200, _SCORED, 0.0),
    ]
    for server in _serve(_Scripted(_free_port(), script)):
        result = _client(server.server_address[1]).score(model_file, "digits")
        assert result.scores == {"accuracy": 0.5} and result.attempts == 3
        assert server.requests == 3


def test_retries_until_a_late_server_comes_up(model_file: Path) -> None:
    port = _free_port()
    started: list[_Scripted] = []

    def start_late() -> None:
        time.sleep(0.5)
        server = _Scripted(port, [(200, _SCORED, 0.0)])
        started.append(server)
        server.serve_forever()

    threading.Thread(target=start_late, daemon=True).start()
    try:
        client = EvaluationClient(
            f"http://127.0.0.1:{port}", token="t", retries=10, backoff_s=0.1, max_backoff_s=0.3
        )
        result = client.score(model_file, "digits")
        assert result.attempts > 1
    finally:
        while not started:
            time.sleep(0.05)
        started[0].shutdown()
        started[0].server_close()


def test_gives_up_after_the_retries_with_a_transient_error(model_file: Path) -> None:
    for server in _serve(_Scripted(_free_port(), [(503, {"detail": "busy"}, 0.0)])):
        with pytest.raises(ServiceUnavailable, match="after 3 attempts: HTTP 503: busy") as info:
            _client(server.server_address[1], retries=2).score(model_file, "digits")
        assert server.requests == 3
    assert isinstance(info.value, EvaluationError)
    assert info.value.transient is True and info.value.status_code == 503


def test_connection_refused_and_timeouts_are_transient(model_file: Path) -> None:
    with pytest.raises(ServiceUnavailable, match="ConnectError") as info:
        _client(_free_port(), retries=1).score(model_file, "digits")
    assert info.value.transient is True and info.value.status_code is None
    for server in _serve(_Scripted(_free_port(), [(200, _SCORED, 1.0)])):
        with pytest.raises(ServiceUnavailable, match="ReadTimeout"):
            _client(server.server_address[1], retries=1, timeout=0.3).score(model_file, "digits")
        assert server.requests == 2


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (422, ModelRejected),
        (413, ModelRejected),
        (400, RequestRefused),
        (401, RequestRefused),
        (404, RequestRefused),
        (500, RequestRefused),
    ],
)
def test_refusals_are_not_retried(model_file: Path, status: int, error: type) -> None:
    script = [(status, {"detail": "the reason"}, 0.0)]
    for server in _serve(_Scripted(_free_port(), script)):
        with pytest.raises(error, match=f"\\({status}\\): the reason") as info:
            _client(server.server_address[1]).score(model_file, "digits")
        assert server.requests == 1
    assert info.value.transient is False and info.value.status_code == status


def test_a_missing_model_file_is_the_trial_s_fault(tmp_path: Path) -> None:
    with pytest.raises(ModelRejected, match="cannot read model"):
        _client(_free_port()).score(tmp_path / "absent.onnx", "digits")


def test_client_against_the_service(
    service: BackgroundServer,
    token: str,
    digits_onnx: bytes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(digits_onnx)
    monkeypatch.setenv("EVOTUNE_EVAL_TOKEN", token)
    with EvaluationClient(service.url) as client:  # the token comes from the environment
        assert client.healthy()
        result = client.score(path, "digits", ["accuracy", "log_loss"])
        assert list(result.scores) == ["accuracy", "log_loss"] and result.rows == 899
        assert result.model_input_name == "X" and result.model_input_shape == [None, 64]
        assert [d["name"] for d in client.datasets()] == ["digits", "diabetes"]
        with pytest.raises(ModelRejected, match="expects 64 features"):
            client.score(path, "diabetes")


def test_client_retries_a_busy_service_until_a_slot_frees(
    tight_service: BackgroundServer, token: str, slow_onnx: bytes, digits_onnx: bytes
) -> None:
    client = EvaluationClient(
        tight_service.url, token=token, retries=8, backoff_s=0.3, max_backoff_s=1.0
    )
    assert client.score_bytes(digits_onnx, "digits").attempts == 1  # the worker is up
    hog = threading.Thread(
        target=lambda: pytest.raises(ModelRejected, client.score_bytes, slow_onnx, "digits")
    )
    hog.start()
    time.sleep(0.2)
    result = client.score_bytes(digits_onnx, "digits")
    hog.join()
    assert result.attempts > 1 and result.scores["accuracy"] > 0.9


def test_importing_the_client_does_not_import_the_server_side() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from evotune.evaluation import EvaluationClient, ModelRejected, METRIC_GOALS\n"
        "heavy = ('onnxruntime', 'onnx', 'fastapi', 'uvicorn', 'sklearn', 'starlette')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
