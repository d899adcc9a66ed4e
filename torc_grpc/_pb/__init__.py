"""Generated protobuf and gRPC code (protos/generate.py); never edited by hand."""

from .torc.v1 import (  # noqa: F401
    access_pb2,
    access_pb2_grpc,
    common_pb2,
    event_pb2,
    event_pb2_grpc,
    job_pb2,
    job_pb2_grpc,
    server_pb2,
    server_pb2_grpc,
    slurm_pb2,
    slurm_pb2_grpc,
    worker_pb2,
    worker_pb2_grpc,
    workflow_pb2,
    workflow_pb2_grpc,
)
