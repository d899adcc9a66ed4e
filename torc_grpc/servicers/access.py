"""AccessService: access groups and worker tokens (docs/security.md)."""

from __future__ import annotations

from torc_core.access import Caller, acting
from torc_core.engine import Engine
from torc_core.tokens import WORKER_PREFIX, digest, new_token

from .. import convert
from .._pb import access_pb2 as pb
from .._pb import access_pb2_grpc as pb_grpc
from ..auth import current_caller
from ..boundary import DEFAULT, Boundary
from ..errors import translate_errors

def _by() -> Caller:
    return acting(current_caller())


class AccessServiceServicer(pb_grpc.AccessServiceServicer):
    def __init__(self, engine: Engine, boundary: Boundary = DEFAULT) -> None:
        self.engine = engine
        self.boundary = boundary

    @translate_errors
    def WhoAmI(self, request, context):
        caller = current_caller()
        if caller is None:
            return pb.WhoAmIResponse()
        return pb.WhoAmIResponse(user=caller.name, is_admin=caller.is_admin,
                                 worker_workflow_id=caller.worker_workflow_id)

    @translate_errors
    def CreateGroup(self, request, context):
        return pb.CreateGroupResponse(group=convert.group_to_pb(self.engine.access.create_group(
            request.name, _by())))

    @translate_errors
    def DeleteGroup(self, request, context):
        self.engine.access.delete_group(request.group, _by())
        return pb.DeleteGroupResponse()

    @translate_errors
    def AddGroupMember(self, request, context):
        group = self.engine.access.set_member(request.group, request.user, True, _by())
        return pb.AddGroupMemberResponse(group=convert.group_to_pb(group))

    @translate_errors
    def RemoveGroupMember(self, request, context):
        group = self.engine.access.set_member(request.group, request.user, False, _by())
        return pb.RemoveGroupMemberResponse(group=convert.group_to_pb(group))

    @translate_errors
    def LinkWorkflowGroup(self, request, context):
        names = self.engine.access.set_link(request.workflow_id, request.group, True, _by())
        return pb.LinkWorkflowGroupResponse(groups=names)

    @translate_errors
    def UnlinkWorkflowGroup(self, request, context):
        names = self.engine.access.set_link(request.workflow_id, request.group, False, _by())
        return pb.UnlinkWorkflowGroupResponse(groups=names)

    @translate_errors
    def ListGroups(self, request, context):
        return pb.ListGroupsResponse(groups=[convert.group_to_pb(g) for g in self.engine.access.list_groups()])

    @translate_errors
    def CreateWorkerToken(self, request, context):
        token = new_token(WORKER_PREFIX)
        info = self.engine.access.create_worker_token(request.workflow_id, digest(token),
                                                      request.ttl_seconds, _by())
        return pb.CreateWorkerTokenResponse(token=token, info=convert.worker_token_to_pb(info))

    @translate_errors
    def RevokeWorkerToken(self, request, context):
        info = self.engine.access.revoke_worker_token(request.token_id, _by())
        return pb.RevokeWorkerTokenResponse(info=convert.worker_token_to_pb(info))

    @translate_errors
    def ListWorkerTokens(self, request, context):
        tokens = self.engine.access.worker_tokens(request.workflow_id)
        return pb.ListWorkerTokensResponse(tokens=[convert.worker_token_to_pb(t) for t in tokens])
