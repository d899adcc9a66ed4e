"""Access groups and worker tokens <-> messages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._pb import access_pb2 as ac_pb

if TYPE_CHECKING:  # the store's rows; clients converting messages need not load the store
    from torc_core.store import GroupRow, WorkerTokenRow


def group_to_pb(g: GroupRow) -> ac_pb.Group:
    return ac_pb.Group(id=g.id, name=g.name, created_by=g.created_by, members=list(g.members),
                       workflow_ids=list(g.workflow_ids))


def worker_token_to_pb(t: WorkerTokenRow) -> ac_pb.WorkerToken:
    return ac_pb.WorkerToken(id=t.id, workflow_id=t.workflow_id, created_by=t.created_by,
                             created_at=t.created_at, expires_at=t.expires_at, revoked=bool(t.revoked))
