"""The study file: its schema (pydantic) and loading from YAML.

Every mistake in a study file becomes one :class:`~evotune.errors.SpecError` whose message names
the field and the problem (``budget.max_trials: must be > 0, got -3``). Loading writes nothing.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from evotune.errors import SpecError
from evotune.study._errors import spec_error_from

__all__ = ["StudySpec", "load_study", "parse_duration", "parse_study"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: Any) -> float | None:
    """Seconds from ``90``, ``"90s"``, ``"15m"``, ``"2h"``; ``None`` stays ``None``."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"must be a duration like 30, '90s', '15m' or '2h', got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        m = _DURATION.match(str(value))
        if not m:
            raise ValueError(f"must be a duration like 30, '90s', '15m' or '2h', got {value!r}")
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"must be > 0, got {value!r}")
    return seconds


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class EvaluationSpec(_Model):
    """Where the evaluation service is and what it scores (``objective.source: evaluation``)."""

    url: str
    dataset: str
    token: str | None = None
    token_env: str | None = "EVOTUNE_EVAL_TOKEN"
    model_file: str = "model.onnx"
    timeout: float = Field(default=60.0, gt=0)
    retries: int = Field(default=3, ge=0)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not re.match(r"^https?://", v):
            raise ValueError(f"must start with http:// or https://, got {v!r}")
        return v.rstrip("/")


class ObjectiveSpec(_Model):
    metric: str = Field(min_length=1)
    direction: Literal["maximize", "minimize"]
    source: Literal["reported", "evaluation"] = "reported"
    evaluation: EvaluationSpec | None = None

    @model_validator(mode="after")
    def _source(self) -> ObjectiveSpec:
        if self.source == "evaluation" and self.evaluation is None:
            raise ValueError("source 'evaluation' needs an 'evaluation' section (url, dataset)")
        return self


class BudgetSpec(_Model):
    max_trials: int | None = Field(default=None, gt=0)
    max_generations: int | None = Field(default=None, gt=0)
    target: float | None = None
    time_limit: float | None = None
    patience: int | None = Field(default=None, gt=0)

    @field_validator("time_limit", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> float | None:
        return parse_duration(v)

    @field_validator("target")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError(f"must be a finite number, got {v!r}")
        return v

    @model_validator(mode="after")
    def _some_limit(self) -> BudgetSpec:
        if self.max_trials is None and self.max_generations is None and self.time_limit is None:
            raise ValueError("set at least one of max_trials, max_generations, time_limit")
        return self


class JobTemplate(_Model):
    argv: list[str] = Field(min_length=1)
    env: dict[str, str] = Field(default_factory=dict)
    workdir: str | None = None
    timeout: float | None = None
    retries: int = Field(default=1, ge=0)

    @field_validator("timeout", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> float | None:
        return parse_duration(v)

    @field_validator("env", mode="before")
    @classmethod
    def _env(cls, v: Any) -> Any:
        if isinstance(v, Mapping):
            out = {}
            for key, value in v.items():
                if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", str(key)):
                    raise ValueError(f"{key!r} is not a valid environment variable name")
                if isinstance(value, (dict, list)) or value is None:
                    raise ValueError(f"{key}: must be a string, number or boolean, got {value!r}")
                out[str(key)] = str(value).lower() if isinstance(value, bool) else str(value)
            return out
        return v


class StrategySpec(_Model):
    """``name`` plus the strategy's own options, written inline beside it."""

    model_config = ConfigDict(extra="allow", frozen=True)
    name: str = "elitist"

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ExecutorSpec(_Model):
    """``kind`` plus the executor's own options, written inline beside it."""

    model_config = ConfigDict(extra="allow", frozen=True)
    kind: str = "local"

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class StudySpec(_Model):
    """A whole study. ``base_dir`` is the folder of the study file: relative paths start there."""

    name: str
    space: dict[str, Any]
    objective: ObjectiveSpec
    budget: BudgetSpec
    job: JobTemplate
    strategy: StrategySpec = Field(default_factory=StrategySpec)
    executor: ExecutorSpec = Field(default_factory=ExecutorSpec)
    parallelism: int = Field(default=1, gt=0, le=10_000)
    schedule: Literal["asynchronous", "generational"] = "asynchronous"
    storage: str | None = None
    runs_dir: str | None = None
    seed: int = Field(default=0, ge=0, lt=2**63)
    base_dir: str = "."

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError(f"must be letters, digits, '_', '.', '-' (at most 100), got {v!r}")
        return v

    @field_validator("space")
    @classmethod
    def _space_not_empty(cls, v: dict[str, Any]) -> dict[str, Any]:
        if not v:
            raise ValueError("must declare at least one parameter")
        return v

    # -- derived ---------------------------------------------------------------------------

    def path(self, value: str) -> Path:
        p = Path(os.path.expanduser(value))
        return p if p.is_absolute() else (Path(self.base_dir) / p)

    @property
    def storage_url(self) -> str:
        if self.storage is None:
            return f"sqlite:///{self.path('evotune.db').resolve()}"
        if "://" not in self.storage:  # a bare path means a SQLite file
            return f"sqlite:///{self.path(self.storage).resolve()}"
        if self.storage.startswith("sqlite:///") and not self.storage.startswith("sqlite:////"):
            rel = self.storage[len("sqlite:///"):]
            if rel and rel != ":memory:":
                return f"sqlite:///{self.path(rel).resolve()}"
        return self.storage

    @property
    def study_dir(self) -> Path:
        """Where trial folders (logs, outputs) live: ``<runs_dir>/<name>``."""
        return self.path(self.runs_dir or "evotune-runs").resolve() / self.name

    @property
    def workdir(self) -> Path:
        return self.path(self.job.workdir or ".").resolve()

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def parse_study(raw: Any, base_dir: Path | str = ".") -> StudySpec:
    """Validate a study given as a mapping. Checks the space, strategy, executor and argv too."""
    if not isinstance(raw, Mapping):
        raise SpecError("study", f"must be a mapping of fields, got {type(raw).__name__}")
    data = dict(raw)
    data.setdefault("base_dir", str(base_dir))
    try:
        spec = StudySpec.model_validate(data)
    except ValidationError as exc:
        raise spec_error_from(exc) from None
    _check_parts(spec)
    return spec


class _Loader(yaml.SafeLoader):  # type: ignore[misc]
    """YAML 1.1 reads ``1e-4`` (no dot) as a string; read it as the float a user means."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def load_study(path: Path | str) -> StudySpec:
    """Read and validate a YAML study file. Raises :class:`SpecError`; writes nothing."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(str(path), "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(str(path), f"cannot read: {exc}") from None
    try:
        raw = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError(str(path), f"not valid YAML: {where}{problem}") from None
    if raw is None:
        raise SpecError(str(path), "the file is empty")
    return parse_study(raw, base_dir=path.resolve().parent)


def _check_parts(spec: StudySpec) -> None:
    """Validate the sections whose schema belongs to another part (space, strategy, executor)."""
    from evotune.executors import check_kind
    from evotune.study._parts import build_space, build_strategy
    from evotune.trial import check_argv

    space = build_space(spec)
    build_strategy(spec, space)
    check_kind(spec.executor.kind)
    check_argv(spec.job.argv, list(space.names), path="job.argv")
