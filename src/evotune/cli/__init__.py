"""The ``evotune`` command line. See :mod:`evotune.cli._app` for commands and exit codes."""

from __future__ import annotations

import sys

import typer

from evotune.cli._app import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE, app
from evotune.errors import EvotuneError

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run the command; user mistakes print one line (never a traceback) and set the exit code."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="evotune", standalone_mode=False)
    except EvotuneError as exc:
        print(f"evotune: error: {exc}", file=sys.stderr)
        # Bad input (a study file, a config, a service's settings) is a usage error.
        code = EXIT_USAGE if isinstance(exc, ValueError) else EXIT_ERROR
    except (typer.Abort, KeyboardInterrupt):
        print("evotune: interrupted", file=sys.stderr)
        code = EXIT_INTERRUPTED
    except typer.TyperException as exc:  # usage errors: a bad option or argument
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            print(f"evotune: error: {exc}", file=sys.stderr)
        code = getattr(exc, "exit_code", EXIT_USAGE)
    if argv is None:
        sys.exit(code or 0)
    return int(code or 0)
