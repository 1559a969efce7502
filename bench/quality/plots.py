"""PNG plots (matplotlib, Agg): convergence curves per problem and a mean-rank bar chart."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from .scoring import normalized_score


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _provenance(fig: Any, meta: dict[str, Any]) -> None:
    """Stamp the command, date and commit that produced the figure in its corner."""
    fig.text(0.005, 0.003, f"{meta['command']}  |  {meta['date_utc']}  |  commit {meta['commit']}"
             f"  |  seeds {meta['seeds']}", ha="left", va="bottom", fontsize=7, color="0.35")


def _colors(optimizers: list[str]) -> dict[str, Any]:
    plt = _pyplot()
    cmap = plt.get_cmap("tab10")
    return {o: cmap(i % 10) for i, o in enumerate(optimizers)}


def convergence_grid(result: dict[str, Any], path: Path) -> None:
    """One panel per problem at the largest budget: tuning problems show the mean
    normalised score (higher is better), test functions the median log10(f - f_opt)."""
    plt = _pyplot()
    meta, problems = result["meta"], result["problems"]
    top = str(max(meta["budgets"]))
    names = list(problems)
    cols = 5
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.5 * rows), squeeze=False)
    colors = _colors(meta["optimizers"])
    for ax, name in zip(axes.flat, names):
        entry = problems[name]
        for o in meta["optimizers"]:
            curves = np.array(entry["curves"][o][top], dtype=float)
            x = np.arange(1, curves.shape[1] + 1)
            if entry["kind"] == "tuning":
                y = normalized_score(curves, entry["reference"]["median"],
                                     entry["best_ever"]).mean(axis=0)
            else:
                y = np.median(np.log10(np.maximum(curves - entry["f_opt"], 1e-9)), axis=0)
            style = "--" if not o.startswith("evotune-") else "-"
            ax.plot(x, y, style, color=colors[o], lw=1.2, label=o)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_ylabel("score" if entry["kind"] == "tuning" else "log10(f - f_opt)", fontsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 0.015), ncol=5,
               fontsize=8)
    fig.suptitle(f"Best so far vs evaluations (budget {top}; solid = evotune, dashed = peers)",
                 fontsize=11)
    fig.tight_layout(rect=(0, 0.06, 1, 0.97))
    _provenance(fig, meta)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def rank_bars(result: dict[str, Any], path: Path) -> None:
    """Mean rank of each optimizer over all problems, one bar per budget (lower is better)."""
    plt = _pyplot()
    meta, summ = result["meta"], result["summary"]["budgets"]
    budgets = [str(b) for b in meta["budgets"]]
    order = sorted(meta["optimizers"], key=lambda o: summ[budgets[-1]]["overall"][o]["mean_rank"])
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / len(budgets)
    for i, b in enumerate(budgets):
        vals = [summ[b]["overall"][o]["mean_rank"] for o in order]
        ax.bar(np.arange(len(order)) + i * width, vals, width, label=f"budget {b}")
    ax.set_xticks(np.arange(len(order)) + width * (len(budgets) - 1) / 2)
    ax.set_xticklabels(order, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("mean rank over problems (lower is better)")
    ax.legend(fontsize=8)
    ax.set_title(f"Mean rank over {len(result['problems'])} problems", fontsize=10)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    _provenance(fig, meta)
    fig.savefig(path, dpi=90)
    plt.close(fig)
