"""The docker executor's edge with the engine: SDK exceptions become evotune's, once.

An unreachable engine is :class:`~evotune.errors.BackendUnavailable`, a missing image
:class:`~evotune.errors.ImageNotFound`, anything else the engine refuses
:class:`~evotune.errors.ExecutorError`; each with a one-line message. The docker SDK is
imported only when a translation runs.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import datetime

from evotune.errors import BackendUnavailable, ExecutorError, ImageNotFound

__all__ = ["engine_address", "engine_errors", "one_line", "parse_time"]

_DEFAULT_ENGINE = "unix:///var/run/docker.sock"


def engine_address() -> str:
    return os.environ.get("DOCKER_HOST") or _DEFAULT_ENGINE


def one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _root_cause(exc: BaseException) -> str:
    """The most telling few words of a connection error: the innermost OS error's message
    (``No such file or directory``, ``Connection refused``) when there is one."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            return current.strerror
        stack.extend(arg for arg in current.args if isinstance(arg, BaseException))
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                stack.append(linked)
    return one_line(str(exc)) or type(exc).__name__


def _unavailable(exc: BaseException) -> BackendUnavailable:
    return BackendUnavailable(
        f"cannot reach the Docker engine at {engine_address()}: {_root_cause(exc)}; "
        "is dockerd running?"
    )


def _image_missing(image: str) -> ImageNotFound:
    return ImageNotFound(
        f"image {image!r} not found locally; build it with examples/images/build.sh or "
        f"`docker build -t {image} ...` (no registry is used)"
    )


@contextlib.contextmanager
def engine_errors(image: str | None = None) -> Iterator[None]:
    """Translate the docker SDK's exceptions into evotune's, once, at this edge."""
    import docker.errors
    import requests.exceptions

    try:
        yield
    except docker.errors.ImageNotFound as exc:
        raise _image_missing(image or "?") from exc
    except (requests.exceptions.ConnectionError, ConnectionError) as exc:
        raise _unavailable(exc) from exc
    except docker.errors.APIError as exc:
        raise ExecutorError(f"Docker engine error: {one_line(exc.explanation or str(exc))}") from exc
    except docker.errors.DockerException as exc:
        raise _unavailable(exc) from exc


def parse_time(stamp: str | None) -> float | None:
    """Seconds since the epoch of a Docker timestamp (RFC 3339, nanoseconds), or None."""
    if not stamp or stamp.startswith("0001-"):
        return None
    head, _, frac = stamp.rstrip("Z").partition(".")
    frac = frac.split("+")[0].split("-")[0][:6]
    try:
        moment = datetime.fromisoformat(f"{head}.{frac or '0'}+00:00")
    except ValueError:
        return None
    return moment.timestamp()
