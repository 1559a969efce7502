"""Run one optimizer on one problem for a budget, in batches, and record every loss."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from .peers import PEER_NAMES, Optimizer, make_peer
from .problems import Problem

BATCH = 8


@dataclass
class Run:
    """The losses of one run, in evaluation order, and the optimizer's own overhead."""

    losses: list[float]
    optimizer_seconds: float
    evaluation_seconds: float

    def best_so_far(self) -> np.ndarray:
        """Best loss after each evaluation (failed evaluations count as +inf)."""
        arr = np.array([v if math.isfinite(v) else np.inf for v in self.losses])
        return np.minimum.accumulate(arr)


def make_optimizer(name: str, problem: Problem, seed: int, budget: int) -> Optimizer:
    """Any optimizer of the benchmark by name: a peer or an ``evotune-*`` strategy."""
    if name in PEER_NAMES:
        return make_peer(name, problem, seed, budget)
    if name.startswith("evotune-"):
        from .evotune_adapter import make_evotune

        return make_evotune(name, problem, seed)
    raise ValueError(f"unknown optimizer {name!r}")


def run(name: str, problem: Problem, seed: int, budget: int) -> Run:
    """Spend ``budget`` evaluations: ask 8, evaluate 8, tell 8, until the budget is used.

    A loss that raises or is not finite is told as a failure (the peer adapters tell it
    as the worst loss seen plus one; evotune gets ``None``) and recorded as ``inf``.
    """
    t_opt = t_eval = 0.0
    t0 = time.perf_counter()
    opt = make_optimizer(name, problem, seed, budget)
    t_opt += time.perf_counter() - t0
    losses: list[float] = []
    while len(losses) < budget:
        k = min(BATCH, budget - len(losses))
        t0 = time.perf_counter()
        pairs = opt.ask(k)
        t1 = time.perf_counter()
        results = []
        for token, config in pairs:
            try:
                value = float(problem.evaluate(config))
            except (ValueError, ArithmeticError):
                value = math.inf
            results.append((token, value if math.isfinite(value) else math.inf))
        t2 = time.perf_counter()
        opt.tell(results)
        t_opt += (t1 - t0) + (time.perf_counter() - t2)
        t_eval += t2 - t1
        losses.extend(v for _, v in results)
    return Run(losses, t_opt, t_eval)
