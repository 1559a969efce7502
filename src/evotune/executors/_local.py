"""The local executor: each job is a process on this machine.

Each job runs under a small wrapper (:mod:`evotune.executors._local_wrapper`) that leads a new
session and process group, starts the job's argv (never through a shell), forwards signals to
it, and records how it ended in an *exit file* next to the stdout file (``<stdout>.exit``).
The exit file is what lets a restarted controller, which is no longer the wrapper's parent,
learn the exit code of a job it reattached to.

Stopping a job (timeout or cancel) sends ``SIGTERM`` to the wrapper, which passes it to every
process of the job's group; after ``kill_grace`` seconds the whole group gets ``SIGKILL``.
``poll`` never blocks: it advances that sequence one step per call. ``cancel`` blocks until the
group is gone (at most ``kill_grace`` plus a moment).

Example::

    from evotune.executors import create_executor
    ex = create_executor("local", {"kill_grace": 2})
    handle = ex.submit(spec)               # spec: a JobSpec
    while not (state := ex.poll(handle)).status.final:
        time.sleep(0.5)
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from evotune.errors import ExecutorError, SpecError
from evotune.executors._base import Executor, JobHandle, JobSpec, JobState, JobStatus
from evotune.trial import RESERVED_ENV

__all__ = ["LocalExecutor"]

_WRAPPER = Path(__file__).with_name("_local_wrapper.py")
_OPTIONS = ("kill_grace",)
# How long cancel() waits for the group to vanish after SIGKILL before giving up.
_KILL_WAIT = 5.0


@dataclass
class _Job:
    """What this executor instance knows of one job. ``popen`` is ``None`` for a job started
    by another controller (reattached): then liveness comes from ``/proc``."""

    pid: int
    pgid: int
    proc_start: int | None
    exit_file: Path
    deadline: float | None  # wall clock (time.time())
    popen: subprocess.Popen[bytes] | None = None
    stop_reason: str | None = None
    term_sent_at: float | None = None  # time.monotonic()
    kill_sent: bool = False
    final: JobState | None = None
    boot_id: str | None = None  # of the machine the job started on (None: not recorded)


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in clock ticks since boot) from ``/proc/<pid>/stat``, or
    ``None`` when there is no such process (or no ``/proc``)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read().decode("ascii", "replace")
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces and parentheses.
    fields = raw[raw.rfind(")") + 2 :].split()
    try:
        return fields[0], int(fields[19])
    except (IndexError, ValueError):
        return None


def _boot_id() -> str | None:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
            return handle.read().strip()
    except OSError:
        return None


class LocalExecutor(Executor):
    """Runs each job as a local process group (kind ``local``).

    Options: ``kill_grace`` (seconds between ``SIGTERM`` and ``SIGKILL`` when a job is
    stopped; default 5). Unknown options raise :class:`~evotune.errors.SpecError`.

    The job's environment is this process's environment (less any ``EVOTUNE_*`` contract
    variable) overlaid with ``spec.env``; its
    working directory is ``spec.workdir`` (default: this process's). stdout and stderr go
    straight to ``spec.stdout_path`` / ``spec.stderr_path``. ``close()`` leaves running jobs
    running, so a later controller can reattach to them.

    Reattaching checks that the recorded pid still belongs to the same process (its start
    time in ``/proc`` and the boot id), so it is reliable on Linux; elsewhere it falls back
    to the pid alone.
    """

    kind: ClassVar[str] = "local"

    def __init__(self, *, kill_grace: float = 5.0, **unknown: Any) -> None:
        for name in unknown:
            raise SpecError(
                f"executor.{name}",
                f"unknown option for the local executor; known: {', '.join(_OPTIONS)}",
            )
        if (
            isinstance(kill_grace, bool)
            or not isinstance(kill_grace, (int, float))
            or not math.isfinite(kill_grace)
            or kill_grace < 0
        ):
            raise SpecError(
                "executor.kill_grace", f"must be a number of seconds >= 0, got {kill_grace!r}"
            )
        self.kill_grace = float(kill_grace)
        self._jobs: dict[int, _Job] = {}

    # -- submit ---------------------------------------------------------------------------

    def submit(self, spec: JobSpec) -> JobHandle:
        """Start the job under the wrapper and return at once.

        Raises :class:`~evotune.errors.ExecutorError` when the job cannot be set up (the
        output folders cannot be made, the workdir does not exist). A command that does not
        exist is the job's failure, reported by ``poll``.
        """
        if not spec.argv:
            raise ExecutorError(f"job {spec.name}: empty argv")
        exit_file = Path(f"{spec.stdout_path}.exit")
        try:
            for folder in (spec.output_dir, spec.stdout_path.parent, spec.stderr_path.parent):
                folder.mkdir(parents=True, exist_ok=True)
            for stale in (exit_file, Path(f"{exit_file}.tmp")):
                stale.unlink(missing_ok=True)
        except OSError as exc:
            raise ExecutorError(f"job {spec.name}: cannot prepare its files: {exc}") from exc
        if spec.workdir is not None and not Path(spec.workdir).is_dir():
            raise ExecutorError(f"job {spec.name}: workdir {spec.workdir} is not a directory")
        command = [sys.executable, "-I", "-S", str(_WRAPPER), str(exit_file), "--", *spec.argv]
        started_at = time.time()
        try:
            with open(spec.stdout_path, "wb") as out, open(spec.stderr_path, "wb") as err:
                popen = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    cwd=spec.workdir,
                    env=self._environment(spec),
                    start_new_session=True,
                )
        except OSError as exc:
            raise ExecutorError(f"job {spec.name}: cannot start the process: {exc}") from exc
        stat = _proc_stat(popen.pid)
        job = _Job(
            pid=popen.pid,
            pgid=popen.pid,
            proc_start=stat[1] if stat else None,
            exit_file=exit_file,
            deadline=None if spec.timeout is None else started_at + spec.timeout,
            popen=popen,
        )
        self._jobs[job.pid] = job
        return JobHandle(
            kind=self.kind,
            data={
                "pid": job.pid,
                "pgid": job.pgid,
                "proc_start": job.proc_start,
                "boot_id": _boot_id(),
                "started_at": started_at,
                "timeout": spec.timeout,
                "exit_file": str(exit_file),
                "argv": list(spec.argv),
            },
        )

    @staticmethod
    def _environment(spec: JobSpec) -> dict[str, str]:
        """This process's environment under the spec's, minus the job contract's variables
        this process may itself carry (a controller running inside a trial): a job sees
        only its own."""
        env = {k: v for k, v in os.environ.items() if k not in RESERVED_ENV}
        env.update(spec.env)
        return env

    # -- poll -----------------------------------------------------------------------------

    def poll(self, handle: JobHandle) -> JobState:
        """The job's state; starts or advances the stop sequence once its timeout is past.

        A job reads ``RUNNING`` until its wrapper has exited and its group has been swept,
        so on the first final answer its output files are complete.
        """
        job = self._job(handle)
        if job.final is not None:
            return job.final
        if self._exited(job):
            job.final = self._result(job)
            return job.final
        if job.stop_reason is None and job.deadline is not None and time.time() >= job.deadline:
            job.stop_reason = "timeout"
        if job.stop_reason is not None:
            self._advance_stop(job)
        return JobState(JobStatus.RUNNING)

    def _exited(self, job: _Job) -> bool:
        """Whether the wrapper has exited; for our own child, also sweeps the group and reaps."""
        if job.popen is None:
            return not self._alive(job)
        if job.popen.returncode is not None:
            return True
        if hasattr(os, "waitid"):
            # Peek without reaping: while the wrapper is a zombie its pid cannot be reused, so
            # killing its group cannot hit a stranger.
            try:
                info = os.waitid(os.P_PID, job.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:  # reaped elsewhere; the exit file tells the result
                return job.popen.poll() is not None
            if info is None:
                return job.popen.returncode is not None
            self._killpg(job.pgid, signal.SIGKILL)
        return job.popen.poll() is not None

    def _alive(self, job: _Job) -> bool:
        """Whether the recorded wrapper process still runs (not a zombie, not a new process
        that reuses its pid)."""
        stat = _proc_stat(job.pid)
        if stat is None:
            if os.path.isdir("/proc"):
                return False
            try:  # no /proc: the pid alone
                os.kill(job.pid, 0)
            except ProcessLookupError:
                return False
            except PermissionError:
                return True
            return True
        state, start = stat
        if job.proc_start is not None and start != job.proc_start:
            return False
        if job.boot_id is not None and job.boot_id != _boot_id():
            return False
        return state not in ("Z", "X", "x")

    def _result(self, job: _Job) -> JobState:
        recorded = self._read_exit_file(job.exit_file)
        exit_code: int | None = None
        reason: str | None = None
        if recorded is not None:
            if "error" in recorded:
                exit_code, reason = 127, str(recorded["error"])
            elif isinstance(recorded.get("signal"), int):
                exit_code, reason = -recorded["signal"], f"killed by signal {recorded['signal']}"
            elif isinstance(recorded.get("exit_code"), int):
                exit_code = recorded["exit_code"]
                reason = None if exit_code == 0 else f"exit code {exit_code}"
        elif job.popen is not None and job.popen.returncode is not None:
            # The wrapper died without a record: it was killed (by us, or from outside).
            code = job.popen.returncode
            exit_code = code
            reason = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
        if job.stop_reason is not None:
            return JobState(JobStatus.FAILED, exit_code, job.stop_reason)
        if recorded is None and job.popen is None:
            return JobState(JobStatus.LOST, None, "process gone without an exit record")
        if exit_code == 0:
            return JobState(JobStatus.SUCCEEDED, 0)
        return JobState(JobStatus.FAILED, exit_code, reason or "ended without an exit record")

    @staticmethod
    def _read_exit_file(path: Path) -> dict[str, Any] | None:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return raw if isinstance(raw, dict) else None

    # -- stopping -------------------------------------------------------------------------

    def _advance_stop(self, job: _Job) -> None:
        """One step of the stop sequence: SIGTERM to the wrapper (which passes it to the
        group), then SIGKILL to the group once the grace is over."""
        now = time.monotonic()
        if job.term_sent_at is None:
            job.term_sent_at = now
            if self._alive_or_child(job):
                try:
                    os.kill(job.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        if not job.kill_sent and now - job.term_sent_at >= self.kill_grace:
            job.kill_sent = True
            if self._alive_or_child(job):
                self._killpg(job.pgid, signal.SIGKILL)

    def _alive_or_child(self, job: _Job) -> bool:
        """Whether signalling the recorded pid and group is safe: our unreaped child, or a
        live process verified to be the one we started."""
        if job.popen is not None:
            return job.popen.returncode is None
        return self._alive(job)

    @staticmethod
    def _killpg(pgid: int, signum: int) -> None:
        try:
            os.killpg(pgid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def cancel(self, handle: JobHandle) -> None:
        """Stop the job and wait until its process group is gone; later polls answer
        ``FAILED`` / ``cancelled``. Idempotent; a job that already ended keeps its result."""
        job = self._job(handle)
        if job.final is not None or self._exited(job):
            return
        if job.stop_reason is None:
            job.stop_reason = "cancelled"
        give_up = time.monotonic() + self.kill_grace + _KILL_WAIT
        while not self._exited(job) and time.monotonic() < give_up:
            self._advance_stop(job)
            time.sleep(0.02)
        if not self._exited(job):
            raise ExecutorError(f"local job pid {job.pid} did not stop after SIGKILL")

    # -- restart --------------------------------------------------------------------------

    def reattach(self, handle: JobHandle, spec: JobSpec) -> bool:
        """``True`` when the job still runs (same process, verified) or has left its exit
        record; ``False`` (the job is lost) otherwise."""
        job = self._job(handle)
        if job.popen is not None or job.final is not None:
            return True
        return self._alive(job) or self._read_exit_file(job.exit_file) is not None

    def release(self, handle: JobHandle) -> None:
        """Forget a finished job. Idempotent; a job still running is left alone."""
        pid = self._pid(handle)
        job = self._jobs.get(pid)
        if job is not None and job.final is not None:
            del self._jobs[pid]

    def close(self) -> None:
        """Reap children that have ended; running jobs keep running (see the class doc)."""
        for job in list(self._jobs.values()):
            if job.popen is not None and job.popen.returncode is None:
                job.popen.poll()

    # -- handles --------------------------------------------------------------------------

    def _pid(self, handle: JobHandle) -> int:
        if handle.kind != self.kind:
            raise ExecutorError(f"a {handle.kind!r} job handle given to the local executor")
        pid = handle.data.get("pid")
        if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
            raise ExecutorError(f"local job handle without a valid pid: {dict(handle.data)!r}")
        return pid

    def _job(self, handle: JobHandle) -> _Job:
        """This instance's record of the job, built from the handle for a job another
        instance started (a reattach)."""
        pid = self._pid(handle)
        job = self._jobs.get(pid)
        data = handle.data
        if job is not None and job.proc_start == data.get("proc_start"):
            return job
        try:
            started_at = float(data["started_at"])
            timeout = data.get("timeout")
            job = _Job(
                pid=pid,
                pgid=int(data.get("pgid", pid)),
                proc_start=None if data.get("proc_start") is None else int(data["proc_start"]),
                exit_file=Path(str(data["exit_file"])),
                deadline=None if timeout is None else started_at + float(timeout),
                boot_id=None if data.get("boot_id") is None else str(data["boot_id"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ExecutorError(f"malformed local job handle: {exc}") from exc
        self._jobs[pid] = job
        return job
