"""Controller cost per trial: evotune (SQLite journal) beside Optuna (in-memory and SQLite).

Each framework runs N trials of a no-op job on the same 5-parameter search space, one trial
at a time; the time between two consecutive finished trials is that trial's cost: for evotune
ask, decode, journal writes (ask, submit, handle, result), submit, poll, metrics read and tell;
for Optuna ask (sampling), the objective call and tell through its storage.

    .venv/bin/python bench/overhead.py --sizes 100 1000 10000 --repeats 3

Prints a Markdown table (median and p90 per trial, in ms) with the date and this command.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from evotune.executors import Executor, JobHandle, JobSpec, JobState, JobStatus, register_executor
from evotune.study import parse_study, run_study
from evotune.study._view import QuietView

SPACE = {
    "lr": {"type": "float", "low": 1e-5, "high": 1e-1, "log": True},
    "momentum": {"type": "float", "low": 0.0, "high": 0.99},
    "layers": {"type": "int", "low": 1, "high": 8},
    "width": {"type": "int", "low": 16, "high": 1024, "log": True},
    "activation": {"type": "categorical", "choices": ["relu", "tanh", "gelu"]},
}


class NoopExecutor(Executor):
    """A job that is done the moment it starts, having printed its score: controller cost only."""

    kind = "noop"

    def submit(self, spec: JobSpec) -> JobHandle:
        spec.stdout_path.write_text('EVOTUNE_METRICS {"score": 0.5}\n')
        return JobHandle("noop", {})

    def poll(self, handle: JobHandle) -> JobState:
        return JobState(JobStatus.SUCCEEDED, exit_code=0)

    def cancel(self, handle: JobHandle) -> None:
        pass

    def reattach(self, handle: JobHandle, spec: JobSpec) -> bool:
        return True


class _Stamps(QuietView):
    def __init__(self) -> None:
        self.times: list[float] = []

    def trial_done(self, *args: Any, **kwargs: Any) -> None:
        self.times.append(time.perf_counter())


def _per_trial(times: list[float]) -> list[float]:
    return [b - a for a, b in zip(times, times[1:])]


def evotune_run(n: int, strategy: str, folder: Path) -> list[float]:
    spec = parse_study({
        "name": f"overhead-{strategy}-{n}", "space": SPACE, "seed": 1,
        "strategy": {"name": strategy},
        "objective": {"metric": "score", "direction": "maximize"},
        "budget": {"max_trials": n}, "parallelism": 1,
        "job": {"argv": ["noop"]}, "executor": {"kind": "noop"},
        "storage": f"sqlite:///{folder}/evotune-{strategy}-{n}.db", "runs_dir": str(folder / "runs"),
    }, base_dir=folder)
    view = _Stamps()
    run_study(spec, view=view, poll_interval=0.0005)
    return _per_trial(view.times)


def optuna_run(n: int, storage: str | None) -> list[float]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", storage=storage,
                                sampler=optuna.samplers.RandomSampler(seed=1))
    stamps: list[float] = []

    def objective(trial: Any) -> float:
        trial.suggest_float("lr", 1e-5, 1e-1, log=True)
        trial.suggest_float("momentum", 0.0, 0.99)
        trial.suggest_int("layers", 1, 8)
        trial.suggest_int("width", 16, 1024, log=True)
        trial.suggest_categorical("activation", ["relu", "tanh", "gelu"])
        return 0.5

    study.optimize(objective, n_trials=n, callbacks=[lambda s, t: stamps.append(time.perf_counter())])
    return _per_trial(stamps)


def _row(name: str, n: int, samples: list[list[float]]) -> str:
    medians = [statistics.median(s) * 1e3 for s in samples]
    p90s = [sorted(s)[int(0.9 * (len(s) - 1))] * 1e3 for s in samples]
    total = [sum(s) for s in samples]
    return (f"| {name} | {n} | {statistics.median(medians):.3f} | {statistics.median(p90s):.3f} "
            f"| {statistics.median(total):.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", default=None,
                        help="where the databases and trial folders go (default: the system's "
                             "temporary folder); /dev/shm takes the disk out of the measure")
    parser.add_argument("--skip-optuna-sqlite-above", type=int, default=10000,
                        help="Optuna's SQLite storage is slow: skip it above this many trials")
    args = parser.parse_args()
    register_executor("noop", NoopExecutor)

    runners: list[tuple[str, Callable[[int, Path], list[float]]]] = [
        ("evotune elitist, SQLite", lambda n, d: evotune_run(n, "elitist", d)),
        ("evotune random, SQLite", lambda n, d: evotune_run(n, "random", d)),
        ("evotune cma, SQLite", lambda n, d: evotune_run(n, "cma", d)),
        ("Optuna random, in-memory", lambda n, d: optuna_run(n, None)),
        ("Optuna random, SQLite", lambda n, d: optuna_run(n, f"sqlite:///{d}/optuna-{n}.db")),
    ]
    print(f"Controller cost per trial, {dt.date.today().isoformat()}, "
          f"`{' '.join(shlex.quote(a) for a in ['python', *sys.argv])}`\n")
    print("| runner | trials | median ms/trial | p90 ms/trial | total s |")
    print("|---|---|---|---|---|")
    for n in args.sizes:
        for name, runner in runners:
            if "Optuna" in name and "SQLite" in name and n > args.skip_optuna_sqlite_above:
                continue
            samples = []
            for _ in range(args.repeats if n <= 1000 else 1):
                with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
                    samples.append(runner(n, Path(tmp)))
            print(_row(name, n, samples), flush=True)


if __name__ == "__main__":
    main()
