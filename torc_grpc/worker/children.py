"""Job processes without subprocess.Popen: posix_spawn of `/bin/sh -c` in a
session of its own (half the parent's CPU of Popen: 79 vs 173 us measured),
reaped through their pidfds by the worker loop's own thread (inbox.py).
Where pidfd_open is missing (Linux < 5.3), a thread per child waits instead."""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import TYPE_CHECKING, Callable, Mapping, Optional

if TYPE_CHECKING:
    from .inbox import Inbox

log = logging.getLogger("torc_grpc.worker")

SHELL = "/bin/sh"
_OUT_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC


class Child:
    """A spawned job process (pid, then its return code once reaped)."""

    __slots__ = ("pid", "returncode", "_done")

    def __init__(self, pid: int) -> None:
        self.pid = pid
        #: Popen's convention: the exit status, or -N when killed by signal N.
        self.returncode: Optional[int] = None
        self._done = threading.Event()

    def wait(self, timeout: Optional[float] = None) -> Optional[int]:
        """The return code, or None if still running after `timeout` seconds."""
        self._done.wait(timeout)
        return self.returncode

    def _reaped(self, returncode: int) -> None:
        self.returncode = returncode
        self._done.set()


#: The return code reported for a job whose exit status was lost (reaped by someone else).
STATUS_LOST = 255


def collect_exit_statuses() -> None:
    """SIGCHLD ignored (inherited through exec from whoever started the worker)
    makes the kernel reap children itself, and every job's exit status would be
    lost: put the default back. Only the main thread may set a handler."""
    if threading.current_thread() is threading.main_thread() and \
            signal.getsignal(signal.SIGCHLD) == signal.SIG_IGN:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        log.info("SIGCHLD was ignored: set back to its default, so that job exit statuses are seen")


def no_inherited_fds() -> None:
    """Mark every descriptor above stderr close-on-exec. posix_spawn (unlike
    Popen's close_fds) passes on whatever is inheritable, such as descriptors
    this process got from its own parent; jobs must see only 0, 1 and 2."""
    try:
        fds = [int(x) for x in os.listdir("/proc/self/fd")]
    except OSError:
        return
    for fd in fds:
        if fd > 2:
            try:
                os.set_inheritable(fd, False)
            except OSError:
                pass  # closed meanwhile (the listing's own descriptor)


def spawn_shell(command: str, env: Mapping[str, str], stdout_path: str, stderr_path: str) -> Child:
    """Run `command` with the shell, stdout/stderr to the files (created or
    truncated), in a new session. Raises OSError (no shell, no fork, an
    unwritable file) or ValueError (a NUL byte)."""
    fo = os.open(stdout_path, _OUT_FLAGS, 0o644)
    try:
        fe = os.open(stderr_path, _OUT_FLAGS, 0o644)
        try:
            pid = os.posix_spawn(SHELL, [SHELL, "-c", command], env, setsid=True,
                                 file_actions=[(os.POSIX_SPAWN_DUP2, fo, 1), (os.POSIX_SPAWN_DUP2, fe, 2)])
        finally:
            os.close(fe)
    finally:
        os.close(fo)
    return Child(pid)


class Reaper:
    """Reaps children as they end and calls `on_exit(child)`.

    With an inbox, each child's pidfd waits in the inbox's poll and is reaped
    on the inbox's reading thread (the worker's loop), with no thread between
    a child's end and the loop. Without one, or where pidfd_open is missing
    (Linux < 5.3, some containers), a thread per child waits and calls
    on_exit on that thread.
    """

    def __init__(self, on_exit: Callable[[Child], None], inbox: Optional["Inbox"] = None) -> None:
        self._on_exit = on_exit
        self._inbox = inbox
        self._pidfd = inbox is not None and hasattr(os, "pidfd_open")
        no_inherited_fds()
        collect_exit_statuses()

    def watch(self, child: Child) -> None:
        if self._pidfd:
            try:
                fd = os.pidfd_open(child.pid)
            except OSError:  # e.g. a kernel without pidfds in a container
                self._pidfd = False
            else:
                self._inbox.watch_fd(fd, lambda: self._ended(fd, child))
                return
        threading.Thread(target=self._wait_one, args=(child,), daemon=True).start()

    def _ended(self, fd: int, child: Child) -> None:
        self._inbox.unwatch_fd(fd)
        os.close(fd)
        self._reap(child)

    def _wait_one(self, child: Child) -> None:
        self._reap(child)

    def _reap(self, child: Child) -> None:
        try:
            _, status = os.waitpid(child.pid, 0)
            code = os.waitstatus_to_exitcode(status)
        except ChildProcessError:  # reaped elsewhere: never report a success nobody saw
            log.warning("job process %d was reaped elsewhere; its exit status is lost (reported %d)",
                        child.pid, STATUS_LOST)
            code = STATUS_LOST
        child._reaped(code)
        self._on_exit(child)
