from torc_grpc._pb.torc.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListEventsRequest(_message.Message):
    __slots__ = ("workflow_id", "after", "limit", "min_severity")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    MIN_SEVERITY_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    after: int
    limit: int
    min_severity: _common_pb2.Severity
    def __init__(self, workflow_id: _Optional[int] = ..., after: _Optional[int] = ..., limit: _Optional[int] = ..., min_severity: _Optional[_Union[_common_pb2.Severity, str]] = ...) -> None: ...

class ListEventsResponse(_message.Message):
    __slots__ = ("events", "next_after")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_AFTER_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_common_pb2.Event]
    next_after: int
    def __init__(self, events: _Optional[_Iterable[_Union[_common_pb2.Event, _Mapping]]] = ..., next_after: _Optional[int] = ...) -> None: ...

class WatchEventsRequest(_message.Message):
    __slots__ = ("workflow_id", "min_severity", "replay_after")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    MIN_SEVERITY_FIELD_NUMBER: _ClassVar[int]
    REPLAY_AFTER_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    min_severity: _common_pb2.Severity
    replay_after: int
    def __init__(self, workflow_id: _Optional[int] = ..., min_severity: _Optional[_Union[_common_pb2.Severity, str]] = ..., replay_after: _Optional[int] = ...) -> None: ...
