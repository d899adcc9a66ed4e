"""WorkerService: what compute nodes call (claims, starts, completions)."""

from __future__ import annotations

from torc_core.engine import Engine

from .._pb import worker_pb2_grpc as pb_grpc


class WorkerServiceServicer(pb_grpc.WorkerServiceServicer):
    """Every RPC answers UNIMPLEMENTED until the execution engine lands."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
