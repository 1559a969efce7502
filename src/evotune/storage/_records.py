"""Plain records read back from storage: what a study, a trial and an event look like."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StudyRecord:
    id: int
    name: str
    spec: dict[str, Any]
    status: str  # running | finished | stopped | interrupted
    stop_reason: str | None
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class TrialRecord:
    """One trial: a candidate configuration and what became of it.

    ``state`` is one of ``pending`` (asked, not started), ``running``, ``succeeded`` (scored),
    ``failed`` (infrastructure failure after every retry, or an objective failure: no usable
    score) or ``cancelled`` (stopped by the user or a budget; re-run on resume).
    ``score`` is in the study's own direction; ``None`` unless ``succeeded``.
    """

    number: int
    candidate_id: int
    generation: int
    config: dict[str, Any]
    vector: list[float]
    state: str
    score: float | None
    reason: str | None
    metrics: dict[str, Any] | None
    attempts: int
    job_handle: dict[str, Any] | None
    log_dir: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


@dataclass(frozen=True)
class Event:
    """One journal entry. ``kind``: ask, submit, handle, retry, result, cancel, start, stop."""

    id: int
    kind: str
    trial_number: int | None
    payload: dict[str, Any]
    time: float


@dataclass
class Write:
    """An event to append, with the change it makes to its trial, applied in one transaction.

    ``new_trial`` inserts the trial row (with an ``ask``), ``trial`` updates its columns.
    """

    kind: str
    trial_number: int | None
    payload: dict[str, Any]
    new_trial: dict[str, Any] | None = None
    trial: dict[str, Any] = field(default_factory=dict)
