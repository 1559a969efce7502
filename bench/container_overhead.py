"""What running a trial in a container costs over running it as a local process.

    .venv/bin/python bench/container_overhead.py [--trials 20] [--image evotune/python-base:bookworm]

Both sides run the same trivial job -- ``python3 -c`` printing one ``EVOTUNE_METRICS`` line --
through the executors (``docker`` and ``local``), as the controller would: ``submit``, then
``poll`` every 10 ms until a final state (which includes copying the logs). The two kinds are
interleaved, alternating which goes first, so that load from the other users of the machine
falls on both alike. The overhead of trial i is docker_i - local_i; the script prints one
Markdown line with the date, the median and 90th percentile of the overhead, the ratio of the
medians, and the command that produced it. ``release`` (container removal) is timed apart:
the controller calls it after recording the result, off the trial's critical path.

Goal: median overhead under 0.5 s.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from evotune.executors import Executor, JobSpec, create_executor

JOB = "print('EVOTUNE_METRICS {\"value\": 1.0}')"
POLL_INTERVAL = 0.01


def run_once(executor: Executor, root: Path, study: str, trial: int) -> tuple[float, float]:
    """Seconds from submit to the first final poll, and seconds to release."""
    out = root / f"{study}-{trial}"
    spec = JobSpec(
        study=study,
        trial_number=trial,
        attempt=0,
        argv=("python3", "-c", JOB),
        env={"EVOTUNE_OUTPUT_DIR": str(out / "output"), "EVOTUNE_TRIAL_ID": str(trial)},
        output_dir=out / "output",
        stdout_path=out / "stdout.log",
        stderr_path=out / "stderr.log",
    )
    start = time.perf_counter()
    handle = executor.submit(spec)
    while not (state := executor.poll(handle)).status.final:
        time.sleep(POLL_INTERVAL)
    elapsed = time.perf_counter() - start
    if state.status.value != "succeeded" or "EVOTUNE_METRICS" not in spec.stdout_path.read_text():
        raise SystemExit(f"{executor.kind} trial {trial} did not succeed: {state}")
    start = time.perf_counter()
    executor.release(handle)
    return elapsed, time.perf_counter() - start


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by linear interpolation between order statistics."""
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1] if __doc__ else None)
    parser.add_argument("--trials", type=int, default=20, help="trials per executor (>= 20)")
    parser.add_argument("--image", default="evotune/python-base:bookworm")
    parser.add_argument("--warmup", type=int, default=2, help="untimed trials per executor")
    args = parser.parse_args(argv)

    docker = create_executor("docker", {"image": args.image})
    docker.check()
    local = create_executor("local", {})
    study = f"bench{int(time.time())}"
    times: dict[str, list[float]] = {"docker": [], "local": []}
    releases: list[float] = []
    with tempfile.TemporaryDirectory(prefix="evotune-bench-") as tmp:
        root = Path(tmp)
        for i in range(args.warmup + args.trials):
            order = [("docker", docker), ("local", local)]
            if i % 2:
                order.reverse()
            for kind, executor in order:
                elapsed, release = run_once(executor, root, f"{study}-{kind}", i)
                if i >= args.warmup:
                    times[kind].append(elapsed)
                    if kind == "docker":
                        releases.append(release)
    docker.close()
    local.close()

    overhead = [d - loc for d, loc in zip(times["docker"], times["local"])]
    med_docker, med_local = statistics.median(times["docker"]), statistics.median(times["local"])
    exe = os.path.relpath(sys.executable)
    command = shlex.join([sys.executable if exe.startswith("..") else exe, *sys.argv])
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(
        f"| {today} | container overhead, trivial job, n={args.trials} interleaved "
        f"| median {statistics.median(overhead):+.3f} s | p90 {percentile(overhead, 0.9):+.3f} s "
        f"| ratio {med_docker / med_local:.1f}x (docker {med_docker:.3f} s, local "
        f"{med_local:.3f} s; release {statistics.median(releases):.3f} s) | `{command}` |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
