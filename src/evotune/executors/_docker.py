"""The ``docker`` executor: one container per trial attempt, through the docker SDK.

A study file selects it with::

    executor:
      kind: docker
      image: evotune/digits:latest   # built locally; never pulled
      cpus: 1.0
      memory: 512m

Each attempt runs as a container named ``spec.name``, labelled ``evotune.study``,
``evotune.trial``, ``evotune.attempt`` and ``evotune.managed=1``, with ``spec.argv`` as its
command (no shell), ``spec.env`` as its environment and ``spec.output_dir`` bind-mounted
read-write at ``output_mount``. ``EVOTUNE_OUTPUT_DIR`` -- and any argv element or env value
naming a path under the host output folder -- is rewritten to the in-container path. The
container runs with an init process (``docker run --init``) so that the job is not PID 1: it
receives SIGTERM on stop and its children are reaped; a job killed by signal N is reported
``killed by signal N`` (exit code ``-N``), as by the ``local`` executor. A timeout or cancel
sends SIGTERM, then SIGKILL ``kill_grace`` seconds later (default 5). Without
``network: true`` the container has no network at all (``network_mode: none``, only ``lo``).

When ``poll`` first sees a final state it copies the container's stdout and stderr into
``spec.stdout_path`` / ``spec.stderr_path``, so the controller reads metrics exactly as for the
``local`` executor. The container itself stays until :meth:`DockerExecutor.release`.

File ownership: without ``user`` the job usually runs as root and its files in the output folder
are root-owned but world-readable (umask 022), so the controller can read them. With ``user``
the job's uid may not own the host folder, so the output folder is made world-writable
(mode 0777) before it is mounted; it holds only this attempt's files.

The docker SDK is imported by this backend only, and only when an executor is used. Its
exceptions are translated at this edge (:mod:`evotune.executors._docker_engine`): an
unreachable engine is :class:`~evotune.errors.BackendUnavailable`, a missing image
:class:`~evotune.errors.ImageNotFound`, anything else from the engine
:class:`~evotune.errors.ExecutorError`.
"""

from __future__ import annotations

import importlib.util
import math
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from evotune.errors import ExecutorError, SpecError
from evotune.executors._base import Executor, JobHandle, JobSpec, JobState, JobStatus
from evotune.executors._docker_engine import engine_errors, one_line, parse_time
from evotune.executors._docker_options import DockerOptions, parse_docker_options

if TYPE_CHECKING:
    import docker

__all__ = ["LABEL_ATTEMPT", "LABEL_MANAGED", "LABEL_STUDY", "LABEL_TRIAL", "DockerExecutor"]

LABEL_STUDY = "evotune.study"
LABEL_TRIAL = "evotune.trial"
LABEL_ATTEMPT = "evotune.attempt"
LABEL_MANAGED = "evotune.managed"

#: Seconds the client waits for one engine API call.
API_TIMEOUT = 60

_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]")
def container_name(spec: JobSpec) -> str:
    """``spec.name`` with anything Docker refuses in a container name replaced by ``-``."""
    return _NAME_UNSAFE.sub("-", spec.name)


def _rewrite(value: str, hosts: tuple[str, ...], inside: str) -> str:
    """``value`` with a leading host output path (any of ``hosts``, the spelling of the spec
    and the resolved one) replaced by its in-container path."""
    for host in hosts:
        if value == host:
            return inside
        if value.startswith(host + "/"):
            return inside + value[len(host) :]
    return value


@dataclass
class _Stop:
    """A stop under way: why, when SIGTERM went out (``time.monotonic()``), SIGKILL sent."""

    reason: str
    term_sent_at: float
    killed: bool = False


class DockerExecutor(Executor):
    """Runs each trial attempt in a local Docker container; see the module docstring.

    ``DockerExecutor(image="evotune/digits:latest", memory="512m")`` takes the options of the
    study file's ``executor:`` section and raises :class:`~evotune.errors.SpecError` for an
    unknown or bad one. It does not contact the engine until it is used; :meth:`check` is the
    fail-fast probe. Methods are safe to call from several threads.
    """

    kind = "docker"

    def __init__(self, **options: Any) -> None:
        self.options: DockerOptions = parse_docker_options(options)
        if importlib.util.find_spec("docker") is None:
            raise SpecError(
                "executor.kind",
                "executor 'docker' needs an optional dependency that is not installed "
                "(docker); install it with: pip install 'evotune[docker]'",
            )
        self._client_obj: docker.DockerClient | None = None
        self._lock = threading.Lock()
        self._final: dict[str, JobState] = {}
        self._stops: dict[str, _Stop] = {}  # name -> the stop under way (timeout, cancel)
        self._ids: dict[str, str] = {}  # name -> container id found by reattach

    def _ref(self, handle: JobHandle) -> str:
        """The engine's reference to the handle's container: its id, or its name."""
        name = str(handle.data["name"])
        return self._ids.get(name) or str(handle.data.get("container_id") or name)

    # -- engine -------------------------------------------------------------------------------

    def _client(self) -> docker.DockerClient:
        with self._lock:
            if self._client_obj is None:
                import docker

                with engine_errors():
                    self._client_obj = docker.from_env(timeout=API_TIMEOUT)
            return self._client_obj

    def check(self, spec_image: str | None = None) -> None:
        """Raise :class:`BackendUnavailable` when the engine does not answer, and
        :class:`ImageNotFound` when the image (``spec_image`` or the ``image`` option) is not
        in the engine's local store. Never pulls."""
        image = spec_image or self.options.image
        client = self._client()
        with engine_errors(image):
            client.ping()
            client.images.get(image)

    def close(self) -> None:
        with self._lock:
            if self._client_obj is not None:
                self._client_obj.close()
                self._client_obj = None

    # -- submit -------------------------------------------------------------------------------

    def _labels(self, spec: JobSpec) -> dict[str, str]:
        return {
            LABEL_STUDY: spec.study,
            LABEL_TRIAL: str(spec.trial_number),
            LABEL_ATTEMPT: str(spec.attempt),
            LABEL_MANAGED: "1",
        }

    def _container_config(self, spec: JobSpec, output_dir: Path) -> dict[str, Any]:
        """The keyword arguments of ``containers.create`` for this attempt."""
        opts = self.options
        host = str(output_dir)
        hosts = (host,) if str(spec.output_dir) == host else (host, str(spec.output_dir))
        inside = str(PurePosixPath(opts.output_mount))
        env = {**opts.env, **{key: _rewrite(val, hosts, inside) for key, val in spec.env.items()}}
        env["EVOTUNE_OUTPUT_DIR"] = inside
        config: dict[str, Any] = {
            "image": opts.image,
            "command": [_rewrite(arg, hosts, inside) for arg in spec.argv],
            "name": container_name(spec),
            "environment": env,
            "labels": self._labels(spec),
            "volumes": {host: {"bind": inside, "mode": "rw"}},
            "init": True,
            "detach": True,
            "tty": False,
            "stdin_open": False,
            "read_only": opts.read_only,
        }
        if not opts.network:
            config["network_mode"] = "none"
        if opts.cpus is not None:
            config["nano_cpus"] = int(opts.cpus * 1e9)
        if opts.memory is not None:
            # The same limit for memory+swap: a job beyond it is OOM-killed, not swapped.
            config["mem_limit"] = opts.memory
            config["memswap_limit"] = opts.memory
        if opts.user is not None:
            config["user"] = str(opts.user)
        tmpfs = opts.tmpfs_mounts()
        if tmpfs:
            config["tmpfs"] = tmpfs
        if opts.workdir is not None:
            config["working_dir"] = opts.workdir
        return config

    def submit(self, spec: JobSpec) -> JobHandle:
        """Create and start the attempt's container; return at once.

        ``spec.workdir`` is a host path and is not used: the job starts in ``workdir`` or the
        image's working directory. A leftover container of the same name (an earlier submit
        of this very attempt that the controller never journaled) is removed first. Raises
        :class:`ImageNotFound` for a missing image and :class:`BackendUnavailable` when the
        engine cannot be reached; a command the image cannot start is a ``FAILED`` job.
        """
        import docker.errors

        output_dir = spec.output_dir.resolve()
        output_dir.mkdir(parents=True, exist_ok=True)
        if self.options.user is not None:
            output_dir.chmod(0o777)  # the job's uid must be able to write here; see module doc
        config = self._container_config(spec, output_dir)
        client = self._client()
        name = config["name"]
        with engine_errors(self.options.image):
            try:
                container = client.containers.create(**config)
            except docker.errors.APIError as exc:
                if exc.status_code != 409:  # 409: the name is taken
                    raise
                self._remove(name)
                container = client.containers.create(**config)
            started_at = time.time()
            try:
                container.start()
            except docker.errors.APIError:
                pass  # e.g. no such executable: the container records the error; poll reports it
        self._final.pop(name, None)
        self._stops.pop(name, None)
        return JobHandle(
            kind=self.kind,
            data={
                "container_id": container.id,
                "name": name,
                "study": spec.study,
                "trial": spec.trial_number,
                "attempt": spec.attempt,
                "image": self.options.image,
                "started_at": started_at,
                "timeout": spec.timeout,
                "stdout_path": str(spec.stdout_path),
                "stderr_path": str(spec.stderr_path),
                "output_dir": str(output_dir),
            },
        )

    # -- poll ---------------------------------------------------------------------------------

    def _inspect(self, handle: JobHandle) -> dict[str, Any] | None:
        """The container's inspect data, or None when the engine no longer knows it."""
        import docker.errors

        client = self._client()
        ref = self._ref(handle)
        with engine_errors():
            try:
                return dict(client.api.inspect_container(ref))
            except docker.errors.NotFound:
                return None

    def _write_logs(self, handle: JobHandle) -> None:
        client = self._client()
        ref = self._ref(handle)
        for path_key, streams in (("stdout_path", (True, False)), ("stderr_path", (False, True))):
            with engine_errors():
                data = client.api.logs(ref, stdout=streams[0], stderr=streams[1], timestamps=False)
            path = Path(handle.data[path_key])
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data if isinstance(data, bytes) else b"")
            except OSError as exc:  # a full or read-only disk: the controller's edge, one line
                raise ExecutorError(f"cannot save the logs of {ref} to {path}: {exc.strerror}") from exc

    @staticmethod
    def _exit(state: Mapping[str, Any]) -> tuple[int, str | None]:
        """(exit code, reason) of a finished container, as the ``local`` executor words them:
        the init process reports a job killed by signal N as 128+N, which becomes ``-N``."""
        code = int(state.get("ExitCode") or 0)
        if code == 0:
            return 0, None
        if 128 < code <= 128 + 64:
            return 128 - code, f"killed by signal {code - 128}"
        return code, f"exit code {code}"

    @classmethod
    def _final_state(
        cls, state: Mapping[str, Any], submitted_at: float, timeout: float | None
    ) -> JobState:
        """The job's result from a finished container's ``State``."""
        code, reason = cls._exit(state)
        if state.get("OOMKilled"):
            return JobState(JobStatus.FAILED, code, "out of memory")
        if code == 0:
            return JobState(JobStatus.SUCCEEDED, 0)
        if timeout is not None:
            # A controller restarted after a timeout stop still calls it a timeout: the
            # container was killed after its deadline.
            finished = parse_time(state.get("FinishedAt"))
            if finished is not None and code < 0 and finished - submitted_at >= timeout:
                return JobState(JobStatus.FAILED, code, "timeout")
        return JobState(JobStatus.FAILED, code, reason)

    def poll(self, handle: JobHandle) -> JobState:
        """Report the container's state; once it outlives the spec's timeout (counted from
        submit), stop it: SIGTERM, then SIGKILL ``kill_grace`` seconds later, one step per call,
        so ``poll`` never blocks. The first final answer copies the logs to the spec's paths;
        later polls repeat it without asking the engine. Raises only for an engine failure
        (:class:`BackendUnavailable`, :class:`ExecutorError`)."""
        name = str(handle.data["name"])
        known = self._final.get(name)
        if known is not None:
            return known
        info = self._inspect(handle)
        if info is None:
            return JobState(JobStatus.LOST, None, "container disappeared")
        state: Mapping[str, Any] = info.get("State") or {}
        status = state.get("Status")
        timeout = handle.data.get("timeout")
        submitted_at = float(handle.data.get("started_at") or 0.0)
        waiting = status == "created" and not state.get("Error")
        alive = status in ("running", "paused", "restarting")
        stop = self._stops.get(name)
        if alive or waiting:
            if stop is None and timeout is not None and time.time() - submitted_at >= timeout:
                stop = self._begin_stop(handle, "timeout")
            if stop is None:
                return JobState(JobStatus.RUNNING if alive else JobStatus.PENDING)
            if waiting:  # never started: nothing to wait for
                return self._finish(handle, JobState(JobStatus.FAILED, None, stop.reason))
            self._advance_stop(handle, stop)
            return JobState(JobStatus.RUNNING)
        if stop is not None:
            return self._finish(handle, JobState(JobStatus.FAILED, self._exit(state)[0], stop.reason))
        if status == "created":
            reason = f"cannot start: {one_line(str(state.get('Error')), 200)}"
            return self._finish(handle, JobState(JobStatus.FAILED, None, reason))
        if status in ("exited", "dead"):
            final = self._final_state(
                state, submitted_at, None if timeout is None else float(timeout)
            )
            return self._finish(handle, final)
        return JobState(JobStatus.RUNNING)  # "removing": transient

    def _finish(self, handle: JobHandle, final: JobState) -> JobState:
        self._write_logs(handle)
        name = str(handle.data["name"])
        self._final[name] = final
        self._stops.pop(name, None)
        return final

    def _signal(self, handle: JobHandle, signal: str) -> None:
        """Send ``signal`` to the container's init, which passes it to the job; a container
        that is gone or no longer runs is not an error."""
        import docker.errors

        client = self._client()
        with engine_errors():
            try:
                client.api.kill(self._ref(handle), signal=signal)
            except docker.errors.APIError as exc:
                if exc.status_code not in (404, 409):  # 409: not running
                    raise

    def _begin_stop(self, handle: JobHandle, reason: str) -> _Stop:
        stop = _Stop(reason, time.monotonic())
        self._stops[str(handle.data["name"])] = stop
        self._signal(handle, "SIGTERM")
        return stop

    def _advance_stop(self, handle: JobHandle, stop: _Stop) -> None:
        if not stop.killed and time.monotonic() - stop.term_sent_at >= self.options.kill_grace:
            stop.killed = True
            self._signal(handle, "SIGKILL")

    # -- cancel, reattach, release ------------------------------------------------------------

    def cancel(self, handle: JobHandle) -> None:
        """Stop the container -- SIGTERM, SIGKILL ``kill_grace`` seconds later -- and return
        when it no longer runs. Idempotent; a job already reported final keeps its result,
        any other then polls ``FAILED cancelled`` (``timeout`` if its timeout stop began)."""
        import docker.errors

        name = str(handle.data["name"])
        if name in self._final:
            return
        stop = self._stops.get(name) or self._begin_stop(handle, "cancelled")
        left = self.options.kill_grace - (time.monotonic() - stop.term_sent_at)
        client = self._client()
        with engine_errors():
            try:  # SIGTERM again (harmless), SIGKILL after what is left of the grace
                client.api.stop(self._ref(handle), timeout=max(0, math.ceil(left)))
            except docker.errors.NotFound:
                pass
        stop.killed = True

    def reattach(self, handle: JobHandle, spec: JobSpec) -> bool:
        """Find the attempt's container by its labels (a fresh executor after a controller
        restart): ``True`` when it exists, running or exited, else ``False`` (the job is lost).
        """
        containers = self._find(spec.study, spec.trial_number, spec.attempt)
        if not containers:
            return False
        self._ids[str(handle.data["name"])] = str(containers[0]["Id"])
        return True

    def release(self, handle: JobHandle) -> None:
        """Remove the attempt's container (forcibly, should it still run). Idempotent."""
        name = str(handle.data["name"])
        self._remove(self._ref(handle))
        self._ids.pop(name, None)
        self._stops.pop(name, None)

    def _remove(self, ref: str) -> None:
        import docker.errors

        client = self._client()
        with engine_errors():
            try:
                client.api.remove_container(ref, force=True)
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as exc:
                if exc.status_code != 409:  # 409: removal already in progress
                    raise

    # -- a study's containers -----------------------------------------------------------------

    def _find(
        self, study: str, trial: int | None = None, attempt: int | None = None
    ) -> list[dict[str, Any]]:
        labels = [f"{LABEL_MANAGED}=1", f"{LABEL_STUDY}={study}"]
        if trial is not None:
            labels.append(f"{LABEL_TRIAL}={trial}")
        if attempt is not None:
            labels.append(f"{LABEL_ATTEMPT}={attempt}")
        client = self._client()
        with engine_errors():
            return [dict(c) for c in client.api.containers(all=True, filters={"label": labels})]

    def study_containers(self, study: str) -> list[str]:
        """Names of the containers evotune left for ``study``, running or exited."""
        return sorted(str(c["Names"][0]).lstrip("/") for c in self._find(study) if c.get("Names"))

    def remove_study_containers(self, study: str) -> int:
        """Remove every container of ``study`` (running ones too); return how many."""
        found = self._find(study)
        for container in found:
            self._remove(str(container["Id"]))
        return len(found)
