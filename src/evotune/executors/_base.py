"""The executor contract: start, watch and stop one job per trial attempt.

An executor is a small class with one job: turn a :class:`JobSpec` into a running job on its
backend (a process, a container, ...), report on it, and stop it. It knows nothing of
strategies or scores: the controller reads the job's metrics from the log and output files the
executor leaves at the paths the spec names.

Contract, tested against every backend by ``tests/executors/test_contract.py``:

- ``submit`` does not block on the job; the :class:`JobHandle` it returns is JSON-safe, so the
  controller journals it and a later controller can ``reattach`` to the job.
- ``poll`` is cheap and never raises for the job's own failure: a crash, a non-zero exit, a
  timeout or an out-of-memory kill is a ``FAILED`` :class:`JobState` with a ``reason``. When
  ``poll`` first answers a final state, the job's stdout and stderr are complete in
  ``spec.stdout_path`` / ``spec.stderr_path`` and its files are in ``spec.output_dir``.
- The per-job ``timeout`` (seconds) is enforced by the executor: the job is stopped and
  reported ``FAILED`` with reason ``timeout``.
- ``cancel`` is idempotent and leaves nothing running; a cancelled job then polls as
  ``FAILED`` with reason ``cancelled``.
- ``reattach`` after a controller restart answers whether the backend still knows the job
  (running or finished with its result available); when it does not, the job is ``LOST``.
- ``release`` frees what the backend keeps for a finished job (a stopped container); it is
  called once the controller has recorded the result, and is idempotent.
- Backend errors are translated once, at this edge, into :class:`~evotune.errors.ExecutorError`
  and its subclasses.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Mapping

__all__ = ["Executor", "JobHandle", "JobSpec", "JobState", "JobStatus"]


class JobStatus(str, enum.Enum):
    """Where a job is in its life. ``SUCCEEDED``, ``FAILED`` and ``LOST`` are final."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    LOST = "lost"

    @property
    def final(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.LOST)


@dataclass(frozen=True)
class JobSpec:
    """Everything an executor needs to start one attempt of one trial.

    ``argv`` is already substituted (see :mod:`evotune.trial`), ``env`` already holds the job
    contract's variables (``EVOTUNE_CONFIG``, ``EVOTUNE_OUTPUT_DIR``, ...) with host paths; a
    container executor mounts ``output_dir`` and rewrites ``EVOTUNE_OUTPUT_DIR`` to the path
    inside the container. ``workdir`` is the job's working directory (``None``: the
    executor's default).
    """

    study: str
    trial_number: int
    attempt: int
    argv: tuple[str, ...]
    env: Mapping[str, str]
    output_dir: Path
    stdout_path: Path
    stderr_path: Path
    workdir: Path | None = None
    timeout: float | None = None

    @property
    def name(self) -> str:
        """A name unique to this attempt, fit for a container or process label."""
        return f"evotune-{self.study}-{self.trial_number}-{self.attempt}"


@dataclass(frozen=True)
class JobHandle:
    """A JSON-safe reference to a submitted job: the executor kind and backend-specific data."""

    kind: str
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "data": dict(self.data)}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> "JobHandle":
        return cls(kind=str(raw["kind"]), data=dict(raw.get("data") or {}))


@dataclass(frozen=True)
class JobState:
    """What ``poll`` saw. ``reason`` explains a ``FAILED`` or ``LOST`` job in a few words
    (``exit code 3``, ``timeout``, ``out of memory``, ``cancelled``, ``killed by signal 9``)."""

    status: JobStatus
    exit_code: int | None = None
    reason: str | None = None


class Executor(ABC):
    """Base of every executor backend. Subclasses register themselves by ``kind``."""

    kind: ClassVar[str]

    def check(self, spec_image: str | None = None) -> None:
        """Fail fast before the first trial: raise :class:`~evotune.errors.BackendUnavailable`
        when the backend cannot be reached, :class:`~evotune.errors.ImageNotFound` when a
        needed image is missing. The default has nothing to check."""

    @abstractmethod
    def submit(self, spec: JobSpec) -> JobHandle:
        """Start the job and return at once."""

    @abstractmethod
    def poll(self, handle: JobHandle) -> JobState:
        """Report the job's state; enforce its timeout; never raise for the job's own failure."""

    @abstractmethod
    def cancel(self, handle: JobHandle) -> None:
        """Stop the job if it runs. Idempotent."""

    @abstractmethod
    def reattach(self, handle: JobHandle, spec: JobSpec) -> bool:
        """After a controller restart: ``True`` when the job is still known to the backend,
        running or finished, so that ``poll`` will report it; ``False`` when it is lost."""

    def release(self, handle: JobHandle) -> None:
        """Free what the backend keeps for a finished job. Idempotent. Default: nothing."""

    def close(self) -> None:
        """Release the executor's own resources (connections, threads)."""
