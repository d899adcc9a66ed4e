"""The consistency owner of torc-grpc: one public face over services composed
on one core.

    core.py         lock, connections, per-workflow state, the transaction object
    definitions.py  create, add jobs, delete
    runs.py         initialize, start
    reads.py        every read, status counts, server facts
    claims.py       compute nodes, claims (long poll), start
    completion.py   CompleteJob(s) group commit; the one write of a completion
    retries.py      failure-handler rules and retry limits
    lifecycle.py    cancel, reset, retry
    access.py       access groups, worker tokens, the authorizer's lookups
    actions.py      workflow actions: trigger counting, firing, workers' claims
    allocations.py  Slurm allocations, demand and orphans (for the allocator)
    leases.py       heartbeats, lease expiry
    unblocking.py   the unblocker's batch step, crash recovery
    streams.py      WatchReadyJobs / WatchEvents subscriptions
    state.py        WorkflowState (graph + ready index + change condition)
    unblocker.py    the unblocker thread

The concurrency and transaction contract is documented once, in core.py.
Every public method of Engine is one line of delegation; a storage error
that escapes a service (the database locked past the busy timeout) becomes
the core's retryable StoreBusy here, never an apsw exception.
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator, Optional, Sequence

from .. import dag, store
from ..errors import TorcError
from ..models import (
    ClaimOutcome,
    ClaimRequest,
    Completion,
    ComputeNodeSpec,
    Event,
    InitializeOutcome,
    Job,
    JobBatch,
    OperatorStats,
    Page,
    ResourceMonitor,
    ResourceRequirementsSpec,
    Severity,
    StorageFacts,
    Workflow,
    WorkflowSpec,
    WorkflowStatus,
)
from ..notifier import EventSubscription, Notifier, ReadySubscription
from .access import Access
from .actions import ActionRuns, ActionTriggers
from .allocations import Allocations
from .claims import AnswerFits, Claims
from .completion import Completer, CompletionOutcome, Cycle
from .core import EngineCore
from .definitions import Definitions
from .leases import Leases
from .lifecycle import Lifecycle
from .reads import Reads
from .runs import Runs
from .state import Cancel
from .streams import Streams
from .unblocker import Unblocker, interval_from_env
from .unblocking import Unblocking

__all__ = ["Cancel", "CompletionOutcome", "Cycle", "Engine"]

_busy = store.busy_as_store_busy


class Engine:
    """Owns the database and every state change of torc-grpc.

    Args:
        path: SQLite database file (created and migrated when needed). It must
            be on a local disk: WAL needs shared memory on one host.
        lease_seconds: How long a compute node's registration lasts without
            a heartbeat (0 = leases never expire). On start every active
            node gets a fresh lease: nobody could heartbeat while the server
            was down.
        unblock_interval: Deliberate batching delay of the unblocker (default:
            TORC_UNBLOCK_INTERVAL, 0 = event-driven).
        recover: Re-process completions whose unblocking was not committed
            before the last stop (always, except in tests of that very path).
    """

    def __init__(
        self,
        path: str,
        *,
        lease_seconds: float = 120.0,
        unblock_interval: Optional[float] = None,
        recover: bool = True,
    ) -> None:
        interval = interval_from_env() if unblock_interval is None else unblock_interval
        core = EngineCore(path, lease_seconds, interval)
        self._core = core
        self._reads = Reads(core)
        self._definitions = Definitions(core)
        self._triggers = ActionTriggers(core)
        self._runs = Runs(core, self._triggers)
        self._claims = Claims(core, self._reads)
        self._completer = Completer(core)
        self._lifecycle = Lifecycle(core, self._runs, self._reads)
        self._leases = Leases(core, self._completer)
        self._unblocking = Unblocking(core, self._triggers)
        self._actions = ActionRuns(core)
        self._allocations = Allocations(core, self._leases, self._reads)
        self._streams = Streams(core)
        self._access = Access(core)
        core.unblocker.start(self._unblocking.process)
        if recover:
            self._unblocking.recover_pending()
        self._leases.start()

    # ------------------------------------------------------------ facts and parts
    @property
    def path(self) -> str:
        return self._core.path

    @property
    def lease_seconds(self) -> float:
        return self._core.lease_seconds

    @property
    def schema_version(self) -> int:
        return self._core.schema_version

    @property
    def notifier(self) -> Notifier:
        """Stream subscribers (the server sets their limits and ends them on shutdown)."""
        return self._core.notifier

    @property
    def unblocker(self) -> Unblocker:
        return self._core.unblocker

    def close(self) -> None:
        """Stop the threads (the unblocker flushes first), then close every connection."""
        if self._core.closed:
            return
        self._leases.stop()
        self._core.unblocker.stop()
        self._core.close_connections()

    # ------------------------------------------------------------ definitions
    @_busy
    def create_workflow(self, spec: WorkflowSpec) -> tuple[Workflow, dict[str, int]]:
        return self._definitions.create_workflow(spec)

    @_busy
    def add_jobs(self, batches: Iterable[JobBatch]) -> int:
        return self._definitions.add_jobs(batches)

    @_busy
    def delete_workflow(self, workflow_id: int) -> None:
        return self._definitions.delete_workflow(workflow_id)

    # ------------------------------------------------------------ runs and lifecycle
    @_busy
    def initialize_jobs(self, workflow_id: int, only_uninitialized: bool = False) -> InitializeOutcome:
        return self._runs.initialize_jobs(workflow_id, only_uninitialized)

    @_busy
    def start_workflow(self, workflow_id: int, rerun_all: bool = False) -> InitializeOutcome:
        return self._runs.start_workflow(workflow_id, rerun_all)

    @_busy
    def cancel_workflow(self, workflow_id: int) -> int:
        return self._lifecycle.cancel_workflow(workflow_id)

    @_busy
    def update_job_resources(self, workflow_id: int, job_ids: Sequence[int],
                             resources: ResourceRequirementsSpec) -> int:
        return self._lifecycle.update_job_resources(workflow_id, job_ids, resources)

    @_busy
    def reset_job_status(self, workflow_id: int, failed_only: bool = False, force: bool = False) -> int:
        return self._lifecycle.reset_job_status(workflow_id, failed_only, force)

    @_busy
    def retry_job(self, job_id: int, run_id: int, max_retries: int = 0) -> Job:
        return self._lifecycle.retry_job(job_id, run_id, max_retries)

    # ------------------------------------------------------------ reads
    @_busy
    def get_workflow(self, workflow_id: int) -> Workflow:
        return self._reads.get_workflow(workflow_id)

    @_busy
    def list_workflows(self, user: str = "", after_id: int = 0, limit: int = 0,
                       visible_to: Optional[str] = None) -> Page:
        return self._reads.list_workflows(user, after_id, limit, visible_to)

    @_busy
    def get_workflow_status(self, workflow_id: int) -> WorkflowStatus:
        return self._reads.get_workflow_status(workflow_id)

    @_busy
    def get_job(self, job_id: int) -> Job:
        return self._reads.get_job(job_id)

    @_busy
    def job_brief(self, job_id: int) -> Job:
        return self._reads.job_brief(job_id)

    @_busy
    def list_jobs(self, workflow_id: int, statuses: Sequence[int] = (), after_id: int = 0,
                  limit: int = 0) -> Page:
        return self._reads.list_jobs(workflow_id, statuses, after_id, limit)

    def operator_stats(self) -> OperatorStats:
        return self._reads.operator_stats()

    def set_unblock_observer(self, observer: Optional[Callable[[int, float], None]]) -> None:
        """Called after each unblocker batch with (completions, seconds)."""
        self._core.unblock_observer = observer

    @_busy
    def workflow_picture(self, workflow_id: int, grouping: int = 0, max_nodes: int = 0) -> dag.Picture:
        return self._reads.workflow_picture(workflow_id, grouping, max_nodes)

    @_busy
    def resource_monitor(self, workflow_id: int) -> ResourceMonitor:
        return self._reads.resource_monitor(workflow_id)

    @_busy
    def list_compute_nodes(self, workflow_id: int, active_only: bool = False, after_id: int = 0,
                           limit: int = 0) -> Page:
        return self._reads.list_compute_nodes(workflow_id, active_only, after_id, limit)

    @_busy
    def list_events(self, workflow_id: int, after: int = 0, limit: int = 0,
                    min_severity: int = 0) -> Page:
        return self._reads.list_events(workflow_id, after, limit, min_severity)

    @_busy
    def list_results(self, workflow_id: int, all_runs: bool = False, job_id: int = 0,
                     statuses: Sequence[int] = (), after_id: int = 0, limit: int = 0) -> Page:
        return self._reads.list_results(workflow_id, all_runs, job_id, statuses, after_id, limit)

    def storage_facts(self) -> StorageFacts:
        return self._reads.storage_facts()

    # ------------------------------------------------------------ compute nodes
    @_busy
    def register_compute_node(self, spec: ComputeNodeSpec) -> int:
        return self._claims.register_compute_node(spec)

    @_busy
    def claim_jobs(self, req: ClaimRequest, answer_fits: Optional[AnswerFits] = None,
                   cancel: Optional[Cancel] = None) -> ClaimOutcome:
        return self._claims.claim_jobs(req, answer_fits, cancel)

    @_busy
    def complete_and_claim(self, req: ClaimRequest, completions: Sequence[Completion],
                           answer_fits: Optional[AnswerFits] = None, cancel: Optional[Cancel] = None
                           ) -> Cycle:
        return self._completer.complete_and_claim(self._claims, req, completions, answer_fits, cancel)

    @_busy
    def claim_next_jobs(self, workflow_id: int, compute_node_id: int = 0, limit: int = 0,
                        answer_fits: Optional[AnswerFits] = None) -> ClaimOutcome:
        return self._claims.claim_next_jobs(workflow_id, compute_node_id, limit, answer_fits)

    @_busy
    def start_job(self, job_id: int, run_id: int, compute_node_id: int = 0) -> Job:
        return self._claims.start_job(job_id, run_id, compute_node_id)

    @_busy
    def complete_job(self, completion: Completion) -> Job:
        return self._completer.complete_job(completion)

    @_busy
    def complete_jobs(self, completions: Sequence[Completion]) -> list[Optional[TorcError]]:
        """Per item None (accepted) or its refusal (see completion.py)."""
        return self._completer.complete_jobs(completions).refusals

    @_busy
    def complete_jobs_detailed(self, completions: Sequence[Completion]) -> CompletionOutcome:
        return self._completer.complete_jobs(completions)

    @_busy
    def heartbeat(self, compute_node_id: int) -> tuple[float, list[int], list[int]]:
        return self._leases.heartbeat(compute_node_id)

    @_busy
    def deregister_compute_node(self, compute_node_id: int) -> tuple[list[int], list[int]]:
        return self._leases.deregister(compute_node_id)

    @_busy
    def expire_leases(self, now: Optional[float] = None) -> int:
        return self._leases.expire_leases(now)

    @_busy
    def recover_pending_unblocking(self) -> int:
        return self._unblocking.recover_pending()

    # ------------------------------------------------------------ access
    @property
    def access(self) -> Access:
        """Groups, worker tokens and the lookups of the transport's authorizer."""
        return self._access

    # ------------------------------------------------------------ actions and Slurm
    @property
    def actions(self) -> ActionRuns:
        """Fired run_commands actions, for workers."""
        return self._actions

    @property
    def slurm(self) -> Allocations:
        """Schedulers, demand and allocation records, for the Slurm allocator."""
        return self._allocations

    def enable_slurm(self, listener: Callable[[int], None]) -> None:
        """`serve --slurm`: workflows may need Slurm; `listener(workflow_id)` is
        called after a commit that fired one of its schedule_nodes actions."""
        self._core.slurm_enabled = True
        self._core.slurm_listener = listener

    # ------------------------------------------------------------ streams
    @_busy
    def watch_ready(self, workflow_id: int, compute_node_id: int = 0, owner: str = "") -> ReadySubscription:
        return self._streams.watch_ready(workflow_id, compute_node_id, owner)

    @_busy
    def watch_events(self, workflow_id: int, min_severity: int = Severity.INFO,
                     replay_after: Optional[int] = None, owner: str = ""
                     ) -> tuple[EventSubscription, Iterator[Event]]:
        return self._streams.watch_events(workflow_id, min_severity, replay_after, owner)

    @_busy
    def watch_status(self, workflow_id: int, interval: float = 0.0, owner: str = ""
                     ) -> tuple[EventSubscription, Iterator[WorkflowStatus]]:
        return self._streams.watch_status(workflow_id, self._reads.get_workflow_status, interval, owner)
