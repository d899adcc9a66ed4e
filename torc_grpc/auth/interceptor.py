"""Authentication and authorization of every call, in one place.

The interceptor finds the method's rule (table.py; a torc.v1 method without
one is refused), resolves the caller from `authorization: Bearer <token>`
metadata (a user of the auth file, or a worker token of the database) or,
without a token, from a TLS client certificate whose common name is a user,
and, once the request is decoded, checks the workflow it acts on with
torc_core.access. The caller is then known to the servicer through
`current_caller()`. Refusals are logged with user, method and peer.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from typing import TYPE_CHECKING, Callable, Iterable, Optional

import grpc

from torc_core.access import Caller, Permission, check
from torc_core.errors import NotFound, PermissionDenied, TorcError, Unauthenticated
from torc_core.tokens import WORKER_PREFIX, digest

from ..errors import status_for
from . import users as user_file
from .table import METHODS, OPEN_PREFIXES, Locate, Rule

if TYPE_CHECKING:  # the server's; clients importing this package need not load the engine
    from torc_core.engine import Engine

log = logging.getLogger("torc_grpc.auth")

_CALLER: contextvars.ContextVar[Optional[Caller]] = contextvars.ContextVar("torc_caller", default=None)
#: Job -> workflow answers kept (jobs never change workflow); cleared when full.
_JOB_CACHE_MAX = 200_000


def current_caller() -> Optional[Caller]:
    """The caller of the call this thread serves (None when auth is off)."""
    return _CALLER.get()


def current_owner() -> str:
    """Whose per-user stream quota this call counts against ("" when auth is off)."""
    caller = _CALLER.get()
    return caller.name if caller is not None else ""


class Authorizer:
    """Resolves callers and checks rules (see module docstring).

    Args:
        engine: For worker tokens and the workflows of jobs and nodes.
        auth_file: The users file; reload() reads it again (SIGHUP).
    """

    def __init__(self, engine: Engine, auth_file: str) -> None:
        self.engine = engine
        self.auth_file = auth_file
        self._lock = threading.Lock()
        self._users: dict[str, user_file.User] = {}
        self._by_digest: dict[str, user_file.User] = {}
        self._job_workflow: dict[int, int] = {}
        #: workflow id -> (access generation, WorkflowAccess): valid while the generation holds.
        self._access: dict[int, tuple] = {}
        self.reload()

    def reload(self) -> None:
        """Read the auth file again; a removed user is refused from the next call on."""
        fresh = user_file.load(self.auth_file)
        with self._lock:
            old = self._users
            self._users, self._by_digest = fresh, user_file.by_digest(fresh)
        for name in sorted(set(old) - set(fresh)):
            log.warning("audit: user %s removed", name)
        for name in sorted(set(fresh) - set(old)):
            log.info("audit: user %s added%s", name, " (admin)" if fresh[name].admin else "")
        for name in sorted(set(old) & set(fresh)):
            if old[name].token_sha256 != fresh[name].token_sha256:
                log.warning("audit: token of user %s rotated", name)
        log.info("auth file %s: %d users", self.auth_file, len(fresh))

    # ------------------------------------------------------------ who
    def caller(self, metadata: Iterable, context: grpc.ServicerContext) -> Caller:
        token = ""
        for key, value in metadata:
            if key == "authorization":
                scheme, _, token = value.partition(" ")
                if scheme.lower() != "bearer" or not token:
                    raise Unauthenticated("the authorization metadata must be 'Bearer <token>'")
                break
        if token:
            key = digest(token.strip())
            user = self._by_digest.get(key)
            if user is not None:
                return Caller(user.name, is_admin=user.admin)
            if token.startswith(WORKER_PREFIX):
                worker = self.engine.access.resolve_worker_token(key)
                if worker is not None:
                    return worker
            raise Unauthenticated("unknown, expired or revoked token")
        names = context.auth_context().get("x509_common_name") or []
        for name in names:
            user = self._users.get(name.decode(errors="replace"))
            if user is not None:
                return Caller(user.name, is_admin=user.admin)
        raise Unauthenticated("credentials needed: send 'authorization: Bearer <token>' "
                              "(torc-grpc --token or TORC_TOKEN)")

    # ------------------------------------------------------------ what
    def admit(self, caller: Caller, rule: Rule, request) -> None:
        """Raise unless `caller` may make this call with this request."""
        if caller.is_worker and not rule.worker_ok:
            raise PermissionDenied("a worker token permits only what a worker does")
        if rule.locate is Locate.NONE:
            return
        if rule.locate is Locate.CREATE:
            spec_user = request.spec.user
            if spec_user and spec_user != caller.name and not caller.is_admin:
                raise PermissionDenied(f"a workflow belongs to who creates it: spec.user is "
                                       f"{spec_user!r}, you are {caller.name!r}")
            if not spec_user:
                request.spec.user = caller.name
            return
        for workflow_id in self._workflows(rule.locate, request):
            self._check_workflow(caller, rule, workflow_id)

    def admit_stream(self, caller: Caller, rule: Rule, messages: Iterable) -> Iterable:
        """Client streams (AddJobs): every message checked as it arrives."""
        seen: set[int] = set()
        for message in messages:
            if message.workflow_id not in seen:
                self._check_workflow(caller, rule, message.workflow_id)
                seen.add(message.workflow_id)
            yield message

    def _check_workflow(self, caller: Caller, rule: Rule, workflow_id: int) -> None:
        check(caller, rule.permission, self._workflow_access(workflow_id), rule.worker_ok)

    def _workflow_access(self, workflow_id: int):
        """Owner and members, cached until access changes (groups, members,
        links: the engine's generation moves). A deleted workflow's entry is
        harmless: the engine answers NOT_FOUND for it."""
        generation = self.engine.access.generation
        cached = self._access.get(workflow_id)
        if cached is not None and cached[0] == generation:
            return cached[1]
        access = self.engine.access.workflow_access(workflow_id)
        if len(self._access) >= _JOB_CACHE_MAX:
            self._access.clear()
        self._access[workflow_id] = (generation, access)
        return access

    def _workflows(self, locate: Locate, request) -> list[int]:
        if locate is Locate.WORKFLOW:
            return [request.workflow_id]
        if locate is Locate.JOB:
            return [self._workflow_of_job(request.job_id)]
        if locate is Locate.COMPLETIONS:
            return self._workflows_of_jobs([c.job_id for c in request.completions])
        if locate is Locate.NODE:
            workflow_id = self.engine.access.workflow_of_node(request.compute_node_id)
            if workflow_id is None:
                raise NotFound(f"compute node {request.compute_node_id} not found")
            return [workflow_id]
        raise AssertionError(f"no way to locate {locate}")

    def _workflows_of_jobs(self, job_ids: list[int]) -> list[int]:
        """The workflows of many jobs (a batch of completions): one query for
        those not cached. Jobs that do not exist are left to the engine, which
        refuses each of them (NOT_FOUND) in its place of the answer."""
        cache = self._job_workflow
        missing = [j for j in set(job_ids) if j not in cache]
        if missing:
            found = self.engine.access.workflows_of_jobs(missing)
            if len(cache) + len(found) > _JOB_CACHE_MAX:
                cache.clear()
            cache.update(found)
        return sorted({cache[j] for j in job_ids if j in cache})

    def _workflow_of_job(self, job_id: int) -> int:
        workflow_id = self._job_workflow.get(job_id)
        if workflow_id is None:
            workflow_id = self.engine.access.workflow_of_job(job_id)
            if workflow_id is None:
                raise NotFound(f"job {job_id} not found", job_id=job_id)
            if len(self._job_workflow) >= _JOB_CACHE_MAX:
                self._job_workflow.clear()
            self._job_workflow[job_id] = workflow_id
        return workflow_id


class AuthInterceptor(grpc.ServerInterceptor):
    """Every torc.v1 call passes here first (health and reflection stay open)."""

    def __init__(self, authorizer: Authorizer) -> None:
        self.authorizer = authorizer

    def intercept_service(self, continuation, handler_call_details):
        method = handler_call_details.method
        if method.startswith(OPEN_PREFIXES):
            return continuation(handler_call_details)
        rule = METHODS.get(method.lstrip("/").replace("/", "."))
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        metadata = handler_call_details.invocation_metadata
        return _wrap(handler, lambda request, context, stream: self._admit(
            method, rule, metadata, request, context, stream))

    def _admit(self, method: str, rule: Optional[Rule], metadata, request, context, stream: bool):
        """Resolve and check the caller; returns the request (a checked
        stream for client streaming), or aborts the call."""
        caller = None
        try:
            if rule is None:
                raise PermissionDenied(f"{method} has no entry in the method table")
            caller = self.authorizer.caller(metadata, context)
            if stream:
                request = self.authorizer.admit_stream(caller, rule, request)
            else:
                self.authorizer.admit(caller, rule, request)
        except TorcError as exc:
            log.warning("refused %s for %s from %s: %s", method, caller.name if caller else "-",
                        context.peer(), exc.message)
            context.abort(status_for(exc), exc.message)
        _CALLER.set(caller)
        return request


#: Handler kind -> (whether the request is a client stream, the handler factory).
_KINDS = (
    ("unary_unary", False, grpc.unary_unary_rpc_method_handler),
    ("unary_stream", False, grpc.unary_stream_rpc_method_handler),
    ("stream_unary", True, grpc.stream_unary_rpc_method_handler),
    ("stream_stream", True, grpc.stream_stream_rpc_method_handler),
)


def _wrap(handler: grpc.RpcMethodHandler, admit: Callable) -> grpc.RpcMethodHandler:
    """The same handler, with `admit` run on the decoded request first."""
    for kind, streaming, make in _KINDS:
        inner = getattr(handler, kind)
        if inner is None:
            continue
        if streaming:
            def behavior(request_iterator, context, inner=inner):
                return inner(_Checked(admit, request_iterator, context), context)
        else:
            def behavior(request, context, inner=inner):
                return inner(admit(request, context, False), context)
        return make(behavior, handler.request_deserializer, handler.response_serializer)
    raise ValueError("a handler without a behavior")


class _Checked:
    """A client stream whose caller is resolved before the first message is
    read, and whose every message is then checked."""

    def __init__(self, admit: Callable, messages, context) -> None:
        self._messages = admit(messages, context, True)

    def __iter__(self):
        return iter(self._messages)


__all__ = ["AuthInterceptor", "Authorizer", "Permission", "current_caller", "current_owner"]
