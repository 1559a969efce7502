"""Open or resume a study and run it: the one entry point the CLI and the Python API share."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Any

from evotune.errors import SpecError, StorageError
from evotune.executors import Executor, create_executor
from evotune.storage import Storage, StudyRecord, TrialRecord, get_storage
from evotune.study._controller import Controller
from evotune.study._signals import install_interrupt
from evotune.study._spec import StudySpec, parse_study
from evotune.study._view import View

# Fields that may change between runs of one study; everything else defines the study.
_MUTABLE = ("budget", "parallelism", "base_dir", "storage")


@dataclass(frozen=True)
class StudySummary:
    name: str
    status: str
    stop_reason: str | None
    trials: list[TrialRecord]
    best: TrialRecord | None
    direction: str
    metric: str

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for t in self.trials:
            out[t.state] = out.get(t.state, 0) + 1
        return out


def best_trial(trials: list[TrialRecord], direction: str) -> TrialRecord | None:
    scored = [t for t in trials if t.state == "succeeded" and t.score is not None]
    if not scored:
        return None
    # Best score first; among equal scores, the earliest trial.
    sign = -1.0 if direction == "maximize" else 1.0
    return min(scored, key=lambda t: (sign * (t.score or 0.0), t.number))


def summarize(storage: Storage, study: StudyRecord) -> StudySummary:
    spec = study.spec
    trials = storage.trials(study.id)
    direction, metric = spec["objective"]["direction"], spec["objective"]["metric"]
    current = storage.get_study(study.name) or study
    return StudySummary(name=study.name, status=current.status, stop_reason=current.stop_reason,
                        trials=trials, best=best_trial(trials, direction), direction=direction,
                        metric=metric)


def open_study(spec: StudySpec, storage: Storage, *, must_exist: bool = False,
               claim: bool = False) -> StudyRecord:
    """The study named by ``spec`` in ``storage``: created when new, checked when it exists.

    A study that exists may change only its budget and parallelism; any other difference is a
    :class:`StorageError` naming the first differing field.
    """
    stored = storage.get_study(spec.name)
    new = spec.to_json()
    if stored is None:
        if must_exist:
            raise StorageError(f"storage: no study named {spec.name!r} in {storage.url}; start it with `evotune run`")
        return storage.create_study(spec.name, new)
    for key in sorted(set(new) | set(stored.spec)):
        if key not in _MUTABLE and new.get(key) != stored.spec.get(key):
            raise StorageError(
                f"storage: study {spec.name!r} already exists in {storage.url} with a different "
                f"{key!r}; give the study a new name, or restore its {key!r} to resume it")
    if claim:  # about to run it: not while another controller does
        refuse_if_running(storage, stored)
    if new != stored.spec:
        storage.update_spec(stored.id, new)
    return stored


def refuse_if_running(storage: Storage, study: StudyRecord) -> None:
    """Two controllers on one study would both ask and tell: refuse to start a second one.
    A controller that died (even by SIGKILL) leaves no live process behind, so its study can
    be resumed at once."""
    if study.status != "running":
        return
    starts = list(storage.events(study.id, kinds=["start"]))
    if not starts:
        return
    last = starts[-1].payload
    pid, host = last.get("pid"), last.get("host")
    if host != socket.gethostname() or not isinstance(pid, int) or pid == os.getpid():
        return
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return
    except PermissionError:
        pass
    raise StorageError(f"storage: study {study.name!r} is being run by another controller "
                       f"(pid {pid} on this machine); stop it first, or wait for it to end")


def prepare_executor(spec: StudySpec) -> Executor:
    """Build the study's executor and check its backend before anything is written."""
    executor = create_executor(spec.executor.kind, spec.executor.options)
    executor.check()
    return executor


def run_study(spec: StudySpec | dict[str, Any], *, view: View | None = None,
              executor: Executor | None = None, storage: Storage | None = None,
              must_exist: bool = False, poll_interval: float = 0.01) -> StudySummary:
    """Run (or resume) a study to its end and return its summary.

    ``spec`` is a :class:`StudySpec` or the same fields as a mapping. Ctrl-C (SIGINT) and
    SIGTERM stop gracefully: running trials are cancelled and recorded; running the same study
    again resumes it.
    """
    if not isinstance(spec, StudySpec):
        spec = parse_study(spec)
    from evotune.study._scoring import check_service

    check_service(spec)
    executor = executor or prepare_executor(spec)
    try:
        spec.study_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        executor.close()
        raise SpecError("runs_dir", f"cannot create {spec.study_dir}: {exc.strerror}") from None
    storage = storage or get_storage(spec.storage_url)
    try:
        study = open_study(spec, storage, must_exist=must_exist, claim=True)
        controller = Controller(spec, study, storage, executor, view=view, poll_interval=poll_interval)
        restore = install_interrupt(controller)
        try:
            controller.run()
        finally:
            restore()
        return summarize(storage, study)
    finally:
        executor.close()


__all__ = ["SpecError", "StudySummary", "best_trial", "open_study", "run_study", "summarize"]
