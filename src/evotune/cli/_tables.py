"""Tables of trials: a rich table for ``status``, CSV and JSON for ``trials``."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from evotune.study import StudySummary


def _row(t: Any) -> dict[str, Any]:
    return {"number": t.number, "generation": t.generation, "state": t.state, "score": t.score,
            "attempts": t.attempts, "duration": None if t.duration is None else round(t.duration, 3),
            "reason": t.reason, "config": t.config}


def trials_json(summary: StudySummary) -> str:
    rows = []
    for t in summary.trials:
        row = _row(t)
        row["metrics"] = t.metrics
        row["log_dir"] = t.log_dir
        rows.append(row)
    return json.dumps({"study": summary.name, "metric": summary.metric, "direction": summary.direction,
                       "trials": rows}, indent=2, sort_keys=False) + "\n"


def trials_csv(summary: StudySummary) -> str:
    params: list[str] = []
    for t in summary.trials:
        for key in t.config:
            if key not in params:
                params.append(key)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["number", "generation", "state", "score", "attempts", "duration", "reason", *params])
    for t in summary.trials:
        r = _row(t)
        writer.writerow([r["number"], r["generation"], r["state"], "" if r["score"] is None else r["score"],
                         r["attempts"], "" if r["duration"] is None else r["duration"], r["reason"] or "",
                         *[json.dumps(t.config[p]) if isinstance(t.config.get(p), (dict, list)) else
                           ("" if p not in t.config else t.config[p]) for p in params]])
    return out.getvalue()


def status_table(summary: StudySummary) -> Any:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"study {summary.name} · {summary.status}"
                        + (f" · {summary.stop_reason}" if summary.stop_reason else ""))
    for col in ("trial", "gen", "state", summary.metric, "attempts", "time (s)", "config / reason"):
        table.add_column(col, overflow="fold")
    best_number = summary.best.number if summary.best else None
    for t in summary.trials:
        style = "bold green" if t.number == best_number else ("red" if t.state == "failed" else None)
        detail = json.dumps(t.config)
        if t.reason:
            detail += f"\n{t.reason}"
        table.add_row(str(t.number), str(t.generation), t.state,
                      "-" if t.score is None else f"{t.score:.6g}", str(t.attempts),
                      "-" if t.duration is None else f"{t.duration:.1f}", detail, style=style)
    counts = ", ".join(f"{k} {v}" for k, v in sorted(summary.counts.items())) or "no trials"
    lines: list[Any] = [table, Text(f"trials: {counts}")]
    if summary.best is not None:
        lines.append(Text(f"best {summary.metric} ({summary.direction}): {summary.best.score:.6g} "
                          f"(trial {summary.best.number}) {json.dumps(summary.best.config)}"))
    return Group(*lines)
