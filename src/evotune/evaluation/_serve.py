"""Run the evaluation service: in the foreground for ``evotune serve-eval``, or in a thread."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from evotune.evaluation._app import ServiceSettings, create_app
from evotune.evaluation._errors import ServiceSetupError

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["TOKEN_ENV", "BackgroundServer", "resolve_token", "serve", "serve_eval"]

#: The environment variable the service (and the client) read the token from.
TOKEN_ENV = "EVOTUNE_EVAL_TOKEN"


def resolve_token(token: str | None = None, token_file: Path | str | None = None) -> str:
    """Return the bearer token: ``token``, else the first line of ``token_file``, else the
    environment variable ``EVOTUNE_EVAL_TOKEN``. Raises :class:`ServiceSetupError` if none.
    """
    if token:
        return token
    if token_file is not None:
        try:
            lines = Path(token_file).read_text().splitlines()
        except OSError as exc:
            raise ServiceSetupError(f"token file {token_file}: {exc.strerror}") from exc
        if not lines or not lines[0].strip():
            raise ServiceSetupError(f"token file {token_file}: is empty")
        return lines[0].strip()
    from_env = os.environ.get(TOKEN_ENV, "").strip()
    if from_env:
        return from_env
    raise ServiceSetupError(f"no token: pass --token, --token-file or set {TOKEN_ENV}")


def serve(
    settings: ServiceSettings, host: str = "127.0.0.1", port: int = 8765, log_level: str = "info"
) -> None:
    """Serve ``settings`` on ``host:port`` until interrupted (Ctrl-C or SIGTERM)."""
    import uvicorn

    _check_port(host, port)
    app = create_app(settings)
    uvicorn.run(
        app, host=host, port=port, log_level=log_level, server_header=False, timeout_keep_alive=5
    )


def _check_port(host: str, port: int) -> None:
    """Fail with one line, before loading datasets and workers, when the port is taken."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ServiceSetupError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def serve_eval(
    datasets: Sequence[str],
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    token: str | None = None,
    token_file: Path | str | None = None,
    max_upload_mb: float = 64.0,
    timeout_s: float = 30.0,
    max_concurrency: int = 2,
    queue_timeout_s: float = 10.0,
    log_level: str = "info",
) -> None:
    """Run the evaluation service in the foreground: the body of ``evotune serve-eval``.

    ``datasets`` are ``NAME=SOURCE`` strings, e.g. ``digits=sklearn:digits:validation``,
    ``val=data/val.npz``, ``houses=data/val.csv:target=price:task=regression``.
    The token comes from ``token``, else ``token_file``, else ``EVOTUNE_EVAL_TOKEN``.
    Raises :class:`ServiceSetupError` (one-line message) for a bad dataset, no token or a bad
    limit, before it binds the port. Returns when the server is stopped.
    """
    settings = ServiceSettings(
        datasets=tuple(datasets),
        token=resolve_token(token, token_file),
        max_upload_bytes=int(max_upload_mb * 2**20),
        timeout_s=timeout_s,
        max_concurrency=max_concurrency,
        queue_timeout_s=queue_timeout_s,
    )
    serve(settings, host=host, port=port, log_level=log_level)


class BackgroundServer:
    """The service on a loopback port, in a background thread (for tests, benches, demos).

    ``with BackgroundServer(settings) as server:`` starts it and waits until it answers;
    ``server.url`` is its base URL. Leaving the block stops it and its workers.
    """

    def __init__(
        self,
        settings: ServiceSettings,
        host: str = "127.0.0.1",
        port: int = 0,
        start_timeout_s: float = 120.0,
    ) -> None:
        import uvicorn

        config = uvicorn.Config(
            create_app(settings),
            host=host,
            port=port,
            log_level="warning",
            server_header=False,
            timeout_keep_alive=5,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, daemon=True, name="evotune-eval-server"
        )
        self._host = host
        self._start_timeout_s = start_timeout_s
        self.url = ""

    def start(self) -> str:
        """Start serving; return the base URL once the service is up."""
        self._thread.start()
        deadline = time.monotonic() + self._start_timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ServiceSetupError("the evaluation service did not start")
            time.sleep(0.02)
        sockets: Any = self._server.servers[0].sockets
        port = sockets[0].getsockname()[1]
        self.url = f"http://{self._host}:{port}"
        return self.url

    def stop(self) -> None:
        """Stop serving and wait for the thread (and the workers) to end. Idempotent."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
