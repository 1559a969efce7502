"""Show a study's progress: a live rich panel on a terminal, plain log lines elsewhere."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from typing import Any, Protocol, TextIO


@dataclass(frozen=True)
class Progress:
    study: str
    done: int  # trials with a result (succeeded or failed)
    budget: int | None  # max_trials, when set
    running: int
    failed: int
    best_score: float | None
    best_trial: int | None
    best_config: dict[str, Any] | None
    elapsed: float
    eta: float | None
    metric: str
    direction: str


class View(Protocol):
    def update(self, progress: Progress) -> None: ...
    def trial_done(self, number: int, state: str, score: float | None, reason: str | None,
                   config: dict[str, Any], progress: Progress) -> None: ...
    def message(self, text: str) -> None: ...
    def close(self, progress: Progress, stop_reason: str | None) -> None: ...


def _fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _fmt_score(score: float | None) -> str:
    return "-" if score is None else f"{score:.6g}"


class QuietView:
    """Shows nothing (the Python API's default)."""

    def update(self, progress: Progress) -> None: ...
    def trial_done(self, number: int, state: str, score: float | None, reason: str | None,
                   config: dict[str, Any], progress: Progress) -> None: ...
    def message(self, text: str) -> None: ...
    def close(self, progress: Progress, stop_reason: str | None) -> None: ...


class LogView:
    """One plain line per finished trial, for logs and pipes."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def _line(self, text: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {text}", file=self.stream, flush=True)

    def update(self, progress: Progress) -> None:
        pass

    def trial_done(self, number: int, state: str, score: float | None, reason: str | None,
                   config: dict[str, Any], progress: Progress) -> None:
        budget = f"/{progress.budget}" if progress.budget else ""
        what = f"{progress.metric}={_fmt_score(score)}" if state == "succeeded" else f"{state}: {reason}"
        self._line(f"trial {number} {what} {json.dumps(config)} | done {progress.done}{budget}, "
                   f"running {progress.running}, failed {progress.failed}, "
                   f"best {_fmt_score(progress.best_score)} (trial {progress.best_trial})")

    def message(self, text: str) -> None:
        self._line(text)

    def close(self, progress: Progress, stop_reason: str | None) -> None:
        self._line(f"study {progress.study} stopped: {stop_reason or 'done'}; "
                   f"{progress.done} trials in {_fmt_time(progress.elapsed)}")


class LiveView:
    """A rich live panel: progress bar, counts, best score and its config, elapsed and ETA."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = Console()
        self._live = Live(console=self.console, refresh_per_second=4, transient=False)
        self._live.start()
        self._last = 0.0

    def _render(self, p: Progress) -> Any:
        from rich.panel import Panel
        from rich.progress_bar import ProgressBar
        from rich.table import Table

        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column()
        total = p.budget
        bar = ProgressBar(total=float(total) if total else None, completed=float(p.done), width=40)
        done = f"{p.done}/{total}" if total else str(p.done)
        grid.add_row("trials", bar)
        grid.add_row("", f"done {done}   running {p.running}   failed {p.failed}")
        best = (f"{p.metric} = {_fmt_score(p.best_score)} (trial {p.best_trial}, {p.direction})"
                if p.best_score is not None else "-")
        grid.add_row("best", best)
        if p.best_config:
            grid.add_row("config", json.dumps(p.best_config))
        grid.add_row("time", f"elapsed {_fmt_time(p.elapsed)}   eta {_fmt_time(p.eta)}")
        return Panel(grid, title=f"evotune · {p.study}", expand=False)

    def update(self, progress: Progress) -> None:
        now = time.monotonic()
        if now - self._last >= 0.25:
            self._last = now
            self._live.update(self._render(progress))

    def trial_done(self, number: int, state: str, score: float | None, reason: str | None,
                   config: dict[str, Any], progress: Progress) -> None:
        if state != "succeeded":
            self._live.console.print(f"[yellow]trial {number} {state}[/]: {reason}")
        self.update(progress)

    def message(self, text: str) -> None:
        self._live.console.print(text)

    def close(self, progress: Progress, stop_reason: str | None) -> None:
        self._live.update(self._render(progress))
        self._live.stop()
        self.console.print(f"stopped: {stop_reason or 'done'}")


def default_view(stream: TextIO | None = None) -> View:
    """The live panel on a terminal, plain lines when stdout is a pipe or a file."""
    out = stream or sys.stdout
    if out.isatty():
        return LiveView()
    return LogView(out)
