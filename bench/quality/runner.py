"""Run every optimizer on every problem, spread over worker processes.

Tuning problems first get a random reference set (fixed seed). Each task runs one
optimizer for every seed on one problem; the CV cache lives per process. Optimizers that do not know the budget (all but NGOpt) run once
for the largest budget; a smaller budget's curve is the prefix of that run, which is
exactly what a run with the smaller budget would have produced. NGOpt picks its algorithm
from the budget, so it runs once per budget.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from .harness import run
from .params import to_space
from .problems import make_problem

BUDGET_AWARE = {"nevergrad-ngopt"}
REFERENCE_SEED = 20201  # the random reference configs are the same for every run


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


def run_optimizer(name: str, opt: str, plan: Plan) -> dict[str, Any]:
    """Every seed of one optimizer on one problem: best-so-far curves per budget."""
    warnings.simplefilter("ignore")
    problem = make_problem(name)
    top = max(plan.budgets)
    curves: dict[str, list[list[float]]] = {str(b): [] for b in plan.budgets}
    t_opt = t_eval = 0.0
    for seed in plan.seeds:
        own = plan.budgets if opt in BUDGET_AWARE else (top,)
        for budget in own:
            r = run(opt, problem, seed, budget)
            t_opt += r.optimizer_seconds
            t_eval += r.evaluation_seconds
            best = r.best_so_far()
            for b in plan.budgets:
                if b == budget or (b < budget and opt not in BUDGET_AWARE):
                    curves[str(b)].append(_round(best[:b]))
    return {"curves": curves,
            "timing": {"optimizer_s": round(t_opt, 3), "evaluation_s": round(t_eval, 3)}}


def _task(task: tuple[str, str, Plan]) -> tuple[str, str, dict[str, Any]]:
    """One unit of work: the random reference of a problem, or one optimizer's runs on it."""
    name, what, plan = task
    t0 = time.perf_counter()
    if what == "reference":
        ref = reference_losses(name, plan.n_reference)
        out: dict[str, Any] = {"n": len(ref), "median": float(np.median(ref)),
                               "best": float(np.min(ref)), "seed": REFERENCE_SEED}
    else:
        out = run_optimizer(name, what, plan)
    out["wall_s"] = round(time.perf_counter() - t0, 2)
    return name, what, out


def _cost(name: str) -> int:
    """A rough cost order, so the slowest problems start first."""
    order = ("RF-", "SVM-wine", "logreg", "kNN", "SVM-", "DT-", "lasso")
    for i, prefix in enumerate(order):
        if name.startswith(prefix):
            return i
    return len(order)


def run_plan(plan: Plan, workers: int,
             progress: Callable[[str, str, float], None] | None = None) -> dict[str, Any]:
    """Run every (problem, optimizer) of ``plan`` on ``workers`` processes (1 = here).

    Tasks are one optimizer's seeds on one problem (plus one reference task per tuning
    problem), slowest problems first, so two workers stay busy to the end.
    """
    tasks: list[tuple[str, str, Plan]] = []
    for name in sorted(plan.problems, key=_cost):
        if make_problem(name).kind == "tuning":
            tasks.append((name, "reference", plan))
        tasks += [(name, opt, plan) for opt in plan.optimizers]
    done: list[tuple[str, str, dict[str, Any]]] = []
    if workers <= 1:
        for t in tasks:
            done.append(_task(t))
            if progress:
                progress(*done[-1][:2], done[-1][2]["wall_s"])
    else:
        ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            for fut in as_completed([pool.submit(_task, t) for t in tasks]):
                done.append(fut.result())
                if progress:
                    progress(*done[-1][:2], done[-1][2]["wall_s"])
    results: dict[str, Any] = {}
    for name in plan.problems:
        problem = make_problem(name)
        results[name] = {"kind": problem.kind, "dim": problem.dim, "f_opt": problem.f_opt,
                         "curves": {}, "timing": {}}
    for name, what, out in done:
        entry = results[name]
        if what == "reference":
            entry["reference"] = out
        else:
            entry["curves"][what] = out["curves"]
            entry["timing"][what] = {**out["timing"], "wall_s": out["wall_s"]}
    for entry in results.values():  # keep the plan's optimizer order
        entry["curves"] = {o: entry["curves"][o] for o in plan.optimizers}
    return results
