"""ServerService: Ping (the transport ceiling) and GetVersion."""

from __future__ import annotations

from torc_core.engine import Engine

from .. import __version__, convert
from .._pb import server_pb2 as pb
from .._pb import server_pb2_grpc as pb_grpc


class ServerServiceServicer(pb_grpc.ServerServiceServicer):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def Ping(self, request, context):
        return pb.PingResponse()

    def GetVersion(self, request, context):
        return convert.version_to_pb(__version__, self.engine.storage_facts())
