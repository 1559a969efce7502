"""The local executor: each job is a process on this machine.

Each job runs under a small wrapper (:mod:`evotune.executors._local_wrapper`) that leads a new
session and process group, starts the job's argv (never through a shell), forwards signals to
it, and records how it ended in an *exit file* next to the stdout file (``<stdout>.exit``).
The exit file is what lets a restarted controller, which is no longer the wrapper's parent,
learn the exit code of a job it reattached to.

The wrappers are forked by a *launcher* (:mod:`evotune.executors._local_launcher`): one small
resident Python process per executor, started by the first submit, that reaps its wrappers,
sweeps each one's process group as it ends and reports its exit to the executor. It ends with
the executor (``close``) or the controller (end of file on its pipe, even after a SIGKILL);
wrappers still running then run on, re-parented to init, and still record their exit. Jobs of
a launcher that has gone are followed through ``/proc`` and their exit files, as a restarted
controller follows the jobs it reattached to, and the next submit starts a new launcher.

Why a launcher (measured on a 2-core machine, zero-second ``sh -c echo`` jobs started one after
the other, CPU of the controller plus its children per job; the job alone costs ~0.6 ms):
a new ``python -I -S`` wrapper per job costs ~17 ms (the interpreter's start is ~9 ms of it),
which at a hundred starts a second saturates the machine; a wrapper forked from the launcher
costs ~6 ms, the job's own ~0.6 ms and ~1 ms of creating its three files on ext4 included
(any design pays those). Weighed and left aside: a ``/bin/sh`` wrapper (~2 ms) cannot keep the
contract, since dash starts a background job with ``SIGINT`` and ``SIGQUIT`` ignored for good,
reports a signal as an exit code ``128 + N`` that a job can also exit with, and needs further
processes to write the exit file atomically (``mv``; no ``fsync``); the launcher as the direct
parent of every job (no wrapper, under 1 ms by estimate) would make one process the keeper of
every running job's exit record, so its death would lose them all, where a forked wrapper is on
its own once started.

Stopping a job (timeout or cancel) sends ``SIGTERM`` to the wrapper, which passes it to every
process of the job's group; after ``kill_grace`` seconds the whole group gets ``SIGKILL``.
Signals go through the launcher, which sends them only to a wrapper it has not reaped (so a
reused pid is never hit); without it, only after ``/proc`` shows the same process.
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
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from evotune.errors import ExecutorError, SpecError
from evotune.executors._base import Executor, JobHandle, JobSpec, JobState, JobStatus
from evotune.executors._local_launcher import Launcher, LauncherError, proc_stat
from evotune.trial import RESERVED_ENV

__all__ = ["LocalExecutor"]

# The wrapper run alone, one interpreter per job (the design before the launcher; bench/ probes it).
_WRAPPER = Path(__file__).with_name("_local_wrapper.py")
_OPTIONS = ("kill_grace",)
# How long cancel() waits for the group to vanish after SIGKILL before giving up.
_KILL_WAIT = 5.0


@dataclass
class _Job:
    """What this executor instance knows of one job. ``launcher`` is the live launcher whose
    unreaped child the wrapper is; it is ``None`` for a job started by another controller
    (reattached) or whose launcher has gone: then liveness comes from ``/proc``."""

    pid: int
    pgid: int
    proc_start: int | None
    exit_file: Path
    deadline: float | None  # wall clock (time.time())
    launcher: Launcher | None = None
    wait_status: int | None = None  # the wrapper's, once its launcher has reaped it
    stop_reason: str | None = None
    term_sent_at: float | None = None  # time.monotonic()
    kill_sent: bool = False
    final: JobState | None = None
    boot_id: str | None = None  # of the machine the job started on (None: not recorded)


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
        self._launcher: Launcher | None = None  # started by the first submit
        self._boot_id = _boot_id()

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
        started_at = time.time()
        launcher = self._live_launcher()
        try:
            pid, proc_start = launcher.start(
                str(exit_file),
                list(spec.argv),
                self._environment(spec),
                str(spec.workdir if spec.workdir is not None else os.getcwd()),
                str(spec.stdout_path),
                str(spec.stderr_path),
            )
        except (LauncherError, OSError) as exc:
            raise ExecutorError(f"job {spec.name}: cannot start the process: {exc}") from exc
        # Exits read while waiting for the answer go to the jobs they belong to before this
        # one is filed: the pid of a wrapper just reaped may already be this one's.
        self._collect(launcher)
        job = _Job(
            pid=pid,
            pgid=pid,
            proc_start=proc_start,
            exit_file=exit_file,
            deadline=None if spec.timeout is None else started_at + spec.timeout,
            launcher=launcher,
        )
        self._jobs[job.pid] = job
        return JobHandle(
            kind=self.kind,
            data={
                "pid": job.pid,
                "pgid": job.pgid,
                "proc_start": job.proc_start,
                "boot_id": self._boot_id,
                "started_at": started_at,
                "timeout": spec.timeout,
                "exit_file": str(exit_file),
                "argv": list(spec.argv),
            },
        )

    def _live_launcher(self) -> Launcher:
        """This executor's launcher, started on first use and again if it has gone."""
        if self._launcher is None or not self._launcher.alive:
            if self._launcher is not None:
                self._launcher.close()  # reap it
            try:
                self._launcher = Launcher()
            except OSError as exc:
                raise ExecutorError(f"cannot start the local job launcher: {exc}") from exc
        return self._launcher

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
        """Whether the wrapper has exited (for a job of our live launcher: and was swept and
        reaped by it)."""
        if job.wait_status is not None:
            return True
        if job.launcher is not None:
            self._collect(job.launcher)
            if job.wait_status is not None:
                return True
            if job.launcher.alive:
                return False
            # The launcher has gone; the wrapper, re-parented to init, runs on: follow it
            # through /proc like a reattached job.
            job.launcher = None
        return not self._alive(job)

    def _collect(self, launcher: Launcher) -> None:
        """Record the wait status of every wrapper ``launcher`` has reaped since last asked."""
        for pid, status in launcher.exits():
            job = self._jobs.get(pid)
            if job is not None and job.launcher is launcher and job.wait_status is None:
                job.wait_status = status

    def _alive(self, job: _Job) -> bool:
        """Whether the recorded wrapper process still runs (not a zombie, not a new process
        that reuses its pid)."""
        stat = proc_stat(job.pid)
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
        if job.boot_id is not None and job.boot_id != self._boot_id:
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
        elif job.wait_status is not None:
            # The wrapper died without a record: it was killed (by us, or from outside).
            code = os.waitstatus_to_exitcode(job.wait_status)
            exit_code = code
            reason = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
        if job.stop_reason is not None:
            return JobState(JobStatus.FAILED, exit_code, job.stop_reason)
        if recorded is None and job.wait_status is None:
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
            self._signal(job, signal.SIGTERM, group=False)
        if not job.kill_sent and now - job.term_sent_at >= self.kill_grace:
            job.kill_sent = True
            self._signal(job, signal.SIGKILL, group=True)

    def _signal(self, job: _Job, signum: int, *, group: bool) -> None:
        """Signal the wrapper (or its group) only while it is surely the process we started:
        through its launcher, which signals only a child it has not reaped; otherwise (a
        reattached job, a launcher gone) after checking ``/proc``."""
        if job.wait_status is not None:
            return  # reaped: its pid may be a stranger's now
        if job.launcher is not None and job.launcher.send_signal(job.pid, signum, group):
            return
        if self._alive(job):
            if group:
                self._killpg(job.pgid, signum)
            else:
                try:
                    os.kill(job.pid, signum)
                except (ProcessLookupError, PermissionError):
                    pass

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
        if job.launcher is not None or job.final is not None:
            return True
        return self._alive(job) or self._read_exit_file(job.exit_file) is not None

    def release(self, handle: JobHandle) -> None:
        """Forget a finished job. Idempotent; a job still running is left alone."""
        pid = self._pid(handle)
        job = self._jobs.get(pid)
        if job is not None and job.final is not None:
            del self._jobs[pid]

    def close(self) -> None:
        """End the launcher; running jobs keep running (see the class doc) and are followed
        through ``/proc`` if this instance is used again. A later submit starts a new
        launcher."""
        if self._launcher is not None:
            launcher, self._launcher = self._launcher, None
            for job in self._jobs.values():
                if job.launcher is launcher:
                    self._collect(launcher)
                    break
            launcher.close()

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
