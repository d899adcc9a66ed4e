"""The server's thread pool: elastic, with small stacks.

The threaded gRPC server pins one pool thread per open stream, so the pool
must reach the stream cap plus the unary workers. concurrent.futures'
ThreadPoolExecutor never lets a thread go once started, so after a burst of
subscribers the process would keep thousands of idle threads forever. This
pool starts a thread only when no idle one is free, lets a thread exit after
`idle_seconds` without work, and gives its threads `stack_bytes` stacks
(256 KiB: the RSS is the same, the virtual size far smaller).
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from concurrent import futures
from typing import Callable, Optional

log = logging.getLogger("torc_grpc.pool")


class ElasticThreadPool(futures.Executor):
    """A futures.Executor whose threads come and go with the load.

    Args:
        max_workers: Most threads at once; further work queues.
        idle_seconds: An idle thread exits after this long.
        stack_bytes: Thread stack size (0 = the interpreter's default).
        name: Thread name prefix.
    """

    def __init__(
        self, max_workers: int, idle_seconds: float = 60.0, stack_bytes: int = 256 * 1024,
        name: str = "torc-rpc",
    ) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be >= 1")
        self.max_workers = max_workers
        self.idle_seconds = idle_seconds
        self.stack_bytes = stack_bytes
        self._name = name
        self._numbers = itertools.count(1)
        self._work: "queue.SimpleQueue" = queue.SimpleQueue()
        self._lock = threading.Lock()
        #: Notified (under _lock) whenever a thread ends: shutdown(wait=True) waits on it.
        self._ended = threading.Condition(self._lock)
        self._threads = 0
        self._idle = 0
        self._queued = 0  # submitted, not yet taken by a thread
        self._shutdown = False

    @property
    def num_threads(self) -> int:
        return self._threads

    def submit(self, fn: Callable, /, *args, **kwargs) -> futures.Future:
        future: futures.Future = futures.Future()
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new work after shutdown")
            self._work.put((future, fn, args, kwargs))
            self._queued += 1
            if self._queued > self._idle and self._threads < self.max_workers:
                self._start_thread_locked()
        return future

    def _start_thread_locked(self) -> None:
        thread = threading.Thread(
            target=self._run, name=f"{self._name}-{next(self._numbers)}", daemon=True
        )
        previous = threading.stack_size(self.stack_bytes) if self.stack_bytes else None
        try:
            thread.start()
        finally:
            if previous is not None:
                threading.stack_size(previous)
        self._threads += 1

    def _run(self) -> None:
        with self._lock:
            self._idle += 1
        while True:
            try:
                item = self._work.get(timeout=self.idle_seconds)
            except queue.Empty:
                with self._lock:
                    # Leave only if the other idle threads cover what is queued.
                    if self._queued < self._idle or self._shutdown:
                        self._exit_locked()
                        return
                continue
            with self._lock:
                self._idle -= 1
                self._queued -= 1
            if item is None:  # shutdown sentinel
                with self._lock:
                    self._idle += 1
                    self._exit_locked()
                return
            future, fn, args, kwargs = item
            if future.set_running_or_notify_cancel():
                try:
                    result = fn(*args, **kwargs)
                except BaseException as exc:  # handed to the future, as ThreadPoolExecutor does
                    error: Optional[BaseException] = exc
                else:
                    error = None
            # Idle again *before* the caller learns the result, so that its
            # next submit reuses this thread instead of starting another.
            with self._lock:
                self._idle += 1
            if future.running():
                if error is None:
                    future.set_result(result)
                else:
                    future.set_exception(error)
            del future, fn, args, kwargs, item
            error = result = None

    def _exit_locked(self) -> None:
        self._idle -= 1
        self._threads -= 1
        self._ended.notify_all()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Refuse new work and end every thread once the queue is drained.

        Args:
            wait: Return only when every thread has ended (running tasks
                finish first), as ThreadPoolExecutor does.
            cancel_futures: Cancel the tasks still queued instead of running them.
        """
        with self._lock:
            self._shutdown = True
            if cancel_futures:
                while True:
                    try:
                        item = self._work.get_nowait()
                    except queue.Empty:
                        break
                    self._queued -= 1
                    if item is not None:
                        item[0].cancel()
            for _ in range(self._threads):
                self._work.put(None)
                self._queued += 1
            if wait:
                self._ended.wait_for(lambda: self._threads == 0)
