"""The controller: ask, decode, submit, collect, tell — until a budget or the target stops it.

Asynchronous by default: whenever a slot frees, the next candidate is asked, decoded and
submitted. ``schedule: generational`` asks a whole population and waits for all of it.

Durability: every ask, submit, result, retry and cancel is journalled *before* the controller
acts on it (see :mod:`evotune.study._journal`), so a controller killed at any moment resumes
where it was: the strategy is rebuilt by replay, jobs still running are re-attached where the
executor allows, and only what was truly lost runs again.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import shutil
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from evotune.errors import EvotuneError, ExecutorError
from evotune.executors import Executor, JobHandle, JobSpec, JobState, JobStatus
from evotune.storage import Storage, StudyRecord, Write
from evotune.strategies import Strategy
from evotune.study._journal import Trial, replay
from evotune.study._outcome import Outcome, Verdict, json_safe, judge
from evotune.study._parts import build_space, build_strategy
from evotune.study._spec import StudySpec
from evotune.study._view import Progress, QuietView, View
from evotune.trial import build_argv, build_env, read_metrics

# Stops that end running trials at once; the others let running trials finish.
_CANCELLING = ("target", "time_limit", "interrupted", "error")
_MAX_IDLE = 0.05  # seconds between polls when nothing happens


class Controller:
    """Runs one study to its end (or until interrupted) against one storage and executor."""

    def __init__(self, spec: StudySpec, study: StudyRecord, storage: Storage, executor: Executor,
                 *, view: View | None = None, poll_interval: float = 0.01,
                 clock: Callable[[], float] = time.time,
                 wait: Callable[[float], object] | None = None) -> None:
        """``clock`` gives the time for budgets and records; ``wait(seconds)`` idles the loop
        (default: sleep, woken early by :meth:`interrupt`). A simulation passes both."""
        self.spec, self.study, self.storage, self.executor = spec, study, storage, executor
        self.view: View = view or QuietView()
        self.poll_interval = poll_interval
        self.clock = clock
        self.space = build_space(spec)
        self.strategy: Strategy = build_strategy(spec, self.space)
        self.trials: dict[int, Trial] = {}
        self.queue: deque[int] = deque()  # trials to (re)start, oldest first
        self.running: dict[int, Trial] = {}
        self.scoring: dict[int, cf.Future[Outcome]] = {}
        self.stop_reason: str | None = None
        self.stop_kind: str | None = None
        self.fatal: EvotuneError | None = None  # a setup fault that stopped the study
        self._interrupt = threading.Event()
        self._wait = wait or self._interrupt.wait
        self._since_best = 0
        self._best: Trial | None = None
        self._pool: cf.ThreadPoolExecutor | None = None
        self._client: Any = None
        self._session_start = self.clock()
        self._elapsed_before = 0.0
        self._done_at_start = 0
        self._done = 0  # trials with a result
        self._failed = 0
        self._shown = 0.0  # when the view was last updated
        # Results are journalled in the same transaction as the asks they lead to: telling the
        # strategy only changes memory, which a replay rebuilds, so the result need not be
        # committed before the tell, only before the next act on the world (a submit, a
        # cancel, a release).
        self._pending: list[Write] = []
        self._releases: list[JobHandle] = []
        self._poll_trouble: set[int] = set()  # trials whose last poll failed

    # -- public ----------------------------------------------------------------------------

    @property
    def interrupted(self) -> bool:
        return self._interrupt.is_set()

    def interrupt(self) -> None:
        """Ask the loop to stop: running trials are cancelled and recorded; resume continues."""
        self._interrupt.set()

    def run(self) -> str:
        """Resume from the journal, run until a stop, and return the stop reason."""
        self._restore()
        self.storage.write(self.study.id, [Write("start", None, {"pid": os.getpid(),
                                                                   "host": socket.gethostname()})])
        self.storage.set_status(self.study.id, "running")
        try:
            self._loop()
        finally:
            if self._pool is not None:
                # A score request under way may take minutes to time out: don't wait for it;
                # its trial has no result in the journal, so resume scores it again.
                self._pool.shutdown(wait=False, cancel_futures=True)
        self._flush()
        status = {"interrupted": "interrupted", "error": "stopped"}.get(self.stop_kind or "", "finished")
        self.storage.write(self.study.id, [Write("stop", None, {"reason": self.stop_reason,
                                                                  "kind": self.stop_kind})])
        self.storage.set_status(self.study.id, status, self.stop_reason)
        self.view.close(self.progress(), self.stop_reason)
        if self.fatal is not None:
            raise self.fatal
        return self.stop_reason or "done"

    # -- restore ---------------------------------------------------------------------------

    def _restore(self) -> None:
        state = replay(self.storage.events(self.study.id), self.strategy)
        self.trials, self._elapsed_before = state.trials, state.elapsed_before
        for number in state.told:  # in result order, as the live loop saw them
            self._since_best += 1
            if self.trials[number].state == "succeeded":
                self._note_best(self.trials[number])
        self._done = sum(1 for t in self.trials.values() if t.final)
        self._failed = sum(1 for t in self.trials.values() if t.state == "failed")
        self._done_at_start = self._done
        for t in sorted(self.trials.values(), key=lambda t: t.number):
            if t.state in ("running", "cancelled") and t.attempt > 0:
                job = t.job = self._job_spec(t, t.attempt)
                handle = t.handle
                known = handle is not None and bool(self._safe(self.executor.reattach, handle, job))
                if t.state == "running" and known:
                    self.running[t.number] = t
                    self.view.message(f"trial {t.number}: re-attached to its running job")
                    continue
                if handle is not None and known:  # cancelled while its job ran on: stop it
                    self._safe(self._stop_job, handle)
                if t.state == "running":
                    t.rerun_attempt = True  # lost with the controller, not by its own fault
                    t.state = "pending"
            if t.state in ("pending", "cancelled"):
                self.queue.append(t.number)

    # -- the loop --------------------------------------------------------------------------

    def _loop(self) -> None:
        idle = self.poll_interval
        while True:
            if self._interrupt.is_set() and self.stop_kind != "interrupted":
                self._stop("interrupted", "interrupted by the user; `evotune resume` continues")
            changed = self._collect()
            if self.stop_kind is None:
                self._check_limits()
            if self.stop_kind is None:
                changed = self._launch() or changed
            self._flush()
            now = time.monotonic()
            if now - self._shown >= 0.2:
                self._shown = now
                self.view.update(self.progress())
            if not self.running and not self.scoring:
                if self.stop_kind is not None:
                    break
                if not self.queue and not self._may_ask():
                    self._finish()
                    break
            if changed:  # something moved: look again at once, a result may be waiting
                idle = self.poll_interval
                continue
            self._wait(idle)
            # Back off while nothing moves, but not far: a job that ends waits at most this
            # long to be seen, and its worker idles meanwhile.
            idle = min(idle * 1.5, max(self.poll_interval, _MAX_IDLE))

    def _may_ask(self) -> bool:
        """Whether a new candidate may be asked. Retries of asked trials run regardless."""
        b = self.spec.budget
        if b.max_trials is not None and len(self.trials) >= b.max_trials:
            return False
        if b.max_generations is not None and self.strategy.generation >= b.max_generations:
            return False
        if b.patience is not None and self._since_best >= b.patience:
            return False
        return True

    def _check_limits(self) -> None:
        """The limits that end a study at once, cancelling what runs: target and time."""
        b, best = self.spec.budget, self._best
        if b.target is not None and best is not None and best.score is not None:
            hit = best.score >= b.target if self.spec.objective.direction == "maximize" else best.score <= b.target
            if hit:
                return self._stop("target", f"target reached: {self.spec.objective.metric} {best.score:.6g} "
                                            f"(trial {best.number}) vs target {b.target:g}")
        if b.time_limit is not None and self.elapsed() >= b.time_limit:
            return self._stop("time_limit", f"time limit of {b.time_limit:g} s reached")

    def _finish(self) -> None:
        """Every trial asked has ended and no new one may be asked: say which limit did it."""
        b = self.spec.budget
        if b.patience is not None and self._since_best >= b.patience:
            self._stop("patience", f"no improvement in the last {b.patience} trials")
        elif b.max_trials is not None and len(self.trials) >= b.max_trials:
            self._stop("max_trials", f"max_trials reached ({b.max_trials})")
        else:
            self._stop("max_generations", f"max_generations reached ({b.max_generations})")

    def _stop(self, kind: str, reason: str) -> None:
        self.stop_kind, self.stop_reason = kind, reason
        self.view.message(f"stopping: {reason}")
        cancel = [self.trials[n] for n in self.queue if self.trials[n].state == "pending"]
        if kind in _CANCELLING:
            cancel += list(self.running.values())
            cancel += [self.trials[n] for n in self.scoring]
        self._pending.extend(
            Write("cancel", t.number, {"attempt": t.attempt, "reason": reason},
                  trial={"state": "cancelled", "reason": reason}) for t in cancel)
        self._flush()
        for t in cancel:
            t.state, t.reason = "cancelled", reason
            if t.number in self.running:
                del self.running[t.number]
                handle = t.handle
                if handle is not None:
                    self._safe(self._stop_job, handle)
            fut = self.scoring.pop(t.number, None)
            if fut is not None:
                fut.cancel()
                if t.handle is not None:  # its job has ended: free what the backend keeps
                    self._safe(self.executor.release, t.handle)

    def _flush(self) -> None:
        """Commit the journal entries held back, then free the finished jobs they record."""
        if self._pending:
            writes, self._pending = self._pending, []
            self.storage.write(self.study.id, writes)
        if self._releases:
            handles, self._releases = self._releases, []
            for handle in handles:
                self._safe(self.executor.release, handle)

    # -- starting trials -------------------------------------------------------------------

    def _launch(self) -> bool:
        free = self.spec.parallelism - len(self.running) - len(self.scoring)
        if free <= 0:
            return False
        writes: list[Write] = []
        start: list[Trial] = []
        if self.spec.schedule == "generational" and not self.queue and not self.running and not self.scoring:
            self._ask_generation(writes)
        while free > 0 and self.queue:
            t = self.trials[self.queue.popleft()]
            start.append(t)
            free -= 1
        if self.spec.schedule == "asynchronous":
            while free > 0 and self._may_ask():
                start.append(self._ask(writes))
                free -= 1
        if not start and not writes:
            return False
        now = self.clock()
        for t in start:
            attempt = t.attempt if t.rerun_attempt else t.attempt + 1
            t.rerun_attempt = False
            t.attempt, t.state, t.started, t.job = attempt, "running", now, self._job_spec(t, attempt)
            writes.append(Write("submit", t.number, {"attempt": attempt},
                                trial={"state": "running", "attempts": attempt, "started_at": now,
                                       "finished_at": None, "log_dir": str(t.job.stdout_path.parent)}))
        self._pending.extend(writes)
        self._flush()  # journal first, then act
        for t in start:
            assert t.job is not None
            t.handle = None
            try:
                self._fresh_dirs(t.job)
                t.handle = self.executor.submit(t.job)
            except (ExecutorError, OSError) as exc:
                self._record([(t, Outcome(Verdict.INFRA_FAILURE, None, f"submit failed: {exc}", {}))])
                continue
            self.running[t.number] = t
            # Each handle at once, not after the batch: a controller that dies now still finds
            # every job it started.
            self.storage.write(self.study.id, [Write(
                "handle", t.number, {"attempt": t.attempt, "handle": t.handle.to_json()},
                trial={"job_handle": t.handle.to_json()})])
        return True

    def _ask(self, writes: list[Write]) -> Trial:
        cand = self.strategy.ask()
        config = self.space.decode(cand.vector)
        vector = [float(v) for v in cand.vector]
        t = Trial(number=len(self.trials), candidate_id=cand.id, generation=cand.generation,
                  config=config, vector=vector)
        self.trials[t.number] = t
        writes.append(Write("ask", t.number, {"candidate_id": cand.id, "generation": cand.generation,
                                              "vector": vector, "config": config},
                            new_trial={"number": t.number, "candidate_id": cand.id,
                                       "generation": cand.generation, "config": config,
                                       "vector": vector, "state": "pending", "attempts": 0}))
        return t

    def _ask_generation(self, writes: list[Write]) -> None:
        # A generation of the strategy (N, or N - elites after the first for elitist); a
        # strategy without generations (random, sobol) is batched by the parallelism.
        size = self.strategy.generation_size or self.spec.parallelism
        if self.spec.budget.max_trials is not None:
            size = min(size, self.spec.budget.max_trials - len(self.trials))
        generation = self.strategy.generation
        for _ in range(size):
            if not self._may_ask() or self.strategy.generation != generation:
                break
            self.queue.append(self._ask(writes).number)

    def _job_spec(self, t: Trial, attempt: int) -> JobSpec:
        spec = self.spec
        folder = spec.study_dir / "trials" / f"{t.number:05d}.{attempt}"  # trial.attempt
        seed = (spec.seed * 1_000_003 + t.number) % 2**31
        output = folder / "output"
        return JobSpec(
            study=spec.name, trial_number=t.number, attempt=attempt,
            argv=build_argv(spec.job.argv, t.config),
            env=build_env(config=t.config, study=spec.name, trial_number=t.number, seed=seed,
                          output_dir=output, extra=spec.job.env, objective=spec.objective.metric),
            output_dir=output, stdout_path=folder / "stdout.log", stderr_path=folder / "stderr.log",
            workdir=spec.workdir, timeout=spec.job.timeout)

    @staticmethod
    def _fresh_dirs(job: JobSpec) -> None:
        try:
            os.makedirs(job.output_dir)
        except FileExistsError:
            # A re-run of an attempt lost with the controller starts from a clean folder.
            shutil.rmtree(job.output_dir, ignore_errors=True)
            for log in (job.stdout_path, job.stderr_path):
                log.unlink(missing_ok=True)
            os.makedirs(job.output_dir)

    # -- collecting results ----------------------------------------------------------------

    def _collect(self) -> bool:
        done: list[tuple[Trial, Outcome]] = []
        for number, t in list(self.running.items()):
            assert t.handle is not None
            try:
                state = self.executor.poll(t.handle)
            except ExecutorError as exc:
                if number not in self._poll_trouble:  # once, not at every poll
                    self._poll_trouble.add(number)
                    self.view.message(f"trial {number}: cannot poll its job ({exc}); trying again")
                continue
            self._poll_trouble.discard(number)
            if not state.status.final:
                continue
            del self.running[number]
            outcome = self._judge(t, state)
            if outcome is not None:
                done.append((t, outcome))
        for number, fut in list(self.scoring.items()):
            if fut.done():
                del self.scoring[number]
                error = fut.exception()
                if isinstance(error, EvotuneError):  # a setup fault every trial would meet
                    self.trials[number].state = "running"  # no result: resume scores it again
                    self.fatal = error
                    self._stop("error", str(error))
                    break
                done.append((self.trials[number], fut.result()))
        if done:
            self._record(done)
        return bool(done)

    def _judge(self, t: Trial, state: JobState) -> Outcome | None:
        assert t.job is not None
        metrics = read_metrics(t.job.stdout_path, t.job.output_dir)
        extra = {"reported": json_safe(metrics.final()), "job": {"status": state.status.value,
                                                     "exit_code": state.exit_code, "reason": state.reason}}
        objective = self.spec.objective
        if objective.source == "evaluation" and state.status is JobStatus.SUCCEEDED:
            t.state = "scoring"
            self.scoring[t.number] = self._scoring_pool().submit(self._evaluate, t.job, state, extra)
            return None
        return judge(state, metrics.last(objective.metric), objective.metric, extra)

    def _record(self, done: list[tuple[Trial, Outcome]]) -> None:
        writes: list[Write] = []
        told: list[tuple[Trial, Outcome]] = []
        now = self.clock()
        for t, o in done:
            if o.verdict is Verdict.INFRA_FAILURE and t.failures < self.spec.job.retries:
                t.failures += 1  # a cancel or a controller crash is no failure of the job
                writes.append(Write("retry", t.number, {"attempt": t.attempt, "reason": o.reason},
                                    trial={"state": "pending", "reason": o.reason}))
                continue
            state = "succeeded" if o.verdict is Verdict.SCORED else "failed"
            reason = o.reason if o.verdict is not Verdict.INFRA_FAILURE else f"{o.reason} (attempt {t.attempt})"
            writes.append(Write("result", t.number, {"candidate_id": t.candidate_id, "score": o.score,
                                                     "reason": reason, "attempt": t.attempt},
                                trial={"state": state, "score": o.score, "reason": reason,
                                       "metrics": o.metrics, "finished_at": now}))
            told.append((t, o))
        self._pending.extend(writes)  # committed before the next act (see __init__)
        self._releases.extend(t.handle for t, _ in done if t.handle is not None)
        retried = {w.trial_number for w in writes if w.kind == "retry"}
        for t, o in done:
            if t.number in retried:
                t.state, t.reason = "pending", o.reason
                self.queue.appendleft(t.number)
                self.view.message(f"trial {t.number}: {o.reason}; retrying (attempt {t.attempt + 1})")
        for t, o in told:
            self.strategy.tell(t.candidate_id, o.score)
            t.score, t.state = o.score, ("succeeded" if o.verdict is Verdict.SCORED else "failed")
            t.reason = o.reason
            self._done += 1
            self._failed += t.state == "failed"
            self._since_best += 1
            if t.state == "succeeded":
                self._note_best(t)
            self.view.trial_done(t.number, t.state, t.score, t.reason, t.config, self.progress())

    def _note_best(self, t: Trial) -> None:
        assert t.score is not None
        best = self._best
        if best is None or best.score is None or (
                t.score > best.score if self.spec.objective.direction == "maximize" else t.score < best.score):
            self._best, self._since_best = t, 0
        elif t.score == best.score and t.number < best.number:
            self._best = t  # an equal score: the earliest trial, as `status` names it

    # -- evaluation service ----------------------------------------------------------------

    def _scoring_pool(self) -> cf.ThreadPoolExecutor:
        if self._pool is None:
            self._pool = cf.ThreadPoolExecutor(max_workers=min(8, self.spec.parallelism),
                                               thread_name_prefix="evotune-score")
        return self._pool

    def _evaluate(self, job: JobSpec, state: JobState, extra: dict[str, Any]) -> Outcome:
        from evotune.study._scoring import score_with_service

        return score_with_service(self.spec, job, state, extra, self._eval_client())

    def _eval_client(self) -> Any:
        if self._client is None:
            from evotune.study._scoring import make_client

            self._client = make_client(self.spec)
        return self._client

    # -- reporting -------------------------------------------------------------------------

    def elapsed(self) -> float:
        return self._elapsed_before + (self.clock() - self._session_start)

    def progress(self) -> Progress:
        done, failed = self._done, self._failed
        budget = self.spec.budget.max_trials
        session_done = done - self._done_at_start
        eta = None
        if budget and session_done > 0:
            eta = (self.clock() - self._session_start) / session_done * max(0, budget - done)
        best = self._best
        return Progress(study=self.spec.name, done=done, budget=budget,
                        running=len(self.running) + len(self.scoring), failed=failed,
                        best_score=best.score if best else None, best_trial=best.number if best else None,
                        best_config=best.config if best else None, elapsed=self.elapsed(), eta=eta,
                        metric=self.spec.objective.metric, direction=self.spec.objective.direction)

    def _stop_job(self, handle: JobHandle) -> None:
        self.executor.cancel(handle)
        self.executor.release(handle)

    def _safe(self, action: Callable[..., Any], *args: Any) -> Any:
        """Run a best-effort executor call; a backend error is shown, never fatal here."""
        try:
            return action(*args)
        except ExecutorError as exc:
            self.view.message(f"executor: {exc}")
            return False
