"""Access: the data behind authorization (torc_core.access has the rule).

Access groups (create, members, linked workflows), workflow-scoped worker
tokens (minted, expiring, revocable, gone with their workflow, stored as
digests), and the lookups the transport's authorizer makes: who owns a
workflow and who is in its groups, and which workflow a job or a compute
node belongs to. `generation` grows with every change of access, so callers
may cache answers until it moves.
"""

from __future__ import annotations

import logging
import time
from typing import Optional

from .. import store
from ..access import Caller, Permission, WorkflowAccess, check
from ..errors import AlreadyExists, InvalidArgument, NotFound, PermissionDenied
from ..models import Severity
from ..store import GroupRow, WorkerTokenRow
from .core import EngineCore, now_iso

log = logging.getLogger("torc_core.engine")

#: Longest a worker token may live (a year); the default is a week.
MAX_TOKEN_TTL = 365 * 24 * 3600.0
DEFAULT_TOKEN_TTL = 7 * 24 * 3600.0


class Access:
    """Groups, worker tokens and access lookups (see module docstring)."""

    def __init__(self, core: EngineCore) -> None:
        self._core = core
        #: Bumped after every committed change of access (groups, members, links, tokens).
        self.generation = 0

    # ------------------------------------------------------------ lookups
    def workflow_access(self, workflow_id: int) -> WorkflowAccess:
        conn = self._core.reader()
        owner = store.workflow_owner(conn, workflow_id)
        if owner is None:
            raise NotFound(f"workflow {workflow_id} not found", workflow_id=workflow_id)
        return WorkflowAccess(workflow_id, owner, store.workflow_members(conn, workflow_id))

    def workflow_of_job(self, job_id: int) -> Optional[int]:
        return store.job_workflow(self._core.reader(), job_id)

    def workflows_of_jobs(self, job_ids: list[int]) -> dict[int, int]:
        """job id -> workflow id, in one query per 500 ids (jobs that do not exist are absent)."""
        return store.job_workflows(self._core.reader(), job_ids)

    def workflow_of_node(self, node_id: int) -> Optional[int]:
        return store.node_workflow(self._core.reader(), node_id)

    def resolve_worker_token(self, digest: str, now: Optional[float] = None) -> Optional[Caller]:
        """The caller a worker token stands for; None when unknown, revoked or expired."""
        row = store.worker_token_by_digest(self._core.reader(), digest)
        now = time.time() if now is None else now
        if row is None or row.revoked or row.expires_at <= now:
            return None
        return Caller(row.created_by, worker_workflow_id=row.workflow_id, token_id=row.id)

    # ------------------------------------------------------------ groups
    def create_group(self, name: str, by: Caller) -> GroupRow:
        if not name.strip():
            raise InvalidArgument("a group needs a name")
        core = self._core
        with core.write_lock, core.transaction() as tx:
            if store.group_by_name(tx.conn, name) is not None:
                raise AlreadyExists(f"group {name!r} already exists", name=name)
            store.insert_group(tx.conn, name, by.name, now_iso())
            group = store.group_by_name(tx.conn, name)
        self._changed()
        return group

    def delete_group(self, name: str, by: Caller) -> None:
        with self._core.write_lock, self._core.transaction() as tx:
            group = self._managed(tx.conn, name, by)
            store.delete_group(tx.conn, group.id)
        self._changed()

    def set_member(self, name: str, user: str, member: bool, by: Caller) -> GroupRow:
        """Add (or remove) a user; the group's creator and admins may."""
        if not user.strip():
            raise InvalidArgument("a member needs a user name")
        with self._core.write_lock, self._core.transaction() as tx:
            group = self._managed(tx.conn, name, by)
            (store.add_member if member else store.remove_member)(tx.conn, group.id, user)
            group = store.group_by_name(tx.conn, name)
        self._changed()
        return group

    def set_link(self, workflow_id: int, name: str, linked: bool, by: Caller) -> list[str]:
        """Link (or unlink) a workflow and a group; the workflow's owner and
        admins may. Returns the workflow's groups."""
        check(by, Permission.OWN, self.workflow_access(workflow_id), worker_ok=False)
        core = self._core
        with core.write_lock, core.transaction() as tx:
            group = store.group_by_name(tx.conn, name)
            if group is None:
                raise NotFound(f"group {name!r} not found", name=name)
            (store.link_workflow if linked else store.unlink_workflow)(tx.conn, workflow_id, group.id)
            tx.event(workflow_id, "access_changed", Severity.INFO, group=name, linked=linked, by=by.name)
            names = store.workflow_group_names(tx.conn, workflow_id)
        self._changed()
        return names

    def list_groups(self) -> list[GroupRow]:
        return store.list_groups(self._core.reader())

    def _managed(self, conn, name: str, by: Caller) -> GroupRow:
        group = store.group_by_name(conn, name)
        if group is None:
            raise NotFound(f"group {name!r} not found", name=name)
        if not (by.is_admin or by.name == group.created_by) or by.is_worker:
            raise PermissionDenied(f"only the group's creator ({group.created_by}) or an admin "
                                   f"may change group {name!r}")
        return group

    # ------------------------------------------------------------ worker tokens
    def create_worker_token(self, workflow_id: int, digest: str, ttl_seconds: float,
                            by: Caller) -> WorkerTokenRow:
        """Record a worker token for one workflow (the caller made the token
        and keeps it; only its digest is stored). An event records it."""
        ttl = ttl_seconds or DEFAULT_TOKEN_TTL
        if not 0 < ttl <= MAX_TOKEN_TTL:
            raise InvalidArgument(f"ttl_seconds must be between 1 and {MAX_TOKEN_TTL:.0f}, not {ttl}")
        core = self._core
        with core.write_lock, core.transaction() as tx:
            core.workflow(tx.conn, workflow_id)
            token_id = store.insert_worker_token(tx.conn, workflow_id, digest, by.name, now_iso(),
                                                 time.time() + ttl)
            tx.event(workflow_id, "worker_token_created", Severity.INFO, token_id=token_id, by=by.name,
                     ttl_seconds=ttl)
            row = store.worker_token_by_id(tx.conn, token_id)
        log.info("audit: worker token %d for workflow %d created by %s", token_id, workflow_id, by.name)
        return row

    def revoke_worker_token(self, token_id: int, by: Caller) -> WorkerTokenRow:
        """Revoke a worker token; its workflow's owner and admins may (refused
        tokens of other workflows look as if they did not exist)."""
        core = self._core
        row = store.worker_token_by_id(core.reader(), token_id)
        if row is None:
            raise NotFound(f"worker token {token_id} not found", token_id=token_id)
        check(by, Permission.OWN, self.workflow_access(row.workflow_id), worker_ok=False)
        with core.write_lock, core.transaction() as tx:
            store.revoke_worker_token(tx.conn, token_id)
            tx.event(row.workflow_id, "worker_token_revoked", Severity.WARNING, token_id=token_id,
                     by=by.name)
            row = store.worker_token_by_id(tx.conn, token_id)
        self._changed()
        log.info("audit: worker token %d of workflow %d revoked by %s", token_id, row.workflow_id, by.name)
        return row

    def worker_tokens(self, workflow_id: int) -> list[WorkerTokenRow]:
        conn = self._core.reader()
        self._core.workflow(conn, workflow_id)
        return store.worker_tokens_of(conn, workflow_id)

    def _changed(self) -> None:
        self.generation += 1
