"""The worker loop's one place to wait.

Other threads (the ready stream, the heartbeat, a claim's answer) put
messages; children's ends are read by the loop's own thread from their
pidfds, which wait in the same poll as the messages' wake pipe. A job that
ends is thus seen by the thread that starts the next one, with no thread in
between (measured: the reaper thread's handoff took 245 us median from a
child's end to the loop seeing it, with the slot idle meanwhile).
"""

from __future__ import annotations

import collections
import os
import queue
import select
import time
from typing import Any, Callable, Optional


class Inbox:
    """Messages from any thread, read by one thread that also serves fds.

    get, get_nowait and wait belong to the reading thread: while they wait,
    they call each registered fd's callback when it becomes readable. put
    may be called from any thread (and from a signal handler).
    """

    def __init__(self) -> None:
        self._items: collections.deque = collections.deque()
        self._wake_r, self._wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        self._poll = select.poll()
        self._poll.register(self._wake_r, select.POLLIN)
        self._ready: dict[int, Callable[[], None]] = {}

    def put(self, item: Any) -> None:
        self._items.append(item)
        try:
            os.write(self._wake_w, b"x")
        except BlockingIOError:
            pass  # the pipe is full, so the reader wakes anyway

    def watch_fd(self, fd: int, on_ready: Callable[[], None]) -> None:
        """Call on_ready() on the reading thread when fd is readable (until unwatched)."""
        self._ready[fd] = on_ready
        self._poll.register(fd, select.POLLIN)

    def unwatch_fd(self, fd: int) -> None:
        if self._ready.pop(fd, None) is not None:
            self._poll.unregister(fd)

    def get(self, timeout: Optional[float] = None) -> Any:
        """The next message; queue.Empty after `timeout` seconds (None: wait on)."""
        if not self.wait(timeout):
            raise queue.Empty
        return self._items.popleft()

    def get_nowait(self) -> Any:
        return self.get(0.0)

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Wait until a message is there (True) or `timeout` seconds pass (False)."""
        if self._items:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        self._serve(0)
        while not self._items:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            self._serve(None if left is None else max(1, int(left * 1000 + 0.999)))
        return True

    def _serve(self, timeout_ms: Optional[int]) -> None:
        for fd, _events in self._poll.poll(timeout_ms):
            if fd == self._wake_r:
                try:
                    os.read(self._wake_r, 4096)
                except BlockingIOError:
                    pass
                continue
            on_ready = self._ready.get(fd)
            if on_ready is not None:
                on_ready()
