"""The evaluation service as a FastAPI application.

Routes (all JSON; errors are ``{"detail": "<one line>"}``):

- ``GET /healthz`` (no token): the service is up.
- ``GET /v1/datasets``: the datasets it holds.
- ``POST /v1/datasets/{name}/score?metrics=a,b``: score the ONNX model in the body.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations at runtime,
# and they refer to names local to `_add_routes`.

import asyncio
import hmac
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from evotune.evaluation._datasets import Dataset, load_dataset, parse_dataset_arg
from evotune.evaluation._errors import EvaluationFailure, ServiceSetupError
from evotune.evaluation._scoring import resolve_metrics
from evotune.evaluation._workers import WorkerPool

__all__ = ["ServiceSettings", "create_app"]

_UPLOAD_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class ServiceSettings:
    """How the service runs.

    ``datasets`` are ``NAME=SOURCE`` strings (see ``evotune.evaluation._datasets``).
    ``token`` is the bearer token every ``/v1`` request must carry. A request body over
    ``max_upload_bytes`` is refused with 413. Scoring one model may take ``timeout_s``.
    At most ``max_concurrency`` models are scored at once (one worker process each); a request
    that finds them all busy waits up to ``queue_timeout_s``, then gets 503. At most
    ``max_pending`` score requests (default ``4 * max_concurrency``) are in the service at
    once, uploading, waiting or scoring; more get 503 at once, so memory stays bounded.
    """

    datasets: tuple[str, ...]
    token: str
    max_upload_bytes: int = 64 * 2**20
    timeout_s: float = 30.0
    max_concurrency: int = 2
    queue_timeout_s: float = 10.0
    max_pending: int | None = None

    def check(self) -> None:
        """Raise :class:`ServiceSetupError` when a setting is out of range."""
        if not self.token:
            raise ServiceSetupError("a bearer token is required (option or EVOTUNE_EVAL_TOKEN)")
        if not self.datasets:
            raise ServiceSetupError("at least one dataset is required (NAME=SOURCE)")
        for name, value in (
            ("max_upload_bytes", self.max_upload_bytes),
            ("timeout_s", self.timeout_s),
            ("max_concurrency", self.max_concurrency),
            ("max_pending", self.max_pending if self.max_pending is not None else 1),
        ):
            if value <= 0:
                raise ServiceSetupError(f"{name}: must be > 0, got {value}")
        # asyncio.wait_for(acquire, 0) times out even when a worker is free: 0 would refuse all.
        if self.queue_timeout_s <= 0:
            raise ServiceSetupError(f"queue_timeout_s: must be > 0, got {self.queue_timeout_s}")


class ErrorBody(BaseModel):
    """An error: one line saying what went wrong."""

    detail: str


class DatasetInfo(BaseModel):
    """A validation dataset the service holds."""

    name: str
    rows: int
    features: int
    task: str
    classes: int | None


class ModelInput(BaseModel):
    """The model's input as onnxruntime reports it; a dimension is a number, a name or null."""

    name: str
    shape: list[int | str | None]
    type: str


class ScoreResponse(BaseModel):
    """The scores of one model on one dataset."""

    dataset: str
    task: str
    scores: dict[str, float | None]
    rows: int
    inference_seconds: float
    model_input: ModelInput


_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in {
        400: "bad request: unknown or inapplicable metric, malformed upload",
        401: "missing or wrong bearer token",
        404: "no such dataset",
        408: "the upload took too long",
        413: "the upload is larger than the limit",
        422: "the model is refused: not ONNX, does not fit the dataset, failed or too slow",
        503: "busy: every scoring slot stayed taken; retry later",
    }.items()
}
_BODY_SCHEMA = {
    "required": True,
    "content": {
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"model": {"type": "string", "format": "binary"}},
                "required": ["model"],
            }
        },
    },
}


class _State:
    """What the routes share: datasets, the worker pool, and the two limits."""

    def __init__(self, settings: ServiceSettings, datasets: Mapping[str, Dataset]) -> None:
        self.settings = settings
        self.datasets = dict(datasets)
        self.pool = WorkerPool(datasets, settings.max_concurrency, settings.timeout_s)
        self.slots = asyncio.Semaphore(settings.max_concurrency)
        self.max_pending = settings.max_pending or 4 * settings.max_concurrency
        self.pending = 0


def create_app(settings: ServiceSettings) -> FastAPI:
    """Build the service for ``settings``; its worker processes start with the app's lifespan.

    Loads every dataset now, so a bad source fails here. Raises :class:`ServiceSetupError`.
    """
    settings.check()
    datasets: dict[str, Dataset] = {}
    for arg in settings.datasets:
        name, source = parse_dataset_arg(arg)
        if name in datasets:
            raise ServiceSetupError(f"dataset {name}: named twice")
        datasets[name] = load_dataset(name, source)
    state = _State(settings, datasets)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(state.pool.start)
        try:
            yield
        finally:
            await run_in_threadpool(state.pool.close)

    app = FastAPI(
        title="evotune evaluation service",
        version="1",
        description="Scores ONNX models on validation data the training jobs never see.",
        lifespan=lifespan,
    )
    _add_error_handlers(app)
    _add_routes(app, state)
    _list_dataset_names_in_schema(app, sorted(datasets))
    return app


def _list_dataset_names_in_schema(app: FastAPI, names: list[str]) -> None:
    """Publish the dataset names as the enum of the ``name`` path parameter."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()
        for operation in schema["paths"]["/v1/datasets/{name}/score"].values():
            for parameter in operation.get("parameters", []):
                if parameter["name"] == "name" and parameter["in"] == "path":
                    parameter["schema"]["enum"] = names
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override


def _add_error_handlers(app: FastAPI) -> None:
    async def on_failure(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, EvaluationFailure)
        return JSONResponse({"detail": str(exc)}, status_code=exc.status_code or 500)

    async def on_invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return JSONResponse({"detail": f"{where}: {first.get('msg', 'invalid')}"}, status_code=400)

    app.add_exception_handler(EvaluationFailure, on_failure)
    app.add_exception_handler(RequestValidationError, on_invalid)


def _add_routes(app: FastAPI, state: _State) -> None:
    bearer = HTTPBearer(auto_error=False, description="The service's token.")
    expected = state.settings.token.encode()

    def authorised(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        given = credentials.credentials.encode() if credentials else b""
        if not hmac.compare_digest(given, expected):
            raise HTTPException(
                401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
            )

    @app.get("/healthz", summary="The service is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/v1/datasets",
        summary="List the validation datasets",
        dependencies=[Depends(authorised)],
        responses={401: _ERRORS[401]},
    )
    async def list_datasets() -> list[DatasetInfo]:
        return [
            DatasetInfo(
                name=d.name,
                rows=d.rows,
                features=d.features,
                task=d.task,
                classes=len(d.classes) if d.classes else None,
            )
            for d in state.datasets.values()
        ]

    @app.post(
        "/v1/datasets/{name}/score",
        summary="Score an ONNX model on a dataset",
        dependencies=[Depends(authorised)],
        responses={c: _ERRORS[c] for c in (400, 401, 404, 408, 413, 422, 503)},
        openapi_extra={"requestBody": _BODY_SCHEMA},
    )
    async def score(
        name: str,
        request: Request,
        metrics: Annotated[
            list[str] | None,
            Query(
                description="Metric names, comma-separated or repeated; default: all that apply."
            ),
        ] = None,
    ) -> ScoreResponse:
        dataset = state.datasets.get(name)
        if dataset is None:
            raise HTTPException(404, f"no dataset named {name!r}")
        wanted = resolve_metrics(dataset.task, metrics)
        if state.pending >= state.max_pending:
            raise HTTPException(503, "too many requests in flight", headers={"Retry-After": "1"})
        state.pending += 1
        try:
            model = await _read_model(request, state.settings.max_upload_bytes)
            outcome = await _score_in_slot(state, model, name, wanted)
        finally:
            state.pending -= 1
        return ScoreResponse(
            dataset=name,
            task=dataset.task,
            scores=outcome["scores"],
            rows=outcome["rows"],
            inference_seconds=outcome["inference_seconds"],
            model_input=ModelInput(
                name=outcome["input_name"],
                shape=outcome["input_shape"],
                type=outcome["input_type"],
            ),
        )


async def _score_in_slot(
    state: _State, model: bytes, dataset: str, metrics: tuple[str, ...] | None
) -> dict[str, Any]:
    try:
        await asyncio.wait_for(state.slots.acquire(), timeout=state.settings.queue_timeout_s)
    except asyncio.TimeoutError:  # TimeoutError itself only from 3.11
        raise HTTPException(
            503, "every scoring slot is busy; retry later", headers={"Retry-After": "1"}
        ) from None
    try:
        return await run_in_threadpool(state.pool.score, model, dataset, metrics)
    finally:
        state.slots.release()


async def _read_model(request: Request, limit: int) -> bytes:
    """Read the upload, refusing it (413) as soon as it passes ``limit`` bytes.

    The declared Content-Length is checked before a byte is read; the streamed bytes are
    counted too, since a chunked upload declares no length. A multipart upload must carry the
    model in the field ``model``; any other body is the model itself.
    """
    too_large = HTTPException(413, f"upload is larger than the {limit} byte limit")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    deadline = time.monotonic() + _UPLOAD_TIMEOUT_S
    stream = request.stream().__aiter__()
    try:
        while True:
            remaining = deadline - time.monotonic()
            chunk = await asyncio.wait_for(stream.__anext__(), timeout=max(remaining, 0.001))
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
    except StopAsyncIteration:
        pass
    except asyncio.TimeoutError:  # TimeoutError itself only from 3.11
        raise HTTPException(408, "the upload took too long") from None
    except ClientDisconnect:
        raise HTTPException(400, "the client closed the connection during the upload") from None
    body = b"".join(chunks)
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        return await _model_from_form(request, body, limit)
    return body


async def _model_from_form(request: Request, body: bytes, limit: int) -> bytes:
    async def replay() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    form = await Request(request.scope, replay).form(max_files=1, max_fields=8)
    upload = form.get("model")
    if upload is None or isinstance(upload, str):
        raise HTTPException(
            400, "a multipart upload must carry the model as the file field 'model'"
        )
    data = await upload.read(limit + 1)
    await form.close()
    return data
