"""SIGTERM and SIGINT for a running worker: scancel, a walltime end,
preemption or Ctrl-C make it stop cleanly (Worker.request_stop)."""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import TYPE_CHECKING, Iterator

from .config import StopReason

if TYPE_CHECKING:
    from .loop import Worker


@contextlib.contextmanager
def stop_on_signals(worker: "Worker") -> Iterator[None]:
    """While the block runs, SIGTERM and SIGINT (scancel, a walltime end,
    preemption, Ctrl-C) make `worker` stop cleanly (Worker.request_stop);
    the previous handlers come back afterwards. Only the main thread can
    install handlers; elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    for signum in previous:
        signal.signal(signum, lambda _s, _f: worker.request_stop(StopReason.SIGNALED))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

