from torc_grpc._pb.torc.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ClaimActionsRequest(_message.Message):
    __slots__ = ("workflow_id", "compute_node_id", "trigger_types")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_NODE_ID_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_TYPES_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    compute_node_id: int
    trigger_types: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, workflow_id: _Optional[int] = ..., compute_node_id: _Optional[int] = ..., trigger_types: _Optional[_Iterable[str]] = ...) -> None: ...

class WorkflowAction(_message.Message):
    __slots__ = ("id", "trigger_type", "commands")
    ID_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_TYPE_FIELD_NUMBER: _ClassVar[int]
    COMMANDS_FIELD_NUMBER: _ClassVar[int]
    id: int
    trigger_type: str
    commands: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[int] = ..., trigger_type: _Optional[str] = ..., commands: _Optional[_Iterable[str]] = ...) -> None: ...

class ClaimActionsResponse(_message.Message):
    __slots__ = ("actions",)
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    actions: _containers.RepeatedCompositeFieldContainer[WorkflowAction]
    def __init__(self, actions: _Optional[_Iterable[_Union[WorkflowAction, _Mapping]]] = ...) -> None: ...

class CompleteActionRequest(_message.Message):
    __slots__ = ("action_id", "compute_node_id", "return_code", "message")
    ACTION_ID_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_NODE_ID_FIELD_NUMBER: _ClassVar[int]
    RETURN_CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    action_id: int
    compute_node_id: int
    return_code: int
    message: str
    def __init__(self, action_id: _Optional[int] = ..., compute_node_id: _Optional[int] = ..., return_code: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class CompleteActionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RegisterComputeNodeRequest(_message.Message):
    __slots__ = ("workflow_id", "hostname", "pid", "resources", "scheduler_config_id", "compute_node_type", "slurm_job_id", "output_dir")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    SCHEDULER_CONFIG_ID_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_NODE_TYPE_FIELD_NUMBER: _ClassVar[int]
    SLURM_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_DIR_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    hostname: str
    pid: int
    resources: _common_pb2.Resources
    scheduler_config_id: int
    compute_node_type: str
    slurm_job_id: str
    output_dir: str
    def __init__(self, workflow_id: _Optional[int] = ..., hostname: _Optional[str] = ..., pid: _Optional[int] = ..., resources: _Optional[_Union[_common_pb2.Resources, _Mapping]] = ..., scheduler_config_id: _Optional[int] = ..., compute_node_type: _Optional[str] = ..., slurm_job_id: _Optional[str] = ..., output_dir: _Optional[str] = ...) -> None: ...

class RegisterComputeNodeResponse(_message.Message):
    __slots__ = ("compute_node_id", "lease_seconds", "resource_monitor")
    COMPUTE_NODE_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_MONITOR_FIELD_NUMBER: _ClassVar[int]
    compute_node_id: int
    lease_seconds: float
    resource_monitor: _common_pb2.ResourceMonitorSpec
    def __init__(self, compute_node_id: _Optional[int] = ..., lease_seconds: _Optional[float] = ..., resource_monitor: _Optional[_Union[_common_pb2.ResourceMonitorSpec, _Mapping]] = ...) -> None: ...

class ClaimJobsRequest(_message.Message):
    __slots__ = ("workflow_id", "compute_node_id", "resources", "limit", "sort_method", "scheduler_config_id", "label", "wait_seconds", "strict_scheduler_match", "completions", "start", "started", "claim_ahead")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_NODE_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    SORT_METHOD_FIELD_NUMBER: _ClassVar[int]
    SCHEDULER_CONFIG_ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    WAIT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    STRICT_SCHEDULER_MATCH_FIELD_NUMBER: _ClassVar[int]
    COMPLETIONS_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    CLAIM_AHEAD_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    compute_node_id: int
    resources: _common_pb2.Resources
    limit: int
    sort_method: _common_pb2.SortMethod
    scheduler_config_id: int
    label: str
    wait_seconds: float
    strict_scheduler_match: bool
    completions: _containers.RepeatedCompositeFieldContainer[CompleteJobRequest]
    start: bool
    started: _containers.RepeatedScalarFieldContainer[int]
    claim_ahead: int
    def __init__(self, workflow_id: _Optional[int] = ..., compute_node_id: _Optional[int] = ..., resources: _Optional[_Union[_common_pb2.Resources, _Mapping]] = ..., limit: _Optional[int] = ..., sort_method: _Optional[_Union[_common_pb2.SortMethod, str]] = ..., scheduler_config_id: _Optional[int] = ..., label: _Optional[str] = ..., wait_seconds: _Optional[float] = ..., strict_scheduler_match: _Optional[bool] = ..., completions: _Optional[_Iterable[_Union[CompleteJobRequest, _Mapping]]] = ..., start: _Optional[bool] = ..., started: _Optional[_Iterable[int]] = ..., claim_ahead: _Optional[int] = ...) -> None: ...

class ClaimJobsResponse(_message.Message):
    __slots__ = ("jobs", "reason", "workflow_complete", "workflow_canceled", "actions_pending", "completed", "run_id", "not_started")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_COMPLETE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_CANCELED_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_PENDING_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    NOT_STARTED_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[_common_pb2.Job]
    reason: str
    workflow_complete: bool
    workflow_canceled: bool
    actions_pending: bool
    completed: _containers.RepeatedCompositeFieldContainer[CompleteJobOutcome]
    run_id: int
    not_started: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, jobs: _Optional[_Iterable[_Union[_common_pb2.Job, _Mapping]]] = ..., reason: _Optional[str] = ..., workflow_complete: _Optional[bool] = ..., workflow_canceled: _Optional[bool] = ..., actions_pending: _Optional[bool] = ..., completed: _Optional[_Iterable[_Union[CompleteJobOutcome, _Mapping]]] = ..., run_id: _Optional[int] = ..., not_started: _Optional[_Iterable[int]] = ...) -> None: ...

class ClaimNextJobsRequest(_message.Message):
    __slots__ = ("workflow_id", "compute_node_id", "limit")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_NODE_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    compute_node_id: int
    limit: int
    def __init__(self, workflow_id: _Optional[int] = ..., compute_node_id: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class ClaimNextJobsResponse(_message.Message):
    __slots__ = ("jobs",)
    JOBS_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[_common_pb2.Job]
    def __init__(self, jobs: _Optional[_Iterable[_Union[_common_pb2.Job, _Mapping]]] = ...) -> None: ...

class StartJobRequest(_message.Message):
    __slots__ = ("job_id", "run_id", "compute_node_id")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_NODE_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    run_id: int
    compute_node_id: int
    def __init__(self, job_id: _Optional[int] = ..., run_id: _Optional[int] = ..., compute_node_id: _Optional[int] = ...) -> None: ...

class StartJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: _common_pb2.Job
    def __init__(self, job: _Optional[_Union[_common_pb2.Job, _Mapping]] = ...) -> None: ...

class CompleteJobRequest(_message.Message):
    __slots__ = ("job_id", "status", "run_id", "result")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    status: _common_pb2.JobStatus
    run_id: int
    result: _common_pb2.JobResult
    def __init__(self, job_id: _Optional[int] = ..., status: _Optional[_Union[_common_pb2.JobStatus, str]] = ..., run_id: _Optional[int] = ..., result: _Optional[_Union[_common_pb2.JobResult, _Mapping]] = ...) -> None: ...

class CompleteJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: _common_pb2.Job
    def __init__(self, job: _Optional[_Union[_common_pb2.Job, _Mapping]] = ...) -> None: ...

class CompleteJobsRequest(_message.Message):
    __slots__ = ("completions",)
    COMPLETIONS_FIELD_NUMBER: _ClassVar[int]
    completions: _containers.RepeatedCompositeFieldContainer[CompleteJobRequest]
    def __init__(self, completions: _Optional[_Iterable[_Union[CompleteJobRequest, _Mapping]]] = ...) -> None: ...

class CompleteJobOutcome(_message.Message):
    __slots__ = ("job_id", "ok", "code", "message", "retried", "recovery_script", "already_complete")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RETRIED_FIELD_NUMBER: _ClassVar[int]
    RECOVERY_SCRIPT_FIELD_NUMBER: _ClassVar[int]
    ALREADY_COMPLETE_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    ok: bool
    code: int
    message: str
    retried: bool
    recovery_script: str
    already_complete: bool
    def __init__(self, job_id: _Optional[int] = ..., ok: _Optional[bool] = ..., code: _Optional[int] = ..., message: _Optional[str] = ..., retried: _Optional[bool] = ..., recovery_script: _Optional[str] = ..., already_complete: _Optional[bool] = ...) -> None: ...

class CompleteJobsResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[CompleteJobOutcome]
    def __init__(self, results: _Optional[_Iterable[_Union[CompleteJobOutcome, _Mapping]]] = ...) -> None: ...

class DeregisterComputeNodeRequest(_message.Message):
    __slots__ = ("compute_node_id",)
    COMPUTE_NODE_ID_FIELD_NUMBER: _ClassVar[int]
    compute_node_id: int
    def __init__(self, compute_node_id: _Optional[int] = ...) -> None: ...

class DeregisterComputeNodeResponse(_message.Message):
    __slots__ = ("requeued_job_ids", "failed_job_ids")
    REQUEUED_JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    FAILED_JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    requeued_job_ids: _containers.RepeatedScalarFieldContainer[int]
    failed_job_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, requeued_job_ids: _Optional[_Iterable[int]] = ..., failed_job_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class HeartbeatRequest(_message.Message):
    __slots__ = ("compute_node_id",)
    COMPUTE_NODE_ID_FIELD_NUMBER: _ClassVar[int]
    compute_node_id: int
    def __init__(self, compute_node_id: _Optional[int] = ...) -> None: ...

class HeartbeatResponse(_message.Message):
    __slots__ = ("lease_seconds", "pending_job_ids", "running_job_ids")
    LEASE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    PENDING_JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    RUNNING_JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    lease_seconds: float
    pending_job_ids: _containers.RepeatedScalarFieldContainer[int]
    running_job_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, lease_seconds: _Optional[float] = ..., pending_job_ids: _Optional[_Iterable[int]] = ..., running_job_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class WatchReadyJobsRequest(_message.Message):
    __slots__ = ("workflow_id", "compute_node_id")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_NODE_ID_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    compute_node_id: int
    def __init__(self, workflow_id: _Optional[int] = ..., compute_node_id: _Optional[int] = ...) -> None: ...

class WatchReadyJobsResponse(_message.Message):
    __slots__ = ("job_ids", "workflow_complete", "workflow_canceled")
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_COMPLETE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_CANCELED_FIELD_NUMBER: _ClassVar[int]
    job_ids: _containers.RepeatedScalarFieldContainer[int]
    workflow_complete: bool
    workflow_canceled: bool
    def __init__(self, job_ids: _Optional[_Iterable[int]] = ..., workflow_complete: _Optional[bool] = ..., workflow_canceled: _Optional[bool] = ...) -> None: ...
