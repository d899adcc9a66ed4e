"""Every SQL statement of torc-grpc, grouped by table; the only package that
talks to apsw.

Functions take a connection and plain values and return models, named
records (records.py) or plain ids; they never commit (the engine owns
transactions through db.transaction). Statements are parameterized constants
in their table's module; the one place that builds SQL text from a count is
_rows.placeholders() for IN lists, and statuses in SQL come from JobStatus
(_rows.statuses_sql). This face names everything the engine may use.
"""

from __future__ import annotations

from .access import (
    GroupRow,
    WorkerTokenRow,
    add_member,
    delete_group,
    group_by_name,
    insert_group,
    insert_worker_token,
    job_workflow,
    job_workflows,
    link_workflow,
    list_groups,
    node_workflow,
    remove_member,
    revoke_worker_token,
    unlink_workflow,
    worker_token_by_digest,
    worker_token_by_id,
    worker_tokens_of,
    workflow_group_names,
    workflow_members,
    workflow_owner,
)
from .actions import (
    action_by_id,
    actions,
    claim_action,
    count_by_status,
    count_jobs,
    fire_due,
    fired_unclaimed,
    has_actions,
    insert_action,
    node_ran,
    reset_actions,
    trigger_workflow,
)
from .compute_nodes import (
    compute_node_owner,
    compute_node_resources,
    count_active_nodes,
    deactivate_node,
    expired_nodes,
    extend_active_leases,
    insert_compute_node,
    list_compute_nodes,
    node_lease,
    renew_lease,
)
from .db import (
    SCHEMA_VERSION,
    Connection,
    busy_as_store_busy,
    close_connection,
    migrate,
    open_connection,
    sqlite_version,
    transaction,
)
from .dumps import dump_file, dump_tables, file_integrity_problems, integrity_problems
from .events import insert_event, last_event_id, list_events
from .items import (
    delete_items,
    insert_failure_handlers,
    insert_files,
    insert_resource_requirements,
    insert_user_data,
    job_rules,
    name_map,
)
from .job_status import (
    cancel_in_flight,
    claim_jobs,
    clear_unblocking,
    complete_job,
    fence_reset,
    fence_reset_all,
    in_flight_count,
    live_claims,
    node_jobs,
    pending_unblock,
    requeue_pending,
    reset_all_jobs,
    reset_jobs,
    resettable_failed,
    retry_ready,
    retry_uninitialized,
    set_initialized_statuses,
    start_job,
    workflows_pending_unblock,
    write_unblocked,
    set_resources,
    statuses_of,
)
from .jobs import (
    class_rows,
    downstream,
    get_job,
    insert_edges,
    insert_jobs,
    insert_relations,
    job_names,
    job_state,
    claimed_jobs,
    jobs_by_ids,
    list_jobs,
    load_graph_arrays,
    picture_rows,
    materialize_implicit_edges,
    output_paths,
    ready_class_rows,
    ready_job_ids,
)
from .records import ExpiredNode, JobAndStatus, JobState, NodeLease, NodeOwner, ReadyRow, WorkflowBrief
from .results import insert_result, latest_return_code, list_results
from .sql_reference import sql_unblock, sql_unblock_batch
from .workflows import (
    clear_cancel,
    delete_workflow,
    get_workflow,
    insert_workflow,
    list_workflows,
    set_canceled,
    resource_monitor,
    set_resource_monitor,
    start_run,
    workflow_brief,
)
from .slurm import (
    active_nodes_of_slurm_job,
    allocation_by_id,
    allocation_of_slurm_job,
    allocation_states,
    allocations,
    insert_allocation,
    insert_schedulers,
    live_allocations,
    mark_worker_seen,
    scheduler_by_id,
    scheduler_by_name,
    schedulers,
    set_breaker,
    set_node_slurm_job,
    set_slurm_settings,
    slurm_settings,
    update_allocation,
    work_by_class,
    workflows_with_schedulers,
)

__all__ = [
    "action_by_id", "actions", "claim_action", "count_by_status", "count_jobs", "fire_due", "fired_unclaimed", "has_actions", "insert_action", "node_ran", "reset_actions", "trigger_workflow",
    "active_nodes_of_slurm_job", "allocation_by_id", "allocation_of_slurm_job", "allocations", "insert_allocation", "insert_schedulers", "live_allocations", "mark_worker_seen", "scheduler_by_id", "scheduler_by_name", "schedulers", "set_breaker", "set_node_slurm_job", "set_slurm_settings", "slurm_settings", "update_allocation", "work_by_class", "workflows_with_schedulers",
    "GroupRow", "WorkerTokenRow", "add_member", "delete_group", "group_by_name", "insert_group",
    "insert_worker_token", "job_workflow", "job_workflows", "link_workflow", "list_groups", "node_workflow",
    "remove_member", "revoke_worker_token", "unlink_workflow", "worker_token_by_digest",
    "worker_token_by_id", "worker_tokens_of", "workflow_group_names", "workflow_members",
    "workflow_owner",
    "SCHEMA_VERSION", "Connection", "ExpiredNode", "JobAndStatus", "JobState", "NodeLease",
    "NodeOwner", "ReadyRow", "busy_as_store_busy", "cancel_in_flight", "claim_jobs",
    "class_rows", "clear_cancel", "clear_unblocking", "close_connection", "complete_job",
    "compute_node_owner", "compute_node_resources", "count_active_nodes", "allocation_states", "deactivate_node", "delete_items",
    "delete_workflow", "downstream", "dump_file", "dump_tables", "file_integrity_problems", "expired_nodes", "extend_active_leases", "fence_reset", "fence_reset_all", "live_claims",
    "get_job", "get_workflow", "in_flight_count", "insert_compute_node", "insert_edges",
    "insert_event", "insert_failure_handlers", "list_compute_nodes", "insert_files", "insert_jobs",
    "insert_relations", "insert_resource_requirements", "insert_result", "insert_user_data",
    "insert_workflow", "integrity_problems", "job_names", "job_rules", "job_state",
    "claimed_jobs", "jobs_by_ids", "last_event_id", "latest_return_code", "list_events", "list_jobs",
    "list_results", "list_workflows", "load_graph_arrays", "picture_rows", "materialize_implicit_edges",
    "migrate", "name_map", "node_jobs", "node_lease", "open_connection", "output_paths",
    "pending_unblock", "ready_class_rows", "ready_job_ids", "renew_lease", "requeue_pending",
    "reset_all_jobs", "reset_jobs", "resettable_failed", "retry_ready", "retry_uninitialized",
    "set_canceled", "set_initialized_statuses", "sql_unblock", "sql_unblock_batch", "sqlite_version", "start_job",
    "start_run", "set_resources", "statuses_of", "transaction", "workflow_brief", "WorkflowBrief", "resource_monitor", "set_resource_monitor", "workflows_pending_unblock",
    "write_unblocked",
]
