from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListAllocationsRequest(_message.Message):
    __slots__ = ("workflow_id",)
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    def __init__(self, workflow_id: _Optional[int] = ...) -> None: ...

class Allocation(_message.Message):
    __slots__ = ("id", "workflow_id", "slurm_job_id", "scheduler", "state", "source", "num_nodes", "nodes", "submitted_at", "start_time", "end_time", "message")
    ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    SLURM_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    SCHEDULER_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    NUM_NODES_FIELD_NUMBER: _ClassVar[int]
    NODES_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_AT_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    id: int
    workflow_id: int
    slurm_job_id: str
    scheduler: str
    state: str
    source: str
    num_nodes: int
    nodes: str
    submitted_at: str
    start_time: str
    end_time: str
    message: str
    def __init__(self, id: _Optional[int] = ..., workflow_id: _Optional[int] = ..., slurm_job_id: _Optional[str] = ..., scheduler: _Optional[str] = ..., state: _Optional[str] = ..., source: _Optional[str] = ..., num_nodes: _Optional[int] = ..., nodes: _Optional[str] = ..., submitted_at: _Optional[str] = ..., start_time: _Optional[str] = ..., end_time: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class SchedulerState(_message.Message):
    __slots__ = ("id", "name", "walltime", "nodes", "paused", "consecutive_failures", "message")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    WALLTIME_FIELD_NUMBER: _ClassVar[int]
    NODES_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    CONSECUTIVE_FAILURES_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    id: int
    name: str
    walltime: str
    nodes: int
    paused: bool
    consecutive_failures: int
    message: str
    def __init__(self, id: _Optional[int] = ..., name: _Optional[str] = ..., walltime: _Optional[str] = ..., nodes: _Optional[int] = ..., paused: _Optional[bool] = ..., consecutive_failures: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class ListAllocationsResponse(_message.Message):
    __slots__ = ("allocations", "schedulers")
    ALLOCATIONS_FIELD_NUMBER: _ClassVar[int]
    SCHEDULERS_FIELD_NUMBER: _ClassVar[int]
    allocations: _containers.RepeatedCompositeFieldContainer[Allocation]
    schedulers: _containers.RepeatedCompositeFieldContainer[SchedulerState]
    def __init__(self, allocations: _Optional[_Iterable[_Union[Allocation, _Mapping]]] = ..., schedulers: _Optional[_Iterable[_Union[SchedulerState, _Mapping]]] = ...) -> None: ...

class ScheduleNodesRequest(_message.Message):
    __slots__ = ("workflow_id", "scheduler", "num_allocations", "start_one_worker_per_node", "max_parallel_jobs")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    SCHEDULER_FIELD_NUMBER: _ClassVar[int]
    NUM_ALLOCATIONS_FIELD_NUMBER: _ClassVar[int]
    START_ONE_WORKER_PER_NODE_FIELD_NUMBER: _ClassVar[int]
    MAX_PARALLEL_JOBS_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    scheduler: str
    num_allocations: int
    start_one_worker_per_node: bool
    max_parallel_jobs: int
    def __init__(self, workflow_id: _Optional[int] = ..., scheduler: _Optional[str] = ..., num_allocations: _Optional[int] = ..., start_one_worker_per_node: _Optional[bool] = ..., max_parallel_jobs: _Optional[int] = ...) -> None: ...

class ScheduleNodesResponse(_message.Message):
    __slots__ = ("allocations",)
    ALLOCATIONS_FIELD_NUMBER: _ClassVar[int]
    allocations: _containers.RepeatedCompositeFieldContainer[Allocation]
    def __init__(self, allocations: _Optional[_Iterable[_Union[Allocation, _Mapping]]] = ...) -> None: ...

class CancelAllocationsRequest(_message.Message):
    __slots__ = ("workflow_id",)
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    def __init__(self, workflow_id: _Optional[int] = ...) -> None: ...

class CancelAllocationsResponse(_message.Message):
    __slots__ = ("canceled",)
    CANCELED_FIELD_NUMBER: _ClassVar[int]
    canceled: _containers.RepeatedCompositeFieldContainer[Allocation]
    def __init__(self, canceled: _Optional[_Iterable[_Union[Allocation, _Mapping]]] = ...) -> None: ...
