"""The one method table: what every RPC needs, and where its workflow is.

A test walks every method of every torc.v1 service in the descriptor pool
and fails when one has no entry, so a new RPC cannot be left open.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from torc_core.access import Permission


class Locate(enum.Enum):
    """Where the workflow a call acts on is found."""

    NONE = "none"  # no workflow (create, list, groups by name, server facts)
    WORKFLOW = "workflow"  # request.workflow_id
    JOB = "job"  # request.job_id -> its workflow
    NODE = "node"  # request.compute_node_id -> its workflow
    COMPLETIONS = "completions"  # every completion's job -> its workflow
    STREAM = "stream"  # every AddJobs message's workflow_id
    CREATE = "create"  # CreateWorkflow: the spec's user must be the caller (or an admin's choice)


@dataclass(frozen=True)
class Rule:
    permission: Permission
    locate: Locate = Locate.NONE
    #: A worker token may make this call (on its own workflow).
    worker_ok: bool = False


P, L = Permission, Locate
AUTH = Rule(P.AUTHENTICATED)
READ = Rule(P.READ, L.WORKFLOW)
WORKER_READ = Rule(P.READ, L.WORKFLOW, worker_ok=True)
OPERATE = Rule(P.OPERATE, L.WORKFLOW)

METHODS: dict[str, Rule] = {
    # WorkflowService
    "torc.v1.WorkflowService.CreateWorkflow": Rule(P.AUTHENTICATED, L.CREATE),
    "torc.v1.WorkflowService.AddJobs": Rule(P.OPERATE, L.STREAM),
    "torc.v1.WorkflowService.GetWorkflow": READ,
    "torc.v1.WorkflowService.ListWorkflows": AUTH,  # shows only what the caller may see
    "torc.v1.WorkflowService.DeleteWorkflow": Rule(P.OWN, L.WORKFLOW),
    "torc.v1.WorkflowService.InitializeJobs": OPERATE,
    "torc.v1.WorkflowService.StartWorkflow": OPERATE,
    "torc.v1.WorkflowService.GetWorkflowStatus": WORKER_READ,
    "torc.v1.WorkflowService.CancelWorkflow": OPERATE,
    "torc.v1.WorkflowService.ResetJobStatus": OPERATE,
    "torc.v1.WorkflowService.ListComputeNodes": READ,
    "torc.v1.WorkflowService.GetWorkflowGraph": READ,
    "torc.v1.WorkflowService.WatchWorkflowStatus": READ,
    # JobService
    "torc.v1.JobService.GetJob": Rule(P.READ, L.JOB, worker_ok=True),
    "torc.v1.JobService.ListJobs": WORKER_READ,
    "torc.v1.JobService.ListResults": READ,
    "torc.v1.JobService.RetryJob": Rule(P.OPERATE, L.JOB),
    "torc.v1.JobService.UpdateJobResources": OPERATE,
    # WorkerService: what compute nodes do
    "torc.v1.WorkerService.RegisterComputeNode": Rule(P.WORKER, L.WORKFLOW, worker_ok=True),
    "torc.v1.WorkerService.ClaimJobs": Rule(P.WORKER, L.WORKFLOW, worker_ok=True),
    "torc.v1.WorkerService.ClaimNextJobs": Rule(P.WORKER, L.WORKFLOW, worker_ok=True),
    "torc.v1.WorkerService.StartJob": Rule(P.WORKER, L.JOB, worker_ok=True),
    "torc.v1.WorkerService.CompleteJob": Rule(P.WORKER, L.JOB, worker_ok=True),
    "torc.v1.WorkerService.CompleteJobs": Rule(P.WORKER, L.COMPLETIONS, worker_ok=True),
    "torc.v1.WorkerService.Heartbeat": Rule(P.WORKER, L.NODE, worker_ok=True),
    "torc.v1.WorkerService.DeregisterComputeNode": Rule(P.WORKER, L.NODE, worker_ok=True),
    "torc.v1.WorkerService.WatchReadyJobs": Rule(P.WORKER, L.WORKFLOW, worker_ok=True),
    "torc.v1.WorkerService.ClaimActions": Rule(P.WORKER, L.WORKFLOW, worker_ok=True),
    "torc.v1.WorkerService.CompleteAction": Rule(P.WORKER, L.NODE, worker_ok=True),
    # SlurmService
    "torc.v1.SlurmService.ListAllocations": READ,
    "torc.v1.SlurmService.ScheduleNodes": OPERATE,
    "torc.v1.SlurmService.CancelAllocations": OPERATE,
    # EventService
    "torc.v1.EventService.ListEvents": READ,
    "torc.v1.EventService.WatchEvents": READ,
    # ServerService
    "torc.v1.ServerService.Ping": AUTH,
    "torc.v1.ServerService.GetVersion": AUTH,
    # AccessService (group changes: the group's creator or an admin, decided by the engine)
    "torc.v1.AccessService.WhoAmI": Rule(P.AUTHENTICATED, worker_ok=True),
    "torc.v1.AccessService.CreateGroup": AUTH,
    "torc.v1.AccessService.DeleteGroup": AUTH,
    "torc.v1.AccessService.AddGroupMember": AUTH,
    "torc.v1.AccessService.RemoveGroupMember": AUTH,
    "torc.v1.AccessService.LinkWorkflowGroup": Rule(P.OWN, L.WORKFLOW),
    "torc.v1.AccessService.UnlinkWorkflowGroup": Rule(P.OWN, L.WORKFLOW),
    "torc.v1.AccessService.ListGroups": AUTH,
    "torc.v1.AccessService.CreateWorkerToken": Rule(P.OWN, L.WORKFLOW),
    "torc.v1.AccessService.RevokeWorkerToken": AUTH,  # the engine checks the token's workflow
    "torc.v1.AccessService.ListWorkerTokens": Rule(P.OWN, L.WORKFLOW),
}

#: Services that stay open (health checks and reflection for grpcurl).
OPEN_PREFIXES = ("/grpc.health.v1.", "/grpc.reflection.")
