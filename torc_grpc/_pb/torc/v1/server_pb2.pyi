from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class PingRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PingResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetVersionRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetVersionResponse(_message.Message):
    __slots__ = ("version", "api", "kernels", "sqlite_version")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    API_FIELD_NUMBER: _ClassVar[int]
    KERNELS_FIELD_NUMBER: _ClassVar[int]
    SQLITE_VERSION_FIELD_NUMBER: _ClassVar[int]
    version: str
    api: str
    kernels: str
    sqlite_version: str
    def __init__(self, version: _Optional[str] = ..., api: _Optional[str] = ..., kernels: _Optional[str] = ..., sqlite_version: _Optional[str] = ...) -> None: ...
