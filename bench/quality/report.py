"""Markdown tables of a benchmark result (the text that goes into bench/RESULTS.md)."""

from __future__ import annotations

from typing import Any

SHORT = {
    "evotune-elitist-gen": "et-gen", "evotune-elitist-ss": "et-ss", "evotune-cma": "et-cma",
    "evotune-random": "et-rand", "evotune-sobol": "et-sobol", "optuna-tpe": "tpe",
    "optuna-cmaes": "opt-cma", "nevergrad-ngopt": "ngopt", "pycma": "pycma",
    "random-search": "rand",
}


def _f(x: float, digits: int = 1) -> str:
    return "n/a" if x != x else f"{x:.{digits}f}"


def main_table(result: dict[str, Any]) -> str:
    """Optimizers as rows: scores per budget, anytime scores, targets, mean ranks."""
    meta, summ = result["meta"], result["summary"]["budgets"]
    budgets = [str(b) for b in meta["budgets"]]
    top = budgets[-1]
    head = (["optimizer"] + [f"tuning score @{b}" for b in budgets] + [f"tuning anytime @{top}"]
            + [f"targets @{b}" for b in budgets] + [f"targets anytime @{top}"]
            + [f"mean rank @{b}" for b in budgets])
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    order = sorted(meta["optimizers"], key=lambda o: summ[top]["overall"][o]["mean_rank"])
    for o in order:
        cells = [o]
        cells += [_f(summ[b]["overall"][o]["tuning_score"]) for b in budgets]
        cells.append(_f(summ[top]["overall"][o]["tuning_anytime"]))
        cells += [_f(summ[b]["overall"][o]["function_targets"], 3) for b in budgets]
        cells.append(_f(summ[top]["overall"][o]["function_anytime"], 3))
        cells += [_f(summ[b]["overall"][o]["mean_rank"], 2) for b in budgets]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def per_problem_table(result: dict[str, Any], kind: str) -> str:
    """Problems as rows, optimizers as columns, at the largest budget.

    Tuning: mean normalised score over seeds. Functions: median ``log10(f - f_opt)``.
    The best cell of each row is bold.
    """
    meta = result["meta"]
    top = str(max(meta["budgets"]))
    per = result["summary"]["budgets"][top]["per_problem"]
    opts = meta["optimizers"]
    rows = ["| problem | " + " | ".join(SHORT.get(o, o) for o in opts) + " |",
            "|" + "---|" * (len(opts) + 1)]
    for name, entry in result["problems"].items():
        if entry["kind"] != kind:
            continue
        if kind == "tuning":
            vals = {o: per[name][o]["mean_final"] for o in opts}
            best = max(vals.values())
            cells = [(f"**{v:.1f}**" if v >= best - 1e-9 else f"{v:.1f}") for v in vals.values()]
        else:
            vals = {o: per[name][o]["median_precision"] for o in opts}
            best = min(vals.values())
            cells = [(f"**{v:.1f}**" if v <= best + 1e-9 else f"{v:.1f}") for v in vals.values()]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def wilcoxon_lines(result: dict[str, Any]) -> str:
    """One line per Wilcoxon test (evotune's best strategy vs the best peer)."""
    w = result["summary"].get("wilcoxon") or {}
    if not w:
        return "(no Wilcoxon test: evotune or peers missing from this run)"
    lines = [f"Wilcoxon signed-rank, {w['evotune']} vs {w['peer']} (each the best of its side "
             f"by {w['chosen_by']}), paired over problems x seeds:"]
    for key, r in w.items():
        if "@" not in key:
            continue
        kind, b = key.split("@")
        what = "normalised score" if kind == "tuning" else "-log10(f - f_opt)"
        lines.append(f"- {kind} @{b} ({what}): n = {r['n']}, {w['evotune']} better in "
                     f"{r['wins']}, worse in {r['losses']}, tied {r['ties']}; median difference "
                     f"{r['median_difference']:+.3g}; p = {r['p_value']:.3g}")
    return "\n".join(lines)


def markdown(result: dict[str, Any]) -> str:
    """The whole section: provenance, main table, per-problem tables, tests."""
    m = result["meta"]
    prov = (f"Produced by `{m['command']}` on {m['date_utc']} (commit {m['commit']}), "
            f"{m['wall_seconds'] / 60:.1f} min wall time with {m['workers']} worker(s) on a "
            f"shared 2-core machine. Budgets {', '.join(map(str, m['budgets']))} evaluations, "
            f"asked and told in batches of {m['batch']}; seeds {m['seeds']}"
            + ("" if m["seeds"] == m["seeds_planned"] else
               f" (of {m['seeds_planned']} planned: the time limit cut the rest)")
            + f"; {len(m['problems'])} problems.")
    legend = ("Tuning score: Bayesmark-normalised (0 = median random config, 100 = best loss "
              "ever seen on the problem), mean over tuning problems and seeds; anytime = its "
              "mean over the whole run. Targets: fraction of the targets 1e2..1e-8 on f - f_opt "
              "reached, mean over test functions and seeds. Mean rank: over all problems, "
              "ranking optimizers by their median final loss (1 = best).")
    return "\n\n".join([
        prov, legend, main_table(result),
        f"Per tuning problem, normalised score at budget {max(m['budgets'])} (mean of seeds; "
        "best in bold):", per_problem_table(result, "tuning"),
        f"Per test function, median log10(f - f_opt) at budget {max(m['budgets'])} "
        "(lower is better; -9 = reached 1e-9; best in bold):",
        per_problem_table(result, "function"),
        wilcoxon_lines(result),
    ])
