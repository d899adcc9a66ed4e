"""Who may do what to a workflow, as plain data (no grpc): callers,
permissions and the one access rule.

* The owner of a workflow (the authenticated user who created it) and admins
  may do everything to it.
* Members of an access group linked to the workflow may read and operate it
  and run its workers, but not delete it or change its groups.
* A worker token is scoped to one workflow and permits only what a worker
  does (register, claim, start, complete, heartbeat, watch ready jobs) and
  reading that workflow's status and jobs.
* Anyone else does not see the workflow at all: the answer is the same
  NOT_FOUND as for a workflow that does not exist, so ids cannot be probed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Optional

from .errors import NotFound, PermissionDenied


class Permission(enum.IntEnum):
    """What a call needs (ordered: each includes the ones before, except WORKER)."""

    #: Open to everyone (health, reflection).
    NONE = 0
    #: Any authenticated caller (create a workflow, list what it may see).
    AUTHENTICATED = 1
    #: Read a workflow, its jobs, results and events.
    READ = 2
    #: What a compute node does for a workflow.
    WORKER = 3
    #: Change a workflow's run: add jobs, initialize, start, cancel, reset, retry.
    OPERATE = 4
    #: Delete a workflow, change its groups, mint its worker tokens.
    OWN = 5
    #: Site administration.
    ADMIN = 6


@dataclass(frozen=True)
class Caller:
    """An authenticated caller.

    Attributes:
        name: The user (for a worker token: the user who minted it).
        is_admin: May do everything.
        worker_workflow_id: Set for a worker token: the one workflow it serves.
        token_id: The worker token's id (0 for a user token).
    """

    name: str
    is_admin: bool = False
    worker_workflow_id: int = 0
    token_id: int = 0

    @property
    def is_worker(self) -> bool:
        return self.worker_workflow_id != 0


@dataclass(frozen=True)
class WorkflowAccess:
    """Who has a say on one workflow."""

    workflow_id: int
    owner: str
    #: Users in the access groups linked to the workflow.
    members: frozenset[str] = frozenset()


def check(caller: Caller, needed: Permission, access: WorkflowAccess, worker_ok: bool) -> None:
    """Raise unless `caller` may do what needs `needed` on the workflow.

    Args:
        worker_ok: The call is one a worker token may make.

    Raises:
        NotFound: The caller may not see the workflow (as if it did not exist).
        PermissionDenied: The caller sees it but may not do this.
    """
    hidden = NotFound(f"workflow {access.workflow_id} not found", workflow_id=access.workflow_id)
    if caller.is_worker:
        if caller.worker_workflow_id != access.workflow_id:
            raise hidden
        if not worker_ok:
            raise PermissionDenied("a worker token permits only what a worker does")
        return
    if caller.is_admin or caller.name == access.owner:
        return
    if caller.name not in access.members:
        raise hidden
    if needed >= Permission.OWN:
        raise PermissionDenied(
            f"only the owner ({access.owner}) or an admin may do this to workflow {access.workflow_id}"
        )


#: Who acts when the server runs without authentication (a trusted, local setup).
LOCAL = Caller("", is_admin=True)


def acting(caller: Optional[Caller]) -> Caller:
    """The caller to check: LOCAL when there is none (authentication off)."""
    return LOCAL if caller is None else caller


def visible_to(caller: Optional[Caller]) -> Optional[str]:
    """The user whose workflows a listing shows (None: every workflow)."""
    if caller is None or caller.is_admin:
        return None
    return caller.name
