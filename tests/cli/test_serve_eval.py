"""`evotune serve-eval` as a user starts it: a real process on a loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from evotune.evaluation import EvaluationClient, load_split

pytestmark = pytest.mark.slow
TOKEN = "cli-test-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _model(tmp_path: Path) -> Path:
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    X, y = load_split("digits", "train")
    model = LogisticRegression(max_iter=300).fit(X, y)
    path = tmp_path / "model.onnx"
    path.write_bytes(to_onnx(model, X[:1].astype("float32"), options={"zipmap": False}).SerializeToString())
    return path


def test_serve_eval_scores_a_model_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    env = dict(os.environ, EVOTUNE_EVAL_TOKEN=TOKEN)
    proc = subprocess.Popen([sys.executable, "-m", "evotune", "serve-eval", "--dataset",
                             "digits=sklearn:digits:validation", "--port", str(port),
                             "--log-level", "warning"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError("the service did not come up")
        result = EvaluationClient(url, token=TOKEN).score(_model(tmp_path), "digits", ["accuracy"])
        assert result.rows == 899 and 0.9 < result.scores["accuracy"] <= 1.0
        assert httpx.get(f"{url}/v1/datasets", timeout=5).status_code == 401
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def test_serve_eval_bad_dataset_is_one_line_exit_2(tmp_path: Path) -> None:
    env = dict(os.environ, EVOTUNE_EVAL_TOKEN=TOKEN)
    done = subprocess.run([sys.executable, "-m", "evotune", "serve-eval", "--dataset",
                           f"val={tmp_path / 'missing.npz'}"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("evotune: error: dataset val:") and done.stderr.count("\n") == 1


def test_serve_eval_on_a_taken_port_is_one_line_exit_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = dict(os.environ, EVOTUNE_EVAL_TOKEN=TOKEN)
        done = subprocess.run([sys.executable, "-m", "evotune", "serve-eval", "--dataset",
                               "digits=sklearn:digits:validation", "--port", str(port)],
                              env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert done.stderr == f"evotune: error: cannot listen on 127.0.0.1:{port}: Address already in use\n"


def test_serve_eval_refuses_a_zero_queue_timeout() -> None:
    env = dict(os.environ, EVOTUNE_EVAL_TOKEN=TOKEN)
    done = subprocess.run([sys.executable, "-m", "evotune", "serve-eval", "--dataset",
                           "digits=sklearn:digits:validation", "--queue-timeout", "0"],
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert done.stderr == "evotune: error: queue_timeout_s: must be > 0, got 0.0\n"
