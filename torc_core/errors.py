"""The one error hierarchy of torc_core. No grpc here: torc_grpc/errors.py maps
each class to a status code, in one table used by the server and the client."""

from __future__ import annotations

from typing import Any


class TorcError(Exception):
    """Base of every error the core raises on purpose.

    Attributes:
        message: One line for a human, naming the item at fault.
        details: Machine-readable context (ids, names), possibly empty.
    """

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(TorcError):
    """An id that does not exist (workflow, job, compute node)."""


class AlreadyExists(TorcError):
    """A name or key that must be unique is taken."""


class InvalidArgument(TorcError):
    """Bad input: a spec item, a dependency cycle, a memory or runtime string."""


class PermissionDenied(TorcError):
    """The caller may see the item but not do this to it (docs/security.md)."""


class Unauthenticated(TorcError):
    """No valid credentials (a missing, unknown, expired or revoked token)."""


class InvalidTransition(TorcError):
    """The request does not fit the current state (wrong status, stale run_id)."""


class Conflict(TorcError):
    """A concurrent change won; retrying may succeed."""


class StoreBusy(TorcError):
    """The database stayed locked past the busy timeout; retry with backoff."""


class Unavailable(TorcError):
    """The server is shutting down or overloaded; retry with backoff."""


class ResourceExhausted(TorcError):
    """A capacity limit was reached (too many streams, a subscriber too slow)."""
