"""The wrapper each local job runs under; records how the job ended.

The local executor's launcher (:mod:`evotune.executors._local_launcher`) forks a wrapper per
job and calls :func:`run` in it. Standalone use, one interpreter per job (kept for probes and
as the reference): ``python -I -S _local_wrapper.py EXIT_FILE -- ARGV...``. Needs only the
standard library and imports nothing from evotune.

Promises:

- starts ``ARGV`` as a child in the wrapper's own process group (the executor makes the
  wrapper a session leader), with the wrapper's stdin/stdout/stderr, cwd and environment;
- forwards signals: ``SIGTERM``, ``SIGINT``, ``SIGHUP`` and ``SIGQUIT`` sent to the wrapper
  go once to every other process of the group (the job and its children); ``SIGUSR1`` and
  ``SIGUSR2`` go to the job's main process only;
- when the job ends, writes ``EXIT_FILE`` atomically with one JSON object:
  ``{"exit_code": N}``, ``{"signal": N}``, or ``{"error": "cannot start ..."}`` when the job cannot start,
  so a controller that is not the wrapper's parent can still learn the result;
- then kills whatever is left of the process group (processes the job left behind),
  itself included when it leads the group.
"""

from __future__ import annotations

import os
import sys

# Start-up time is the wrapper's whole cost (one interpreter per job; a hundred jobs a second
# on a small machine), so it imports only built-in modules: no subprocess, json or enum (the
# public ``signal`` module builds IntEnums on import). ``_signal`` is CPython's built-in core
# of ``signal``, with the same functions and int constants.
try:
    import _signal as signal
except ImportError:  # another Python implementation
    import signal

_TO_GROUP = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)
_TO_JOB = (signal.SIGUSR1, signal.SIGUSR2)
# Python ignores these at start-up; a job gets them back at their defaults (as subprocess's
# restore_signals does).
_RESTORE = tuple(getattr(signal, name) for name in ("SIGPIPE", "SIGXFZ", "SIGXFSZ") if hasattr(signal, name))


class _Forwarder:
    """Signal handler: passes signals on to the job (or remembers them until it starts)."""

    def __init__(self) -> None:
        self.child: int | None = None  # the job's pid
        self.reaped = False  # once reaped, its pid may belong to a stranger
        self.pending: list[int] = []

    def __call__(self, signum: int, frame: object) -> None:
        if self.child is None:
            self.pending.append(signum)
        else:
            self.forward(signum)

    def forward(self, signum: int) -> None:
        assert self.child is not None
        try:
            if signum in _TO_GROUP and os.getpgrp() == os.getpid():
                # Ignored while sent, so the wrapper's own copy is discarded, not re-forwarded.
                previous = signal.signal(signum, signal.SIG_IGN)
                try:
                    os.killpg(os.getpgrp(), signum)
                finally:
                    signal.signal(signum, previous)
            elif not self.reaped:
                os.kill(self.child, signum)
        except ProcessLookupError:
            pass


def _write_result(path: str, text: str) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def run(exit_file: str, argv: list[str], env: dict[str, str]) -> int:
    """Run the job ``argv`` with environment ``env`` in this process's group, record its end
    in ``exit_file``, kill what is left of the group (this process too, when it leads the
    group) and return the job's exit code (``128 + N`` for signal N).

    A command is looked up on this process's ``PATH`` (as ``execvp`` does), so a caller whose
    environment is not ``env`` sets ``PATH`` first."""
    forwarder = _Forwarder()
    for signum in (*_TO_GROUP, *_TO_JOB):
        signal.signal(signum, forwarder)
    try:
        # posix_spawn reports a command that cannot start as an OSError, like exec would.
        forwarder.child = os.posix_spawnp(argv[0], argv, env, setsigdef=_RESTORE)
    except OSError as exc:
        import json  # only on this rare path: its import costs more than the rest of the wrapper

        message = f"cannot start {argv[0]!r}: {exc.strerror or exc}"
        print(f"evotune: {message}", file=sys.stderr, flush=True)
        _write_result(exit_file, json.dumps({"error": message}))
        return 127
    for pending in forwarder.pending:
        forwarder.forward(pending)
    _, status = os.waitpid(forwarder.child, 0)  # retried after signal handlers (PEP 475)
    forwarder.reaped = True
    code = os.waitstatus_to_exitcode(status)
    _write_result(exit_file, f'{{"signal": {-code}}}' if code < 0 else f'{{"exit_code": {code}}}')
    sys.stdout.flush()
    if os.getpgrp() == os.getpid():
        # Leftovers of the job die with the wrapper; the exit file already holds the result.
        os.killpg(os.getpgrp(), signal.SIGKILL)
    return code if code >= 0 else 128 - code


def main(args: list[str]) -> int:
    if len(args) < 3 or args[1] != "--":
        print("usage: _local_wrapper.py EXIT_FILE -- ARGV...", file=sys.stderr)
        return 2
    return run(args[0], args[2:], dict(os.environ))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
