"""The ``evotune`` command. It only adapts: parsing, printing, exit codes; the work is elsewhere.

Exit codes: 0 done; 1 a run-time error (storage, executor backend, evaluation service);
2 bad input (a study file, an option); 3 nothing to show (no trial has succeeded yet);
130 interrupted by Ctrl-C (the study can be resumed).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from evotune.cli._tables import status_table, trials_csv, trials_json

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_EMPTY, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Tune the hyperparameters of ML training jobs with evolution strategies.")

StudyFile = typer.Argument(..., help="The study file (YAML).", show_default=False)
StorageOpt = typer.Option(None, "--storage", help="Storage URL; default: the study file's own.")


def _load(path: Path, storage: str | None):  # type: ignore[no-untyped-def]
    from evotune.study import load_study

    spec = load_study(path)
    if storage:
        spec = spec.model_copy(update={"storage": storage})
    return spec


def _run(path: Path, storage: str | None, plain: bool, quiet: bool, must_exist: bool) -> int:
    from evotune.study import run_study
    from evotune.study._view import LogView, QuietView, default_view

    spec = _load(path, storage)
    view = QuietView() if quiet else (LogView() if plain else default_view())
    summary = run_study(spec, view=view, must_exist=must_exist)
    best = summary.best
    if best is not None:
        typer.echo(f"best {summary.metric}: {best.score:.6g} (trial {best.number})")
        typer.echo(json.dumps(best.config, sort_keys=True))
    else:
        typer.echo("no trial succeeded", err=True)
    if summary.status == "interrupted":
        return EXIT_INTERRUPTED
    return EXIT_OK


@app.command()
def run(study: Path = StudyFile, storage: str | None = StorageOpt,
        plain: bool = typer.Option(False, "--plain", help="Plain log lines instead of the live view."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the result.")) -> None:
    """Run a study; when it already exists in its storage, resume it."""
    raise typer.Exit(_run(study, storage, plain, quiet, must_exist=False))


@app.command()
def resume(study: Path = StudyFile, storage: str | None = StorageOpt,
           plain: bool = typer.Option(False, "--plain", help="Plain log lines instead of the live view."),
           quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the result.")) -> None:
    """Resume a study that was stopped, interrupted or killed."""
    raise typer.Exit(_run(study, storage, plain, quiet, must_exist=True))


def _summary(path: Path, storage: str | None):  # type: ignore[no-untyped-def]
    from evotune.errors import StorageError
    from evotune.storage import get_storage, sqlite_file
    from evotune.study import open_study, summarize

    spec = _load(path, storage)
    url = spec.storage_url
    file = sqlite_file(url)
    if file is not None and not file.exists():
        # Reading a study must not create an empty database.
        raise StorageError(f"storage: no study named {spec.name!r}: {url} does not exist; "
                           "start it with `evotune run`")
    store = get_storage(url)
    return summarize(store, open_study(spec, store, must_exist=True))


@app.command()
def status(study: Path = StudyFile, storage: str | None = StorageOpt) -> None:
    """Show the study's trials and its best configuration."""
    from rich.console import Console

    summary = _summary(study, storage)
    Console().print(status_table(summary))


@app.command()
def best(study: Path = StudyFile, storage: str | None = StorageOpt) -> None:
    """Print the best configuration as JSON (exit code 3 when no trial has succeeded)."""
    summary = _summary(study, storage)
    if summary.best is None:
        typer.echo(f"study {summary.name!r} has no successful trial yet", err=True)
        raise typer.Exit(EXIT_EMPTY)
    typer.echo(json.dumps(summary.best.config, sort_keys=True))


@app.command()
def trials(study: Path = StudyFile, storage: str | None = StorageOpt,
           format: str = typer.Option("csv", "--format", "-f", help="csv or json.")) -> None:
    """Export every trial of the study (config, state, score, metrics, timings)."""
    if format not in ("csv", "json"):
        raise typer.BadParameter(f"must be csv or json, got {format!r}", param_hint="--format")
    summary = _summary(study, storage)
    sys.stdout.write(trials_csv(summary) if format == "csv" else trials_json(summary))


@app.command("serve-eval")
def serve_eval(
    dataset: list[str] = typer.Option(..., "--dataset", "-d", show_default=False,
                                      help="NAME=SOURCE, repeatable: digits=sklearn:digits:validation, "
                                           "val=data/val.npz, houses=data/val.csv:target=price"),
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8765, help="Port to listen on."),
    token: str | None = typer.Option(None, help="Bearer token (default: $EVOTUNE_EVAL_TOKEN)."),
    token_file: Path | None = typer.Option(None, help="Read the bearer token from this file."),
    max_upload_mb: float = typer.Option(64.0, help="Largest model accepted, in MiB (413 above)."),
    timeout: float = typer.Option(30.0, help="Time limit to score one model, in seconds."),
    max_concurrency: int = typer.Option(2, help="Models scored at once (one worker process each)."),
    queue_timeout: float = typer.Option(10.0, help="How long a request waits for a free worker (503 after)."),
    log_level: str = typer.Option("info", help="uvicorn log level."),
) -> None:
    """Serve held-out validation data: score ONNX models over HTTP (never pickle)."""
    from evotune.evaluation import serve_eval as serve

    serve(dataset, host=host, port=port, token=token, token_file=token_file,
          max_upload_mb=max_upload_mb, timeout_s=timeout, max_concurrency=max_concurrency,
          queue_timeout_s=queue_timeout, log_level=log_level)
