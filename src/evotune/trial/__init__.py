"""The job contract: what a trial's job sees and how it reports back.

- :func:`build_argv` / :func:`check_argv`: ``{name}`` placeholders in the job's argv;
- :func:`build_env`: the ``EVOTUNE_*`` environment variables;
- :func:`report`: the helper training code calls (``from evotune.trial import report``);
- :func:`read_metrics` / :class:`Metrics`: what the controller reads back.

The full contract, for jobs in any language, is ``docs/job-contract.md``. This package uses
only the standard library and imports fast, because training code imports it.
"""

from __future__ import annotations

from evotune.trial._argv import build_argv, check_argv, format_value, placeholders
from evotune.trial._env import (
    ENV_CONFIG,
    ENV_OBJECTIVE,
    ENV_OUTPUT_DIR,
    ENV_SEED,
    ENV_STUDY,
    ENV_TRIAL_ID,
    RESERVED_ENV,
    build_env,
    config_json,
)
from evotune.trial._metrics import (
    METRICS_FILE,
    METRICS_PREFIX,
    MetricPoint,
    Metrics,
    parse_line,
    read_metrics,
    report,
)

__all__ = [
    "ENV_CONFIG",
    "ENV_OBJECTIVE",
    "ENV_OUTPUT_DIR",
    "ENV_SEED",
    "ENV_STUDY",
    "ENV_TRIAL_ID",
    "METRICS_FILE",
    "METRICS_PREFIX",
    "RESERVED_ENV",
    "MetricPoint",
    "Metrics",
    "build_argv",
    "build_env",
    "check_argv",
    "config_json",
    "format_value",
    "parse_line",
    "placeholders",
    "read_metrics",
    "report",
]
