"""torc_core: the consistency engine of torc-grpc (no grpc, no protobuf here).

Public surface: models, errors, the Engine, and the kernels selector.
"""

from .errors import (
    AlreadyExists,
    Conflict,
    InvalidArgument,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    StoreBusy,
    TorcError,
    Unauthenticated,
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
    "PermissionDenied",
    "ResourceExhausted",
    "Severity",
    "StoreBusy",
    "TorcError",
    "Unauthenticated",
    "Unavailable",
]
