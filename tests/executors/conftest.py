"""Fixtures for the executor contract suite: one :class:`Backend` per executor kind.

To run the suite against another executor, write a factory ``(tmp_path) -> Backend`` and add
it to ``BACKENDS`` (and its name to ``KINDS``, with the marks it needs). Test jobs are small
Python programs run with ``backend.python -c CODE ARGS...``, using only the standard library,
so they run the same on the host and inside a container image.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from evotune.executors import Executor, JobHandle, JobSpec, JobState
from evotune.trial import build_env


@dataclass
class Backend:
    """One executor under test, and what the suite needs to drive it."""

    kind: str
    executor: Executor
    new_executor: Callable[[], Executor]  # a fresh instance, as after a controller restart
    python: str  # the interpreter jobs run with (on the host, or inside the image)
    root: Path  # host folder holding the jobs' files
    lose: Callable[[JobHandle], None]  # make a job vanish without a result, as a crash would
    handles: list[JobHandle] = field(default_factory=list)
    executors: list[Executor] = field(default_factory=list)

    def job(self, code: str, *args: str) -> tuple[str, ...]:
        """Argv running a Python program (standard library only)."""
        return (self.python, "-c", code, *args)

    def spec(
        self,
        argv: Sequence[str],
        *,
        trial_number: int = 0,
        timeout: float | None = None,
        config: Mapping[str, Any] | None = None,
        extra_env: Mapping[str, str] | None = None,
    ) -> JobSpec:
        base = self.root / f"trial-{trial_number}"
        output_dir = base / "output"
        env = build_env(
            config=dict(config or {"lr": 0.01}),
            study="contract",
            trial_number=trial_number,
            seed=1234 + trial_number,
            output_dir=output_dir,
            extra=extra_env,
        )
        return JobSpec(
            study="contract",
            trial_number=trial_number,
            attempt=0,
            argv=tuple(argv),
            env=env,
            output_dir=output_dir,
            stdout_path=base / "logs" / "stdout.log",
            stderr_path=base / "logs" / "stderr.log",
            timeout=timeout,
        )

    def submit(self, spec: JobSpec, executor: Executor | None = None) -> JobHandle:
        handle = (executor or self.executor).submit(spec)
        self.handles.append(handle)
        return handle

    def fresh(self) -> Executor:
        executor = self.new_executor()
        self.executors.append(executor)
        return executor

    def wait_final(
        self, handle: JobHandle, executor: Executor | None = None, timeout: float = 20.0
    ) -> JobState:
        """Poll until the job's state is final; fail the test after ``timeout`` seconds."""
        executor = executor or self.executor
        deadline = time.monotonic() + timeout
        while True:
            state = executor.poll(handle)
            if state.status.final:
                return state
            if time.monotonic() > deadline:
                pytest.fail(f"job not final after {timeout} s: {state}")
            time.sleep(0.05)

    @staticmethod
    def wait_for_file(path: Path, timeout: float = 20.0) -> None:
        """Wait until a job has written ``path`` (e.g. a marker in its output folder)."""
        deadline = time.monotonic() + timeout
        while not path.exists():
            if time.monotonic() > deadline:
                pytest.fail(f"{path} did not appear within {timeout} s")
            time.sleep(0.02)

    def cleanup(self) -> None:
        """Leave nothing running, whatever a failed test left behind."""
        for handle in self.handles:
            with contextlib.suppress(Exception):  # best effort after a failed test
                self.executor.cancel(handle)
                self.executor.release(handle)
        for executor in [self.executor, *self.executors]:
            executor.close()


# -- backends --------------------------------------------------------------------------------


def _local_backend(tmp_path: Path) -> Backend:
    import sys

    from evotune.executors._local import LocalExecutor

    def lose(handle: JobHandle) -> None:
        # A crash of the whole job, wrapper included: no exit record is left.
        pgid = int(handle.data["pgid"])
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        stat = Path(f"/proc/{handle.data['pid']}/stat")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if " Z " in stat.read_text():
                    break
            except (FileNotFoundError, ProcessLookupError):  # gone (reaped) meanwhile
                break
            time.sleep(0.02)

    def new() -> Executor:
        return LocalExecutor(kill_grace=1.0)

    return Backend(
        kind="local",
        executor=new(),
        new_executor=new,
        python=sys.executable,
        root=tmp_path,
        lose=lose,
    )


def _docker_backend(tmp_path: Path) -> Backend:
    # Skips without an engine or the image (examples/images/build.sh), unless
    # EVOTUNE_REQUIRE_DOCKER=1 makes that a failure.
    from evotune.errors import BackendUnavailable, ImageNotFound, SpecError
    from evotune.executors._docker import DockerExecutor

    image = "evotune/python-base:bookworm"
    try:
        DockerExecutor(image=image).check()
    except (BackendUnavailable, ImageNotFound, SpecError) as exc:
        if os.environ.get("EVOTUNE_REQUIRE_DOCKER") == "1":
            pytest.fail(f"EVOTUNE_REQUIRE_DOCKER=1 but the Docker tests cannot run: {exc}")
        pytest.skip(f"no usable Docker engine: {exc}")

    def new() -> Executor:
        return DockerExecutor(image=image, kill_grace=1.0)

    def lose(handle: JobHandle) -> None:
        # The container vanishes with its result, as when someone runs `docker rm -f`.
        gone = DockerExecutor(image=image)
        gone.release(handle)
        gone.close()

    return Backend(
        kind="docker",
        executor=new(),
        new_executor=new,
        python="python3",
        root=tmp_path,
        lose=lose,
    )


BACKENDS: dict[str, Callable[[Path], Backend]] = {
    "local": _local_backend,
    "docker": _docker_backend,
}
KINDS = [
    pytest.param("local"),
    pytest.param("docker", marks=pytest.mark.docker),
]


@pytest.fixture(params=KINDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    instance = BACKENDS[request.param](tmp_path)
    try:
        yield instance
    finally:
        instance.cleanup()
