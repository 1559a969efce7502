"""``python -m bench.quality [--quick] [--workers N] [--out DIR]``: run, score, write, plot."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

from ..provenance import git_commit
from .evotune_adapter import EVOTUNE_NAMES
from .peers import PEER_NAMES
from .plots import convergence_grid, rank_bars
from .problems import all_problem_names
from .report import markdown
from .runner import Plan, run_plan
from .summary import summarize

QUICK_PROBLEMS = ("kNN-wine", "DT-diabetes", "sphere-5d", "rosenbrock-5d", "rastrigin-5d",
                  "ackley-5d")
# ``random-search`` (uniform in evotune's encoding, decoded by Space.decode) is the same
# algorithm as ``evotune-random``; it is left out by default to save a tenth of the time.
DEFAULT_PEERS = tuple(p for p in PEER_NAMES if p != "random-search")


def _plan(args: argparse.Namespace) -> Plan:
    optimizers = tuple(EVOTUNE_NAMES) + DEFAULT_PEERS
    if args.optimizers:
        optimizers = tuple(args.optimizers.split(","))
    if args.quick:
        problems, seeds, n_ref = QUICK_PROBLEMS, tuple(range(3)), 128
    else:
        problems, seeds, n_ref = tuple(all_problem_names()), tuple(range(5)), 256
    if args.problems:
        problems = tuple(args.problems.split(","))
    if args.seeds:
        seeds = tuple(range(args.seeds))
    budgets = tuple(int(b) for b in args.budgets.split(","))
    return Plan(problems, optimizers, seeds, budgets, n_ref)


def _versions() -> dict[str, str]:
    out = {}
    for pkg in ("evotune", "optuna", "nevergrad", "cma", "cmaes", "scikit-learn", "numpy", "scipy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "missing"
    return out


# a list of numbers as json.dumps(indent=...) writes it: "[" newline, one number a line;
# strings never hold a raw newline, so lists inside the Markdown text are left alone
_NUMBER_LIST = re.compile(r"\[\n\s*(-?[0-9][-+.0-9eE]*(?:,\n\s*-?[0-9][-+.0-9eE]*)*)\n\s*\]")


def _dumps(result: dict[str, object]) -> str:
    """Indented JSON, but each list of numbers (a curve) on one line: readable and small."""
    text = json.dumps(result, indent=1, allow_nan=True)
    return _NUMBER_LIST.sub(lambda m: "[" + ",".join(x.strip() for x in m.group(1).split(","))
                            + "]", text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.quality", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="6 problems, 3 seeds")
    parser.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--out", default="bench/results", help="output folder")
    parser.add_argument("--budgets", default="64,128", help="comma-separated budgets")
    parser.add_argument("--seeds", type=int, help="number of seeds (default 5, quick 3)")
    parser.add_argument("--problems", help="comma-separated problem names (default: all)")
    parser.add_argument("--optimizers", help="comma-separated optimizer names (default: all)")
    parser.add_argument("--time-limit", type=float, help="minutes; start no run after it and "
                        "keep only the seeds finished everywhere")
    parser.add_argument("--replot", metavar="JSON", help="only redraw the PNGs of a saved result")
    args = parser.parse_args(argv)
    if args.replot:
        saved = Path(args.replot)
        result = json.loads(saved.read_text())
        convergence_grid(result, saved.with_name(f"{saved.stem}_convergence.png"))
        rank_bars(result, saved.with_name(f"{saved.stem}_ranks.png"))
        return 0
    plan = _plan(args)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = "quality_quick" if args.quick else "quality"
    command = "python -m bench.quality " + " ".join(argv if argv is not None else sys.argv[1:])
    started = dt.datetime.now(dt.timezone.utc)
    t0 = time.perf_counter()

    def progress(task: tuple[str, str, int], seconds: float) -> None:
        name, what, seed = task
        print(f"[{time.perf_counter() - t0:7.1f}s] {name} {what} seed {seed}: {seconds:.1f}s",
              flush=True)

    limit = args.time_limit * 60 if args.time_limit else None
    problems, kept = run_plan(plan, args.workers, limit, progress)
    wall = time.perf_counter() - t0
    meta = {
        "command": command.strip(), "date_utc": started.strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(), "wall_seconds": round(wall, 1), "workers": args.workers,
        "budgets": list(plan.budgets), "seeds": kept, "seeds_planned": list(plan.seeds),
        "time_limit_min": args.time_limit, "batch": 8,
        "optimizers": list(plan.optimizers), "problems": list(plan.problems),
        "n_reference": plan.n_reference, "versions": _versions(),
        "curves": "best-so-far loss after each evaluation, one list per seed",
    }
    summary = summarize(problems, list(plan.optimizers), list(plan.budgets),
                        [o for o in plan.optimizers if o.startswith("evotune-")],
                        [o for o in plan.optimizers if not o.startswith("evotune-")])
    result = {"meta": meta, "problems": problems, "summary": summary}
    text = markdown(result)
    result["markdown"] = text
    (out_dir / f"{stem}.json").write_text(_dumps(result) + "\n")
    convergence_grid(result, out_dir / f"{stem}_convergence.png")
    rank_bars(result, out_dir / f"{stem}_ranks.png")
    print(text)
    print(f"\nwrote {out_dir / (stem + '.json')} and 2 PNGs; wall time {wall:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
