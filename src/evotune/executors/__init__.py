"""Executors start, watch and stop trial jobs: ``local`` (processes), ``docker`` (containers).

Backends are looked up by ``kind`` in a registry; heavy ones are imported only when asked for,
so ``evotune`` runs without their extras installed.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Mapping

from evotune.errors import SpecError
from evotune.executors._base import Executor, JobHandle, JobSpec, JobState, JobStatus

__all__ = [
    "Executor",
    "JobHandle",
    "JobSpec",
    "JobState",
    "JobStatus",
    "check_kind",
    "create_executor",
    "executor_kinds",
    "register_executor",
]

# kind -> "module:attribute" of a factory taking the options mapping; imported lazily.
_REGISTRY: dict[str, str | Callable[..., Executor]] = {
    "local": "evotune.executors._local:LocalExecutor",
    "docker": "evotune.executors._docker:DockerExecutor",
}


def register_executor(kind: str, factory: str | Callable[..., Executor]) -> None:
    """Make ``executor.kind: <kind>`` available to study files. ``factory`` is a callable
    taking the executor options as keyword arguments, or a ``"module:attribute"`` path to one."""
    _REGISTRY[kind] = factory


def executor_kinds() -> list[str]:
    return sorted(_REGISTRY)


def check_kind(kind: str) -> None:
    """Raise :class:`~evotune.errors.SpecError` (path ``executor.kind``) for an unknown kind."""
    if kind not in _REGISTRY:
        raise SpecError("executor.kind", f"unknown executor {kind!r}; known: {', '.join(executor_kinds())}")


def create_executor(kind: str, options: Mapping[str, Any] | None = None) -> Executor:
    """Build the executor named ``kind`` with its options.

    Raises :class:`~evotune.errors.SpecError` (path ``executor.kind`` or
    ``executor.<option>``) for an unknown kind or a bad option.
    """
    check_kind(kind)
    factory = _REGISTRY[kind]
    if isinstance(factory, str):
        module_name, _, attr = factory.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise SpecError(
                "executor.kind",
                f"executor {kind!r} needs an optional dependency that is not installed "
                f"({exc.name}); install it with: pip install 'evotune[{kind}]'",
            ) from exc
        factory = getattr(module, attr)
    return factory(**dict(options or {}))
