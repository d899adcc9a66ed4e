from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JobStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATUS_UNINITIALIZED: _ClassVar[JobStatus]
    JOB_STATUS_BLOCKED: _ClassVar[JobStatus]
    JOB_STATUS_READY: _ClassVar[JobStatus]
    JOB_STATUS_PENDING: _ClassVar[JobStatus]
    JOB_STATUS_RUNNING: _ClassVar[JobStatus]
    JOB_STATUS_COMPLETED: _ClassVar[JobStatus]
    JOB_STATUS_FAILED: _ClassVar[JobStatus]
    JOB_STATUS_CANCELED: _ClassVar[JobStatus]
    JOB_STATUS_TERMINATED: _ClassVar[JobStatus]
    JOB_STATUS_DISABLED: _ClassVar[JobStatus]
    JOB_STATUS_PENDING_FAILED: _ClassVar[JobStatus]

class SortMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SORT_METHOD_UNSPECIFIED: _ClassVar[SortMethod]
    SORT_METHOD_GPUS_RUNTIME_MEMORY: _ClassVar[SortMethod]
    SORT_METHOD_GPUS_MEMORY_RUNTIME: _ClassVar[SortMethod]
    SORT_METHOD_NONE: _ClassVar[SortMethod]

class Severity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SEVERITY_UNSPECIFIED: _ClassVar[Severity]
    SEVERITY_DEBUG: _ClassVar[Severity]
    SEVERITY_INFO: _ClassVar[Severity]
    SEVERITY_WARNING: _ClassVar[Severity]
    SEVERITY_ERROR: _ClassVar[Severity]
JOB_STATUS_UNINITIALIZED: JobStatus
JOB_STATUS_BLOCKED: JobStatus
JOB_STATUS_READY: JobStatus
JOB_STATUS_PENDING: JobStatus
JOB_STATUS_RUNNING: JobStatus
JOB_STATUS_COMPLETED: JobStatus
JOB_STATUS_FAILED: JobStatus
JOB_STATUS_CANCELED: JobStatus
JOB_STATUS_TERMINATED: JobStatus
JOB_STATUS_DISABLED: JobStatus
JOB_STATUS_PENDING_FAILED: JobStatus
SORT_METHOD_UNSPECIFIED: SortMethod
SORT_METHOD_GPUS_RUNTIME_MEMORY: SortMethod
SORT_METHOD_GPUS_MEMORY_RUNTIME: SortMethod
SORT_METHOD_NONE: SortMethod
SEVERITY_UNSPECIFIED: Severity
SEVERITY_DEBUG: Severity
SEVERITY_INFO: Severity
SEVERITY_WARNING: Severity
SEVERITY_ERROR: Severity

class Resources(_message.Message):
    __slots__ = ("num_cpus", "memory_bytes", "num_gpus", "num_nodes", "time_limit_seconds")
    NUM_CPUS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    NUM_GPUS_FIELD_NUMBER: _ClassVar[int]
    NUM_NODES_FIELD_NUMBER: _ClassVar[int]
    TIME_LIMIT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    num_cpus: int
    memory_bytes: int
    num_gpus: int
    num_nodes: int
    time_limit_seconds: float
    def __init__(self, num_cpus: _Optional[int] = ..., memory_bytes: _Optional[int] = ..., num_gpus: _Optional[int] = ..., num_nodes: _Optional[int] = ..., time_limit_seconds: _Optional[float] = ...) -> None: ...

class ResourceRequirementsSpec(_message.Message):
    __slots__ = ("name", "num_cpus", "num_gpus", "num_nodes", "memory", "runtime")
    NAME_FIELD_NUMBER: _ClassVar[int]
    NUM_CPUS_FIELD_NUMBER: _ClassVar[int]
    NUM_GPUS_FIELD_NUMBER: _ClassVar[int]
    NUM_NODES_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    num_cpus: int
    num_gpus: int
    num_nodes: int
    memory: str
    runtime: str
    def __init__(self, name: _Optional[str] = ..., num_cpus: _Optional[int] = ..., num_gpus: _Optional[int] = ..., num_nodes: _Optional[int] = ..., memory: _Optional[str] = ..., runtime: _Optional[str] = ...) -> None: ...

class ResourceRequirements(_message.Message):
    __slots__ = ("id", "name", "memory", "runtime", "resources")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    id: int
    name: str
    memory: str
    runtime: str
    resources: Resources
    def __init__(self, id: _Optional[int] = ..., name: _Optional[str] = ..., memory: _Optional[str] = ..., runtime: _Optional[str] = ..., resources: _Optional[_Union[Resources, _Mapping]] = ...) -> None: ...

class FileSpec(_message.Message):
    __slots__ = ("name", "path")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    name: str
    path: str
    def __init__(self, name: _Optional[str] = ..., path: _Optional[str] = ...) -> None: ...

class UserDataSpec(_message.Message):
    __slots__ = ("name", "data", "is_ephemeral")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    IS_EPHEMERAL_FIELD_NUMBER: _ClassVar[int]
    name: str
    data: str
    is_ephemeral: bool
    def __init__(self, name: _Optional[str] = ..., data: _Optional[str] = ..., is_ephemeral: _Optional[bool] = ...) -> None: ...

class FailureRule(_message.Message):
    __slots__ = ("exit_codes", "match_all_exit_codes", "recovery_script", "max_retries")
    EXIT_CODES_FIELD_NUMBER: _ClassVar[int]
    MATCH_ALL_EXIT_CODES_FIELD_NUMBER: _ClassVar[int]
    RECOVERY_SCRIPT_FIELD_NUMBER: _ClassVar[int]
    MAX_RETRIES_FIELD_NUMBER: _ClassVar[int]
    exit_codes: _containers.RepeatedScalarFieldContainer[int]
    match_all_exit_codes: bool
    recovery_script: str
    max_retries: int
    def __init__(self, exit_codes: _Optional[_Iterable[int]] = ..., match_all_exit_codes: _Optional[bool] = ..., recovery_script: _Optional[str] = ..., max_retries: _Optional[int] = ...) -> None: ...

class FailureHandlerSpec(_message.Message):
    __slots__ = ("name", "rules")
    NAME_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    name: str
    rules: _containers.RepeatedCompositeFieldContainer[FailureRule]
    def __init__(self, name: _Optional[str] = ..., rules: _Optional[_Iterable[_Union[FailureRule, _Mapping]]] = ...) -> None: ...

class JobSpec(_message.Message):
    __slots__ = ("name", "command", "depends_on", "resource_requirements", "input_files", "output_files", "input_user_data", "output_user_data", "cancel_on_blocking_job_failure", "supports_termination", "priority", "label", "env", "scheduler_id", "failure_handler", "invocation_script", "disabled", "scheduler")
    class EnvEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    DEPENDS_ON_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    INPUT_FILES_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FILES_FIELD_NUMBER: _ClassVar[int]
    INPUT_USER_DATA_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_USER_DATA_FIELD_NUMBER: _ClassVar[int]
    CANCEL_ON_BLOCKING_JOB_FAILURE_FIELD_NUMBER: _ClassVar[int]
    SUPPORTS_TERMINATION_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    SCHEDULER_ID_FIELD_NUMBER: _ClassVar[int]
    FAILURE_HANDLER_FIELD_NUMBER: _ClassVar[int]
    INVOCATION_SCRIPT_FIELD_NUMBER: _ClassVar[int]
    DISABLED_FIELD_NUMBER: _ClassVar[int]
    SCHEDULER_FIELD_NUMBER: _ClassVar[int]
    name: str
    command: str
    depends_on: _containers.RepeatedScalarFieldContainer[str]
    resource_requirements: str
    input_files: _containers.RepeatedScalarFieldContainer[str]
    output_files: _containers.RepeatedScalarFieldContainer[str]
    input_user_data: _containers.RepeatedScalarFieldContainer[str]
    output_user_data: _containers.RepeatedScalarFieldContainer[str]
    cancel_on_blocking_job_failure: bool
    supports_termination: bool
    priority: int
    label: str
    env: _containers.ScalarMap[str, str]
    scheduler_id: int
    failure_handler: str
    invocation_script: str
    disabled: bool
    scheduler: str
    def __init__(self, name: _Optional[str] = ..., command: _Optional[str] = ..., depends_on: _Optional[_Iterable[str]] = ..., resource_requirements: _Optional[str] = ..., input_files: _Optional[_Iterable[str]] = ..., output_files: _Optional[_Iterable[str]] = ..., input_user_data: _Optional[_Iterable[str]] = ..., output_user_data: _Optional[_Iterable[str]] = ..., cancel_on_blocking_job_failure: _Optional[bool] = ..., supports_termination: _Optional[bool] = ..., priority: _Optional[int] = ..., label: _Optional[str] = ..., env: _Optional[_Mapping[str, str]] = ..., scheduler_id: _Optional[int] = ..., failure_handler: _Optional[str] = ..., invocation_script: _Optional[str] = ..., disabled: _Optional[bool] = ..., scheduler: _Optional[str] = ...) -> None: ...

class SlurmSchedulerSpec(_message.Message):
    __slots__ = ("name", "account", "partition", "nodes", "walltime", "mem", "gres", "qos", "ntasks_per_node", "tmp", "extra", "backlog", "max_allocations")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    PARTITION_FIELD_NUMBER: _ClassVar[int]
    NODES_FIELD_NUMBER: _ClassVar[int]
    WALLTIME_FIELD_NUMBER: _ClassVar[int]
    MEM_FIELD_NUMBER: _ClassVar[int]
    GRES_FIELD_NUMBER: _ClassVar[int]
    QOS_FIELD_NUMBER: _ClassVar[int]
    NTASKS_PER_NODE_FIELD_NUMBER: _ClassVar[int]
    TMP_FIELD_NUMBER: _ClassVar[int]
    EXTRA_FIELD_NUMBER: _ClassVar[int]
    BACKLOG_FIELD_NUMBER: _ClassVar[int]
    MAX_ALLOCATIONS_FIELD_NUMBER: _ClassVar[int]
    name: str
    account: str
    partition: str
    nodes: int
    walltime: str
    mem: str
    gres: str
    qos: str
    ntasks_per_node: int
    tmp: str
    extra: str
    backlog: int
    max_allocations: int
    def __init__(self, name: _Optional[str] = ..., account: _Optional[str] = ..., partition: _Optional[str] = ..., nodes: _Optional[int] = ..., walltime: _Optional[str] = ..., mem: _Optional[str] = ..., gres: _Optional[str] = ..., qos: _Optional[str] = ..., ntasks_per_node: _Optional[int] = ..., tmp: _Optional[str] = ..., extra: _Optional[str] = ..., backlog: _Optional[int] = ..., max_allocations: _Optional[int] = ...) -> None: ...

class WorkflowActionSpec(_message.Message):
    __slots__ = ("trigger_type", "action_type", "jobs", "commands", "scheduler", "scheduler_type", "num_allocations", "start_one_worker_per_node", "max_parallel_jobs", "persistent")
    TRIGGER_TYPE_FIELD_NUMBER: _ClassVar[int]
    ACTION_TYPE_FIELD_NUMBER: _ClassVar[int]
    JOBS_FIELD_NUMBER: _ClassVar[int]
    COMMANDS_FIELD_NUMBER: _ClassVar[int]
    SCHEDULER_FIELD_NUMBER: _ClassVar[int]
    SCHEDULER_TYPE_FIELD_NUMBER: _ClassVar[int]
    NUM_ALLOCATIONS_FIELD_NUMBER: _ClassVar[int]
    START_ONE_WORKER_PER_NODE_FIELD_NUMBER: _ClassVar[int]
    MAX_PARALLEL_JOBS_FIELD_NUMBER: _ClassVar[int]
    PERSISTENT_FIELD_NUMBER: _ClassVar[int]
    trigger_type: str
    action_type: str
    jobs: _containers.RepeatedScalarFieldContainer[str]
    commands: _containers.RepeatedScalarFieldContainer[str]
    scheduler: str
    scheduler_type: str
    num_allocations: int
    start_one_worker_per_node: bool
    max_parallel_jobs: int
    persistent: bool
    def __init__(self, trigger_type: _Optional[str] = ..., action_type: _Optional[str] = ..., jobs: _Optional[_Iterable[str]] = ..., commands: _Optional[_Iterable[str]] = ..., scheduler: _Optional[str] = ..., scheduler_type: _Optional[str] = ..., num_allocations: _Optional[int] = ..., start_one_worker_per_node: _Optional[bool] = ..., max_parallel_jobs: _Optional[int] = ..., persistent: _Optional[bool] = ...) -> None: ...

class WorkflowSpec(_message.Message):
    __slots__ = ("name", "user", "description", "resource_requirements", "files", "user_data", "jobs", "env", "jobs_sort_method", "failure_handlers", "access_groups", "slurm_schedulers", "actions", "slurm_defaults", "output_dir", "compute_node_expiration_buffer_seconds", "compute_node_wait_for_new_jobs_seconds", "resource_monitor")
    class EnvEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class SlurmDefaultsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    USER_DATA_FIELD_NUMBER: _ClassVar[int]
    JOBS_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    JOBS_SORT_METHOD_FIELD_NUMBER: _ClassVar[int]
    FAILURE_HANDLERS_FIELD_NUMBER: _ClassVar[int]
    ACCESS_GROUPS_FIELD_NUMBER: _ClassVar[int]
    SLURM_SCHEDULERS_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    SLURM_DEFAULTS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_DIR_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_NODE_EXPIRATION_BUFFER_SECONDS_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_NODE_WAIT_FOR_NEW_JOBS_SECONDS_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_MONITOR_FIELD_NUMBER: _ClassVar[int]
    name: str
    user: str
    description: str
    resource_requirements: _containers.RepeatedCompositeFieldContainer[ResourceRequirementsSpec]
    files: _containers.RepeatedCompositeFieldContainer[FileSpec]
    user_data: _containers.RepeatedCompositeFieldContainer[UserDataSpec]
    jobs: _containers.RepeatedCompositeFieldContainer[JobSpec]
    env: _containers.ScalarMap[str, str]
    jobs_sort_method: str
    failure_handlers: _containers.RepeatedCompositeFieldContainer[FailureHandlerSpec]
    access_groups: _containers.RepeatedScalarFieldContainer[str]
    slurm_schedulers: _containers.RepeatedCompositeFieldContainer[SlurmSchedulerSpec]
    actions: _containers.RepeatedCompositeFieldContainer[WorkflowActionSpec]
    slurm_defaults: _containers.ScalarMap[str, str]
    output_dir: str
    compute_node_expiration_buffer_seconds: float
    compute_node_wait_for_new_jobs_seconds: float
    resource_monitor: ResourceMonitorSpec
    def __init__(self, name: _Optional[str] = ..., user: _Optional[str] = ..., description: _Optional[str] = ..., resource_requirements: _Optional[_Iterable[_Union[ResourceRequirementsSpec, _Mapping]]] = ..., files: _Optional[_Iterable[_Union[FileSpec, _Mapping]]] = ..., user_data: _Optional[_Iterable[_Union[UserDataSpec, _Mapping]]] = ..., jobs: _Optional[_Iterable[_Union[JobSpec, _Mapping]]] = ..., env: _Optional[_Mapping[str, str]] = ..., jobs_sort_method: _Optional[str] = ..., failure_handlers: _Optional[_Iterable[_Union[FailureHandlerSpec, _Mapping]]] = ..., access_groups: _Optional[_Iterable[str]] = ..., slurm_schedulers: _Optional[_Iterable[_Union[SlurmSchedulerSpec, _Mapping]]] = ..., actions: _Optional[_Iterable[_Union[WorkflowActionSpec, _Mapping]]] = ..., slurm_defaults: _Optional[_Mapping[str, str]] = ..., output_dir: _Optional[str] = ..., compute_node_expiration_buffer_seconds: _Optional[float] = ..., compute_node_wait_for_new_jobs_seconds: _Optional[float] = ..., resource_monitor: _Optional[_Union[ResourceMonitorSpec, _Mapping]] = ...) -> None: ...

class Workflow(_message.Message):
    __slots__ = ("id", "name", "user", "description", "created_at", "jobs_sort_method", "env", "run_id", "is_canceled")
    class EnvEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    JOBS_SORT_METHOD_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    IS_CANCELED_FIELD_NUMBER: _ClassVar[int]
    id: int
    name: str
    user: str
    description: str
    created_at: str
    jobs_sort_method: str
    env: _containers.ScalarMap[str, str]
    run_id: int
    is_canceled: bool
    def __init__(self, id: _Optional[int] = ..., name: _Optional[str] = ..., user: _Optional[str] = ..., description: _Optional[str] = ..., created_at: _Optional[str] = ..., jobs_sort_method: _Optional[str] = ..., env: _Optional[_Mapping[str, str]] = ..., run_id: _Optional[int] = ..., is_canceled: _Optional[bool] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("id", "workflow_id", "name", "command", "status", "attempt_id", "resource_requirements", "cancel_on_blocking_job_failure", "supports_termination", "priority", "label", "env", "scheduler_id", "invocation_script", "failure_handler_id", "compute_node_id", "depends_on_job_ids", "input_file_ids", "output_file_ids", "input_user_data_ids", "output_user_data_ids", "output_file_paths")
    class EnvEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    CANCEL_ON_BLOCKING_JOB_FAILURE_FIELD_NUMBER: _ClassVar[int]
    SUPPORTS_TERMINATION_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    SCHEDULER_ID_FIELD_NUMBER: _ClassVar[int]
    INVOCATION_SCRIPT_FIELD_NUMBER: _ClassVar[int]
    FAILURE_HANDLER_ID_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_NODE_ID_FIELD_NUMBER: _ClassVar[int]
    DEPENDS_ON_JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    INPUT_FILE_IDS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FILE_IDS_FIELD_NUMBER: _ClassVar[int]
    INPUT_USER_DATA_IDS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_USER_DATA_IDS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FILE_PATHS_FIELD_NUMBER: _ClassVar[int]
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
    env: _containers.ScalarMap[str, str]
    scheduler_id: int
    invocation_script: str
    failure_handler_id: int
    compute_node_id: int
    depends_on_job_ids: _containers.RepeatedScalarFieldContainer[int]
    input_file_ids: _containers.RepeatedScalarFieldContainer[int]
    output_file_ids: _containers.RepeatedScalarFieldContainer[int]
    input_user_data_ids: _containers.RepeatedScalarFieldContainer[int]
    output_user_data_ids: _containers.RepeatedScalarFieldContainer[int]
    output_file_paths: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[int] = ..., workflow_id: _Optional[int] = ..., name: _Optional[str] = ..., command: _Optional[str] = ..., status: _Optional[_Union[JobStatus, str]] = ..., attempt_id: _Optional[int] = ..., resource_requirements: _Optional[_Union[ResourceRequirements, _Mapping]] = ..., cancel_on_blocking_job_failure: _Optional[bool] = ..., supports_termination: _Optional[bool] = ..., priority: _Optional[int] = ..., label: _Optional[str] = ..., env: _Optional[_Mapping[str, str]] = ..., scheduler_id: _Optional[int] = ..., invocation_script: _Optional[str] = ..., failure_handler_id: _Optional[int] = ..., compute_node_id: _Optional[int] = ..., depends_on_job_ids: _Optional[_Iterable[int]] = ..., input_file_ids: _Optional[_Iterable[int]] = ..., output_file_ids: _Optional[_Iterable[int]] = ..., input_user_data_ids: _Optional[_Iterable[int]] = ..., output_user_data_ids: _Optional[_Iterable[int]] = ..., output_file_paths: _Optional[_Iterable[str]] = ...) -> None: ...

class ResourceMonitorSpec(_message.Message):
    __slots__ = ("enabled", "granularity", "sample_interval_seconds")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    GRANULARITY_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_INTERVAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    granularity: str
    sample_interval_seconds: float
    def __init__(self, enabled: _Optional[bool] = ..., granularity: _Optional[str] = ..., sample_interval_seconds: _Optional[float] = ...) -> None: ...

class ResourceSample(_message.Message):
    __slots__ = ("seconds", "cpu_percent", "memory_bytes")
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    CPU_PERCENT_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    seconds: float
    cpu_percent: float
    memory_bytes: int
    def __init__(self, seconds: _Optional[float] = ..., cpu_percent: _Optional[float] = ..., memory_bytes: _Optional[int] = ...) -> None: ...

class JobResult(_message.Message):
    __slots__ = ("return_code", "exec_time_seconds", "compute_node_id", "attempt_id", "completion_time", "peak_memory_bytes", "avg_memory_bytes", "peak_cpu_percent", "avg_cpu_percent", "error", "samples")
    RETURN_CODE_FIELD_NUMBER: _ClassVar[int]
    EXEC_TIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_NODE_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_ID_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TIME_FIELD_NUMBER: _ClassVar[int]
    PEAK_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    AVG_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    PEAK_CPU_PERCENT_FIELD_NUMBER: _ClassVar[int]
    AVG_CPU_PERCENT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    return_code: int
    exec_time_seconds: float
    compute_node_id: int
    attempt_id: int
    completion_time: str
    peak_memory_bytes: int
    avg_memory_bytes: int
    peak_cpu_percent: float
    avg_cpu_percent: float
    error: str
    samples: _containers.RepeatedCompositeFieldContainer[ResourceSample]
    def __init__(self, return_code: _Optional[int] = ..., exec_time_seconds: _Optional[float] = ..., compute_node_id: _Optional[int] = ..., attempt_id: _Optional[int] = ..., completion_time: _Optional[str] = ..., peak_memory_bytes: _Optional[int] = ..., avg_memory_bytes: _Optional[int] = ..., peak_cpu_percent: _Optional[float] = ..., avg_cpu_percent: _Optional[float] = ..., error: _Optional[str] = ..., samples: _Optional[_Iterable[_Union[ResourceSample, _Mapping]]] = ...) -> None: ...

class Result(_message.Message):
    __slots__ = ("id", "workflow_id", "job_id", "run_id", "attempt_id", "compute_node_id", "return_code", "exec_time_seconds", "completion_time", "status", "peak_memory_bytes", "avg_memory_bytes", "peak_cpu_percent", "avg_cpu_percent", "error", "samples")
    ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_ID_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_NODE_ID_FIELD_NUMBER: _ClassVar[int]
    RETURN_CODE_FIELD_NUMBER: _ClassVar[int]
    EXEC_TIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TIME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PEAK_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    AVG_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    PEAK_CPU_PERCENT_FIELD_NUMBER: _ClassVar[int]
    AVG_CPU_PERCENT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
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
    peak_memory_bytes: int
    avg_memory_bytes: int
    peak_cpu_percent: float
    avg_cpu_percent: float
    error: str
    samples: _containers.RepeatedCompositeFieldContainer[ResourceSample]
    def __init__(self, id: _Optional[int] = ..., workflow_id: _Optional[int] = ..., job_id: _Optional[int] = ..., run_id: _Optional[int] = ..., attempt_id: _Optional[int] = ..., compute_node_id: _Optional[int] = ..., return_code: _Optional[int] = ..., exec_time_seconds: _Optional[float] = ..., completion_time: _Optional[str] = ..., status: _Optional[_Union[JobStatus, str]] = ..., peak_memory_bytes: _Optional[int] = ..., avg_memory_bytes: _Optional[int] = ..., peak_cpu_percent: _Optional[float] = ..., avg_cpu_percent: _Optional[float] = ..., error: _Optional[str] = ..., samples: _Optional[_Iterable[_Union[ResourceSample, _Mapping]]] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("id", "workflow_id", "timestamp_ms", "event_type", "severity", "data")
    ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    id: int
    workflow_id: int
    timestamp_ms: int
    event_type: str
    severity: Severity
    data: str
    def __init__(self, id: _Optional[int] = ..., workflow_id: _Optional[int] = ..., timestamp_ms: _Optional[int] = ..., event_type: _Optional[str] = ..., severity: _Optional[_Union[Severity, str]] = ..., data: _Optional[str] = ...) -> None: ...
