"""What only the local executor promises, beyond the contract suite."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evotune.errors import ExecutorError, SpecError
from evotune.executors import JobHandle, JobSpec, JobState, JobStatus, create_executor
from evotune.executors._local import LocalExecutor

HEART = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "i = 0\n"
    "while True:\n"
    "    i += 1\n"
    "    open(sys.argv[1], 'w').write(str(i))\n"
    "    time.sleep(0.05)\n"
)


def _spec(tmp_path: Path, argv: list[str], *, n: int = 0, **kwargs: object) -> JobSpec:
    base = tmp_path / f"t{n}"
    return JobSpec(
        study="local",
        trial_number=n,
        attempt=0,
        argv=tuple(argv),
        env=kwargs.pop("env", {"EVOTUNE_OUTPUT_DIR": str(base / "out")}),  # type: ignore[arg-type]
        output_dir=base / "out",
        stdout_path=base / "stdout.log",
        stderr_path=base / "stderr.log",
        **kwargs,  # type: ignore[arg-type]
    )


def _wait(ex: LocalExecutor, handle: JobHandle, timeout: float = 20) -> JobState:
    deadline = time.monotonic() + timeout
    while not (state := ex.poll(handle)).status.final:
        assert time.monotonic() < deadline, state
        time.sleep(0.05)
    return state


def _wait_file(path: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def _stopped(heartbeat: Path) -> bool:
    before = heartbeat.read_text()
    time.sleep(0.4)
    return heartbeat.read_text() == before


@pytest.fixture
def ex() -> LocalExecutor:
    executor = LocalExecutor(kill_grace=1.0)
    yield executor  # type: ignore[misc]
    for job in list(executor._jobs.values()):  # leave nothing running after a failed test
        if job.final is None:
            executor.cancel(JobHandle("local", {"pid": job.pid, "proc_start": job.proc_start}))
    executor.close()  # ends its launcher


def test_options() -> None:
    assert create_executor("local", {"kill_grace": 0.5}).kill_grace == 0.5  # type: ignore[attr-defined]
    with pytest.raises(SpecError, match=r"^executor\.shell: unknown option"):
        create_executor("local", {"shell": True})
    for bad in (-1, "5", True, float("nan")):
        with pytest.raises(SpecError, match=r"^executor\.kill_grace: "):
            LocalExecutor(kill_grace=bad)  # type: ignore[arg-type]


def test_env_overlays_the_host_env_and_workdir_is_the_cwd(
    ex: LocalExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOST_ONLY", "host")
    monkeypatch.setenv("OVERRIDDEN", "host")
    monkeypatch.setenv("EVOTUNE_OBJECTIVE", "the controller's own")  # not the job's
    workdir = tmp_path / "wd"
    workdir.mkdir()
    code = (
        "import json, os; print(json.dumps([os.getcwd(), os.environ.get('HOST_ONLY'),"
        " os.environ['OVERRIDDEN'], os.environ.get('EVOTUNE_OBJECTIVE')]))"
    )
    spec = _spec(tmp_path, [sys.executable, "-c", code], env={"OVERRIDDEN": "job"}, workdir=workdir)
    handle = ex.submit(spec)
    assert _wait(ex, handle).status is JobStatus.SUCCEEDED
    assert json.loads(spec.stdout_path.read_text()) == [str(workdir), "host", "job", None]


def test_killed_by_a_signal(ex: LocalExecutor, tmp_path: Path) -> None:
    code = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    state = _wait(ex, ex.submit(_spec(tmp_path, [sys.executable, "-c", code])))
    assert (state.status, state.exit_code, state.reason) == (
        JobStatus.FAILED,
        -9,
        "killed by signal 9",
    )


def test_a_missing_command_is_the_jobs_failure(ex: LocalExecutor, tmp_path: Path) -> None:
    spec = _spec(tmp_path, ["/no/such/command", "--x"])
    state = _wait(ex, ex.submit(spec))
    assert state.status is JobStatus.FAILED
    assert state.reason is not None and state.reason.startswith("cannot start '/no/such/command'")
    assert "/no/such/command" in spec.stderr_path.read_text()


def test_a_missing_workdir_is_refused_at_submit(ex: LocalExecutor, tmp_path: Path) -> None:
    with pytest.raises(ExecutorError, match="workdir"):
        ex.submit(_spec(tmp_path, ["true"], workdir=tmp_path / "nope"))


def test_finished_jobs_leave_no_zombie_and_no_leftover(ex: LocalExecutor, tmp_path: Path) -> None:
    out = tmp_path / "t0" / "out"
    code = (
        "import os, subprocess, sys, time\n"
        f"subprocess.Popen([sys.executable, '-c', {HEART!r}, sys.argv[1]])\n"
        "while not os.path.exists(sys.argv[1]):\n"
        "    time.sleep(0.02)\n"
    )
    handle = ex.submit(_spec(tmp_path, [sys.executable, "-c", code, str(out / "heartbeat")]))
    assert _wait(ex, handle).status is JobStatus.SUCCEEDED
    assert not Path(f"/proc/{handle.data['pid']}").exists()  # reaped
    assert _stopped(out / "heartbeat")  # the child the job left behind was killed


def test_a_signal_to_the_wrapper_reaches_the_job_once(ex: LocalExecutor, tmp_path: Path) -> None:
    out = tmp_path / "t0" / "out"
    code = (
        "import os, signal, sys, time\n"
        "log = os.path.join(os.environ['EVOTUNE_OUTPUT_DIR'], 'signals')\n"
        "def on(sig, frame):\n"
        "    open(log, 'a').write(f'{sig}\\n')\n"
        "for s in (signal.SIGTERM, signal.SIGUSR1):\n"
        "    signal.signal(s, on)\n"
        "open(log + '.ready', 'w').close()\n"
        "while open(log).read().count('\\n') < 2 if os.path.exists(log) else True:\n"
        "    time.sleep(0.05)\n"
        "time.sleep(0.5)\n"
    )
    handle = ex.submit(_spec(tmp_path, [sys.executable, "-c", code]))
    _wait_file(out / "signals.ready")
    os.kill(handle.data["pid"], signal.SIGUSR1)
    time.sleep(0.2)
    os.kill(handle.data["pid"], signal.SIGTERM)
    assert _wait(ex, handle).status is JobStatus.SUCCEEDED
    assert (out / "signals").read_text().split() == [
        str(int(signal.SIGUSR1)),
        str(int(signal.SIGTERM)),
    ]


WAITING = (
    "import os, sys, time\n"
    "out = os.environ['EVOTUNE_OUTPUT_DIR']\n"
    "open(os.path.join(out, 'started'), 'w').close()\n"
    "while not os.path.exists(os.path.join(out, 'go')):\n"
    "    time.sleep(0.05)\n"
    "sys.exit(int(sys.argv[1]))\n"
)
HANGING = (
    "import os, subprocess, sys, time\n"
    f"subprocess.Popen([sys.executable, '-c', {HEART!r}, "
    "os.path.join(os.environ['EVOTUNE_OUTPUT_DIR'], 'heartbeat')])\n"
    "time.sleep(3600)\n"
)
SUBMITTER = """
import json, sys
from pathlib import Path
from evotune.executors import JobSpec
from evotune.executors._local import LocalExecutor
ex = LocalExecutor(kill_grace=1.0)
for raw in json.loads(sys.argv[1]):
    for key in ("output_dir", "stdout_path", "stderr_path"):
        raw[key] = Path(raw[key])
    raw["argv"] = tuple(raw["argv"])
    print(json.dumps(ex.submit(JobSpec(**raw)).to_json()))
"""


def test_reattach_after_the_controller_process_is_gone(tmp_path: Path) -> None:
    specs = [
        _spec(tmp_path, [sys.executable, "-c", WAITING, "0"], n=0),
        _spec(tmp_path, [sys.executable, "-c", WAITING, "3"], n=1),
        _spec(tmp_path, [sys.executable, "-c", HANGING], n=2, timeout=1.5),
    ]
    raw = [
        {
            **{k: str(v) if isinstance(v, Path) else v for k, v in vars(s).items()},
            "env": dict(s.env),
        }
        for s in specs
    ]
    # The controller that submits the jobs runs in its own process and exits.
    done = subprocess.run(
        [sys.executable, "-c", SUBMITTER, json.dumps(raw)],
        capture_output=True,
        text=True,
        check=True,
    )
    handles = [JobHandle.from_json(json.loads(line)) for line in done.stdout.splitlines()]
    assert len(handles) == 3
    ex = LocalExecutor(kill_grace=1.0)
    try:
        for handle, spec in zip(handles, specs):
            assert ex.reattach(handle, spec)
        for spec in specs[:2]:
            _wait_file(spec.output_dir / "started")
            (spec.output_dir / "go").touch()
        assert _wait(ex, handles[0]).status is JobStatus.SUCCEEDED
        assert _wait(ex, handles[1]).reason == "exit code 3"
        state = _wait(ex, handles[2])
        assert (state.status, state.reason) == (JobStatus.FAILED, "timeout")
        assert _stopped(specs[2].output_dir / "heartbeat")
    finally:
        for handle in handles:
            ex.cancel(handle)


def test_a_reused_pid_is_not_taken_for_the_job(ex: LocalExecutor, tmp_path: Path) -> None:
    # The handle names this very process, with another start time: a stranger, not the job.
    handle = JobHandle(
        "local",
        {
            "pid": os.getpid(),
            "pgid": os.getpgrp(),
            "proc_start": 1,
            "started_at": time.time(),
            "timeout": 0.0,
            "exit_file": str(tmp_path / "none.exit"),
        },
    )
    spec = _spec(tmp_path, ["true"])
    assert ex.reattach(handle, spec) is False
    ex.cancel(handle)  # must not signal us
    assert ex.poll(handle).status is JobStatus.LOST


def test_handles_of_another_kind_are_refused(ex: LocalExecutor) -> None:
    with pytest.raises(ExecutorError):
        ex.poll(JobHandle("docker", {"id": "abc"}))
    with pytest.raises(ExecutorError):
        ex.poll(JobHandle("local", {"pid": "x"}))


# -- the launcher (one resident process per executor forks each job's wrapper) ---------------


def _gone(pid: int, timeout: float = 10) -> bool:
    """Whether process ``pid`` has ended (a zombie counts as ended) within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in "ZX":
                return True
        except (FileNotFoundError, ProcessLookupError):
            return True
        time.sleep(0.02)
    return False


def test_one_launcher_leads_its_own_group_and_close_ends_it(
    ex: LocalExecutor, tmp_path: Path
) -> None:
    handles = [ex.submit(_spec(tmp_path, ["true"], n=n)) for n in range(3)]
    assert ex._launcher is not None
    launcher = ex._launcher.pid
    assert os.getpgid(launcher) == launcher  # a Ctrl-C meant for the controller misses it
    assert all(_wait(ex, h).status is JobStatus.SUCCEEDED for h in handles)
    ex.close()
    assert not Path(f"/proc/{launcher}").exists()  # ended and reaped
    assert _wait(ex, ex.submit(_spec(tmp_path, ["true"], n=9))).status is JobStatus.SUCCEEDED
    assert ex._launcher is not None and ex._launcher.pid != launcher  # a new one, on demand
    ex.close()


def test_running_jobs_outlive_the_launcher_and_report_through_their_exit_files(
    ex: LocalExecutor, tmp_path: Path
) -> None:
    waiting = [_spec(tmp_path, [sys.executable, "-c", WAITING, c], n=n) for n, c in enumerate("03")]
    hanging = _spec(tmp_path, [sys.executable, "-c", HANGING], n=2, timeout=2.0)
    handles = [ex.submit(s) for s in (*waiting, hanging)]
    for spec in waiting:
        _wait_file(spec.output_dir / "started")
    assert ex._launcher is not None
    os.kill(ex._launcher.pid, signal.SIGKILL)
    for spec in waiting:
        (spec.output_dir / "go").touch()
    assert _wait(ex, handles[0]).status is JobStatus.SUCCEEDED
    assert _wait(ex, handles[1]).reason == "exit code 3"
    state = _wait(ex, handles[2])  # its timeout is enforced without the launcher
    assert (state.status, state.reason) == (JobStatus.FAILED, "timeout")
    assert _stopped(hanging.output_dir / "heartbeat")
    # and the next job gets a new launcher
    assert _wait(ex, ex.submit(_spec(tmp_path, ["true"], n=5))).status is JobStatus.SUCCEEDED


def test_a_wrapper_killed_from_outside_takes_its_job_along(
    ex: LocalExecutor, tmp_path: Path
) -> None:
    spec = _spec(tmp_path, [sys.executable, "-c", HANGING])
    handle = ex.submit(spec)
    _wait_file(spec.output_dir / "heartbeat")
    os.kill(handle.data["pid"], signal.SIGKILL)
    state = _wait(ex, handle)
    assert (state.status, state.reason) == (JobStatus.FAILED, "killed by signal 9")
    assert _stopped(spec.output_dir / "heartbeat")  # the launcher swept the group


def test_the_launcher_signals_only_its_own_unreaped_wrappers(
    ex: LocalExecutor, tmp_path: Path
) -> None:
    handle = ex.submit(_spec(tmp_path, ["true"]))
    assert _wait(ex, handle).status is JobStatus.SUCCEEDED
    assert ex._launcher is not None
    for pid in (os.getpid(), handle.data["pid"]):  # a stranger; a reaped wrapper
        assert ex._launcher.send_signal(pid, signal.SIGTERM, group=False)
        assert ex._launcher.send_signal(pid, signal.SIGTERM, group=True)
    assert _wait(ex, ex.submit(_spec(tmp_path, ["true"], n=1))).status is JobStatus.SUCCEEDED


KILLED_SUBMITTER = SUBMITTER + """
print(ex._launcher.pid, flush=True)
import time
time.sleep(3600)
"""


def test_a_sigkilled_controller_leaves_no_launcher_and_its_jobs_finish(tmp_path: Path) -> None:
    specs = [_spec(tmp_path, [sys.executable, "-c", WAITING, c], n=n) for n, c in enumerate("03")]
    raw = [
        {
            **{k: str(v) if isinstance(v, Path) else v for k, v in vars(s).items()},
            "env": dict(s.env),
        }
        for s in specs
    ]
    controller = subprocess.Popen(
        [sys.executable, "-c", KILLED_SUBMITTER, json.dumps(raw)], stdout=subprocess.PIPE, text=True
    )
    assert controller.stdout is not None
    lines = [controller.stdout.readline() for _ in range(3)]
    handles = [JobHandle.from_json(json.loads(line)) for line in lines[:2]]
    launcher = int(lines[2])
    for spec in specs:
        _wait_file(spec.output_dir / "started")
    controller.kill()
    controller.wait()
    controller.stdout.close()
    assert _gone(launcher), "the launcher outlived its controller"
    for spec in specs:
        (spec.output_dir / "go").touch()
    ex = LocalExecutor(kill_grace=1.0)
    try:
        assert all(ex.reattach(h, s) for h, s in zip(handles, specs))
        assert _wait(ex, handles[0]).status is JobStatus.SUCCEEDED
        assert _wait(ex, handles[1]).reason == "exit code 3"
    finally:
        for handle in handles:
            ex.cancel(handle)
