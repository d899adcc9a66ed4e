from torc_grpc._pb.torc.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GraphGrouping(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GRAPH_GROUPING_AUTO: _ClassVar[GraphGrouping]
    GRAPH_GROUPING_JOBS: _ClassVar[GraphGrouping]
    GRAPH_GROUPING_NAME: _ClassVar[GraphGrouping]
    GRAPH_GROUPING_DEPTH: _ClassVar[GraphGrouping]
GRAPH_GROUPING_AUTO: GraphGrouping
GRAPH_GROUPING_JOBS: GraphGrouping
GRAPH_GROUPING_NAME: GraphGrouping
GRAPH_GROUPING_DEPTH: GraphGrouping

class CreateWorkflowRequest(_message.Message):
    __slots__ = ("spec",)
    SPEC_FIELD_NUMBER: _ClassVar[int]
    spec: _common_pb2.WorkflowSpec
    def __init__(self, spec: _Optional[_Union[_common_pb2.WorkflowSpec, _Mapping]] = ...) -> None: ...

class CreateWorkflowResponse(_message.Message):
    __slots__ = ("workflow", "job_ids", "job_ids_left_out")
    class JobIdsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    JOB_IDS_LEFT_OUT_FIELD_NUMBER: _ClassVar[int]
    workflow: _common_pb2.Workflow
    job_ids: _containers.ScalarMap[str, int]
    job_ids_left_out: bool
    def __init__(self, workflow: _Optional[_Union[_common_pb2.Workflow, _Mapping]] = ..., job_ids: _Optional[_Mapping[str, int]] = ..., job_ids_left_out: _Optional[bool] = ...) -> None: ...

class AddJobsRequest(_message.Message):
    __slots__ = ("workflow_id", "jobs", "resource_requirements", "files", "user_data", "failure_handlers")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    JOBS_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    USER_DATA_FIELD_NUMBER: _ClassVar[int]
    FAILURE_HANDLERS_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    jobs: _containers.RepeatedCompositeFieldContainer[_common_pb2.JobSpec]
    resource_requirements: _containers.RepeatedCompositeFieldContainer[_common_pb2.ResourceRequirementsSpec]
    files: _containers.RepeatedCompositeFieldContainer[_common_pb2.FileSpec]
    user_data: _containers.RepeatedCompositeFieldContainer[_common_pb2.UserDataSpec]
    failure_handlers: _containers.RepeatedCompositeFieldContainer[_common_pb2.FailureHandlerSpec]
    def __init__(self, workflow_id: _Optional[int] = ..., jobs: _Optional[_Iterable[_Union[_common_pb2.JobSpec, _Mapping]]] = ..., resource_requirements: _Optional[_Iterable[_Union[_common_pb2.ResourceRequirementsSpec, _Mapping]]] = ..., files: _Optional[_Iterable[_Union[_common_pb2.FileSpec, _Mapping]]] = ..., user_data: _Optional[_Iterable[_Union[_common_pb2.UserDataSpec, _Mapping]]] = ..., failure_handlers: _Optional[_Iterable[_Union[_common_pb2.FailureHandlerSpec, _Mapping]]] = ...) -> None: ...

class AddJobsResponse(_message.Message):
    __slots__ = ("count",)
    COUNT_FIELD_NUMBER: _ClassVar[int]
    count: int
    def __init__(self, count: _Optional[int] = ...) -> None: ...

class GetWorkflowRequest(_message.Message):
    __slots__ = ("workflow_id",)
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    def __init__(self, workflow_id: _Optional[int] = ...) -> None: ...

class GetWorkflowResponse(_message.Message):
    __slots__ = ("workflow",)
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    workflow: _common_pb2.Workflow
    def __init__(self, workflow: _Optional[_Union[_common_pb2.Workflow, _Mapping]] = ...) -> None: ...

class ListWorkflowsRequest(_message.Message):
    __slots__ = ("user", "limit", "after_id")
    USER_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    AFTER_ID_FIELD_NUMBER: _ClassVar[int]
    user: str
    limit: int
    after_id: int
    def __init__(self, user: _Optional[str] = ..., limit: _Optional[int] = ..., after_id: _Optional[int] = ...) -> None: ...

class ListWorkflowsResponse(_message.Message):
    __slots__ = ("workflows", "next_after_id")
    WORKFLOWS_FIELD_NUMBER: _ClassVar[int]
    NEXT_AFTER_ID_FIELD_NUMBER: _ClassVar[int]
    workflows: _containers.RepeatedCompositeFieldContainer[_common_pb2.Workflow]
    next_after_id: int
    def __init__(self, workflows: _Optional[_Iterable[_Union[_common_pb2.Workflow, _Mapping]]] = ..., next_after_id: _Optional[int] = ...) -> None: ...

class DeleteWorkflowRequest(_message.Message):
    __slots__ = ("workflow_id",)
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    def __init__(self, workflow_id: _Optional[int] = ...) -> None: ...

class DeleteWorkflowResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InitializeJobsRequest(_message.Message):
    __slots__ = ("workflow_id", "only_uninitialized")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    ONLY_UNINITIALIZED_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    only_uninitialized: bool
    def __init__(self, workflow_id: _Optional[int] = ..., only_uninitialized: _Optional[bool] = ...) -> None: ...

class InitializeJobsResponse(_message.Message):
    __slots__ = ("num_ready", "num_blocked", "num_canceled")
    NUM_READY_FIELD_NUMBER: _ClassVar[int]
    NUM_BLOCKED_FIELD_NUMBER: _ClassVar[int]
    NUM_CANCELED_FIELD_NUMBER: _ClassVar[int]
    num_ready: int
    num_blocked: int
    num_canceled: int
    def __init__(self, num_ready: _Optional[int] = ..., num_blocked: _Optional[int] = ..., num_canceled: _Optional[int] = ...) -> None: ...

class StartWorkflowRequest(_message.Message):
    __slots__ = ("workflow_id", "rerun_all")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    RERUN_ALL_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    rerun_all: bool
    def __init__(self, workflow_id: _Optional[int] = ..., rerun_all: _Optional[bool] = ...) -> None: ...

class StartWorkflowResponse(_message.Message):
    __slots__ = ("run_id", "num_ready", "num_blocked", "num_canceled")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    NUM_READY_FIELD_NUMBER: _ClassVar[int]
    NUM_BLOCKED_FIELD_NUMBER: _ClassVar[int]
    NUM_CANCELED_FIELD_NUMBER: _ClassVar[int]
    run_id: int
    num_ready: int
    num_blocked: int
    num_canceled: int
    def __init__(self, run_id: _Optional[int] = ..., num_ready: _Optional[int] = ..., num_blocked: _Optional[int] = ..., num_canceled: _Optional[int] = ...) -> None: ...

class GetWorkflowStatusRequest(_message.Message):
    __slots__ = ("workflow_id",)
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    def __init__(self, workflow_id: _Optional[int] = ...) -> None: ...

class JobStatusCount(_message.Message):
    __slots__ = ("status", "count")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    status: _common_pb2.JobStatus
    count: int
    def __init__(self, status: _Optional[_Union[_common_pb2.JobStatus, str]] = ..., count: _Optional[int] = ...) -> None: ...

class GetWorkflowStatusResponse(_message.Message):
    __slots__ = ("run_id", "is_canceled", "is_complete", "counts", "num_jobs", "last_event_id")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    IS_CANCELED_FIELD_NUMBER: _ClassVar[int]
    IS_COMPLETE_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    NUM_JOBS_FIELD_NUMBER: _ClassVar[int]
    LAST_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: int
    is_canceled: bool
    is_complete: bool
    counts: _containers.RepeatedCompositeFieldContainer[JobStatusCount]
    num_jobs: int
    last_event_id: int
    def __init__(self, run_id: _Optional[int] = ..., is_canceled: _Optional[bool] = ..., is_complete: _Optional[bool] = ..., counts: _Optional[_Iterable[_Union[JobStatusCount, _Mapping]]] = ..., num_jobs: _Optional[int] = ..., last_event_id: _Optional[int] = ...) -> None: ...

class WatchWorkflowStatusRequest(_message.Message):
    __slots__ = ("workflow_id", "min_interval_seconds")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    MIN_INTERVAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    min_interval_seconds: float
    def __init__(self, workflow_id: _Optional[int] = ..., min_interval_seconds: _Optional[float] = ...) -> None: ...

class CancelWorkflowRequest(_message.Message):
    __slots__ = ("workflow_id",)
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    def __init__(self, workflow_id: _Optional[int] = ...) -> None: ...

class CancelWorkflowResponse(_message.Message):
    __slots__ = ("num_canceled",)
    NUM_CANCELED_FIELD_NUMBER: _ClassVar[int]
    num_canceled: int
    def __init__(self, num_canceled: _Optional[int] = ...) -> None: ...

class ResetJobStatusRequest(_message.Message):
    __slots__ = ("workflow_id", "failed_only", "force")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    FAILED_ONLY_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    failed_only: bool
    force: bool
    def __init__(self, workflow_id: _Optional[int] = ..., failed_only: _Optional[bool] = ..., force: _Optional[bool] = ...) -> None: ...

class ResetJobStatusResponse(_message.Message):
    __slots__ = ("updated_count",)
    UPDATED_COUNT_FIELD_NUMBER: _ClassVar[int]
    updated_count: int
    def __init__(self, updated_count: _Optional[int] = ...) -> None: ...

class ListComputeNodesRequest(_message.Message):
    __slots__ = ("workflow_id", "active_only", "limit", "after_id")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_ONLY_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    AFTER_ID_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    active_only: bool
    limit: int
    after_id: int
    def __init__(self, workflow_id: _Optional[int] = ..., active_only: _Optional[bool] = ..., limit: _Optional[int] = ..., after_id: _Optional[int] = ...) -> None: ...

class ComputeNode(_message.Message):
    __slots__ = ("id", "workflow_id", "hostname", "pid", "start_time", "resources", "is_active", "lease_left_seconds", "pending_jobs", "running_jobs", "compute_node_type", "slurm_job_id", "duration_seconds", "output_dir")
    ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    IS_ACTIVE_FIELD_NUMBER: _ClassVar[int]
    LEASE_LEFT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    PENDING_JOBS_FIELD_NUMBER: _ClassVar[int]
    RUNNING_JOBS_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_NODE_TYPE_FIELD_NUMBER: _ClassVar[int]
    SLURM_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_DIR_FIELD_NUMBER: _ClassVar[int]
    id: int
    workflow_id: int
    hostname: str
    pid: int
    start_time: str
    resources: _common_pb2.Resources
    is_active: bool
    lease_left_seconds: float
    pending_jobs: int
    running_jobs: int
    compute_node_type: str
    slurm_job_id: str
    duration_seconds: float
    output_dir: str
    def __init__(self, id: _Optional[int] = ..., workflow_id: _Optional[int] = ..., hostname: _Optional[str] = ..., pid: _Optional[int] = ..., start_time: _Optional[str] = ..., resources: _Optional[_Union[_common_pb2.Resources, _Mapping]] = ..., is_active: _Optional[bool] = ..., lease_left_seconds: _Optional[float] = ..., pending_jobs: _Optional[int] = ..., running_jobs: _Optional[int] = ..., compute_node_type: _Optional[str] = ..., slurm_job_id: _Optional[str] = ..., duration_seconds: _Optional[float] = ..., output_dir: _Optional[str] = ...) -> None: ...

class ListComputeNodesResponse(_message.Message):
    __slots__ = ("nodes", "next_after_id")
    NODES_FIELD_NUMBER: _ClassVar[int]
    NEXT_AFTER_ID_FIELD_NUMBER: _ClassVar[int]
    nodes: _containers.RepeatedCompositeFieldContainer[ComputeNode]
    next_after_id: int
    def __init__(self, nodes: _Optional[_Iterable[_Union[ComputeNode, _Mapping]]] = ..., next_after_id: _Optional[int] = ...) -> None: ...

class GetWorkflowGraphRequest(_message.Message):
    __slots__ = ("workflow_id", "grouping", "max_nodes")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    GROUPING_FIELD_NUMBER: _ClassVar[int]
    MAX_NODES_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    grouping: GraphGrouping
    max_nodes: int
    def __init__(self, workflow_id: _Optional[int] = ..., grouping: _Optional[_Union[GraphGrouping, str]] = ..., max_nodes: _Optional[int] = ...) -> None: ...

class GraphNode(_message.Message):
    __slots__ = ("id", "label", "depth", "num_jobs", "counts", "job_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    NUM_JOBS_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    label: str
    depth: int
    num_jobs: int
    counts: _containers.RepeatedCompositeFieldContainer[JobStatusCount]
    job_id: int
    def __init__(self, id: _Optional[int] = ..., label: _Optional[str] = ..., depth: _Optional[int] = ..., num_jobs: _Optional[int] = ..., counts: _Optional[_Iterable[_Union[JobStatusCount, _Mapping]]] = ..., job_id: _Optional[int] = ...) -> None: ...

class GraphEdge(_message.Message):
    __slots__ = ("blocker", "dependent", "count")
    BLOCKER_FIELD_NUMBER: _ClassVar[int]
    DEPENDENT_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    blocker: int
    dependent: int
    count: int
    def __init__(self, blocker: _Optional[int] = ..., dependent: _Optional[int] = ..., count: _Optional[int] = ...) -> None: ...

class GetWorkflowGraphResponse(_message.Message):
    __slots__ = ("grouping", "num_jobs", "num_edges", "nodes", "edges")
    GROUPING_FIELD_NUMBER: _ClassVar[int]
    NUM_JOBS_FIELD_NUMBER: _ClassVar[int]
    NUM_EDGES_FIELD_NUMBER: _ClassVar[int]
    NODES_FIELD_NUMBER: _ClassVar[int]
    EDGES_FIELD_NUMBER: _ClassVar[int]
    grouping: GraphGrouping
    num_jobs: int
    num_edges: int
    nodes: _containers.RepeatedCompositeFieldContainer[GraphNode]
    edges: _containers.RepeatedCompositeFieldContainer[GraphEdge]
    def __init__(self, grouping: _Optional[_Union[GraphGrouping, str]] = ..., num_jobs: _Optional[int] = ..., num_edges: _Optional[int] = ..., nodes: _Optional[_Iterable[_Union[GraphNode, _Mapping]]] = ..., edges: _Optional[_Iterable[_Union[GraphEdge, _Mapping]]] = ...) -> None: ...
