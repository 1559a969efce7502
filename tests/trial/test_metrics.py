"""Metric reports: the helper, the line and file formats, the reader and its merge rule."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evotune.errors import TrialReportError
from evotune.trial import METRICS_FILE, MetricPoint, Metrics, parse_line, read_metrics, report


def _run_python(code: str, env: dict[str, str], stdout_path: Path) -> None:
    with open(stdout_path, "wb") as out:
        subprocess.run(
            [sys.executable, "-c", code], env={**os.environ, **env}, stdout=out, check=True
        )


def test_report_round_trip_through_file_and_stdout(tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    stdout = tmp_path / "stdout.log"
    code = (
        "from evotune.trial import report\n"
        "print('epoch 0 starting')\n"
        "report(loss=0.5, step=0)\n"
        "report(loss=float('nan'), acc=1, step=1)\n"
        "report(accuracy=0.93)\n"
    )
    _run_python(code, {"EVOTUNE_OUTPUT_DIR": str(out_dir)}, stdout)
    metrics = read_metrics(stdout, out_dir)
    expected = [("loss", 0.5, 0), ("loss", math.nan, 1), ("acc", 1.0, 1), ("accuracy", 0.93, None)]
    got = [(p.name, p.value, p.step) for p in metrics.history]
    assert len(got) == len(expected)
    for (name, value, step), (g_name, g_value, g_step) in zip(expected, got):
        assert (name, step) == (g_name, g_step)
        assert g_value == value or (math.isnan(value) and math.isnan(g_value))
    assert {p.source for p in metrics.history} == {"file"}  # the file wins; nothing twice
    assert metrics.last("accuracy") == 0.93
    assert math.isnan(metrics.last("loss") or 0.0)
    assert metrics.last("missing") is None
    assert list(metrics.final()) == ["loss", "acc", "accuracy"]
    assert metrics.malformed == 0
    # stdout alone says the same thing
    (out_dir / METRICS_FILE).unlink()
    from_stdout = read_metrics(stdout, out_dir)
    assert [(p.name, p.step) for p in from_stdout.history] == [(n, s) for n, _, s in expected]
    assert {p.source for p in from_stdout.history} == {"stdout"}


def test_bare_value_takes_its_name_from_metric_or_the_objective(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EVOTUNE_OUTPUT_DIR", raising=False)
    monkeypatch.delenv("EVOTUNE_OBJECTIVE", raising=False)
    report(0.1)
    report(0.2, metric="acc", step=4)
    monkeypatch.setenv("EVOTUNE_OBJECTIVE", "f1")
    report(0.3)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        'EVOTUNE_METRICS {"value": 0.1}',
        'EVOTUNE_METRICS {"step": 4, "acc": 0.2}',
        'EVOTUNE_METRICS {"f1": 0.3}',
    ]


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((), {}),
        ((), {"step": 3}),
        ((), {"acc": "high"}),
        ((), {"acc": True}),
        ((), {"acc": 1.0, "step": -1}),
        ((), {"acc": 1.0, "step": 1.5}),
        ((), {"metric": "acc"}),
        ((0.5,), {"metric": "acc", "acc": 0.4}),
    ],
)
def test_report_rejects_bad_input(args: tuple[float], kwargs: dict[str, object]) -> None:
    with pytest.raises(TrialReportError):
        report(*args, **kwargs)  # type: ignore[arg-type]


def test_shell_job_reports_with_echo(tmp_path: Path) -> None:
    script = tmp_path / "job.sh"
    script.write_text(
        "#!/bin/sh\n"
        'echo "training..."\n'
        'echo \'EVOTUNE_METRICS {"step": 1, "loss": 0.7}\'\n'
        "echo 'EVOTUNE_METRICS {\"accuracy\": 0.91}'\n"
    )
    stdout = tmp_path / "stdout.log"
    with open(stdout, "wb") as out:
        subprocess.run(["sh", str(script)], stdout=out, check=True)
    metrics = read_metrics(stdout, tmp_path / "no-such-dir")
    assert metrics.history == [
        MetricPoint("loss", 0.7, 1, "stdout"),
        MetricPoint("accuracy", 0.91, None, "stdout"),
    ]


def test_malformed_lines_are_counted_never_fatal(tmp_path: Path) -> None:
    stdout = tmp_path / "stdout.log"
    lines = [
        "plain output mentioning nothing",
        'EVOTUNE_METRICS {"a": 1}',
        "EVOTUNE_METRICS not json",
        'EVOTUNE_METRICS {"a": "x"}',
        'EVOTUNE_METRICS {"step": 2}',
        'EVOTUNE_METRICS {"step": -1, "a": 1}',
        "EVOTUNE_METRICS [1, 2]",
        'EVOTUNE_METRICS {"a": 1',
        'EVOTUNE_METRICS{"a": 1}',
        'INFO:root:EVOTUNE_METRICS {"b": 2, "step": 5}',  # a log formatter's prefix is fine
        'progress 10%\rprogress 100%\rEVOTUNE_METRICS {"c": Infinity}',
        'EVOTUNE_METRICS {"d": -Infinity, "e": NaN}   ',
    ]
    stdout.write_bytes(("\n".join(lines) + "\n").encode() + b"\xff\xfe garbage\n")
    metrics = read_metrics(stdout, tmp_path)
    assert [(p.name, p.step) for p in metrics.history] == [
        ("a", None),
        ("b", 5),
        ("c", None),
        ("d", None),
        ("e", None),
    ]
    assert metrics.last("c") == math.inf
    assert metrics.malformed == 7


def test_the_file_wins_when_it_holds_a_valid_report(tmp_path: Path) -> None:
    stdout = tmp_path / "stdout.log"
    stdout.write_text('EVOTUNE_METRICS {"a": 1}\n')
    (tmp_path / METRICS_FILE).write_text('{"a": 2}\n\nnot json\n')
    metrics = read_metrics(stdout, tmp_path)
    assert metrics.history == [MetricPoint("a", 2.0, None, "file")]
    assert metrics.malformed == 1
    (tmp_path / METRICS_FILE).write_text("not json\n")  # no valid report: stdout counts
    metrics = read_metrics(stdout, tmp_path)
    assert metrics.history == [MetricPoint("a", 1.0, None, "stdout")]
    assert metrics.malformed == 1


def test_missing_files_mean_no_reports(tmp_path: Path) -> None:
    metrics = read_metrics(tmp_path / "nope.log", tmp_path / "nope")
    assert metrics.history == [] and metrics.malformed == 0
    assert metrics.last("a") is None and metrics.final() == {}


def test_parse_line_separates_non_reports_from_bad_reports() -> None:
    assert parse_line("hello") is None
    with pytest.raises(TrialReportError):
        parse_line("EVOTUNE_METRICS {")


def test_metrics_json_is_strict_and_round_trips() -> None:
    metrics = Metrics(
        [
            MetricPoint("loss", math.nan, 0, "stdout"),
            MetricPoint("loss", math.inf, 1, "stdout"),
            MetricPoint("acc", 0.5, None, "file"),
        ],
        malformed=2,
    )
    text = json.dumps(metrics.to_json(), allow_nan=False)  # strict JSON: any store takes it
    back = Metrics.from_json(json.loads(text))
    assert back.malformed == 2
    assert [(p.name, p.step, p.source) for p in back.history] == [
        ("loss", 0, "stdout"),
        ("loss", 1, "stdout"),
        ("acc", None, "file"),
    ]
    assert math.isnan(back.history[0].value) and back.history[1].value == math.inf
    with pytest.raises(TrialReportError):
        Metrics.from_json({"history": [{"value": 1}]})


finite = st.floats(allow_nan=False, allow_infinity=False)


@given(st.lists(st.tuples(st.sampled_from(["loss", "acc", "a b", "ü"]), finite), min_size=1))
def test_reported_values_read_back_exactly(pairs: list[tuple[str, float]]) -> None:
    from evotune.trial._metrics import _record

    lines = [
        f"EVOTUNE_METRICS {json.dumps(_record(None, i, None, {n: v}))}"
        for i, (n, v) in enumerate(pairs)
    ]
    points = [p for line in lines for p in parse_line(line) or []]
    assert [(p.name, p.value, p.step) for p in points] == [
        (n, v, i) for i, (n, v) in enumerate(pairs)
    ]


def test_importing_the_helper_is_light() -> None:
    code = "import sys, evotune.trial; print(sorted(m for m in ('numpy', 'yaml', 'pydantic', 'sqlalchemy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
