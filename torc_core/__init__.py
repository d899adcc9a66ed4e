"""torc_core: the consistency engine of torc-grpc (no grpc, no protobuf here).

Public surface: models, errors, the Engine, and the kernels selector.
"""

from .errors import (
    AlreadyExists,
    Conflict,
    InvalidArgument,
    InvalidTransition,
    NotFound,
    ResourceExhausted,
    StoreBusy,
    TorcError,
    Unavailable,
)
from .models import JobStatus, Severity

__all__ = [
    "AlreadyExists",
    "Conflict",
    "InvalidArgument",
    "InvalidTransition",
    "JobStatus",
    "NotFound",
    "ResourceExhausted",
    "Severity",
    "StoreBusy",
    "TorcError",
    "Unavailable",
]
