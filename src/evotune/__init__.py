"""evotune: tune the hyperparameters of ML training jobs with evolution strategies."""

from evotune.errors import ConfigError, EvotuneError, SpecError

__version__ = "0.1.0"

__all__ = ["EvotuneError", "SpecError", "ConfigError", "__version__"]
