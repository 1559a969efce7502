"""Studies: the study file's schema and the controller that runs a study end to end."""

from evotune.study._run import StudySummary, best_trial, open_study, run_study, summarize
from evotune.study._spec import StudySpec, load_study, parse_duration, parse_study

__all__ = [
    "StudySpec",
    "StudySummary",
    "best_trial",
    "load_study",
    "open_study",
    "parse_duration",
    "parse_study",
    "run_study",
    "summarize",
]
