"""Ctrl-C and SIGTERM stop a running study gracefully."""

from __future__ import annotations

import signal
import threading
from typing import Any, Callable

from evotune.study._controller import Controller


def install_interrupt(controller: Controller) -> Callable[[], None]:
    """Route Ctrl-C and SIGTERM to a graceful stop (running trials cancelled and recorded); a
    second Ctrl-C stops at once. Returns a function that restores the previous handlers.
    Outside the main thread signals cannot be caught: nothing is installed."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum: int, frame: Any) -> None:
        if controller.interrupted and signum == signal.SIGINT:
            raise KeyboardInterrupt
        controller.interrupt()

    for sig in previous:
        signal.signal(sig, handler)

    def restore() -> None:
        for sig, h in previous.items():
            signal.signal(sig, h)

    return restore
