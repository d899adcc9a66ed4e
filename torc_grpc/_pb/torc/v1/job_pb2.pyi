from torc_grpc._pb.torc.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    def __init__(self, job_id: _Optional[int] = ...) -> None: ...

class GetJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: _common_pb2.Job
    def __init__(self, job: _Optional[_Union[_common_pb2.Job, _Mapping]] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("workflow_id", "statuses", "limit", "after_id")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    AFTER_ID_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    statuses: _containers.RepeatedScalarFieldContainer[_common_pb2.JobStatus]
    limit: int
    after_id: int
    def __init__(self, workflow_id: _Optional[int] = ..., statuses: _Optional[_Iterable[_Union[_common_pb2.JobStatus, str]]] = ..., limit: _Optional[int] = ..., after_id: _Optional[int] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs", "next_after_id")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_AFTER_ID_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[_common_pb2.Job]
    next_after_id: int
    def __init__(self, jobs: _Optional[_Iterable[_Union[_common_pb2.Job, _Mapping]]] = ..., next_after_id: _Optional[int] = ...) -> None: ...

class ListResultsRequest(_message.Message):
    __slots__ = ("workflow_id", "all_runs", "job_id", "statuses", "limit", "after_id")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    ALL_RUNS_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    AFTER_ID_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    all_runs: bool
    job_id: int
    statuses: _containers.RepeatedScalarFieldContainer[_common_pb2.JobStatus]
    limit: int
    after_id: int
    def __init__(self, workflow_id: _Optional[int] = ..., all_runs: _Optional[bool] = ..., job_id: _Optional[int] = ..., statuses: _Optional[_Iterable[_Union[_common_pb2.JobStatus, str]]] = ..., limit: _Optional[int] = ..., after_id: _Optional[int] = ...) -> None: ...

class ListResultsResponse(_message.Message):
    __slots__ = ("results", "next_after_id")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_AFTER_ID_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[_common_pb2.Result]
    next_after_id: int
    def __init__(self, results: _Optional[_Iterable[_Union[_common_pb2.Result, _Mapping]]] = ..., next_after_id: _Optional[int] = ...) -> None: ...

class RetryJobRequest(_message.Message):
    __slots__ = ("job_id", "run_id", "max_retries")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    MAX_RETRIES_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    run_id: int
    max_retries: int
    def __init__(self, job_id: _Optional[int] = ..., run_id: _Optional[int] = ..., max_retries: _Optional[int] = ...) -> None: ...

class RetryJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: _common_pb2.Job
    def __init__(self, job: _Optional[_Union[_common_pb2.Job, _Mapping]] = ...) -> None: ...

class UpdateJobResourcesRequest(_message.Message):
    __slots__ = ("workflow_id", "job_ids", "resource_requirements")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    job_ids: _containers.RepeatedScalarFieldContainer[int]
    resource_requirements: _common_pb2.ResourceRequirementsSpec
    def __init__(self, workflow_id: _Optional[int] = ..., job_ids: _Optional[_Iterable[int]] = ..., resource_requirements: _Optional[_Union[_common_pb2.ResourceRequirementsSpec, _Mapping]] = ...) -> None: ...

class UpdateJobResourcesResponse(_message.Message):
    __slots__ = ("resource_requirements_id",)
    RESOURCE_REQUIREMENTS_ID_FIELD_NUMBER: _ClassVar[int]
    resource_requirements_id: int
    def __init__(self, resource_requirements_id: _Optional[int] = ...) -> None: ...
