"""The one table between torc_core errors and gRPC status codes.

Servicers use it to answer, the client to turn a status back into the same
TorcError class, so callers catch torc_core.errors.NotFound and never
grpc.RpcError.
"""

from __future__ import annotations

import functools
import logging
from typing import Callable, Optional

import grpc

from torc_core import errors

from .boundary import DEFAULT as DEFAULT_BOUNDARY

log = logging.getLogger("torc_grpc.errors")

#: core error -> (status code, whether a client should retry with backoff)
ERROR_TABLE: dict[type[errors.TorcError], tuple[grpc.StatusCode, bool]] = {
    errors.NotFound: (grpc.StatusCode.NOT_FOUND, False),
    errors.AlreadyExists: (grpc.StatusCode.ALREADY_EXISTS, False),
    errors.InvalidArgument: (grpc.StatusCode.INVALID_ARGUMENT, False),
    errors.InvalidTransition: (grpc.StatusCode.FAILED_PRECONDITION, False),
    errors.PermissionDenied: (grpc.StatusCode.PERMISSION_DENIED, False),
    errors.Unauthenticated: (grpc.StatusCode.UNAUTHENTICATED, False),
    errors.Conflict: (grpc.StatusCode.ABORTED, True),
    errors.StoreBusy: (grpc.StatusCode.UNAVAILABLE, True),
    errors.Unavailable: (grpc.StatusCode.UNAVAILABLE, True),
    errors.ResourceExhausted: (grpc.StatusCode.RESOURCE_EXHAUSTED, True),
}
_BY_CODE = {code: cls for cls, (code, _retry) in ERROR_TABLE.items() if cls is not errors.Unavailable}
_BY_CODE[grpc.StatusCode.UNAVAILABLE] = errors.Unavailable


def status_for(exc: errors.TorcError) -> grpc.StatusCode:
    """The status code of a core error (its class or nearest base in the table)."""
    for cls in type(exc).__mro__:
        if cls in ERROR_TABLE:
            return ERROR_TABLE[cls][0]
    return grpc.StatusCode.INTERNAL


def error_from_rpc(err: grpc.RpcError) -> errors.TorcError:
    """The TorcError matching a failed call (TorcError itself for other codes)."""
    code: Optional[grpc.StatusCode] = err.code() if hasattr(err, "code") else None
    details = err.details() if hasattr(err, "details") else str(err)
    cls = _BY_CODE.get(code, errors.TorcError)
    exc = cls(details or str(code), code=code.name if code else "UNKNOWN")
    return exc


def _abort_for(exc: BaseException, context: grpc.ServicerContext) -> None:
    if isinstance(exc, errors.TorcError):
        context.abort(status_for(exc), exc.message)


def _already_aborted(context: grpc.ServicerContext) -> bool:
    try:
        code = context.code()
    except (AttributeError, NotImplementedError):  # grpc_testing's context has no code()
        return False
    return code is not None and code != grpc.StatusCode.OK


def _answer(exc: Exception, context: grpc.ServicerContext, method: Callable) -> None:
    """Abort the call for an exception raised by a handler (in its except block)."""
    _abort_for(exc, context)  # TorcError: its status
    if _already_aborted(context):  # context.abort() raises a plain Exception
        raise exc
    log.exception("internal error in %s", method.__qualname__)
    context.abort(grpc.StatusCode.INTERNAL, "internal server error (see the server log)")


def _validated(servicer, request):
    """The request after the validation layer (the servicer's boundary)
    checked it; a client stream is checked message by message as consumed."""
    validator = getattr(servicer, "boundary", DEFAULT_BOUNDARY).validator
    if hasattr(request, "DESCRIPTOR"):
        validator.check(request)
        return request
    return validator.each(request)


def translate_errors(method: Callable) -> Callable:
    """Validate the request, then map exceptions of a unary or
    client-streaming handler to statuses.

    TorcError gets its status from ERROR_TABLE (a busy database is the
    core's StoreBusy, torc_core.store.busy_as_store_busy); an
    exception from context.abort() passes through; anything else is a bug:
    logged with its traceback, answered INTERNAL with a generic message.
    """

    @functools.wraps(method)
    def wrapper(self, request, context):
        try:
            return method(self, _validated(self, request), context)
        except Exception as exc:
            _answer(exc, context, method)

    return wrapper


def translate_stream_errors(method: Callable) -> Callable:
    """translate_errors for server-streaming handlers (generators)."""

    @functools.wraps(method)
    def wrapper(self, request, context):
        try:
            yield from method(self, _validated(self, request), context)
        except Exception as exc:
            _answer(exc, context, method)

    return wrapper
