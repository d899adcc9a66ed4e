"""The unblocker: one background thread that turns completions into newly
ready (or cascade-canceled) jobs, in batches, off the request path.

CompleteJob commits the completion and hands (workflow, job, status) here;
the thread wakes on a condition (no fixed sleep), drains everything pending,
and asks the engine to process it per workflow in one transaction each. Under
load batches grow by themselves. TORC_UNBLOCK_INTERVAL > 0 adds torc-style
deliberate batching: wait that long after a wake-up before draining.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import defaultdict
from typing import Callable, NamedTuple, Optional

log = logging.getLogger("torc_core.unblocker")


class Handoff(NamedTuple):
    """A committed completion whose dependents the unblocker must resolve."""

    workflow_id: int
    job_id: int
    status: int


#: The batch step: (workflow_id, [(job_id, status), ...]) -> None; it owns the transaction.
Process = Callable[[int, list[tuple[int, int]]], None]


def interval_from_env() -> float:
    raw = os.environ.get("TORC_UNBLOCK_INTERVAL", "0")
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"TORC_UNBLOCK_INTERVAL must be a number of seconds, not {raw!r}") from None
    if value < 0:
        raise ValueError("TORC_UNBLOCK_INTERVAL must be >= 0")
    return value


class Unblocker:
    """Background batcher of completions.

    Args:
        interval: Deliberate batching delay in seconds (0 = event-driven).

    Items submitted before start() wait for the thread.
    """

    def __init__(self, interval: float = 0.0) -> None:
        self._interval = interval
        self._cv = threading.Condition()
        self._pending: list[Handoff] = []
        self._busy = False
        self._stopping = False
        #: Started by start() with the batch step.
        self._thread: Optional[threading.Thread] = None

    def start(self, process: Process) -> None:
        """Start the thread with the batch step."""
        self._thread = threading.Thread(target=self._run, args=(process,), name="torc-unblocker",
                                        daemon=True)
        self._thread.start()

    def submit(self, items: list[Handoff]) -> None:
        if not items:
            return
        with self._cv:
            self._pending.extend(items)
            self._cv.notify_all()

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything submitted so far is processed; False on timeout."""
        with self._cv:
            return self._cv.wait_for(lambda: not self._pending and not self._busy, timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """Process what is pending, then end the thread."""
        with self._cv:
            self._stopping = True
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self, process: Process) -> None:
        while True:
            with self._cv:
                self._cv.wait_for(lambda: self._pending or self._stopping)
                if not self._pending and self._stopping:
                    return
                if self._interval > 0:
                    # Let completions accumulate for the whole interval: new
                    # submissions notify, but only a stop cuts the wait short.
                    self._cv.wait_for(lambda: self._stopping, self._interval)
                batch, self._pending = self._pending, []
                self._busy = True
            try:
                by_workflow: dict[int, list[tuple[int, int]]] = defaultdict(list)
                for workflow_id, job_id, status in batch:
                    by_workflow[workflow_id].append((job_id, status))
                for workflow_id, items in by_workflow.items():
                    try:
                        process(workflow_id, items)
                    except Exception:  # keep the thread alive; the rows stay pending in the DB
                        log.exception("workflow %d: unblocking failed; rebuilt on next use", workflow_id)
            finally:
                with self._cv:
                    self._busy = False
                    self._cv.notify_all()
