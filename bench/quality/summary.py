"""Turn raw best-so-far curves into the benchmark's figures (see :mod:`.scoring`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .scoring import log_precision, normalized_score, paired_wilcoxon, ranks, targets_reached


def _best_ever(entry: dict[str, Any]) -> float:
    """The lowest loss any run, or the random reference set, found on a tuning problem."""
    lows = [entry["reference"]["best"]]
    for per_budget in entry["curves"].values():
        for curves in per_budget.values():
            lows.extend(c[-1] for c in curves)
    return float(min(lows))


def per_run_scores(entry: dict[str, Any], opt: str, budget: int) -> dict[str, list[float]]:
    """Final and anytime score of each seed's run, plus its final loss.

    Tuning: normalised score (0..100). Functions: fraction of targets reached (0..1) and
    ``log10(f - f_opt)`` as ``precision``.
    """
    curves = np.array(entry["curves"][opt][str(budget)], dtype=float)
    final = curves[:, -1]
    if entry["kind"] == "tuning":
        ref = entry["reference"]
        s = normalized_score(curves, ref["median"], entry["best_ever"])
        return {"final": s[:, -1].tolist(), "anytime": s.mean(axis=1).tolist(),
                "loss": final.tolist()}
    t = targets_reached(curves, entry["f_opt"])
    return {"final": t[:, -1].tolist(), "anytime": t.mean(axis=1).tolist(),
            "loss": final.tolist(),
            "precision": [log_precision(v, entry["f_opt"]) for v in final]}


def summarize(problems: dict[str, Any], optimizers: list[str], budgets: list[int],
              evotune_names: list[str], peer_names: list[str]) -> dict[str, Any]:
    """Per-problem and overall figures for each budget, and the paired Wilcoxon tests."""
    for entry in problems.values():
        if entry["kind"] == "tuning":
            entry["best_ever"] = _best_ever(entry)
    out: dict[str, Any] = {"budgets": {}}
    for b in budgets:
        per_problem: dict[str, Any] = {}
        rank_rows: dict[str, dict[str, float]] = {}
        for name, entry in problems.items():
            scores = {o: per_run_scores(entry, o, b) for o in optimizers}
            per_problem[name] = {o: {
                "mean_final": float(np.mean(s["final"])),
                "mean_anytime": float(np.mean(s["anytime"])),
                "median_loss": float(np.median(s["loss"])),
                **({"median_precision": float(np.median(s["precision"]))} if "precision" in s else {}),
            } for o, s in scores.items()}
            rank_rows[name] = ranks({o: per_problem[name][o]["median_loss"] for o in optimizers})
            for o in optimizers:
                per_problem[name][o]["rank"] = rank_rows[name][o]
        overall = {}
        for o in optimizers:
            tun = [per_problem[n][o] for n in problems if problems[n]["kind"] == "tuning"]
            fun = [per_problem[n][o] for n in problems if problems[n]["kind"] == "function"]
            overall[o] = {
                "tuning_score": _mean([r["mean_final"] for r in tun]),
                "tuning_anytime": _mean([r["mean_anytime"] for r in tun]),
                "function_targets": _mean([r["mean_final"] for r in fun]),
                "function_anytime": _mean([r["mean_anytime"] for r in fun]),
                "mean_rank": _mean([rank_rows[n][o] for n in problems]),
                "mean_rank_tuning": _mean([rank_rows[n][o] for n in problems
                                           if problems[n]["kind"] == "tuning"]),
                "mean_rank_functions": _mean([rank_rows[n][o] for n in problems
                                              if problems[n]["kind"] == "function"]),
            }
        out["budgets"][str(b)] = {"overall": overall, "per_problem": per_problem}
    out["wilcoxon"] = _wilcoxon(problems, budgets, out, evotune_names, peer_names)
    return out


def _mean(xs: list[float]) -> float:
    return float(np.mean(xs)) if xs else float("nan")


def _wilcoxon(problems: dict[str, Any], budgets: list[int], out: dict[str, Any],
              evotune_names: list[str], peer_names: list[str]) -> dict[str, Any]:
    """evotune's best strategy vs the best peer (both by mean rank at the largest budget),
    paired over problems x seeds: tuning on the normalised score, functions on
    ``-log10(f - f_opt)`` (higher = better for both)."""
    top = str(max(budgets))
    overall = out["budgets"][top]["overall"]
    ours = [o for o in evotune_names if o in overall]
    theirs = [o for o in peer_names if o in overall]
    if not ours or not theirs:
        return {}
    a = min(ours, key=lambda o: overall[o]["mean_rank"])
    p = min(theirs, key=lambda o: overall[o]["mean_rank"])
    res: dict[str, Any] = {"evotune": a, "peer": p, "chosen_by": f"mean rank at budget {top}"}
    for b in budgets:
        for kind in ("tuning", "function"):
            xs: list[float] = []
            ys: list[float] = []
            for entry in problems.values():
                if entry["kind"] != kind:
                    continue
                sa, sp = per_run_scores(entry, a, b), per_run_scores(entry, p, b)
                key = "final" if kind == "tuning" else "precision"
                sign = 1.0 if kind == "tuning" else -1.0
                xs += [sign * v for v in sa[key]]
                ys += [sign * v for v in sp[key]]
            if xs:
                res[f"{kind}@{b}"] = paired_wilcoxon(xs, ys)
    return res
