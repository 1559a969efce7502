"""Scoring throughput and latency of the evaluation service on loopback.

Trains a small digits classifier, converts it to ONNX, starts the service in this process on
a free loopback port, and has CLIENTS threads (each its own EvaluationClient) score the model
until REQUESTS requests are done or SECONDS have passed. Latency is per request as a client
sees it (upload, queueing for a worker, checks, inference, metrics). Prints one Markdown
table row (load is the 1-minute load average at the end: the machine may be shared):

    | date | command | workers | clients | requests | req/s | p50 ms | p99 ms | load |

Run: .venv/bin/python bench/eval_throughput.py [--clients 8] [--workers 2] [--requests 400]
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import threading
import time
from datetime import datetime, timezone

import numpy as np


def _model() -> bytes:
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    from evotune.evaluation import load_split

    X, y = load_split("digits", "train")
    clf = LogisticRegression(max_iter=300).fit(X, y)
    options = {id(clf): {"zipmap": False}}
    return bytes(to_onnx(clf, X[:1].astype(np.float32), options=options).SerializeToString())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads")
    parser.add_argument("--workers", type=int, default=2, help="service max_concurrency")
    parser.add_argument("--requests", type=int, default=400, help="stop after this many")
    parser.add_argument("--seconds", type=float, default=60.0, help="or after this long")
    args = parser.parse_args()

    from evotune.evaluation import BackgroundServer, EvaluationClient, ServiceSettings

    model = _model()
    settings = ServiceSettings(
        datasets=("digits=sklearn:digits:validation",),
        token="bench",
        max_concurrency=args.workers,
        queue_timeout_s=30.0,
        max_pending=args.clients * 2,
    )
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    issued = 0

    def take_ticket(deadline: float) -> bool:
        nonlocal issued
        with lock:
            if issued >= args.requests or time.monotonic() > deadline:
                return False
            issued += 1
            return True

    def client_loop(url: str, deadline: float) -> None:
        with EvaluationClient(url, token="bench", retries=0, timeout=60) as client:
            while take_ticket(deadline):
                started = time.perf_counter()
                try:
                    client.score_bytes(model, "digits", ["accuracy"])
                except Exception as exc:  # noqa: BLE001  (count it, keep measuring)
                    with lock:
                        failures.append(str(exc))
                    continue
                with lock:
                    latencies.append(time.perf_counter() - started)

    with BackgroundServer(settings) as server:
        with EvaluationClient(server.url, token="bench") as warm:
            for _ in range(2 * args.workers):
                warm.score_bytes(model, "digits", ["accuracy"])
        deadline = time.monotonic() + args.seconds
        threads = [
            threading.Thread(target=client_loop, args=(server.url, deadline))
            for _ in range(args.clients)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started

    done = np.array(latencies) * 1000
    p50, p99 = np.percentile(done, [50, 99]) if len(done) else (float("nan"),) * 2
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    command = " ".join(shlex.quote(a) for a in [".venv/bin/python", *sys.argv])
    print(
        f"| {today} | `{command}` | {args.workers} | {args.clients} | {len(done)} "
        f"(+{len(failures)} failed) | {len(done) / elapsed:.1f} | {p50:.1f} | {p99:.1f} "
        f"| {os.getloadavg()[0]:.1f} |"
    )
    if failures:
        print(f"first failure: {failures[0]}", file=sys.stderr)


if __name__ == "__main__":
    main()
