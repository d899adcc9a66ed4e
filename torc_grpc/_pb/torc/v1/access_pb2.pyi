from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Group(_message.Message):
    __slots__ = ("id", "name", "created_by", "members", "workflow_ids")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_IDS_FIELD_NUMBER: _ClassVar[int]
    id: int
    name: str
    created_by: str
    members: _containers.RepeatedScalarFieldContainer[str]
    workflow_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, id: _Optional[int] = ..., name: _Optional[str] = ..., created_by: _Optional[str] = ..., members: _Optional[_Iterable[str]] = ..., workflow_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class WhoAmIRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WhoAmIResponse(_message.Message):
    __slots__ = ("user", "is_admin", "worker_workflow_id")
    USER_FIELD_NUMBER: _ClassVar[int]
    IS_ADMIN_FIELD_NUMBER: _ClassVar[int]
    WORKER_WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    user: str
    is_admin: bool
    worker_workflow_id: int
    def __init__(self, user: _Optional[str] = ..., is_admin: _Optional[bool] = ..., worker_workflow_id: _Optional[int] = ...) -> None: ...

class CreateGroupRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class CreateGroupResponse(_message.Message):
    __slots__ = ("group",)
    GROUP_FIELD_NUMBER: _ClassVar[int]
    group: Group
    def __init__(self, group: _Optional[_Union[Group, _Mapping]] = ...) -> None: ...

class DeleteGroupRequest(_message.Message):
    __slots__ = ("group",)
    GROUP_FIELD_NUMBER: _ClassVar[int]
    group: str
    def __init__(self, group: _Optional[str] = ...) -> None: ...

class DeleteGroupResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AddGroupMemberRequest(_message.Message):
    __slots__ = ("group", "user")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    group: str
    user: str
    def __init__(self, group: _Optional[str] = ..., user: _Optional[str] = ...) -> None: ...

class AddGroupMemberResponse(_message.Message):
    __slots__ = ("group",)
    GROUP_FIELD_NUMBER: _ClassVar[int]
    group: Group
    def __init__(self, group: _Optional[_Union[Group, _Mapping]] = ...) -> None: ...

class RemoveGroupMemberRequest(_message.Message):
    __slots__ = ("group", "user")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    group: str
    user: str
    def __init__(self, group: _Optional[str] = ..., user: _Optional[str] = ...) -> None: ...

class RemoveGroupMemberResponse(_message.Message):
    __slots__ = ("group",)
    GROUP_FIELD_NUMBER: _ClassVar[int]
    group: Group
    def __init__(self, group: _Optional[_Union[Group, _Mapping]] = ...) -> None: ...

class LinkWorkflowGroupRequest(_message.Message):
    __slots__ = ("workflow_id", "group")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    group: str
    def __init__(self, workflow_id: _Optional[int] = ..., group: _Optional[str] = ...) -> None: ...

class LinkWorkflowGroupResponse(_message.Message):
    __slots__ = ("groups",)
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    groups: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, groups: _Optional[_Iterable[str]] = ...) -> None: ...

class UnlinkWorkflowGroupRequest(_message.Message):
    __slots__ = ("workflow_id", "group")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    group: str
    def __init__(self, workflow_id: _Optional[int] = ..., group: _Optional[str] = ...) -> None: ...

class UnlinkWorkflowGroupResponse(_message.Message):
    __slots__ = ("groups",)
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    groups: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, groups: _Optional[_Iterable[str]] = ...) -> None: ...

class ListGroupsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListGroupsResponse(_message.Message):
    __slots__ = ("groups",)
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    groups: _containers.RepeatedCompositeFieldContainer[Group]
    def __init__(self, groups: _Optional[_Iterable[_Union[Group, _Mapping]]] = ...) -> None: ...

class CreateWorkerTokenRequest(_message.Message):
    __slots__ = ("workflow_id", "ttl_seconds")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    ttl_seconds: float
    def __init__(self, workflow_id: _Optional[int] = ..., ttl_seconds: _Optional[float] = ...) -> None: ...

class WorkerToken(_message.Message):
    __slots__ = ("id", "workflow_id", "created_by", "created_at", "expires_at", "revoked")
    ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    REVOKED_FIELD_NUMBER: _ClassVar[int]
    id: int
    workflow_id: int
    created_by: str
    created_at: str
    expires_at: float
    revoked: bool
    def __init__(self, id: _Optional[int] = ..., workflow_id: _Optional[int] = ..., created_by: _Optional[str] = ..., created_at: _Optional[str] = ..., expires_at: _Optional[float] = ..., revoked: _Optional[bool] = ...) -> None: ...

class CreateWorkerTokenResponse(_message.Message):
    __slots__ = ("token", "info")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    token: str
    info: WorkerToken
    def __init__(self, token: _Optional[str] = ..., info: _Optional[_Union[WorkerToken, _Mapping]] = ...) -> None: ...

class RevokeWorkerTokenRequest(_message.Message):
    __slots__ = ("token_id",)
    TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    token_id: int
    def __init__(self, token_id: _Optional[int] = ...) -> None: ...

class RevokeWorkerTokenResponse(_message.Message):
    __slots__ = ("info",)
    INFO_FIELD_NUMBER: _ClassVar[int]
    info: WorkerToken
    def __init__(self, info: _Optional[_Union[WorkerToken, _Mapping]] = ...) -> None: ...

class ListWorkerTokensRequest(_message.Message):
    __slots__ = ("workflow_id",)
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    def __init__(self, workflow_id: _Optional[int] = ...) -> None: ...

class ListWorkerTokensResponse(_message.Message):
    __slots__ = ("tokens",)
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    tokens: _containers.RepeatedCompositeFieldContainer[WorkerToken]
    def __init__(self, tokens: _Optional[_Iterable[_Union[WorkerToken, _Mapping]]] = ...) -> None: ...
