"""What a worker offers and how it behaves, with this machine's defaults."""

from __future__ import annotations

import enum
import logging
import os
import socket
import subprocess
import time
from dataclasses import dataclass, field
from typing import Optional

from ..auth.credentials import ClientAuth

log = logging.getLogger("torc_grpc.worker")


def detect_gpus() -> int:
    """NVIDIA GPUs visible here (`nvidia-smi -L`); 0 without the tool."""
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return 0
    if out.returncode != 0:
        return 0
    return sum(1 for line in out.stdout.splitlines() if line.startswith("GPU "))


def slurm_end_time() -> float:
    """Unix end time of the Slurm allocation this runs in; 0 outside one."""
    if os.environ.get("SLURM_JOB_END_TIME", "").isdigit():
        return float(os.environ["SLURM_JOB_END_TIME"])
    job = os.environ.get("SLURM_JOB_ID")
    if not job:
        return 0.0
    try:
        out = subprocess.run(["squeue", "-h", "-j", job, "-o", "%e"], capture_output=True,
                             text=True, timeout=30)
        return time.mktime(time.strptime(out.stdout.strip(), "%Y-%m-%dT%H:%M:%S"))
    except (OSError, subprocess.TimeoutExpired, ValueError):
        log.warning("inside Slurm job %s but its end time is unknown; pass --end-time", job)
        return 0.0


def total_memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 0


def _env_int(name: str) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.isdigit() else 0


def offered_cpus() -> int:
    """Inside a Slurm allocation the CPUs Slurm gave this node (SLURM_CPUS_ON_NODE); else all."""
    return _env_int("SLURM_CPUS_ON_NODE") or os.cpu_count() or 1


def offered_memory() -> int:
    """Inside a Slurm allocation its memory (SLURM_MEM_PER_NODE, or per CPU x CPUs, in MiB); else all."""
    per_node, per_cpu = _env_int("SLURM_MEM_PER_NODE"), _env_int("SLURM_MEM_PER_CPU")
    if per_node:
        return per_node * 1024**2
    if per_cpu:
        return per_cpu * 1024**2 * offered_cpus()
    return total_memory_bytes()


@dataclass
class WorkerConfig:
    """What the worker offers and how it behaves.

    Attributes:
        target: Server address, host:port.
        workflow_id: The workflow to work on.
        num_cpus, memory_bytes, num_gpus, num_nodes: The node's resources
            (default: this machine's CPUs, memory and NVIDIA GPUs).
        end_time: Unix time the allocation ends (default: the Slurm
            allocation's end, else 0 = never). Claims only take jobs whose
            runtime fits the time left; near the end, running jobs are
            terminated and reported TERMINATED.
        idle_timeout: Stop after this long with nothing to run (0 = never).
        stop_when_stuck: Stop when nothing runs and ready jobs exist that
            this node can never fit (for the only worker of `torc-grpc run`).
        label: Only jobs with this label are claimed ("" = unlabeled jobs).
        output_dir: Where each job's stdout/stderr go.
        wait_seconds: Longest wait for news before claiming again.
        reconnect_seconds: How long to keep retrying an unreachable server.
        term_grace: On SIGTERM/SIGINT (scancel, a walltime end, preemption),
            how long jobs that support termination get after SIGTERM before
            SIGKILL; the worker then reports, deregisters and exits, well
            inside Slurm's default KillWait of 30 s.
        on_signal: What SIGTERM/SIGINT does to running jobs: "terminate"
            (reported TERMINATED, torc's way) or "release" (the allocator's
            workers: the jobs were taken away with the allocation, so they are
            given back to the server, which fails them with -128 as for a lost
            node and failure handlers apply).
        max_parallel_jobs: Most jobs running at once (0 = as resources allow).
        report_window: When a job ends while others run, how long to wait for
            another end before telling the server, so that one call carries
            both (measured: 5 ms halves the calls per job of a 2-CPU node
            running short jobs, 516 -> 620-670 jobs/s; 0 = tell at once).
        slurm_job_id: The allocation this worker runs in (default SLURM_JOB_ID).
        claim_ahead: While jobs are short, claim about 0.1 s of work more
            than fits now (ahead.py), at most this many node-fulls, PENDING,
            started as slots free up (0 = never; off with max_parallel_jobs).
    """

    target: str
    workflow_id: int
    num_cpus: int = field(default_factory=offered_cpus)
    memory_bytes: int = field(default_factory=offered_memory)
    num_gpus: int = field(default_factory=detect_gpus)
    num_nodes: int = 1
    end_time: float = field(default_factory=slurm_end_time)
    termination_margin: float = 30.0
    idle_timeout: float = 0.0
    stop_when_stuck: bool = False
    label: str = ""
    output_dir: str = "torc_output"
    wait_seconds: float = 60.0
    reconnect_seconds: float = 300.0
    term_grace: float = 10.0
    hostname: str = field(default_factory=socket.gethostname)
    #: TLS and token (a worker token, usually); default: TORC_TOKEN, TORC_TLS_CA, ...
    auth: ClientAuth = field(default_factory=ClientAuth.from_env)
    scheduler_config_id: Optional[int] = None
    #: Claim only jobs without a scheduler or with scheduler_config_id (no fallback).
    strict_scheduler_match: bool = False
    on_signal: str = "terminate"
    max_parallel_jobs: int = 0
    report_window: float = 0.005
    claim_ahead: int = 8
    slurm_job_id: str = field(default_factory=lambda: os.environ.get("SLURM_JOB_ID", ""))


class StopReason(str, enum.Enum):
    """Why a worker stopped (the value is what it prints)."""

    COMPLETE = "complete"
    CANCELED = "canceled"
    LEASE_LOST = "lease lost"
    TIME_UP = "time up"
    IDLE = "idle"
    STUCK = "stuck: the ready jobs need more than this node offers"
    SIGNALED = "signaled: jobs terminated, claims given back"
    RELEASED = "signaled: jobs and claims given back to the server"

    @property
    def ok(self) -> bool:
        """A normal end (exit status 0 of `torc-grpc worker`)."""
        return self in (StopReason.COMPLETE, StopReason.TIME_UP, StopReason.IDLE)

    def __str__(self) -> str:
        return self.value


@dataclass
class WorkerSummary:
    compute_node_id: int = 0
    jobs_run: int = 0
    completed: int = 0
    failed: int = 0
    #: Why the worker stopped (None while it runs).
    reason: Optional[StopReason] = None
    #: Unary calls made (retries included) and WatchReadyJobs messages received.
    rpcs: int = 0
    stream_messages: int = 0
