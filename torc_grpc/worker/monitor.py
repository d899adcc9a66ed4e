"""The worker's resource monitor (torc's resource_monitor): one thread samples
each running job's process tree (psutil: the job's shell and everything it
started) every `sample_interval_seconds`, and a job's end gives its peak and
average memory and CPU, and with granularity "time_series" its samples
(at most MAX_SAMPLES: past that, every other one is dropped and the stride
doubles, so a long job keeps an even, bounded record).

Spawning costs the loop only a dict entry: psutil objects are made on the
sampling thread, at the first sample. A job shorter than the interval has no
sample (as in torc) and reports zeros. CPU percent is psutil's (100 = one core).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Optional

log = logging.getLogger("torc_grpc.worker")

#: Samples one attempt keeps (what the server accepts: 10,000).
MAX_SAMPLES = 5_000


@dataclass
class Usage:
    """What the samples of one job say."""

    peak_memory_bytes: int = 0
    avg_memory_bytes: int = 0
    peak_cpu_percent: float = 0.0
    avg_cpu_percent: float = 0.0
    #: (seconds since start, CPU percent, memory bytes), with time_series.
    samples: list = field(default_factory=list)


@dataclass
class _Watched:
    pid: int
    started: float
    processes: dict = field(default_factory=dict)  # pid -> psutil.Process (their CPU counters)
    count: int = 0
    memory_sum: float = 0.0
    cpu_sum: float = 0.0
    usage: Usage = field(default_factory=Usage)
    stride: int = 1


class Monitor:
    def __init__(self) -> None:
        self.enabled = False
        self.time_series = False
        self.interval = 5.0
        self._lock = threading.Lock()
        self._jobs: dict[int, _Watched] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def configure(self, enabled: bool, granularity: str, interval: float) -> None:
        """The workflow's resource_monitor, as the server gave it at registration."""
        self.enabled = enabled and interval > 0
        self.time_series = granularity == "time_series"
        self.interval = interval
        if self.enabled and self._thread is None:
            try:
                import psutil  # noqa: F401, PLC0415 (a dependency; checked once)
            except ImportError:
                log.warning("resource monitoring is on, but psutil is missing: nothing is sampled")
                self.enabled = False
                return
            self._thread = threading.Thread(target=self._run, daemon=True, name="torc-worker-monitor")
            self._thread.start()

    def watch(self, job_id: int, pid: int) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._jobs[job_id] = _Watched(pid, time.monotonic())
        self._wake.set()

    def stop(self, job_id: int) -> Optional[Usage]:
        """The job ended: what its samples say (None when it was not watched)."""
        with self._lock:
            watched = self._jobs.pop(job_id, None)
        if watched is None:
            return None
        usage = watched.usage
        if watched.count:
            usage.avg_memory_bytes = int(watched.memory_sum / watched.count)
            usage.avg_cpu_percent = watched.cpu_sum / watched.count
        return usage

    def close(self) -> None:
        self._stop.set()
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                idle = not self._jobs
            if idle:
                self._wake.wait()
                self._wake.clear()
                continue
            if self._stop.wait(self.interval):
                return
            with self._lock:
                jobs = list(self._jobs.values())
            for watched in jobs:
                self._sample(watched)

    def _sample(self, watched: _Watched) -> None:
        import psutil  # noqa: PLC0415

        try:
            root = watched.processes.get(watched.pid) or psutil.Process(watched.pid)
            tree = [root, *root.children(recursive=True)]
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            return  # ended meanwhile: its end is on the way
        memory, cpu, seen = 0, 0.0, {}
        for proc in tree:
            known = watched.processes.get(proc.pid, proc)
            try:
                memory += known.memory_info().rss
                cpu += known.cpu_percent(None)  # since this object's last call (0.0 the first time)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            seen[proc.pid] = known
        watched.processes = seen
        usage = watched.usage
        watched.count += 1
        watched.memory_sum += memory
        watched.cpu_sum += cpu
        usage.peak_memory_bytes = max(usage.peak_memory_bytes, memory)
        usage.peak_cpu_percent = max(usage.peak_cpu_percent, cpu)
        if self.time_series and watched.count % watched.stride == 0:
            usage.samples.append((round(time.monotonic() - watched.started, 3), round(cpu, 1), memory))
            if len(usage.samples) >= MAX_SAMPLES:
                usage.samples = usage.samples[::2]
                watched.stride *= 2
