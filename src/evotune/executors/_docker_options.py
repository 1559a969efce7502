"""The options of the ``docker`` executor, as a study file's ``executor:`` section gives them.

Validated with pydantic; every problem becomes a :class:`~evotune.errors.SpecError` whose path
is ``executor.<option>``, e.g. ``executor.memory: must look like 512m or 2g, got 'lots'``.
This module does not import the docker SDK.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from evotune.errors import SpecError

__all__ = ["DockerOptions", "parse_docker_options"]

_MEMORY = re.compile(r"^[0-9]+(\.[0-9]+)?[bkmg]?$", re.IGNORECASE)
_USER = re.compile(r"^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$")


def _absolute(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError(f"must be an absolute path inside the container, got {value!r}")
    return value


class DockerOptions(BaseModel):
    """What a trial's container looks like. Defaults are the safe side: no network, no pull."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    image: str = Field(min_length=1)
    cpus: float | None = Field(default=None, gt=0)
    memory: str | int | None = None
    network: bool = False
    user: str | int | None = None
    read_only: bool = False
    tmpfs: dict[str, str] = Field(default_factory=dict)
    workdir: str | None = None
    output_mount: str = "/evotune/output"
    env: dict[str, str] = Field(default_factory=dict)
    pull: Literal["never"] = "never"
    kill_grace: float = Field(default=5.0, ge=0)

    @field_validator("memory")
    @classmethod
    def _memory(cls, value: str | int | None) -> str | int | None:
        if isinstance(value, int) and value <= 0:
            raise ValueError(f"must be > 0 bytes, got {value}")
        if isinstance(value, str) and not _MEMORY.match(value):
            raise ValueError(f"must look like 512m or 2g, got {value!r}")
        return value

    @field_validator("user")
    @classmethod
    def _user(cls, value: str | int | None) -> str | None:
        if isinstance(value, int):
            value = str(value)  # `user: 1000` in YAML
        if value is not None and not _USER.match(value):
            raise ValueError(f"must be 'uid', 'uid:gid' or a user name, got {value!r}")
        return value

    @field_validator("workdir", "output_mount")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        return None if value is None else _absolute(value)

    @field_validator("tmpfs")
    @classmethod
    def _tmpfs(cls, value: dict[str, str]) -> dict[str, str]:
        for path in value:
            _absolute(path)
        return value

    def tmpfs_mounts(self) -> dict[str, str]:
        """The tmpfs mounts to give the container: a read-only root filesystem gets a
        writable ``/tmp`` unless the study names its own."""
        mounts = dict(self.tmpfs)
        if self.read_only:
            mounts.setdefault("/tmp", "")
        return mounts


_OPTION_NAMES = ", ".join(DockerOptions.model_fields)


def parse_docker_options(options: Mapping[str, Any]) -> DockerOptions:
    """Validate the ``executor:`` options. Raises :class:`SpecError` at the first bad one."""
    try:
        return DockerOptions.model_validate(dict(options))
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = [str(part) for part in error["loc"]]
        name = loc[0] if loc else ""
        path = "executor." + ".".join(loc) if loc else "executor"
        if error["type"] == "extra_forbidden":
            problem = f"unknown option {name!r}; known: {_OPTION_NAMES}"
            path = f"executor.{name}"
        elif error["type"] == "missing":
            problem = "required (the image the trial runs in)" if name == "image" else "required"
        elif error["type"] == "literal_error" and name == "pull":
            problem = f"only 'never' is supported (no registry is used), got {error['input']!r}"
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
            message = message[:1].lower() + message[1:]
            problem = f"{message}, got {error['input']!r}" if "got " not in message else message
        raise SpecError(path, problem) from None
