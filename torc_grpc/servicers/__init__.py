"""One servicer per proto service: convert the request, one engine call, convert back."""

from .access import AccessServiceServicer
from .event import EventServiceServicer
from .job import JobServiceServicer
from .server import ServerServiceServicer
from .slurm import SlurmServiceServicer
from .worker import WorkerServiceServicer
from .workflow import WorkflowServiceServicer

__all__ = [
    "AccessServiceServicer",
    "EventServiceServicer",
    "JobServiceServicer",
    "ServerServiceServicer",
    "SlurmServiceServicer",
    "WorkerServiceServicer",
    "WorkflowServiceServicer",
]
