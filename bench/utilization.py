"""Worker utilization: how busy the controller keeps its workers, asynchronous vs generational.

Simulated workers: each trial's job lasts a duration drawn from a lognormal (sigma = 1,
median ``--median`` seconds, seeded, indexed by trial number so both schedules see the same
durations). The jobs run on a *sleep executor* registered here: ``submit`` writes the job's
metrics line (a deterministic score of the configuration, so the strategy has something to
work with) and records a deadline; ``poll`` answers ``SUCCEEDED`` once it has passed. The
controller, strategy, SQLite journal and metrics reading are the real ones. The strategy is
elitist with ``population_size`` = workers and ``elite_size: 0``, so that every generation is
exactly one trial per worker: with elites, generations after the first ask only N - E trials
(the elites are not run again) and E workers sit out every generation by design.

Two clocks:

- ``wall``: real time through :func:`evotune.study.run_study`, exactly as a user runs it.
- ``virtual`` (default): the same controller, but its idle waits are skipped and added to a
  virtual clock that the executor shares (clock = ``perf_counter()`` + the waits skipped).
  Everything the controller computes still costs its real time; only sleeping is free. This
  makes 512 workers x 2,000 trials of realistic length take seconds, and takes the machine's
  other load out of the idle periods. It needs no change to the controller beyond replacing
  its private interrupt event (see ``_FastForward``).

Measures, per run (``t0`` = first submit, ``makespan`` = last result observed - ``t0``):

- *busy*: sum over trials of submit -> result observed, / (workers x makespan);
- *busy while queued*: the same, counted only until the last submit (the budget's drain at
  the end, where no trial is left to start, is then left out);
- *job*: sum of the drawn durations / (workers x makespan) (busy less detection latency);
- *finish / ideal*: makespan / max(sum of durations / workers, longest duration);
- *zero-overhead*: the makespan (and job fraction) of the same schedule run by a controller
  that costs nothing and notices every end at once (:func:`zero_overhead_makespan`): what the
  schedule itself allows, before any controller overhead.

    .venv/bin/python bench/utilization.py                      # virtual clock, 8/64/512
    .venv/bin/python bench/utilization.py --clock wall --workers 64

Prints a Markdown table with the date and this command; writes raw JSON to ``bench/results/``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import heapq
import json
import math
import shlex
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


if __package__ in (None, ""):  # run as a script: make the `bench` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.provenance import git_commit
from evotune.executors import Executor, JobHandle, JobSpec, JobState, JobStatus, register_executor
from evotune.storage import get_storage
from evotune.study import open_study, parse_study, run_study
from evotune.study._controller import Controller

RESULTS = Path(__file__).resolve().parent / "results"
DIM = 4
GOAL_BUSY = 0.97  # asynchronous, 64 workers


@dataclass
class Span:
    """One job as the executor saw it: submitted at, drawn duration, result first observed at."""

    trial: int
    submitted: float
    duration: float
    observed: float | None = None


def draw_durations(n: int, median: float, seed: int) -> list[float]:
    """``n`` lognormal durations (sigma = 1) with the given median, trial number -> duration."""
    rng = np.random.default_rng(seed)
    return [float(d) for d in median * np.exp(rng.standard_normal(n))]


def score(config: dict[str, Any]) -> float:
    """A smooth, deterministic score with its maximum 0 at x_i = 0.7."""
    return -sum((float(config[f"x{i}"]) - 0.7) ** 2 for i in range(DIM))


class SleepExecutor(Executor):
    """A job that takes its trial's drawn duration, on ``clock``; records a :class:`Span` each."""

    kind = "sleep"

    def __init__(self, durations: Sequence[float], clock: Callable[[], float]) -> None:
        self.durations, self.clock = durations, clock
        self.spans: dict[str, Span] = {}

    def submit(self, spec: JobSpec) -> JobHandle:
        config = json.loads(spec.env["EVOTUNE_CONFIG"])
        spec.stdout_path.write_text(f"EVOTUNE_METRICS {json.dumps({'score': score(config)})}\n")
        key = f"{spec.trial_number}-{spec.attempt}"
        self.spans[key] = Span(spec.trial_number, self.clock(), self.durations[spec.trial_number])
        return JobHandle(self.kind, {"key": key})

    def poll(self, handle: JobHandle) -> JobState:
        span = self.spans[handle.data["key"]]
        if span.observed is None:
            now = self.clock()
            if now < span.submitted + span.duration:
                return JobState(JobStatus.RUNNING)
            span.observed = now
        return JobState(JobStatus.SUCCEEDED, exit_code=0)

    def cancel(self, handle: JobHandle) -> None:
        pass

    def reattach(self, handle: JobHandle, spec: JobSpec) -> bool:
        return handle.data["key"] in self.spans


class VirtualClock:
    """Real elapsed time plus every wait that was skipped."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def __call__(self) -> float:
        return time.perf_counter() + self.skipped


def _fast_forward(clock: VirtualClock) -> Callable[[float], bool]:
    """The controller's idle wait: returns at once and moves the virtual clock on by the time
    the controller would have slept."""

    def wait(seconds: float) -> bool:
        clock.skipped += seconds
        return False

    return wait


def utilization(spans: Sequence[Span], workers: int) -> dict[str, float]:
    """The busy fractions and finish-time ratio of one run (see the module docstring).

    Every span must have been observed. Raises :class:`ValueError` on an empty schedule.
    """
    if not spans:
        raise ValueError("no jobs ran")
    if any(s.observed is None for s in spans):
        raise ValueError("a job was never observed to finish")
    t0 = min(s.submitted for s in spans)
    end = max(s.observed for s in spans if s.observed is not None)
    last_submit = max(s.submitted for s in spans)
    makespan = end - t0
    occupied = sum(s.observed - s.submitted for s in spans if s.observed is not None)
    queued = sum(
        max(0.0, min(s.observed, last_submit) - s.submitted)
        for s in spans
        if s.observed is not None
    )
    durations = [s.duration for s in spans]
    ideal = max(sum(durations) / workers, max(durations))
    return {
        "makespan": makespan,
        "ideal": ideal,
        "busy": occupied / (workers * makespan),
        "busy_while_queued": (queued / (workers * (last_submit - t0)))
        if last_submit > t0
        else math.nan,
        "job": sum(durations) / (workers * makespan),
        "finish_over_ideal": makespan / ideal,
        "mean_detect": sum(
            s.observed - s.submitted - s.duration for s in spans if s.observed is not None
        )
        / len(spans),
    }


def zero_overhead_makespan(
    durations: Sequence[float], workers: int, schedule: str, generation: int | None = None
) -> float:
    """The makespan of a controller that costs nothing and sees every end at once, running the
    trials in number order: asynchronous, each trial starts on the first worker to free;
    generational, generations of ``generation`` trials (default ``workers``) run one after the
    other, each as long as its longest trial (assumes ``generation <= workers``)."""
    if schedule == "generational":
        size = generation or workers
        return sum(max(durations[i : i + size]) for i in range(0, len(durations), size))
    free = [0.0] * min(workers, len(durations))
    heapq.heapify(free)
    end = 0.0
    for d in durations:
        start = heapq.heappop(free)
        end = max(end, start + d)
        heapq.heappush(free, start + d)
    return end


def _spec(folder: Path, name: str, workers: int, trials: int, schedule: str, seed: int) -> Any:
    return parse_study(
        {
            "name": name,
            "seed": seed,
            "space": {f"x{i}": {"type": "float", "low": 0.0, "high": 1.0} for i in range(DIM)},
            "strategy": {"name": "elitist", "population_size": workers, "elite_size": 0},
            "objective": {"metric": "score", "direction": "maximize"},
            "budget": {"max_trials": trials},
            "parallelism": workers,
            "schedule": schedule,
            "job": {"argv": ["sleep"], "retries": 0},
            "executor": {"kind": "sleep"},
            "storage": f"sqlite:///{folder}/{name}.db",
            "runs_dir": str(folder / "runs"),
        },
        base_dir=folder,
    )


def run_once(
    workers: int,
    trials: int,
    schedule: str,
    durations: Sequence[float],
    clock_kind: str,
    seed: int,
    folder: Path,
) -> dict[str, Any]:
    """One study through the real controller on the sleep executor; its utilization."""
    spec = _spec(folder, f"util-{clock_kind}-{schedule}-{workers}", workers, trials, schedule, seed)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if clock_kind == "wall":
        executor = SleepExecutor(durations, time.time)
        run_study(spec, executor=executor)
    else:
        vclock = VirtualClock()
        executor = SleepExecutor(durations, vclock)
        storage = get_storage(spec.storage_url)
        controller = Controller(spec, open_study(spec, storage), storage, executor, clock=vclock,
                                wait=_fast_forward(vclock))
        controller.run()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    spans = list(executor.spans.values())
    ceiling = zero_overhead_makespan(durations[:trials], workers, schedule)
    return {
        "workers": workers,
        "schedule": schedule,
        "clock": clock_kind,
        "trials": len(spans),
        "controller_cpu_s": cpu,
        "real_s": wall,
        "zero_overhead_makespan": ceiling,
        "zero_overhead_busy": sum(durations[:trials]) / (workers * ceiling),
        **utilization(spans, workers),
    }


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages, as ``uptime`` shows them."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def table(rows: Sequence[dict[str, Any]], header: str) -> str:
    lines = [
        header,
        "",
        (
            "| workers | schedule | busy | busy while queued | job | zero-overhead job "
            "| time to finish s | zero-overhead s | ideal s | finish / ideal | controller CPU ms/trial | real s |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['workers']} | {r['schedule']} | {r['busy']:.1%} | {r['busy_while_queued']:.1%} "
            f"| {r['job']:.1%} | {r['zero_overhead_busy']:.1%} | {r['makespan']:.1f} "
            f"| {r['zero_overhead_makespan']:.1f} | {r['ideal']:.1f} "
            f"| {r['finish_over_ideal']:.2f} "
            f"| {r['controller_cpu_s'] / r['trials'] * 1e3:.2f} | {r['real_s']:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[8, 64, 512])
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument(
        "--schedules",
        nargs="+",
        default=["asynchronous", "generational"],
        choices=["asynchronous", "generational"],
    )
    parser.add_argument("--clock", choices=["virtual", "wall"], default="virtual")
    parser.add_argument("--median", type=float, default=0.5, help="median job duration, seconds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--out", type=Path, default=None, help="JSON file (default: bench/results/...)"
    )
    args = parser.parse_args()
    register_executor("sleep", SleepExecutor)
    command = " ".join(shlex.quote(a) for a in [".venv/bin/python", *sys.argv])
    durations = draw_durations(args.trials, args.median, args.seed)
    started = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load_before = loadavg()
    rows = []
    with tempfile.TemporaryDirectory(prefix="evotune-utilization-") as tmp:
        for workers in args.workers:
            for schedule in args.schedules:
                rows.append(
                    run_once(
                        workers, args.trials, schedule, durations, args.clock, args.seed, Path(tmp)
                    )
                )
                print(f"  done: {workers} workers, {schedule}", file=sys.stderr, flush=True)
    header = (
        f"Worker utilization, {started}, `{command}` ({args.clock} clock, lognormal sigma 1, "
        f"median {args.median:g} s, {args.trials} trials; load before {load_before}, "
        f"after {loadavg()})"
    )
    print(table(rows, header))
    for r in rows:
        if r["workers"] == 64 and r["schedule"] == "asynchronous":
            verdict = "met" if r["busy"] >= GOAL_BUSY else "missed"
            print(
                f"\nGoal (asynchronous >= 97 % busy at 64 workers): {verdict} ({r['busy']:.1%}; "
                f"{r['busy_while_queued']:.1%} while trials were queued)"
            )
    out = args.out or RESULTS / f"utilization-{args.clock}-{dt.datetime.now():%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "date": started,
                "command": command,
                "clock": args.clock,
                "median": args.median,
                "trials": args.trials,
                "seed": args.seed,
                "load_before": load_before,
                "load_after": loadavg(),
                "python": sys.version.split()[0],
                "commit": git_commit(),
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nraw: {out}")


if __name__ == "__main__":
    main()
