"""The docker executor against a real Docker engine and the locally built images.

Tests marked ``docker`` skip, with the reason, when no engine answers or the image is missing
(build it with ``examples/images/build.sh``); with ``EVOTUNE_REQUIRE_DOCKER=1`` they fail
instead, so CI cannot pass by skipping them. Option validation and the unreachable-engine
message need no engine and always run.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

try:
    import docker  # noqa: F401  (the SDK this backend needs)
except ImportError:
    if os.environ.get("EVOTUNE_REQUIRE_DOCKER") == "1":
        raise
    pytest.skip(
        "the docker SDK is not installed: pip install 'evotune[docker]'", allow_module_level=True
    )

from evotune.errors import BackendUnavailable, ImageNotFound, SpecError
from evotune.executors import JobHandle, JobSpec, JobState, JobStatus, create_executor
from evotune.executors._docker import DockerExecutor

BASE_IMAGE = "evotune/python-base:bookworm"
JOB_IMAGE = "evotune/digits:latest"  # the base plus evotune.trial on PYTHONPATH
needs_engine = pytest.mark.docker


def engine_problem(image: str = BASE_IMAGE) -> str | None:
    """Why the docker tests cannot run here, or None when they can."""
    try:
        DockerExecutor(image=image).check()
    except (BackendUnavailable, ImageNotFound) as exc:
        return str(exc)
    return None


def skip_or_fail(problem: str | None) -> None:
    if problem is not None:
        if os.environ.get("EVOTUNE_REQUIRE_DOCKER") == "1":
            pytest.fail(f"EVOTUNE_REQUIRE_DOCKER=1 but the Docker tests cannot run: {problem}")
        pytest.skip(f"no usable Docker engine: {problem}")


@pytest.fixture(scope="module")
def engine() -> None:
    skip_or_fail(engine_problem())


@pytest.fixture(scope="module")
def job_image(engine: None) -> str:
    skip_or_fail(engine_problem(JOB_IMAGE))
    return JOB_IMAGE


@pytest.fixture
def study(engine: None) -> Iterator[str]:
    """A study name of its own; every container it leaves is removed afterwards."""
    name = f"t{uuid.uuid4().hex[:10]}"
    yield name
    janitor = DockerExecutor(image=BASE_IMAGE)
    janitor.remove_study_containers(name)
    janitor.close()


def make_spec(
    tmp_path: Path, study: str, code: str, trial: int = 0, timeout: float | None = None
) -> JobSpec:
    out = tmp_path / f"trial-{trial}"
    return JobSpec(
        study=study,
        trial_number=trial,
        attempt=0,
        argv=("python3", "-c", code),
        env={
            "EVOTUNE_CONFIG": json.dumps({"lr": 0.1}),
            "EVOTUNE_TRIAL_ID": str(trial),
            "EVOTUNE_STUDY": study,
            "EVOTUNE_SEED": "7",
            "EVOTUNE_OUTPUT_DIR": str(out / "output"),
        },
        output_dir=out / "output",
        stdout_path=out / "stdout.log",
        stderr_path=out / "stderr.log",
        timeout=timeout,
    )


def wait_final(executor: DockerExecutor, handle: JobHandle, limit: float = 30.0) -> JobState:
    deadline = time.monotonic() + limit
    while True:
        state = executor.poll(handle)
        if state.status.final:
            return state
        assert time.monotonic() < deadline, f"job still {state.status.value} after {limit}s"
        time.sleep(0.05)


def study_containers(study: str) -> list[Any]:
    """What `docker ps -a --filter label=evotune.study=<study>` lists."""
    import docker

    client = docker.from_env()
    try:
        return list(client.containers.list(all=True, filters={"label": f"evotune.study={study}"}))
    finally:
        client.close()


# -- options: no engine needed ----------------------------------------------------------------


def test_unknown_option_is_a_spec_error_naming_it() -> None:
    with pytest.raises(SpecError, match=r"^executor\.cpu: unknown option 'cpu'"):
        create_executor("docker", {"image": BASE_IMAGE, "cpu": 1})


@pytest.mark.parametrize(
    ("options", "path"),
    [
        ({}, "executor.image"),
        ({"image": BASE_IMAGE, "memory": "lots"}, "executor.memory"),
        ({"image": BASE_IMAGE, "cpus": 0}, "executor.cpus"),
        ({"image": BASE_IMAGE, "network": "yes"}, "executor.network"),
        ({"image": BASE_IMAGE, "pull": "always"}, "executor.pull"),
        ({"image": BASE_IMAGE, "output_mount": "out"}, "executor.output_mount"),
        ({"image": BASE_IMAGE, "env": {"A": 1}}, "executor.env.A"),
    ],
)
def test_bad_option_values_are_spec_errors(options: dict[str, Any], path: str) -> None:
    with pytest.raises(SpecError) as info:
        DockerExecutor(**options)
    assert info.value.path == path
    assert "\n" not in str(info.value)


def test_unreachable_engine_is_one_line_backend_unavailable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    dead = tmp_path / "no-dockerd.sock"
    monkeypatch.setenv("DOCKER_HOST", f"unix://{dead}")
    with pytest.raises(BackendUnavailable) as info:
        DockerExecutor(image=BASE_IMAGE).check()
    message = str(info.value)
    assert message.startswith(f"cannot reach the Docker engine at unix://{dead}: ")
    assert message.endswith("is dockerd running?")
    assert "\n" not in message and len(message) < 300


# -- jobs in containers -----------------------------------------------------------------------

REPORT_JOB = """
import json, os, sys
out = os.environ["EVOTUNE_OUTPUT_DIR"]
with open(os.path.join(out, "model.txt"), "w") as f:
    f.write("weights")
env = {k: v for k, v in os.environ.items() if k.startswith(("EVOTUNE_", "EXTRA"))}
print(json.dumps({"env": env, "cwd": os.getcwd()}))
print("evotune-metric accuracy=0.93")
print("a warning", file=sys.stderr)
"""


@needs_engine
def test_job_succeeds_and_its_outputs_come_back(tmp_path: Path, study: str) -> None:
    executor = DockerExecutor(image=BASE_IMAGE, env={"EXTRA": "x", "EVOTUNE_SEED": "overridden?"})
    spec = make_spec(tmp_path, study, REPORT_JOB)
    handle = executor.submit(spec)
    json.dumps(handle.to_json())  # the controller journals it

    assert wait_final(executor, handle) == JobState(JobStatus.SUCCEEDED, 0)
    first, metric = spec.stdout_path.read_text().splitlines()
    seen = json.loads(first)
    assert metric == "evotune-metric accuracy=0.93"
    assert spec.stderr_path.read_text() == "a warning\n"
    assert (spec.output_dir / "model.txt").read_text() == "weights"
    assert seen["env"] == {
        "EVOTUNE_CONFIG": '{"lr": 0.1}',
        "EVOTUNE_TRIAL_ID": "0",
        "EVOTUNE_STUDY": study,
        "EVOTUNE_SEED": "7",  # the job contract wins over the executor's extra env
        "EVOTUNE_OUTPUT_DIR": "/evotune/output",
        "EXTRA": "x",
    }
    assert executor.poll(handle) == JobState(JobStatus.SUCCEEDED, 0)


@needs_engine
def test_host_output_paths_in_argv_are_rewritten_to_the_mount(tmp_path: Path, study: str) -> None:
    executor = DockerExecutor(image=BASE_IMAGE, output_mount="/out")
    spec = make_spec(tmp_path, study, "")
    host_model = str(spec.output_dir / "model.onnx")
    code = "import os, sys; print(sys.argv[1], os.environ['EVOTUNE_OUTPUT_DIR'])"
    spec = dataclasses.replace(spec, argv=("python3", "-c", code, host_model))
    handle = executor.submit(spec)
    assert wait_final(executor, handle).status is JobStatus.SUCCEEDED
    assert spec.stdout_path.read_text() == "/out/model.onnx /out\n"


@needs_engine
def test_report_helper_in_the_job_image_reaches_the_controllers_parser(
    tmp_path: Path, study: str, job_image: str
) -> None:
    from evotune.trial import read_metrics

    code = "from evotune.trial import report; report(accuracy=0.5, step=1); report(accuracy=0.9)"
    executor = DockerExecutor(image=job_image)
    spec = make_spec(tmp_path, study, code)
    handle = executor.submit(spec)
    assert wait_final(executor, handle).status is JobStatus.SUCCEEDED, spec.stderr_path.read_text()
    metrics = read_metrics(spec.stdout_path, spec.output_dir)
    assert metrics.series("accuracy") == [(1, 0.5), (None, 0.9)]
    assert metrics.malformed == 0


@needs_engine
def test_no_network_by_default(tmp_path: Path, study: str) -> None:
    # No packet leaves: with network_mode none the only interface is lo, so a connect to
    # TEST-NET-1 (192.0.2.1, never routed) fails at once with "network is unreachable".
    code = """
import socket, time
names = [line.split(":")[0].strip() for line in open("/proc/net/dev").read().splitlines()[2:]]
print(",".join(names))
t0 = time.monotonic()
try:
    socket.create_connection(("192.0.2.1", 9), timeout=5)
    print("connected")
except OSError as exc:
    print(f"refused after {time.monotonic() - t0:.2f}s: {exc.errno}")
"""
    executor = DockerExecutor(image=BASE_IMAGE)
    spec = make_spec(tmp_path, study, code)
    handle = executor.submit(spec)
    assert wait_final(executor, handle).status is JobStatus.SUCCEEDED
    interfaces, attempt = spec.stdout_path.read_text().splitlines()
    assert interfaces == "lo"
    assert attempt.startswith("refused after 0.")


@needs_engine
def test_limits_user_and_read_only_root_are_applied(tmp_path: Path, study: str) -> None:
    import docker

    code = """
import os
open(os.path.join(os.environ["EVOTUNE_OUTPUT_DIR"], "by-user.txt"), "w").write("ok")
open("/tmp/scratch.txt", "w").write("ok")
try:
    open("/root-is-read-only", "w")
    print("root writable")
except OSError:
    print("root read-only")
print(os.getuid(), os.getgid(), os.getcwd())
"""
    executor = DockerExecutor(
        image=BASE_IMAGE,
        cpus=0.5,
        memory="128m",
        user="1000:1000",
        read_only=True,
        tmpfs={"/scratch": "size=16m"},
        workdir="/tmp",
    )
    spec = make_spec(tmp_path, study, code, trial=3)
    handle = executor.submit(spec)
    assert wait_final(executor, handle).status is JobStatus.SUCCEEDED, spec.stderr_path.read_text()
    assert spec.stdout_path.read_text().splitlines() == ["root read-only", "1000 1000 /tmp"]
    assert (spec.output_dir / "by-user.txt").read_text() == "ok"

    client = docker.from_env()
    info = client.api.inspect_container(handle.data["container_id"])
    client.close()
    host = info["HostConfig"]
    assert host["NanoCpus"] == 500_000_000
    assert host["Memory"] == host["MemorySwap"] == 128 * 1024 * 1024
    assert host["NetworkMode"] == "none"
    assert host["ReadonlyRootfs"] is True
    assert set(host["Tmpfs"]) == {"/tmp", "/scratch"}
    assert host["Init"] is True
    assert info["Config"]["User"] == "1000:1000"
    assert info["Config"]["Labels"] == {
        "evotune.study": study,
        "evotune.trial": "3",
        "evotune.attempt": "0",
        "evotune.managed": "1",
    }
    assert info["Name"] == f"/evotune-{study}-3-0"


@needs_engine
def test_exit_code_and_out_of_memory_are_failures(tmp_path: Path, study: str) -> None:
    executor = DockerExecutor(image=BASE_IMAGE, memory="64m")
    crash = executor.submit(make_spec(tmp_path, study, "raise SystemExit(3)", trial=1))
    hog = executor.submit(
        make_spec(tmp_path, study, "x = bytearray(256 * 1024 * 1024); print(len(x))", trial=2)
    )
    assert wait_final(executor, crash) == JobState(JobStatus.FAILED, 3, "exit code 3")
    oom = wait_final(executor, hog)
    assert (oom.status, oom.reason) == (JobStatus.FAILED, "out of memory")


@needs_engine
def test_timeout_stops_the_container(tmp_path: Path, study: str) -> None:
    executor = DockerExecutor(image=BASE_IMAGE)
    spec = make_spec(
        tmp_path, study, "import time; print('start', flush=True); time.sleep(60)", timeout=1.0
    )
    started = time.monotonic()
    handle = executor.submit(spec)
    state = wait_final(executor, handle, limit=15)
    assert (state.status, state.reason) == (JobStatus.FAILED, "timeout")
    assert time.monotonic() - started < 10
    assert spec.stdout_path.read_text() == "start\n"
    (container,) = study_containers(study)
    assert container.status == "exited"
    # A controller restarted after the stop still sees a timeout, not a bare exit code.
    fresh = DockerExecutor(image=BASE_IMAGE)
    assert fresh.reattach(handle, spec)
    assert fresh.poll(handle).reason == "timeout"


@needs_engine
def test_missing_image_is_refused_before_any_job(tmp_path: Path, study: str) -> None:
    executor = DockerExecutor(image="evotune/no-such-image:never")
    with pytest.raises(ImageNotFound) as info:
        executor.check()
    message = str(info.value)
    assert message.startswith("image 'evotune/no-such-image:never' not found locally; build it")
    assert "(no registry is used)" in message and "\n" not in message
    with pytest.raises(ImageNotFound):
        executor.submit(make_spec(tmp_path, study, "pass"))
    assert study_containers(study) == []


@needs_engine
def test_a_fresh_executor_reattaches_and_polls_to_completion(tmp_path: Path, study: str) -> None:
    spec = make_spec(tmp_path, study, "import time; time.sleep(1.5); print('done')", trial=5)
    handle = DockerExecutor(image=BASE_IMAGE).submit(spec)
    stored = json.loads(json.dumps(handle.to_json()))

    restarted = DockerExecutor(image=BASE_IMAGE)  # a new controller process, a new client
    again = JobHandle.from_json(stored)
    assert restarted.reattach(again, spec) is True
    assert restarted.poll(again).status is JobStatus.RUNNING
    assert wait_final(restarted, again) == JobState(JobStatus.SUCCEEDED, 0)
    assert spec.stdout_path.read_text() == "done\n"

    never_started = make_spec(tmp_path, study, "pass", trial=6)
    assert restarted.reattach(again, never_started) is False


@needs_engine
def test_cancel_and_release_leave_no_container(tmp_path: Path, study: str) -> None:
    executor = DockerExecutor(image=BASE_IMAGE)
    running = executor.submit(make_spec(tmp_path, study, "import time; time.sleep(60)", trial=1))
    finished = executor.submit(make_spec(tmp_path, study, "print('hi')", trial=2))
    assert wait_final(executor, finished).status is JobStatus.SUCCEEDED

    executor.cancel(running)
    executor.cancel(running)  # idempotent
    state = executor.poll(running)
    assert (state.status, state.reason) == (JobStatus.FAILED, "cancelled")
    executor.cancel(finished)  # a finished job keeps its result
    assert executor.poll(finished).status is JobStatus.SUCCEEDED
    assert len(study_containers(study)) == 2

    for handle in (running, finished, running):  # release is idempotent too
        executor.release(handle)
    assert study_containers(study) == []


@needs_engine
def test_leftover_containers_of_a_study_are_listed_and_removed(tmp_path: Path, study: str) -> None:
    executor = DockerExecutor(image=BASE_IMAGE)
    for trial in (1, 2):
        executor.submit(make_spec(tmp_path, study, "import time; time.sleep(60)", trial=trial))
    assert executor.study_containers(study) == [f"evotune-{study}-1-0", f"evotune-{study}-2-0"]
    assert executor.remove_study_containers(study) == 2
    assert executor.study_containers(study) == [] and study_containers(study) == []
