"""What a spec says about Slurm and actions, and the records of allocations."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Optional

#: torc's trigger types this server runs (on_worker_* are not supported).
TRIGGERS = ("on_workflow_start", "on_workflow_complete", "on_jobs_ready", "on_jobs_complete")
JOB_TRIGGERS = ("on_jobs_ready", "on_jobs_complete")
ACTION_TYPES = ("run_commands", "schedule_nodes")
#: Allocator defaults: queued allocations per scheduler, and live ones (queued + running).
DEFAULT_BACKLOG = 1
DEFAULT_MAX_ALLOCATIONS = 4
#: torc's defaults for the workers an allocation starts.
DEFAULT_EXPIRATION_BUFFER_SECONDS = 60.0
DEFAULT_WAIT_FOR_NEW_JOBS_SECONDS = 90.0


@dataclass(frozen=True)
class SchedulerSpec:
    """One of a workflow's slurm_schedulers (torc's keys, plus the allocator's bounds).

    Attributes:
        walltime: Slurm's time format ("HH:MM:SS", "D-HH:MM", minutes, ...).
        mem: sbatch's --mem ("16g", "16000M"): memory per node.
        gres: sbatch's --gres ("gpu:2", "gpu:a100:2").
        extra: More sbatch options, e.g. "--constraint=cpu --exclusive".
        backlog: Most allocations of this scheduler the allocator keeps queued
            (None = the server's default).
        max_allocations: Most live (queued + running) allocations the allocator
            submits by itself; 0 = only what actions and `slurm schedule` ask.
    """

    name: str
    account: str = ""
    partition: str = ""
    nodes: int = 1
    walltime: str = "01:00:00"
    mem: str = ""
    gres: str = ""
    qos: str = ""
    ntasks_per_node: int = 0
    tmp: str = ""
    extra: str = ""
    backlog: Optional[int] = None
    max_allocations: Optional[int] = None


@dataclass(frozen=True)
class ActionSpec:
    """One of a workflow's actions (torc's workflow actions).

    `jobs` are job names (the spec loader resolves job_name_regexes into
    them); an on_jobs_* action fires once when all of them reach the state.
    """

    trigger_type: str
    action_type: str
    jobs: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()
    scheduler: str = ""
    scheduler_type: str = ""
    num_allocations: int = 1
    start_one_worker_per_node: bool = False
    max_parallel_jobs: int = 0
    persistent: bool = False


@dataclass(frozen=True)
class SlurmSettings:
    """Workflow-wide Slurm settings (torc's workflow keys)."""

    #: sbatch options applied to every scheduler that does not set them (torc's slurm_defaults).
    defaults: dict[str, str] = field(default_factory=dict)
    #: Where allocation scripts' stdout/stderr and jobs' outputs go (absolute).
    output_dir: str = ""
    expiration_buffer_seconds: float = DEFAULT_EXPIRATION_BUFFER_SECONDS
    wait_for_new_jobs_seconds: float = DEFAULT_WAIT_FOR_NEW_JOBS_SECONDS


class AllocationState(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def live(self) -> bool:
        return self in (AllocationState.QUEUED, AllocationState.RUNNING)


class AllocationSource(str, enum.Enum):
    ACTION = "action"
    ALLOCATOR = "allocator"
    MANUAL = "manual"


@dataclass(frozen=True)
class Scheduler:
    """A stored scheduler, with its circuit-breaker state."""

    id: int
    workflow_id: int
    spec: SchedulerSpec
    failures: int = 0
    paused: bool = False
    retry_after: float = 0.0
    message: str = ""


@dataclass(frozen=True)
class Allocation:
    """One sbatch submission and what Slurm says of it."""

    id: int
    workflow_id: int
    scheduler_id: int
    scheduler: str
    slurm_job_id: str
    state: AllocationState
    source: AllocationSource
    num_nodes: int
    nodes: str = ""
    submitted_at: str = ""
    start_time: str = ""
    end_time: str = ""
    message: str = ""
    #: A worker of this allocation registered (it did start working).
    worker_seen: bool = False
    worker_token_id: int = 0


@dataclass(frozen=True)
class StoredAction:
    """A workflow action as stored, with its firing state."""

    id: int
    workflow_id: int
    spec: ActionSpec
    required: int
    count: int
    fired: bool
    executed: bool
