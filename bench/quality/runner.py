"""Run every optimizer on every problem and seed, spread over worker processes.

Tuning problems first get a random reference set (fixed seed). Then each task is one
optimizer, one seed, one problem; tasks go seed by seed (all of seed 0, then seed 1, ...),
slowest problems first within a seed. With a time limit, no task starts after it and only
the seeds that finished for *every* problem and optimizer are kept, so a run cut short
still compares everyone on the same seeds (the result says which).

Optimizers that do not know the budget (all but NGOpt) run once for the largest budget; a
smaller budget's curve is the prefix of that run, which is exactly what a run with the
smaller budget would have produced. NGOpt picks its algorithm from the budget, so it runs
once per budget. The CV cache lives per worker process.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
import time
import warnings
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from .harness import run
from .params import to_space
from .problems import make_problem

BUDGET_AWARE = {"nevergrad-ngopt"}
REFERENCE_SEED = 20201  # the random reference configs are the same for every run

Task = tuple[str, str, int]  # (problem, optimizer or "reference", seed)


@dataclass(frozen=True)
class Plan:
    """What to run: problems x optimizers x seeds, at each budget."""

    problems: tuple[str, ...]
    optimizers: tuple[str, ...]
    seeds: tuple[int, ...]
    budgets: tuple[int, ...]
    n_reference: int


def _round(values: Sequence[float]) -> list[float]:
    return [float(f"{v:.7g}") for v in values]


def reference_losses(problem_name: str, n: int) -> list[float]:
    """Losses of ``n`` uniformly random configurations (fixed seed) of a problem."""
    problem = make_problem(problem_name)
    space = to_space(problem.params)
    rng = np.random.default_rng(REFERENCE_SEED)
    return [problem.evaluate(space.decode(rng.random(space.dim))) for _ in range(n)]


def run_seed(name: str, opt: str, seed: int, budgets: Sequence[int]) -> dict[str, Any]:
    """One seed of one optimizer on one problem: its best-so-far curve per budget."""
    problem = make_problem(name)
    own = budgets if opt in BUDGET_AWARE else (max(budgets),)
    curves: dict[str, list[float]] = {}
    t_opt = t_eval = 0.0
    for budget in own:
        r = run(opt, problem, seed, budget)
        t_opt += r.optimizer_seconds
        t_eval += r.evaluation_seconds
        best = r.best_so_far()
        for b in budgets:
            if b == budget or (b < budget and opt not in BUDGET_AWARE):
                curves[str(b)] = _round(best[:b])
    return {"curves": curves, "optimizer_s": t_opt, "evaluation_s": t_eval}


def _task(task: Task, plan: Plan) -> tuple[Task, dict[str, Any]]:
    """One unit of work: the random reference of a problem, or one run (all budgets)."""
    warnings.simplefilter("ignore")
    name, what, seed = task
    t0 = time.perf_counter()
    if what == "reference":
        ref = reference_losses(name, plan.n_reference)
        out: dict[str, Any] = {"n": len(ref), "median": float(np.median(ref)),
                               "best": float(np.min(ref)), "seed": REFERENCE_SEED}
    else:
        out = run_seed(name, what, seed, plan.budgets)
    out["wall_s"] = time.perf_counter() - t0
    return task, out


def _cost(name: str) -> int:
    """A rough cost order, so the slowest problems start first."""
    order = ("RF-wine", "RF-", "logreg", "SVM-", "DT-wine", "lasso", "DT-", "kNN")
    for i, prefix in enumerate(order):
        if name.startswith(prefix):
            return i
    return len(order)


def _tasks(plan: Plan) -> list[Task]:
    by_cost = sorted(plan.problems, key=_cost)
    tasks: list[Task] = [(n, "reference", -1) for n in by_cost
                         if make_problem(n).kind == "tuning"]
    for seed in plan.seeds:
        tasks += [(n, opt, seed) for n in by_cost for opt in plan.optimizers]
    return tasks


def _execute(plan: Plan, workers: int, deadline: float,
             progress: Callable[[Task, float], None] | None) -> dict[Task, dict[str, Any]]:
    tasks = _tasks(plan)
    done: dict[Task, dict[str, Any]] = {}
    if workers <= 1:
        for t in tasks:
            if time.perf_counter() > deadline and t[1] != "reference":
                break
            done[t] = _task(t, plan)[1]
            if progress:
                progress(t, done[t]["wall_s"])
        return done
    ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        queue = list(reversed(tasks))
        running: set[Future[tuple[Task, dict[str, Any]]]] = set()
        while queue or running:
            while queue and len(running) < workers:
                if time.perf_counter() > deadline and queue[-1][1] != "reference":
                    queue.clear()
                    break
                running.add(pool.submit(_task, queue.pop(), plan))
            if not running:
                break
            finished, running = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                t, out = fut.result()
                done[t] = out
                if progress:
                    progress(t, out["wall_s"])
    return done


def run_plan(plan: Plan, workers: int, time_limit_s: float | None = None,
             progress: Callable[[Task, float], None] | None = None) -> tuple[dict[str, Any], list[int]]:
    """Run ``plan`` on ``workers`` processes (1 = here); returns (per-problem results, seeds kept).

    Raises ``RuntimeError`` when the time limit left no seed complete.
    """
    deadline = time.perf_counter() + (time_limit_s if time_limit_s else float("inf"))
    done = _execute(plan, workers, deadline, progress)
    kept = [s for s in plan.seeds
            if all((n, o, s) in done for n in plan.problems for o in plan.optimizers)]
    if not kept:
        raise RuntimeError("the time limit left no seed finished on every problem")
    results: dict[str, Any] = {}
    for name in plan.problems:
        problem = make_problem(name)
        entry: dict[str, Any] = {"kind": problem.kind, "dim": problem.dim,
                                 "f_opt": problem.f_opt, "curves": {}, "timing": {}}
        if (name, "reference", -1) in done:
            ref = dict(done[(name, "reference", -1)])
            ref["wall_s"] = round(ref["wall_s"], 2)
            entry["reference"] = ref
        for opt in plan.optimizers:
            runs = [done[(name, opt, s)] for s in kept]
            entry["curves"][opt] = {str(b): [r["curves"][str(b)] for r in runs]
                                    for b in plan.budgets}
            entry["timing"][opt] = {
                k: round(sum(r[k] for r in runs), 3)
                for k in ("optimizer_s", "evaluation_s", "wall_s")}
        results[name] = entry
    return results, kept
