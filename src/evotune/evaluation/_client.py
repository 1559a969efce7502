"""The client the controller uses to have a trial's model scored by the evaluation service."""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from evotune.evaluation._errors import (
    EvaluationFailure,
    ModelRejected,
    RequestRefused,
    ServiceUnavailable,
)

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["EvaluationClient", "ScoreResult"]

_log = logging.getLogger("evotune.evaluation")
_TRANSIENT_STATUS = frozenset({429, 502, 503, 504})
_MODEL_STATUS = frozenset({413, 422})


@dataclass(frozen=True)
class ScoreResult:
    """The scores of one model on one dataset, as the service computed them.

    ``scores`` maps metric names to values (``None`` when the value was not finite).
    ``inference_seconds`` is the service's time inside onnxruntime; ``attempts`` counts the
    requests it took, retries included.
    """

    dataset: str
    task: str
    scores: dict[str, float | None]
    rows: int
    inference_seconds: float
    model_input_name: str
    model_input_shape: list[int | str | None]
    attempts: int = 1


class EvaluationClient:
    """Talks to one evaluation service at ``url`` (e.g. ``http://127.0.0.1:8765``).

    ``token`` defaults to the environment variable ``EVOTUNE_EVAL_TOKEN``. ``timeout`` bounds
    each request in seconds (it should exceed the service's scoring time limit). A transient
    failure (connection refused or reset, a timeout, HTTP 429/502/503/504) is retried up to
    ``retries`` times, waiting ``backoff_s`` doubled each time (at most ``max_backoff_s``, or
    what the service's Retry-After asks), then raised as :class:`ServiceUnavailable`.
    One client may be shared by threads (it holds one thread-safe ``httpx.Client``).

    >>> client = EvaluationClient("http://127.0.0.1:8765", token="secret")  # doctest: +SKIP
    >>> client.score(Path("out/model.onnx"), "digits").scores["accuracy"]  # doctest: +SKIP
    0.957
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        timeout: float = 120.0,
        retries: int = 3,
        *,
        backoff_s: float = 0.5,
        max_backoff_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if retries < 0:
            raise ValueError(f"retries: must be >= 0, got {retries}")
        token = token if token is not None else os.environ.get("EVOTUNE_EVAL_TOKEN")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.url = url.rstrip("/")
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self._http = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout, transport=transport
        )

    def score(
        self, model_path: Path | str, dataset: str, metrics: Sequence[str] | None = None
    ) -> ScoreResult:
        """Score the ONNX file ``model_path`` on ``dataset``; ``metrics`` default to all that apply.

        Raises :class:`ModelRejected` when the file cannot be read or the service refuses the
        model (the trial's fault), :class:`RequestRefused` for a setup fault (token, dataset,
        metric name, a service error), :class:`ServiceUnavailable` after the retries.
        """
        try:
            model = Path(model_path).read_bytes()
        except OSError as exc:
            raise ModelRejected(f"cannot read model {model_path}: {exc.strerror}") from exc
        return self.score_bytes(model, dataset, metrics)

    def score_bytes(
        self, model: bytes, dataset: str, metrics: Sequence[str] | None = None
    ) -> ScoreResult:
        """Like :meth:`score`, for a model already in memory."""
        params = {"metrics": ",".join(metrics)} if metrics else None
        path = f"/v1/datasets/{quote(dataset, safe='')}/score"
        response, attempts = self._request(
            "POST",
            path,
            content=model,
            params=params,
            headers={"Content-Type": "application/octet-stream"},
        )
        body = response.json()
        return ScoreResult(
            dataset=body["dataset"],
            task=body["task"],
            scores=dict(body["scores"]),
            rows=int(body["rows"]),
            inference_seconds=float(body["inference_seconds"]),
            model_input_name=body["model_input"]["name"],
            model_input_shape=list(body["model_input"]["shape"]),
            attempts=attempts,
        )

    def datasets(self) -> list[dict[str, Any]]:
        """Return the service's datasets: dicts with name, rows, features, task, classes."""
        response, _ = self._request("GET", "/v1/datasets")
        return list(response.json())

    def healthy(self) -> bool:
        """Return whether the service answers its health check now (no retries)."""
        try:
            return self._http.get("/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> tuple[httpx.Response, int]:
        last = ""
        last_response: httpx.Response | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self._delay(attempt, last_response))
            last_response = None
            try:
                response = self._http.request(method, path, **kwargs)
            except (httpx.UnsupportedProtocol, httpx.LocalProtocolError) as exc:
                raise RequestRefused(f"cannot call {self.url}: {exc}") from exc
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                _log.info("evaluation service %s: %s (attempt %d)", self.url, last, attempt + 1)
                continue
            if response.status_code < 400:
                return response, attempt + 1
            if response.status_code not in _TRANSIENT_STATUS:
                raise _refusal(response)
            last_response = response
            last = f"HTTP {response.status_code}: {_detail(response)}"
            _log.info("evaluation service %s: %s (attempt %d)", self.url, last, attempt + 1)
        raise ServiceUnavailable(
            f"evaluation service {self.url} unavailable after {self.retries + 1} attempts: {last}",
            status_code=last_response.status_code if last_response is not None else None,
        )

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        delay: float = min(self.max_backoff_s, self.backoff_s * 2.0 ** (attempt - 1))
        delay *= 0.5 + random.random() / 2  # jitter, so many trials do not retry in step
        retry_after = response.headers.get("Retry-After", "") if response is not None else ""
        if retry_after.isdigit():
            delay = max(delay, min(float(retry_after), self.max_backoff_s))
        return delay


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    text = str(detail) if detail is not None else response.text
    return " ".join(text.split())[:500] or response.reason_phrase


def _refusal(response: httpx.Response) -> EvaluationFailure:
    code = response.status_code
    detail = _detail(response)
    if code in _MODEL_STATUS:
        return ModelRejected(f"model refused ({code}): {detail}", status_code=code)
    return RequestRefused(f"evaluation request refused ({code}): {detail}", status_code=code)
