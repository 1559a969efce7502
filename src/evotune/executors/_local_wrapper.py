"""The wrapper the local executor starts each job under; records how the job ended.

Usage: ``python -I -S _local_wrapper.py EXIT_FILE -- ARGV...``. Runs by path, needs only the
standard library, and imports nothing from evotune, so it starts fast in any environment.

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

import json
import os
import signal
import subprocess
import sys
from types import FrameType

_TO_GROUP = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)
_TO_JOB = (signal.SIGUSR1, signal.SIGUSR2)


class _Forwarder:
    """Signal handler: passes signals on to the job (or remembers them until it starts)."""

    def __init__(self) -> None:
        self.child: subprocess.Popen[bytes] | None = None
        self.pending: list[int] = []

    def __call__(self, signum: int, frame: FrameType | None) -> None:
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
            elif self.child.poll() is None:
                self.child.send_signal(signum)
        except ProcessLookupError:
            pass


def _write_result(path: str, result: dict[str, object]) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def main(args: list[str]) -> int:
    if len(args) < 3 or args[1] != "--":
        print("usage: _local_wrapper.py EXIT_FILE -- ARGV...", file=sys.stderr)
        return 2
    exit_file, argv = args[0], args[2:]
    forwarder = _Forwarder()
    for signum in (*_TO_GROUP, *_TO_JOB):
        signal.signal(signum, forwarder)
    try:
        forwarder.child = subprocess.Popen(argv)
    except OSError as exc:
        message = f"cannot start {argv[0]!r}: {exc.strerror or exc}"
        print(f"evotune: {message}", file=sys.stderr, flush=True)
        _write_result(exit_file, {"error": message})
        return 127
    for pending in forwarder.pending:
        forwarder.forward(pending)
    code = forwarder.child.wait()
    _write_result(exit_file, {"signal": -code} if code < 0 else {"exit_code": code})
    sys.stdout.flush()
    if os.getpgrp() == os.getpid():
        # Leftovers of the job die with the wrapper; the exit file already holds the result.
        os.killpg(os.getpgrp(), signal.SIGKILL)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
