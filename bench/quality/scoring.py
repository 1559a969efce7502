"""Scores: Bayesmark normalisation, COCO-style targets, ranks and a paired test.

- Tuning problems: a loss ``f`` is normalised as ``(f - best) / (median - best)``, where
  ``median`` is the median loss of a fixed set of uniformly random configurations and
  ``best`` the lowest loss any run (or the random set) ever found on the problem. As
  Bayesmark does for its mean score, the normalised loss is clipped (here into [0, 1]), and
  the score is ``100 * (1 - normalised loss)``: 0 = no better than a random median config,
  100 = as good as the best ever seen. The anytime score is its mean over the whole curve.
- Test functions: the fraction of the 11 targets 1e2, 1e1, ..., 1e-8 on ``f - f_opt``
  that the best-so-far reached; its mean over the curve is the anytime figure.
- Ranks: per problem and budget, optimizers are ranked by the median (over seeds) of
  their final best loss (ties share the mean rank); mean ranks are over problems.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import stats

TARGETS: np.ndarray = 10.0 ** np.arange(2, -9, -1)


def normalized_score(curve: np.ndarray, median: float, best: float) -> np.ndarray:
    """``100 * (1 - clip((curve - best) / (median - best), 0, 1))``, elementwise.

    When ``median == best`` (a flat problem) a value at the best scores 100, others 0.
    """
    curve = np.asarray(curve, dtype=float)
    span = median - best
    if not span > 0:
        return np.where(curve <= best, 100.0, 0.0)
    loss = np.clip((curve - best) / span, 0.0, 1.0)
    return 100.0 * (1.0 - loss)


def targets_reached(curve: np.ndarray, f_opt: float) -> np.ndarray:
    """Fraction of :data:`TARGETS` that ``curve - f_opt`` has reached, elementwise."""
    gap = np.asarray(curve, dtype=float)[..., None] - f_opt
    return np.mean(gap <= TARGETS, axis=-1)


def log_precision(value: float, f_opt: float, floor: float = 1e-9) -> float:
    """``log10(max(value - f_opt, floor))``: the digits of precision reached."""
    return float(np.log10(max(value - f_opt, floor)))


def ranks(values: dict[str, float]) -> dict[str, float]:
    """Rank optimizers by a loss (1 = lowest); ties share the mean rank."""
    names = list(values)
    r = stats.rankdata([values[n] for n in names], method="average")
    return {n: float(x) for n, x in zip(names, r)}


def paired_wilcoxon(a: Sequence[float], b: Sequence[float]) -> dict[str, float | int | str]:
    """Wilcoxon signed-rank test of paired scores ``a`` vs ``b`` (higher = better).

    Returns the number of pairs, wins/losses/ties of ``a``, the median difference and the
    two-sided p-value (``nan`` when every pair ties). Ties are dropped (``zero_method="wilcox"``).
    """
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    d = x - y
    wins, losses = int(np.sum(d > 0)), int(np.sum(d < 0))
    out: dict[str, float | int | str] = {
        "n": int(d.size), "wins": wins, "losses": losses, "ties": int(d.size - wins - losses),
        "median_difference": float(np.median(d)) if d.size else float("nan"),
        "p_value": float("nan"),
    }
    if wins + losses > 0:
        out["p_value"] = float(stats.wilcoxon(x, y, zero_method="wilcox").pvalue)
    return out
