"""ServerService: Ping (the transport ceiling) and GetVersion."""

from __future__ import annotations

import apsw

from torc_core import kernels

from .. import __version__
from .._pb import server_pb2 as pb
from .._pb import server_pb2_grpc as pb_grpc


class ServerServiceServicer(pb_grpc.ServerServiceServicer):
    def Ping(self, request, context):
        return pb.PingResponse()

    def GetVersion(self, request, context):
        return pb.GetVersionResponse(
            version=__version__,
            api="torc.v1",
            kernels=kernels.IMPLEMENTATION,
            sqlite_version=apsw.sqlite_lib_version(),
        )
