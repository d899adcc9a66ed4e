"""What compute nodes and the engine exchange: claims and their outcomes,
completions, and the nodes themselves (registrations, and what
ListComputeNodes shows). Plain dataclasses, no protobuf, as in models.py."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Optional

from .models import Resources, SortMethod


@dataclass(frozen=True)
class Completion:
    """One CompleteJob: the terminal status and the result the worker reports."""

    job_id: int
    status: int
    run_id: int
    return_code: int = 0
    exec_time_seconds: float = 0.0
    compute_node_id: int = 0
    #: 0 = the job's current attempt.
    attempt_id: int = 0
    #: Empty = the server's time of receipt.
    completion_time: str = ""
    peak_memory_bytes: int = 0
    avg_memory_bytes: int = 0
    peak_cpu_percent: float = 0.0
    avg_cpu_percent: float = 0.0
    #: Why the job did not run (the worker could not start it).
    error: str = ""
    #: With granularity "time_series": (seconds, CPU percent, memory bytes) samples.
    samples: tuple[tuple[float, float, int], ...] = ()
    #: Set when the call is about one workflow (ClaimJobs' completions): a job of another is refused.
    workflow_id: int = 0


@dataclass(frozen=True)
class ClaimRequest:
    """What a compute node asks for in ClaimJobs."""

    workflow_id: int
    compute_node_id: int = 0
    resources: Resources = Resources()
    limit: int = 0
    #: None = the workflow's jobs_sort_method.
    sort_method: Optional[SortMethod] = None
    scheduler_config_id: Optional[int] = None
    label: str = ""
    wait_seconds: float = 0.0
    strict_scheduler_match: bool = False
    #: Start the claimed jobs as well (RUNNING for the node).
    start: bool = False
    #: Claim-ahead: jobs an earlier claim gave the node PENDING that it has started since.
    started: tuple[int, ...] = ()
    #: Claim-ahead: this many more rounds, each packed against the node's whole
    #: registered capacity, left PENDING for the node to start later.
    claim_ahead: int = 0


@dataclass(frozen=True)
class ComputeNodeSpec:
    workflow_id: int
    hostname: str = ""
    pid: int = 0
    resources: Resources = Resources()
    scheduler_config_id: Optional[int] = None
    compute_node_type: str = "local"
    #: SLURM_JOB_ID of the allocation the worker runs in ("" = none).
    slurm_job_id: str = ""
    #: Where the node writes its jobs' stdout/stderr ("" = not told).
    output_dir: str = ""


@dataclass(frozen=True)
class ComputeNode:
    """A registered compute node as ListComputeNodes shows it."""

    id: int
    workflow_id: int
    hostname: str
    pid: int
    start_time: str
    resources: Resources
    is_active: bool
    #: Unix time the lease ends without a Heartbeat (None: never).
    lease_expires_at: Optional[float]
    pending_jobs: int
    running_jobs: int
    compute_node_type: str
    slurm_job_id: str
    duration_seconds: float
    #: Where it writes its jobs' stdout/stderr (job_<id>_<run>_<attempt>.o/.e).
    output_dir: str = ""


class ClaimEnd(enum.Enum):
    """Why a claim came back empty."""

    NONE = ""
    #: Nothing ready fits the node (now, or before the long poll ended).
    NONE_FIT = "no ready job fits"
    WORKFLOW_COMPLETE = "workflow is complete"
    WORKFLOW_CANCELED = "workflow is canceled"


@dataclass(frozen=True)
class ClaimOutcome:
    jobs: tuple
    end: ClaimEnd = ClaimEnd.NONE
    #: Fired run_commands actions wait for a worker (ClaimActions).
    actions_pending: bool = False
    #: The workflow's current run.
    run_id: int = 0

    @property
    def reason(self) -> str:
        """The end for a human ("" when jobs came back)."""
        return self.end.value
