"""The one error tree of evotune.

Every error a user can cause or meet derives from :class:`EvotuneError`. Its message is one
line that names the cause (a field path, a parameter, a backend), so the command line can print
it as it is, without a traceback.
"""

from __future__ import annotations

__all__ = [
    "EvotuneError",
    "SpecError",
    "ConfigError",
    "StrategyError",
    "StorageError",
    "ExecutorError",
    "BackendUnavailable",
    "ImageNotFound",
    "EvaluationError",
    "TrialReportError",
]


class EvotuneError(Exception):
    """Root of every error evotune raises on purpose."""


class SpecError(EvotuneError, ValueError):
    """A search space or study file is not valid.

    The message starts with the path of the bad field, e.g.
    ``space.lr.low: must be > 0 for a log scale, got -1``.
    """

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path else problem)


class ConfigError(EvotuneError, ValueError):
    """A configuration (or a vector) does not fit its search space."""


class StrategyError(EvotuneError):
    """A strategy was used against its contract (unknown candidate, bad state, bad option)."""


class StorageError(EvotuneError):
    """The study's storage cannot be opened, or holds something that contradicts the request."""


class ExecutorError(EvotuneError):
    """An executor backend failed in a way that is not one trial's failure."""


class BackendUnavailable(ExecutorError):
    """The executor's backend (a Docker engine, a cluster) cannot be reached."""


class ImageNotFound(ExecutorError):
    """The container image a study names does not exist where the executor looks for it."""


class EvaluationError(EvotuneError):
    """The evaluation service refused or could not score a model."""


class TrialReportError(EvotuneError, ValueError):
    """A metric report line or metrics file is malformed."""
