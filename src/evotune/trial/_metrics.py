"""Metric reports: the line and file formats, the ``report()`` helper, and the reader.

A report is one JSON object of metric names to numbers, with an optional integer ``step``.
It travels two ways (both documented in ``docs/job-contract.md``):

- a stdout line ``EVOTUNE_METRICS {"step": 3, "loss": 0.41}``: the prefix, whitespace, the
  object to the end of the line. The prefix may follow other text on the same line (a log
  formatter's prefix), and other lines may surround it;
- a line of ``metrics.jsonl`` in ``EVOTUNE_OUTPUT_DIR``: the same object, one per line.

Numbers are JSON numbers; ``NaN``, ``Infinity`` and ``-Infinity`` are accepted as the bare
tokens Python's ``json`` writes. Merge rule: when ``metrics.jsonl`` holds at least one valid
report, it is the whole truth and stdout is not read for metrics (:func:`report` writes both,
so nothing is counted twice); otherwise the stdout lines are.

This module needs only the standard library and imports fast: training code imports it.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evotune.errors import TrialReportError
from evotune.trial._env import ENV_OBJECTIVE, ENV_OUTPUT_DIR

__all__ = ["METRICS_FILE", "METRICS_PREFIX", "MetricPoint", "Metrics", "read_metrics", "report"]

METRICS_PREFIX = "EVOTUNE_METRICS"
METRICS_FILE = "metrics.jsonl"
STEP_KEY = "step"
_DEFAULT_NAME = "value"
_LINE = re.compile(re.escape(METRICS_PREFIX) + r"[ \t]+(\{.*\})[ \t]*$")
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}

logger = logging.getLogger("evotune.trial")


@dataclass(frozen=True)
class MetricPoint:
    """One reported value: metric ``name``, ``value``, ``step`` (``None``: no step given) and
    ``source`` (``"stdout"`` or ``"file"``)."""

    name: str
    value: float
    step: int | None
    source: str


@dataclass
class Metrics:
    """Everything one trial reported, in report order, and how many lines were malformed."""

    history: list[MetricPoint] = field(default_factory=list)
    malformed: int = 0

    def last(self, name: str) -> float | None:
        """The last value reported for ``name`` (NaN and infinities as they are), or ``None``
        when the metric was never reported. This is a trial's score for its objective."""
        for point in reversed(self.history):
            if point.name == name:
                return point.value
        return None

    def final(self) -> dict[str, float]:
        """The last value of each metric, in order of first report."""
        out: dict[str, float] = {}
        for point in self.history:
            out[point.name] = point.value
        return out

    def series(self, name: str) -> list[tuple[int | None, float]]:
        """Every ``(step, value)`` reported for ``name``, in report order."""
        return [(p.step, p.value) for p in self.history if p.name == name]

    def to_json(self) -> dict[str, Any]:
        """A strict-JSON form (non-finite values as the strings ``"NaN"``, ``"Infinity"``,
        ``"-Infinity"``), so any JSON store accepts it. :meth:`from_json` inverts it."""
        return {
            "history": [
                {"name": p.name, "value": _encode(p.value), "step": p.step, "source": p.source}
                for p in self.history
            ],
            "malformed": self.malformed,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Metrics:
        """Rebuild from :meth:`to_json`. Raises :class:`~evotune.errors.TrialReportError`
        for data of the wrong shape."""
        try:
            history = [
                MetricPoint(
                    name=str(item["name"]),
                    value=_decode(item["value"]),
                    step=None if item.get("step") is None else int(item["step"]),
                    source=str(item.get("source", "stdout")),
                )
                for item in raw.get("history", [])
            ]
            return cls(history=history, malformed=int(raw.get("malformed", 0)))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise TrialReportError(f"stored metrics are malformed: {exc}") from exc


def _encode(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _decode(value: Any) -> float:
    if isinstance(value, str):
        if value not in _NON_FINITE:
            raise ValueError(f"not a number: {value!r}")
        return _NON_FINITE[value]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"not a number: {value!r}")
    return float(value)


def _number(value: Any) -> float | None:
    """``value`` as a float when it is a real number (numpy scalars included), else None."""
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, (int, float)):
        try:
            value = item()
        except (TypeError, ValueError):
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return float(value)
    except OverflowError:
        return None


def _step(value: Any) -> int | None:
    """A valid step (an integer >= 0, integral floats accepted) or None."""
    number = _number(value)
    if number is None or not math.isfinite(number) or number < 0 or number != int(number):
        return None
    return int(number)


def _points(record: Any, source: str) -> list[MetricPoint]:
    """The metric points of one decoded report object.

    Raises :class:`~evotune.errors.TrialReportError` when it is not an object, the step is
    not an integer >= 0, a value is not a number, or it holds no metric at all.
    """
    if not isinstance(record, dict):
        raise TrialReportError(f"a report must be a JSON object, got {type(record).__name__}")
    step: int | None = None
    if STEP_KEY in record:
        step = _step(record[STEP_KEY])
        if step is None:
            raise TrialReportError(f"step must be an integer >= 0, got {record[STEP_KEY]!r}")
    points = []
    for name, raw in record.items():
        if name == STEP_KEY:
            continue
        value = _number(raw)
        if value is None or not name:
            raise TrialReportError(f"metric {name!r} must be a number, got {raw!r}")
        points.append(MetricPoint(name, value, step, source))
    if not points:
        raise TrialReportError("a report must hold at least one metric")
    return points


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise TrialReportError(f"not a JSON object: {exc}") from None


def parse_line(line: str) -> list[MetricPoint] | None:
    """The points of one stdout line: ``None`` when the line is not a report (no prefix).

    Raises :class:`~evotune.errors.TrialReportError` for a line that carries the prefix but
    not a valid report.
    """
    if METRICS_PREFIX not in line:
        return None
    match = _LINE.search(line.rstrip("\r\n"))
    if match is None:
        raise TrialReportError(f"{METRICS_PREFIX} must be followed by a space and a JSON object")
    return _points(_parse_json(match.group(1)), "stdout")


def _read_lines(path: Path) -> Iterator[str]:
    """The lines of a text file, ``\\r`` counting as a line break (progress bars), bad bytes
    replaced; nothing when the file does not exist."""
    if not path.is_file():
        return
    with open(path, encoding="utf-8", errors="replace", newline=None) as handle:
        yield from handle


def _read_stdout(path: Path) -> tuple[list[MetricPoint], int]:
    points: list[MetricPoint] = []
    malformed = 0
    for line in _read_lines(path):
        try:
            found = parse_line(line)
        except TrialReportError:
            malformed += 1
            continue
        if found:
            points.extend(found)
    return points, malformed


def _read_file(path: Path) -> tuple[list[MetricPoint], int]:
    points: list[MetricPoint] = []
    malformed = 0
    for line in _read_lines(path):
        text = line.strip()
        if not text:
            continue
        if text.startswith(METRICS_PREFIX):
            text = text[len(METRICS_PREFIX) :].lstrip()
        try:
            points.extend(_points(_parse_json(text), "file"))
        except TrialReportError:
            malformed += 1
    return points, malformed


def read_metrics(stdout_path: Path, output_dir: Path) -> Metrics:
    """Read a finished (or running) job's reports; never raises for the job's content.

    ``metrics.jsonl`` in ``output_dir`` wins when it holds at least one valid report;
    otherwise the stdout lines count. Missing files mean no reports. Malformed lines are
    skipped, counted in :attr:`Metrics.malformed` and logged as one warning.
    """
    file_points, file_bad = _read_file(Path(output_dir) / METRICS_FILE)
    if file_points:
        metrics = Metrics(file_points, file_bad)
    else:
        stdout_points, stdout_bad = _read_stdout(Path(stdout_path))
        metrics = Metrics(stdout_points, stdout_bad + file_bad)
    if metrics.malformed:
        logger.warning(
            "ignored %d malformed metric report(s) in %s", metrics.malformed, stdout_path
        )
    return metrics


def _record(
    value: Any, step: int | None, metric: str | None, metrics: Mapping[str, Any]
) -> dict[str, Any]:
    record: dict[str, Any] = {}
    if step is not None:
        checked = _step(step)
        if checked is None or isinstance(step, float):
            raise TrialReportError(f"report(step=...) must be an integer >= 0, got {step!r}")
        record[STEP_KEY] = checked
    named: list[tuple[str, Any]] = []
    if value is not None:
        name = metric or os.environ.get(ENV_OBJECTIVE) or _DEFAULT_NAME
        named.append((name, value))
    elif metric is not None:
        raise TrialReportError("report(metric=...) names the positional value, which is missing")
    named.extend(metrics.items())
    for name, raw in named:
        if name in record:
            raise TrialReportError(f"report(): metric {name!r} given twice")
        number = _number(raw)
        if number is None:
            raise TrialReportError(f"report(): metric {name!r} must be a number, got {raw!r}")
        record[name] = int(raw) if isinstance(raw, int) and not isinstance(raw, bool) else number
    if len(record) == (STEP_KEY in record):
        raise TrialReportError("report() needs at least one metric, e.g. report(accuracy=0.9)")
    return record


def report(
    value: float | None = None,
    *,
    step: int | None = None,
    metric: str | None = None,
    **metrics: float,
) -> None:
    """Report metrics from training code: ``report(accuracy=0.93)``, ``report(loss=0.4,
    step=3)`` or ``report(0.93)``.

    A bare ``value`` is named ``metric``, else ``$EVOTUNE_OBJECTIVE``, else ``"value"``.
    Appends the report to ``$EVOTUNE_OUTPUT_DIR/metrics.jsonl`` when that variable is set,
    then prints the ``EVOTUNE_METRICS`` line to stdout and flushes it. Call it from one
    process only (rank 0 of a distributed job). Raises
    :class:`~evotune.errors.TrialReportError` for a non-number, a bad step or no metric.
    """
    line = json.dumps(_record(value, step, metric, metrics))
    output_dir = os.environ.get(ENV_OUTPUT_DIR)
    if output_dir:
        os.makedirs(output_dir, exist_ok=True)
        fd = os.open(
            os.path.join(output_dir, METRICS_FILE), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644
        )
        try:
            os.write(fd, (line + "\n").encode("utf-8"))  # one write: appends stay whole
        finally:
            os.close(fd)
    stream = sys.stdout
    if stream is not None:
        stream.write(f"{METRICS_PREFIX} {line}\n")
        stream.flush()
