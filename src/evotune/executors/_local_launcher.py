"""The local executor's launcher: one small resident process that forks a wrapper per job.

Forking a wrapper from this already-started interpreter costs about a tenth of starting a new
one per job (see :mod:`evotune.executors._local` for the figures and the choice).

Two halves of one protocol live here. :func:`serve` runs in the launcher process, started by
path as ``python -I -S _local_launcher.py`` (standard library only, nothing from evotune, so
it stays small: every fork copies its page tables). :class:`Launcher` is the client the local
executor uses to start one and talk to it. Requests go to the launcher's stdin; replies and
events come on its stdout; each message is a frame: a 4-byte little-endian length, then a
``marshal``-ed tuple.

- ``("start", exit_file, argv, env, cwd, stdout_path, stderr_path)`` is answered by
  ``("started", pid, proc_start)`` or ``("error", message)``. The launcher opens the output
  files and the working directory itself (so a bad path is an error before anything runs),
  then forks a wrapper that leads a new session, takes stdin from ``/dev/null`` and runs
  :func:`evotune.executors._local_wrapper.run`. ``proc_start`` is the wrapper's start time
  in ``/proc`` (``None`` without ``/proc``), read before it can have been reaped.
- ``("signal", pid, signum, group)`` has no answer. The signal goes to the wrapper (or to its
  whole process group) only while the wrapper is this launcher's unreaped child: a pid the
  launcher has reaped is never signalled, so a reused pid cannot be hit.
- The event ``("exited", pid, wait_status)`` follows a wrapper's end. Before reaping it, the
  launcher kills what is left of its process group with ``SIGKILL``; the unreaped wrapper
  still holds the group's id then, so no stranger's group can carry it.

Lifetime: the launcher leads its own process group, so a Ctrl-C or a group signal meant for
the controller does not reach it; it exits at end of file on stdin (the executor closed, or
the controller died and the kernel closed its pipe) or when its parent changes. Wrappers still
running are left running: re-parented to init, which reaps them, they record their exit, and a
restarted controller reattaches to them through ``/proc`` and their exit files.
"""

from __future__ import annotations

import marshal
import os
import sys
from typing import Any

if __name__ != "__main__":  # the client half; the launcher process stays small (see above)
    import select
    import subprocess
    import time

try:
    import _signal as signal  # the built-in core of ``signal`` (see _local_wrapper)
except ImportError:  # another Python implementation
    import signal

__all__ = ["Launcher", "LauncherError"]

# How long submit waits for the launcher to answer a start before giving up on it.
_REPLY_TIMEOUT = 60.0


def _frame(message: tuple[Any, ...]) -> bytes:
    body = marshal.dumps(message)
    return len(body).to_bytes(4, "little") + body


def _unframe(buffer: bytearray) -> list[tuple[Any, ...]]:
    """The complete messages at the start of ``buffer``, removed from it."""
    messages = []
    while len(buffer) >= 4:
        size = int.from_bytes(buffer[:4], "little")
        if len(buffer) < 4 + size:
            break
        messages.append(marshal.loads(bytes(buffer[4 : 4 + size])))
        del buffer[: 4 + size]
    return messages


def proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in clock ticks since boot) from ``/proc/<pid>/stat``, or
    ``None`` when there is no such process (or no ``/proc``)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read().decode("ascii", "replace")
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces and parentheses.
    fields = raw[raw.rfind(")") + 2 :].split()
    try:
        return fields[0], int(fields[19])
    except (IndexError, ValueError):
        return None


def _proc_start(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (``/proc/<pid>/stat`` field 22)."""
    stat = proc_stat(pid)
    return None if stat is None else stat[1]


# -- the launcher process ---------------------------------------------------------------------


class _Server:
    """The launcher's loop: start wrappers, pass signals to them, reap them, report exits."""

    def __init__(self) -> None:
        import select

        import _local_wrapper  # found through the folder serve() put on sys.path

        self.select = select
        self.wrapper = _local_wrapper
        self.children: set[int] = set()  # forked wrappers not yet reaped
        self.inbox = bytearray()
        self.outbox = bytearray()
        self.parent = os.getppid()
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        os.set_blocking(1, False)  # replies are buffered, so the loop never blocks on them
        signal.set_wakeup_fd(self.wake_w)
        # A handler (not SIG_IGN, which would make the kernel reap on its own): its only use is
        # to wake poll() through the wakeup fd.
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)

    def serve(self) -> None:
        select = self.select
        poller = select.poll()
        poller.register(0, select.POLLIN)
        poller.register(self.wake_r, select.POLLIN)
        try:
            while True:
                poller.register(1, select.POLLOUT if self.outbox else 0)
                ready = dict(poller.poll(1000))
                if ready.get(1, 0) & (select.POLLERR | select.POLLHUP):
                    return  # nobody reads our replies any more
                if self.wake_r in ready:
                    while True:
                        try:
                            if not os.read(self.wake_r, 512):
                                break
                        except BlockingIOError:
                            break
                self._reap()
                if 0 in ready:
                    data = os.read(0, 1 << 16)
                    if not data:
                        return  # the executor closed, or the controller died
                    self.inbox += data
                    for message in _unframe(self.inbox):
                        self._handle(message)
                self._flush()
                if os.getppid() != self.parent:
                    return  # the controller died; a process it forked may hold our stdin
        except BrokenPipeError:
            return  # nobody reads our replies any more
        finally:
            self._reap()

    def _handle(self, message: tuple[Any, ...]) -> None:
        if message[0] == "start":
            self._start(*message[1:])
        elif message[0] == "signal":
            pid, signum, group = message[1:]
            if pid in self.children:  # unreaped: the pid (and group id) is still our wrapper's
                try:
                    if group:
                        os.killpg(pid, signum)
                    else:
                        os.kill(pid, signum)
                except OSError:
                    pass

    def _start(
        self,
        exit_file: str,
        argv: list[str],
        env: dict[str, str],
        cwd: str,
        stdout_path: str,
        stderr_path: str,
    ) -> None:
        fds: list[int] = []
        try:
            for path in (stdout_path, stderr_path):
                fds.append(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666))
            fds.append(os.open(cwd, os.O_RDONLY | os.O_DIRECTORY))
            fds.append(os.open(os.devnull, os.O_RDONLY))
            pid = os.fork()
        except OSError as exc:
            where = f" {exc.filename}" if exc.filename else ""
            self._send(("error", f"{exc.strerror or exc}{where}"))
            pid = -1
        if pid == 0:
            self._become_wrapper(exit_file, argv, env, *fds)
        for fd in fds:
            os.close(fd)
        if pid > 0:
            self.children.add(pid)
            self._send(("started", pid, _proc_start(pid)))

    def _become_wrapper(
        self,
        exit_file: str,
        argv: list[str],
        env: dict[str, str],
        out: int,
        err: int,
        cwd: int,
        null: int,
    ) -> None:
        """In the forked child: shed the launcher's state, run the job, never return."""
        code = 127
        try:
            os.setsid()
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            os.close(self.wake_r)
            os.close(self.wake_w)
            # Replacing 0 and 1 also drops the launcher's pipes to the controller, so the
            # controller sees end of file when the launcher dies, whatever its wrappers do.
            os.dup2(null, 0)
            os.dup2(out, 1)
            os.dup2(err, 2)
            os.fchdir(cwd)
            for fd in (out, err, cwd, null):
                os.close(fd)
            # posix_spawnp looks the command up on this process's PATH: make it the job's.
            if "PATH" in env:
                os.putenv("PATH", env["PATH"])
            else:
                os.unsetenv("PATH")
            code = self.wrapper.run(exit_file, argv, env)
        except BaseException as exc:  # noqa: BLE001 - the child must never return to the loop
            try:
                os.write(2, f"evotune: the job's wrapper failed: {exc!r}\n".encode())
            except OSError:
                pass
        finally:
            os._exit(code)

    def _reap(self) -> None:
        """Report every wrapper that has ended; sweep its group before reaping it."""
        while self.children:
            try:
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return
            if info is None:
                return
            pid = info.si_pid
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
            _, status = os.waitpid(pid, 0)
            self.children.discard(pid)
            self._send(("exited", pid, status))

    def _send(self, message: tuple[Any, ...]) -> None:
        self.outbox += _frame(message)

    def _flush(self) -> None:
        while self.outbox:
            try:
                written = os.write(1, self.outbox)
            except BlockingIOError:
                return
            del self.outbox[:written]


def serve() -> None:
    """The launcher process's main: serve requests until the controller goes."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    _Server().serve()


# -- the client -------------------------------------------------------------------------------


class LauncherError(Exception):
    """The launcher refused a job (a bad path) or is gone."""


class Launcher:
    """Starts a launcher process and talks to it. One per local executor; not thread-safe.

    ``alive`` turns ``False`` for good once the launcher has gone (end of file on its
    replies) or was closed; jobs it started are then followed through ``/proc``.
    """

    def __init__(self) -> None:
        self._popen = subprocess.Popen(
            [sys.executable, "-I", "-S", os.path.abspath(__file__)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd="/",
            process_group=0,
        )
        assert self._popen.stdin is not None and self._popen.stdout is not None
        self._to = self._popen.stdin.fileno()
        self._from = self._popen.stdout.fileno()
        os.set_blocking(self._from, False)
        self._inbox = bytearray()
        self._exits: list[tuple[int, int]] = []
        self.alive = True

    @property
    def pid(self) -> int:
        return self._popen.pid

    def start(
        self,
        exit_file: str,
        argv: list[str],
        env: dict[str, str],
        cwd: str,
        stdout_path: str,
        stderr_path: str,
    ) -> tuple[int, int | None]:
        """Start a wrapper running the job; its pid and ``/proc`` start time. Raises
        :class:`LauncherError` when a path cannot be opened or the launcher is gone."""
        if not self.alive:
            raise LauncherError("the launcher is gone")
        try:
            self._write(_frame(("start", exit_file, argv, env, cwd, stdout_path, stderr_path)))
            reply = self._await_reply()
        except BaseException:
            self._abandon()  # the stream may be cut mid-message: never trust it again
            raise
        if reply[0] == "error":
            raise LauncherError(str(reply[1]))
        return int(reply[1]), reply[2]

    def send_signal(self, pid: int, signum: int, group: bool) -> bool:
        """Ask for ``signum`` to go to wrapper ``pid`` (or its group) if not yet reaped.
        ``False`` when the launcher is gone (the caller must signal by itself)."""
        if not self.alive:
            return False
        try:
            self._write(_frame(("signal", pid, int(signum), group)))
        except BaseException:
            self._abandon()
            raise
        return self.alive

    def exits(self) -> list[tuple[int, int]]:
        """The ``(pid, wait status)`` of wrappers reaped since the last call."""
        if self.alive:
            self._read()
        exits, self._exits = self._exits, []
        return exits

    def close(self) -> None:
        """End the launcher (its running wrappers keep running) and reap it."""
        self.alive = False
        for pipe in (self._popen.stdin, self._popen.stdout):
            try:
                if pipe is not None:
                    pipe.close()
            except OSError:
                pass
        try:
            self._popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._popen.kill()
            self._popen.wait()

    def _abandon(self) -> None:
        if self.alive:
            self.close()

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self._to, view) :]
            except BrokenPipeError:
                self._abandon()
                return

    def _await_reply(self) -> tuple[Any, ...]:
        deadline = time.monotonic() + _REPLY_TIMEOUT
        while True:
            for message in self._read():
                return message
            if not self.alive:
                raise LauncherError("the launcher died")
            if time.monotonic() > deadline:
                self._abandon()
                raise LauncherError(f"the launcher did not answer within {_REPLY_TIMEOUT:g} s")
            select.select([self._from], [], [], 1.0)

    def _read(self) -> list[tuple[Any, ...]]:
        """Read what the launcher sent; keep exit events, return the replies."""
        while True:
            try:
                data = os.read(self._from, 1 << 16)
            except BlockingIOError:
                break
            if not data:
                self.alive = False  # the launcher is gone
                self._popen.poll()
                break
            self._inbox += data
        replies = []
        for message in _unframe(self._inbox):
            if message[0] == "exited":
                self._exits.append((int(message[1]), int(message[2])))
            else:
                replies.append(message)
        return replies


if __name__ == "__main__":
    serve()
