"""Throughput of the local executor: many one-second jobs on many concurrent local workers.

Runs ``--trials`` trials (default 10,000), each a real local process (``sh -c 'sleep 1; echo
<metrics line>'``, so the job itself starts no Python), ``--workers`` at a time (default 100),
through the real controller, SQLite journal and local executor. The ideal is one second per
wave: ``ceil(trials / workers)`` seconds. Ray Tune's published figure for 10,000 one-second
trials on 16 CPUs is 715 s against an ideal 625 s (14 % overhead); our goal is under 3 %.

    .venv/bin/python bench/throughput.py --trials 1000
    .venv/bin/python bench/throughput.py            # 10,000 trials, ~100 s ideal

Where the time goes is measured in the same run: CPU time of this (controller) process and of
its reaped children (the local executor's wrappers, plus the ``sh``/``sleep`` of each job),
the per-trial time from submit to recorded result beyond the job's one second, and a short
probe of what one job start costs with and without the wrapper. The load average is recorded
before and after: the machine may be shared.

Prints a Markdown table with the date and this command; writes raw JSON to ``bench/results/``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


if __package__ in (None, ""):  # run as a script: make the `bench` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.provenance import git_commit
from evotune.executors import _local
from evotune.storage import TrialRecord
from evotune.study import parse_study, run_study

RESULTS = Path(__file__).resolve().parent / "results"
METRICS_LINE = 'EVOTUNE_METRICS {"score": 1}'
GOAL_PCT = 3.0


@dataclass(frozen=True)
class CpuTimes:
    """User plus system CPU seconds of this process and of its reaped children."""

    controller: float
    children: float

    @classmethod
    def now(cls) -> CpuTimes:
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return cls(own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime)

    def __sub__(self, other: CpuTimes) -> CpuTimes:
        return CpuTimes(self.controller - other.controller, self.children - other.children)


def ideal_seconds(trials: int, workers: int, job_seconds: float) -> float:
    """The wall time with zero overhead: full waves of ``workers`` jobs, one after the other."""
    return math.ceil(trials / workers) * job_seconds


def overhead_pct(wall: float, ideal: float) -> float:
    """How much longer than the ideal the run took, in percent of the ideal."""
    return (wall / ideal - 1.0) * 100.0


def trial_latency(trials: Sequence[TrialRecord], job_seconds: float) -> dict[str, float]:
    """Per-trial time from submit to recorded result beyond the job's own duration (seconds):
    wrapper and job start-up, detection of the end, metrics read and journal write."""
    extra = sorted(
        t.finished_at - t.started_at - job_seconds
        for t in trials
        if t.started_at is not None and t.finished_at is not None
    )
    if not extra:
        return {"median": math.nan, "p90": math.nan, "mean": math.nan}
    return {
        "median": statistics.median(extra),
        "p90": extra[int(0.9 * (len(extra) - 1))],
        "mean": statistics.fmean(extra),
    }


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages, as ``uptime`` shows them."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def start_cost(argv: list[str], n: int) -> dict[str, float]:
    """Mean wall and CPU milliseconds to run ``argv`` to its end, ``n`` times in a row."""
    before, t0 = CpuTimes.now(), time.perf_counter()
    for _ in range(n):
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall, cpu = time.perf_counter() - t0, CpuTimes.now() - before
    return {"wall_ms": wall / n * 1e3, "cpu_ms": cpu.children / n * 1e3}


# A sketch of a proposed design, measured, not used: one resident small Python process forks a
# wrapper per job (new session, posix_spawn, wait, fsync'd exit record) instead of starting a
# new interpreter per job. Prints the forked children's CPU milliseconds per job.
_FORKED = """
import os, resource, sys
n, exit_file, argv = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
for _ in range(n):
    pid = os.fork()
    if pid == 0:
        os.setsid()
        _, status = os.waitpid(os.posix_spawnp(argv[0], argv, os.environ), 0)
        with open(exit_file + ".tmp", "w") as f:
            f.write('{"exit_code": %d}' % os.waitstatus_to_exitcode(status))
            f.flush()
            os.fsync(f.fileno())
        os.replace(exit_file + ".tmp", exit_file)
        os._exit(0)
    os.waitpid(pid, 0)
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print((ru.ru_utime + ru.ru_stime) / n * 1e3)
"""


def probe(n: int, folder: Path) -> dict[str, dict[str, float]]:
    """What starting one job costs, bare and under the local executor's wrapper (a zero-second
    job, so only start-up and exit are measured); and, for comparison, under a wrapper forked
    from a resident process (a proposal, see ``_FORKED``)."""
    job = ["sh", "-c", f"echo '{METRICS_LINE}'"]
    exit_file = str(folder / "probe.exit")
    wrapper = [sys.executable, "-I", "-S", str(_local._WRAPPER), exit_file, "--"]
    out = {
        "job alone": start_cost(job, n),
        "wrapper + job": start_cost(wrapper + job, n),
        "python -I -S -c pass": start_cost([sys.executable, "-I", "-S", "-c", "pass"], n),
    }
    t0 = time.perf_counter()
    forked = subprocess.run(
        [sys.executable, "-I", "-S", "-c", _FORKED, str(n), exit_file, *job],
        capture_output=True,
        text=True,
        check=True,
    )
    out["forked wrapper + job (proposal)"] = {
        "wall_ms": (time.perf_counter() - t0) / n * 1e3,
        "cpu_ms": float(forked.stdout.split()[-1]),
    }
    return out


def run(trials: int, workers: int, job_seconds: float, folder: Path) -> dict[str, Any]:
    """One study through the real controller and local executor; its timings and CPU use."""
    # Braces are doubled: argv elements are templates ({name} is a parameter).
    line = METRICS_LINE.replace("{", "{{").replace("}", "}}")
    job = ["sh", "-c", f"sleep {job_seconds:g}; echo '{line}'"]
    spec = parse_study(
        {
            "name": f"throughput-{trials}",
            "seed": 1,
            "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
            "objective": {"metric": "score", "direction": "maximize"},
            "budget": {"max_trials": trials},
            "parallelism": workers,
            "job": {"argv": job, "retries": 0},
            "executor": {"kind": "local"},
            "storage": f"sqlite:///{folder}/evotune.db",
            "runs_dir": str(folder / "runs"),
        },
        base_dir=folder,
    )
    load_before = loadavg()
    before, t0 = CpuTimes.now(), time.perf_counter()
    summary = run_study(spec)
    wall, cpu = time.perf_counter() - t0, CpuTimes.now() - before
    ideal = ideal_seconds(trials, workers, job_seconds)
    return {
        "trials": trials,
        "workers": workers,
        "job_seconds": job_seconds,
        "wall_s": wall,
        "ideal_s": ideal,
        "overhead_pct": overhead_pct(wall, ideal),
        "counts": summary.counts,
        "cpu_controller_s": cpu.controller,
        "cpu_children_s": cpu.children,
        "latency_beyond_job_s": trial_latency(summary.trials, job_seconds),
        "load_before": load_before,
        "load_after": loadavg(),
    }


def table(res: dict[str, Any], command: str) -> str:
    lat = res["latency_beyond_job_s"]
    n = res["trials"]
    lines = [
        (
            f"Local executor throughput, {res['date']}, `{command}` "
            f"(load before {res['load_before']}, after {res['load_after']}; "
            f"{os.cpu_count()} CPUs)\n"
        ),
        (
            "| trials | workers | wall s | ideal s | overhead | goal < 3 % "
            "| controller CPU ms/trial | children CPU ms/trial "
            "| submit→result beyond 1 s, median / p90 ms |"
        ),
        "|---|---|---|---|---|---|---|---|---|",
        (
            f"| {n} | {res['workers']} | {res['wall_s']:.1f} | {res['ideal_s']:.0f} "
            f"| {res['overhead_pct']:.1f} % "
            f"| {'met' if res['overhead_pct'] < GOAL_PCT else 'missed'} "
            f"| {res['cpu_controller_s'] / n * 1e3:.2f} | {res['cpu_children_s'] / n * 1e3:.2f} "
            f"| {lat['median'] * 1e3:.0f} / {lat['p90'] * 1e3:.0f} |"
        ),
    ]
    if res.get("probe"):
        lines += [
            "",
            "One job start, run alone in a loop (mean per start):\n",
            "| what | wall ms | CPU ms |",
            "|---|---|---|",
        ]
        lines += [
            f"| {k} | {v['wall_ms']:.1f} | {v['cpu_ms']:.1f} |" for k, v in res["probe"].items()
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=100)
    parser.add_argument("--job-seconds", type=float, default=1.0)
    parser.add_argument(
        "--probe", type=int, default=30, help="job starts timed in the probe (0: skip)"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="JSON file (default: bench/results/...)"
    )
    args = parser.parse_args()
    command = " ".join(shlex.quote(a) for a in [".venv/bin/python", *sys.argv])
    started = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    with tempfile.TemporaryDirectory(prefix="evotune-throughput-") as tmp:
        res = run(args.trials, args.workers, args.job_seconds, Path(tmp))
        res["probe"] = probe(args.probe, Path(tmp)) if args.probe else {}
    res.update(date=started, command=command, python=sys.version.split()[0], commit=git_commit())
    print(table(res, command))
    out = args.out or RESULTS / f"throughput-{args.trials}-{dt.datetime.now():%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n")
    print(f"\nraw: {out}")


if __name__ == "__main__":
    main()
