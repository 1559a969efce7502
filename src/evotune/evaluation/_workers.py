"""A pool of worker processes that score models, so a bad model cannot take the service down.

Each worker is a spawned process holding the datasets; it scores one model at a time. A model
that runs past the time limit gets its worker killed (and replaced); a model that crashes
onnxruntime kills only its worker. Messages cross the pipe as JSON headers plus raw model
bytes: the service never unpickles anything a worker sends back, in case a hostile model took
over the worker.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import queue
import threading
import time
from collections.abc import Mapping, Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from evotune.evaluation._datasets import Dataset
from evotune.evaluation._errors import EvaluationFailure, ModelRejected, ServiceSetupError

__all__ = ["WorkerPool"]

_START_TIMEOUT_S = 120.0
_RESPAWN_ATTEMPTS = 3
_log = logging.getLogger("evotune.evaluation")


class _Worker:
    def __init__(self, process: BaseProcess, conn: Connection) -> None:
        self.process = process
        self.conn = conn

    def stop(self) -> None:
        self.conn.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)


class WorkerPool:
    """``size`` worker processes scoring models on ``datasets`` with a per-model time limit.

    :meth:`score` blocks and is thread-safe; call it from at most ``size`` threads at once
    (the service guards it with a semaphore), otherwise callers wait for a free worker.
    """

    def __init__(self, datasets: Mapping[str, Dataset], size: int, timeout_s: float) -> None:
        self._datasets = dict(datasets)
        self._size = size
        self._timeout_s = timeout_s
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._context = multiprocessing.get_context("spawn")

    def start(self) -> None:
        """Start every worker and wait until each has loaded its libraries.

        Raises :class:`ServiceSetupError` when a worker does not come up.
        """
        pending = [self._spawn() for _ in range(self._size)]
        for worker in pending:
            self._await_ready(worker)
            self._idle.put(worker)

    def close(self) -> None:
        """Stop every worker. Idempotent."""
        with self._lock:
            self._closed = True
            workers = list(self._all)
            self._all.clear()
        for worker in workers:
            worker.stop()

    def score(self, model: bytes, dataset: str, metrics: Sequence[str] | None) -> dict[str, Any]:
        """Score ``model`` on ``dataset`` in a worker; return the outcome as a JSON dict.

        Raises :class:`ModelRejected` when the model is refused, exceeds the time limit or
        kills its worker, and :class:`EvaluationFailure` (status 500, or 503 when no worker came
        back up) on a fault of the service.
        """
        try:
            worker = self._idle.get(timeout=_START_TIMEOUT_S)
        except queue.Empty:
            raise EvaluationFailure("no evaluation worker is available", status_code=503) from None
        header = json.dumps({"dataset": dataset, "metrics": list(metrics) if metrics else None})
        try:
            worker.conn.send_bytes(header.encode())
            worker.conn.send_bytes(model)
            if not worker.conn.poll(self._timeout_s):
                self._replace(worker)
                raise ModelRejected(
                    f"scoring took longer than the {self._timeout_s:g} s limit", status_code=422
                )
            reply = json.loads(worker.conn.recv_bytes())
        except (EOFError, OSError) as exc:
            self._replace(worker)
            raise ModelRejected("the model crashed the inference runtime", status_code=422) from exc
        self._idle.put(worker)
        if reply["status"] == "ok":
            return dict(reply["outcome"])
        status = 422 if reply["status"] == "rejected" else 500
        cls = ModelRejected if status == 422 else EvaluationFailure
        raise cls(str(reply["message"]), status_code=status)

    def _spawn(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_worker_main, args=(child, self._datasets), daemon=True, name="evotune-eval"
        )
        process.start()
        child.close()
        worker = _Worker(process, parent)
        with self._lock:
            self._all.add(worker)
        return worker

    def _await_ready(self, worker: _Worker) -> None:
        try:
            ready = worker.conn.poll(_START_TIMEOUT_S) and worker.conn.recv_bytes() == b"ready"
        except (EOFError, OSError):
            ready = False
        if not ready:
            worker.stop()
            raise ServiceSetupError("an evaluation worker process failed to start")

    def _replace(self, worker: _Worker) -> None:
        with self._lock:
            self._all.discard(worker)
        worker.stop()
        threading.Thread(target=self._add_one, daemon=True, name="evotune-eval-respawn").start()

    def _add_one(self) -> None:
        """Start a replacement worker, trying a few times: a lost worker is a lost slot."""
        for attempt in range(_RESPAWN_ATTEMPTS):
            with self._lock:
                if self._closed:
                    return
            worker = self._spawn()
            try:
                self._await_ready(worker)
            except ServiceSetupError:
                time.sleep(2.0**attempt)
                continue
            with self._lock:
                closed = self._closed
            if closed:
                worker.stop()
            else:
                self._idle.put(worker)
            return
        _log.error("could not replace an evaluation worker; one scoring slot is lost")


def _worker_main(conn: Connection, datasets: dict[str, Dataset]) -> None:
    """Body of a worker process: load libraries, then score models until the pipe closes."""
    # Load the heavy libraries now, not inside the first timed request.
    import onnx.checker  # noqa: F401
    import onnxruntime  # noqa: F401
    import sklearn.metrics  # noqa: F401

    from evotune.evaluation._scoring import score_model

    conn.send_bytes(b"ready")
    while True:
        try:
            header = json.loads(conn.recv_bytes())
            model = conn.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            outcome = score_model(model, datasets[header["dataset"]], header["metrics"])
            reply: dict[str, Any] = {"status": "ok", "outcome": outcome.to_json()}
        except EvaluationFailure as exc:
            reply = {"status": "rejected", "message": str(exc)}
        except Exception as exc:  # noqa: BLE001  (a fault of the service: report it, keep the worker)
            reply = {"status": "error", "message": f"internal error: {type(exc).__name__}: {exc}"}
        conn.send_bytes(json.dumps(reply).encode())
