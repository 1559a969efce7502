"""The executor contract (``evotune/executors/_base.py``), run against every backend.

Every test drives real jobs: small Python programs using only the standard library, so they
run alike on the host and in a container. See ``conftest.py`` to add a backend.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

from evotune.executors import JobHandle, JobStatus
from evotune.trial import build_argv, read_metrics

if TYPE_CHECKING:
    from .conftest import Backend

SUCCESS_JOB = """
import json, os, sys
out = os.environ["EVOTUNE_OUTPUT_DIR"]
for i in range(2000):
    print(f"line {i}")
print("to stderr", file=sys.stderr)
keys = ["EVOTUNE_CONFIG", "EVOTUNE_TRIAL_ID", "EVOTUNE_STUDY", "EVOTUNE_SEED", "CUSTOM_VAR"]
with open(os.path.join(out, "seen.json"), "w", encoding="utf-8") as f:
    json.dump({"argv": sys.argv[1:], "env": {k: os.environ.get(k) for k in keys}}, f)
print('EVOTUNE_METRICS {"accuracy": 0.9}')
"""

EXIT_JOB = "import sys; print('bye'); sys.exit(int(sys.argv[1]))"

# Waits for a "go" file in its output folder, then exits with the code given in argv.
WAITING_JOB = """
import os, sys, time
out = os.environ["EVOTUNE_OUTPUT_DIR"]
open(os.path.join(out, "started"), "w").close()
while not os.path.exists(os.path.join(out, "go")):
    time.sleep(0.05)
print("finished", flush=True)
sys.exit(int(sys.argv[1]))
"""

# Hangs, with a child that ignores SIGTERM and writes a heartbeat file while it lives.
# argv[1] == "stubborn": the job itself ignores SIGTERM too, so only SIGKILL stops it.
HANGING_JOB = """
import os, signal, subprocess, sys, time
out = os.environ["EVOTUNE_OUTPUT_DIR"]
heart = (
    "import signal, sys, time\\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\\n"
    "i = 0\\n"
    "while True:\\n"
    "    i += 1\\n"
    "    open(sys.argv[1], 'w').write(str(i))\\n"
    "    time.sleep(0.05)\\n"
)
if sys.argv[1] == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
subprocess.Popen([sys.executable, "-c", heart, os.path.join(out, "heartbeat")])
time.sleep(3600)
"""

NASTY_ARGS = [
    "a; rm -rf ~ $(x)",
    "",
    "two words",
    "quotes ' \" `back`",
    "$HOME *",
    "--lr=0.001",
    "-c",
    "ünïcødé 😀",
    "line\nbreak",
]


def _round_trip(handle: JobHandle) -> JobHandle:
    """The handle as the controller journals and reloads it."""
    return JobHandle.from_json(json.loads(json.dumps(handle.to_json())))


def _assert_heartbeat_stopped(path: Path) -> None:
    """The job's child process is gone: its heartbeat file no longer changes."""
    before = path.read_text()
    time.sleep(0.4)
    assert path.read_text() == before, "a child process of the job is still running"


def test_successful_job_gets_its_argv_env_and_output(backend: Backend) -> None:
    config = {"opt": "a; rm -rf ~ $(x)", "lr": 0.001}
    # the categorical value goes through the argv template, as the controller sends it
    argv = (*backend.job(SUCCESS_JOB), *build_argv(["{opt}", *NASTY_ARGS[1:]], config))
    spec = backend.spec(
        argv,
        trial_number=7,
        config=config,
        extra_env={"CUSTOM_VAR": "custom value"},
    )
    handle = backend.submit(spec)
    json.dumps(handle.to_json())  # JSON-safe, so the controller can journal it
    state = backend.wait_final(handle)
    assert state.status is JobStatus.SUCCEEDED, state
    assert state.exit_code == 0
    # on the first final answer the output is complete
    lines = spec.stdout_path.read_text(encoding="utf-8").splitlines()
    assert lines[:2000] == [f"line {i}" for i in range(2000)]
    assert "to stderr" in spec.stderr_path.read_text(encoding="utf-8")
    seen = json.loads((spec.output_dir / "seen.json").read_text(encoding="utf-8"))
    assert seen["argv"] == NASTY_ARGS
    assert seen["env"] == {
        "EVOTUNE_CONFIG": spec.env["EVOTUNE_CONFIG"],
        "EVOTUNE_TRIAL_ID": "7",
        "EVOTUNE_STUDY": "contract",
        "EVOTUNE_SEED": "1241",
        "CUSTOM_VAR": "custom value",
    }
    assert json.loads(seen["env"]["EVOTUNE_CONFIG"])["opt"] == "a; rm -rf ~ $(x)"
    assert read_metrics(spec.stdout_path, spec.output_dir).last("accuracy") == 0.9
    backend.executor.release(handle)
    backend.executor.release(handle)  # idempotent


def test_failing_job_reports_its_exit_code(backend: Backend) -> None:
    spec = backend.spec(backend.job(EXIT_JOB, "3"))
    handle = backend.submit(spec)
    state = backend.wait_final(handle)
    assert (state.status, state.exit_code, state.reason) == (JobStatus.FAILED, 3, "exit code 3")
    assert spec.stdout_path.read_text().strip() == "bye"
    assert backend.executor.poll(handle) == state  # a final state stays final


def _check_timeout(backend: Backend, mode: str) -> None:
    spec = backend.spec(backend.job(HANGING_JOB, mode), timeout=1.0)
    began = time.monotonic()
    handle = backend.submit(spec)
    assert time.monotonic() - began < 5, "submit must not wait for the job"
    assert not backend.executor.poll(handle).status.final
    state = backend.wait_final(handle, timeout=30)
    elapsed = time.monotonic() - began
    assert (state.status, state.reason) == (JobStatus.FAILED, "timeout"), state
    assert elapsed < 15, f"timeout enforced only after {elapsed:.1f} s"
    _assert_heartbeat_stopped(spec.output_dir / "heartbeat")


def test_timeout_stops_the_job_and_its_children(backend: Backend) -> None:
    _check_timeout(backend, "polite")


def test_timeout_kills_a_job_that_ignores_sigterm(backend: Backend) -> None:
    _check_timeout(backend, "stubborn")


def test_cancel_is_idempotent_and_leaves_nothing_running(backend: Backend) -> None:
    spec = backend.spec(backend.job(HANGING_JOB, "polite"))
    handle = backend.submit(spec)
    backend.wait_for_file(spec.output_dir / "heartbeat")
    backend.executor.cancel(handle)
    backend.executor.cancel(handle)
    state = backend.wait_final(handle)
    assert (state.status, state.reason) == (JobStatus.FAILED, "cancelled"), state
    _assert_heartbeat_stopped(spec.output_dir / "heartbeat")
    backend.executor.cancel(handle)  # after the end too
    assert backend.executor.poll(handle) == state
    backend.executor.release(handle)
    backend.executor.release(handle)


def test_cancel_after_the_job_ended_keeps_its_result(backend: Backend) -> None:
    handle = backend.submit(backend.spec(backend.job(EXIT_JOB, "0")))
    assert backend.wait_final(handle).status is JobStatus.SUCCEEDED
    backend.executor.cancel(handle)
    assert backend.executor.poll(handle).status is JobStatus.SUCCEEDED


def test_reattach_to_a_running_job_sees_it_finish(backend: Backend) -> None:
    specs = [
        backend.spec(backend.job(WAITING_JOB, code), trial_number=n)
        for n, code in enumerate(["0", "3"])
    ]
    handles = [_round_trip(backend.submit(spec)) for spec in specs]
    for spec in specs:
        backend.wait_for_file(spec.output_dir / "started")
    fresh = backend.fresh()  # the controller restarted
    for handle, spec in zip(handles, specs):
        assert fresh.reattach(handle, spec) is True
        assert fresh.poll(handle).status in (JobStatus.PENDING, JobStatus.RUNNING)
        (spec.output_dir / "go").touch()
    ok, failed = (backend.wait_final(h, executor=fresh) for h in handles)
    assert (ok.status, ok.exit_code) == (JobStatus.SUCCEEDED, 0)
    assert (failed.status, failed.reason) == (JobStatus.FAILED, "exit code 3")
    for spec in specs:
        assert spec.stdout_path.read_text().strip() == "finished"
    for handle in handles:
        fresh.release(handle)
        fresh.release(handle)


def test_reattach_to_a_finished_job_reports_its_result(backend: Backend) -> None:
    spec = backend.spec(backend.job(EXIT_JOB, "3"))
    handle = _round_trip(backend.submit(spec))
    backend.wait_final(handle)
    fresh = backend.fresh()
    assert fresh.reattach(handle, spec) is True
    state = fresh.poll(handle)
    assert (state.status, state.reason) == (JobStatus.FAILED, "exit code 3")


def test_reattach_to_a_job_gone_without_result_is_false(backend: Backend) -> None:
    spec = backend.spec(backend.job(WAITING_JOB, "0"))
    handle = _round_trip(backend.submit(spec))
    backend.wait_for_file(spec.output_dir / "started")
    backend.lose(handle)
    assert backend.fresh().reattach(handle, spec) is False


def test_timeout_still_counts_from_submit_after_a_restart(backend: Backend) -> None:
    spec = backend.spec(backend.job(HANGING_JOB, "polite"), timeout=1.5)
    handle = _round_trip(backend.submit(spec))
    backend.wait_for_file(spec.output_dir / "heartbeat")
    fresh = backend.fresh()
    assert fresh.reattach(handle, spec) is True
    state = backend.wait_final(handle, executor=fresh, timeout=30)
    assert (state.status, state.reason) == (JobStatus.FAILED, "timeout"), state
    _assert_heartbeat_stopped(spec.output_dir / "heartbeat")
