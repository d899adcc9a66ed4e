"""Boundary types of the core: plain dataclasses and IntEnums, no protobuf.

Job statuses keep torc's integer codes; they are stored as these integers and
sent as these enum numbers on the wire.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Optional

from .slurm.models import ActionSpec, SchedulerSpec, SlurmSettings


class JobStatus(enum.IntEnum):
    """Torc's job status codes (docs/architecture.md, Torc compatibility)."""

    UNINITIALIZED = 0
    BLOCKED = 1
    READY = 2
    PENDING = 3
    RUNNING = 4
    COMPLETED = 5
    FAILED = 6
    CANCELED = 7
    TERMINATED = 8
    DISABLED = 9
    PENDING_FAILED = 10


S = JobStatus
#: Statuses that unblock dependents and count toward workflow completion.
COMPLETE_STATUSES = frozenset({S.COMPLETED, S.FAILED, S.CANCELED, S.TERMINATED})
#: Statuses CompleteJob accepts.
TERMINAL_STATUSES = COMPLETE_STATUSES | {S.PENDING_FAILED}
#: Statuses whose latest result is the job's current result (torc's workflow_result).
REPORTED_STATUSES = TERMINAL_STATUSES
#: Statuses that make a workflow complete when every job has one of them.
DONE_STATUSES = COMPLETE_STATUSES | {S.DISABLED}
#: A blocker with one of these cancels dependents that have
#: cancel_on_blocking_job_failure (disabled included: it never produces).
BAD_BLOCKER_STATUSES = frozenset({S.FAILED, S.CANCELED, S.TERMINATED, S.DISABLED})
#: Claimed or running: a compute node holds the job.
IN_FLIGHT_STATUSES = frozenset({S.PENDING, S.RUNNING})
#: What ResetJobStatus(failed_only) returns to uninitialized.
RESETTABLE_STATUSES = frozenset({S.FAILED, S.CANCELED, S.TERMINATED, S.PENDING_FAILED})
del S


class SortMethod(enum.IntEnum):
    """Claim order among jobs of equal priority (torc's jobs_sort_method).

    The values are the ready index's codes; the names are torc's spellings.
    """

    GPUS_RUNTIME_MEMORY = 0
    GPUS_MEMORY_RUNTIME = 1
    NONE = 2

    @property
    def torc_name(self) -> str:
        return self.name.lower()

    @classmethod
    def from_name(cls, name: str) -> "SortMethod":
        """Decode torc's spelling ("" = the default, gpus_runtime_memory).

        Raises:
            ValueError: Not one of SORT_METHODS.
        """
        if not name:
            return cls.GPUS_RUNTIME_MEMORY
        try:
            return cls[name.upper()]
        except KeyError:
            raise ValueError(f"unknown sort method {name!r}") from None


SORT_METHODS = tuple(m.torc_name for m in SortMethod)
#: Scheduler value of a job or node without one (SQL NULL) in the ready index.
NO_SCHEDULER = -(2**63)


class Severity(enum.IntEnum):
    """Event severity; a filter keeps events at least this severe."""

    UNSPECIFIED = 0
    DEBUG = 1
    INFO = 2
    WARNING = 3
    ERROR = 4


@dataclass(frozen=True)
class Resources:
    """Resources of a node (free capacity) or the needs of one job."""

    num_cpus: int = 0
    memory_bytes: int = 0
    num_gpus: int = 0
    num_nodes: int = 0
    #: For a node: seconds left (0 = unbounded). For a job: its runtime.
    time_limit_seconds: float = 0.0


@dataclass(frozen=True)
class ResourceRequirementsSpec:
    """A named resource set as written by the user."""

    name: str
    num_cpus: Optional[int] = None
    num_gpus: Optional[int] = None
    num_nodes: Optional[int] = None
    memory: str = ""
    runtime: str = ""


@dataclass(frozen=True)
class FileSpec:
    name: str
    path: str = ""


@dataclass(frozen=True)
class UserDataSpec:
    name: str
    #: JSON text; empty = not produced yet.
    data: str = ""
    is_ephemeral: bool = False


@dataclass(frozen=True)
class FailureRule:
    exit_codes: tuple[int, ...] = ()
    match_all_exit_codes: bool = False
    recovery_script: str = ""
    max_retries: int = 3


@dataclass(frozen=True)
class FailureHandlerSpec:
    name: str
    rules: tuple[FailureRule, ...] = ()


@dataclass(frozen=True)
class JobSpec:
    """A job as the user defines it; other items are referenced by name."""

    name: str
    command: str = ""
    depends_on: tuple[str, ...] = ()
    resource_requirements: str = ""
    input_files: tuple[str, ...] = ()
    output_files: tuple[str, ...] = ()
    input_user_data: tuple[str, ...] = ()
    output_user_data: tuple[str, ...] = ()
    cancel_on_blocking_job_failure: bool = True
    supports_termination: bool = False
    priority: int = 0
    label: str = ""
    env: dict[str, str] = field(default_factory=dict)
    scheduler_id: Optional[int] = None
    failure_handler: str = ""
    invocation_script: str = ""
    disabled: bool = False
    #: Name of one of the workflow's slurm_schedulers ("" = any worker).
    scheduler: str = ""


@dataclass(frozen=True)
class ResourceMonitor:
    """torc's resource_monitor: what workers sample of each job's process tree."""

    enabled: bool = True
    #: "summary" (peak and average per attempt) or "time_series" (and the samples).
    granularity: str = "summary"
    sample_interval_seconds: float = 5.0


#: A sample of a job's process tree: (seconds since it started, CPU percent, memory bytes).
Sample = tuple[float, float, int]


@dataclass(frozen=True)
class WorkflowSpec:
    name: str
    user: str = ""
    description: str = ""
    resource_requirements: tuple[ResourceRequirementsSpec, ...] = ()
    files: tuple[FileSpec, ...] = ()
    user_data: tuple[UserDataSpec, ...] = ()
    jobs: tuple[JobSpec, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    jobs_sort_method: str = ""
    failure_handlers: tuple[FailureHandlerSpec, ...] = ()
    #: Access groups linked at creation (torc's access_groups); each must exist.
    access_groups: tuple[str, ...] = ()
    slurm_schedulers: tuple[SchedulerSpec, ...] = ()
    actions: tuple[ActionSpec, ...] = ()
    slurm: SlurmSettings = field(default_factory=SlurmSettings)
    resource_monitor: ResourceMonitor = ResourceMonitor()


@dataclass(frozen=True)
class JobBatch:
    """One AddJobs message: jobs plus the named items they may introduce."""

    workflow_id: int
    jobs: tuple[JobSpec, ...] = ()
    resource_requirements: tuple[ResourceRequirementsSpec, ...] = ()
    files: tuple[FileSpec, ...] = ()
    user_data: tuple[UserDataSpec, ...] = ()
    failure_handlers: tuple[FailureHandlerSpec, ...] = ()


@dataclass(frozen=True)
class Workflow:
    id: int
    name: str
    user: str
    description: str
    created_at: str
    jobs_sort_method: str
    env: dict[str, str]
    run_id: int
    is_canceled: bool


@dataclass(frozen=True)
class ResourceRequirements:
    id: int
    name: str
    memory: str
    runtime: str
    num_cpus: int
    num_gpus: int
    num_nodes: int
    memory_bytes: int
    runtime_seconds: int


@dataclass(frozen=True)
class Job:
    """A stored job. Relationship id lists are filled only by get_job."""

    id: int
    workflow_id: int
    name: str
    command: str
    status: JobStatus
    attempt_id: int
    resource_requirements: ResourceRequirements
    cancel_on_blocking_job_failure: bool
    supports_termination: bool
    priority: int
    label: str
    env: dict[str, str]
    scheduler_id: Optional[int]
    invocation_script: str
    failure_handler_id: int
    compute_node_id: int
    depends_on_job_ids: tuple[int, ...] = ()
    input_file_ids: tuple[int, ...] = ()
    output_file_ids: tuple[int, ...] = ()
    input_user_data_ids: tuple[int, ...] = ()
    output_user_data_ids: tuple[int, ...] = ()
    #: Filled by claims only.
    output_file_paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class Result:
    id: int
    workflow_id: int
    job_id: int
    run_id: int
    attempt_id: int
    compute_node_id: int
    return_code: int
    exec_time_seconds: float
    completion_time: str
    status: JobStatus
    peak_memory_bytes: int = 0
    avg_memory_bytes: int = 0
    peak_cpu_percent: float = 0.0
    avg_cpu_percent: float = 0.0
    #: Why the job did not run (the worker could not start it); "" when it ran.
    error: str = ""
    #: With granularity "time_series".
    samples: tuple[Sample, ...] = ()


@dataclass(frozen=True)
class Event:
    id: int
    workflow_id: int
    timestamp_ms: int
    event_type: str
    severity: Severity
    data: str


@dataclass(frozen=True)
class WorkflowStatus:
    run_id: int
    is_canceled: bool
    is_complete: bool
    #: Index = status code; one count per JobStatus.
    counts: tuple[int, ...]
    #: Newest event id of the workflow (0 = none).
    last_event_id: int = 0

    @property
    def num_jobs(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class InitializeOutcome:
    run_id: int
    num_ready: int
    num_blocked: int
    num_canceled: int


@dataclass(frozen=True)
class Page:
    """A page of items and the cursor for the next one (0 = last page)."""

    items: tuple
    next_after: int

    @classmethod
    def of(cls, items: list, limit: int) -> "Page":
        """A full page continues after its last item's id; a short page is the last."""
        return cls(tuple(items), items[-1].id if len(items) == limit else 0)


@dataclass(frozen=True)
class OperatorStats:
    """What operators' metrics show of the engine at one moment."""

    #: workflow id -> ready jobs, for the workflows loaded in memory.
    ready_by_workflow: dict[int, int]
    open_streams: int
    active_compute_nodes: int
    #: Slurm allocations by state (queued, running, ...).
    allocations_by_state: dict[str, int]


@dataclass(frozen=True)
class StorageFacts:
    """What the server runs on (GetVersion)."""

    #: "compiled" or "reference" (TORC_NO_EXTENSIONS=1).
    kernels: str
    sqlite_version: str
    schema_version: int


#: Defined in work.py (what nodes and the engine exchange); importable from here too.
_IN_WORK = frozenset({"Completion", "ClaimRequest", "ComputeNodeSpec", "ComputeNode", "ClaimEnd", "ClaimOutcome"})


def __getattr__(name: str):
    if name in _IN_WORK:
        from . import work  # noqa: PLC0415 (work imports this module)

        return getattr(work, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
