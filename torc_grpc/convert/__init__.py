"""The only proto <-> model functions; servicers and the client both use them.

    records.py  models <-> messages (specs in, jobs, results, events, statuses)
    spec_messages.py  specs -> messages (what clients send)
    access.py   access groups and worker tokens
    answers.py  claim and completion outcomes, the version, and answers kept
                within the size budget (list pages, claims)
    pictures.py the dependency graph's picture (GetWorkflowGraph)

*_from_pb functions validate what protobuf cannot and raise InvalidArgument,
so bad input never becomes INTERNAL.
"""

from .access import group_to_pb, worker_token_to_pb
from .answers import (
    AnswerBudget,
    claim_outcome_to_pb,
    completion_outcomes_to_pb,
    sized_page,
    version_to_pb,
)
from .pictures import picture_to_pb
from .records import (
    claim_request_from_pb,
    completion_from_pb,
    compute_node_spec_from_pb,
    compute_node_to_pb,
    event_to_pb,
    failure_handler_spec_from_pb,
    initialize_outcome_to_pb,
    job_batch_from_pb,
    job_spec_from_pb,
    job_status_from_pb,
    job_to_pb,
    resource_monitor_to_pb,
    resource_requirements_spec_from_pb,
    resource_requirements_to_pb,
    resources_from_pb,
    result_to_pb,
    severity_from_pb,
    start_outcome_to_pb,
    statuses_from_pb,
    workflow_spec_from_pb,
    workflow_status_to_pb,
    workflow_to_pb,
)
from .spec_messages import (
    failure_handler_spec_to_pb,
    job_spec_to_pb,
    resource_requirements_spec_to_pb,
    workflow_spec_to_pb,
)

__all__ = [
    "picture_to_pb",
    "group_to_pb",
    "worker_token_to_pb",
    "AnswerBudget",
    "claim_outcome_to_pb",
    "claim_request_from_pb",
    "completion_from_pb",
    "completion_outcomes_to_pb",
    "compute_node_spec_from_pb",
    "compute_node_to_pb",
    "event_to_pb",
    "failure_handler_spec_from_pb",
    "failure_handler_spec_to_pb",
    "initialize_outcome_to_pb",
    "job_batch_from_pb",
    "job_spec_from_pb",
    "job_spec_to_pb",
    "job_status_from_pb",
    "job_to_pb",
    "resource_requirements_spec_from_pb",
    "resource_requirements_spec_to_pb",
    "resource_requirements_to_pb",
    "resource_monitor_to_pb",
    "resources_from_pb",
    "result_to_pb",
    "severity_from_pb",
    "sized_page",
    "start_outcome_to_pb",
    "statuses_from_pb",
    "version_to_pb",
    "workflow_spec_from_pb",
    "workflow_spec_to_pb",
    "workflow_status_to_pb",
    "workflow_to_pb",
]
