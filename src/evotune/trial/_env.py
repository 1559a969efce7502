"""The environment variables a job sees (see ``docs/job-contract.md``)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evotune.errors import ConfigError, SpecError
from evotune.trial._argv import _json_default, format_value

__all__ = [
    "ENV_CONFIG",
    "ENV_OBJECTIVE",
    "ENV_OUTPUT_DIR",
    "ENV_SEED",
    "ENV_STUDY",
    "ENV_TRIAL_ID",
    "RESERVED_ENV",
    "build_env",
    "config_json",
]

ENV_CONFIG = "EVOTUNE_CONFIG"
ENV_TRIAL_ID = "EVOTUNE_TRIAL_ID"
ENV_STUDY = "EVOTUNE_STUDY"
ENV_SEED = "EVOTUNE_SEED"
ENV_OUTPUT_DIR = "EVOTUNE_OUTPUT_DIR"
ENV_OBJECTIVE = "EVOTUNE_OBJECTIVE"
RESERVED_ENV = frozenset(
    {ENV_CONFIG, ENV_TRIAL_ID, ENV_STUDY, ENV_SEED, ENV_OUTPUT_DIR, ENV_OBJECTIVE}
)


def config_json(config: Mapping[str, Any]) -> str:
    """The configuration as one compact JSON object, keys in the configuration's order.

    numpy scalars become Python numbers. Non-finite floats are written as Python's JSON does
    (``NaN``, ``Infinity``). Raises :class:`~evotune.errors.ConfigError` for a value JSON
    cannot express.
    """
    try:
        return json.dumps(dict(config), separators=(",", ":"), default=_json_default)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"configuration is not JSON-serializable: {exc}") from exc


def build_env(
    *,
    config: Mapping[str, Any],
    study: str,
    trial_number: int,
    seed: int,
    output_dir: Path,
    extra: Mapping[str, Any] | None = None,
    objective: str | None = None,
) -> dict[str, str]:
    """The job contract's environment for one trial: only these variables plus ``extra``.

    ``EVOTUNE_CONFIG`` (JSON object), ``EVOTUNE_TRIAL_ID`` (``str(trial_number)``),
    ``EVOTUNE_STUDY``, ``EVOTUNE_SEED``, ``EVOTUNE_OUTPUT_DIR`` (made absolute, since the job
    runs in its own working directory) and, when ``objective`` is given,
    ``EVOTUNE_OBJECTIVE`` (the metric name :func:`evotune.trial.report` uses for a bare
    value). The caller (an executor) adds the host environment underneath.

    ``extra`` values may be strings, numbers or booleans (formatted like argv values).
    Raises :class:`~evotune.errors.SpecError` (path ``job.env.<NAME>``) for an extra
    variable that is reserved, badly named or not a scalar.
    """
    env: dict[str, str] = {}
    for name, value in (extra or {}).items():
        path = f"job.env.{name}"
        if not isinstance(name, str) or not name or "=" in name or "\0" in name:
            raise SpecError(path, "not a valid environment variable name")
        if name in RESERVED_ENV:
            raise SpecError(path, "reserved for the job contract; evotune sets it")
        if value is None or isinstance(value, (list, dict, tuple)):
            raise SpecError(path, f"must be a string or a number, got {type(value).__name__}")
        text = format_value(value)
        if "\0" in text:
            raise SpecError(path, "must not contain a NUL character")
        env[name] = text
    env[ENV_CONFIG] = config_json(config)
    env[ENV_TRIAL_ID] = str(int(trial_number))
    env[ENV_STUDY] = str(study)
    env[ENV_SEED] = str(int(seed))
    env[ENV_OUTPUT_DIR] = os.path.abspath(os.fspath(output_dir))
    if objective is not None:
        env[ENV_OBJECTIVE] = objective
    return env
