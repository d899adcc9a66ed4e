"""`python -m torc_grpc.healthcheck HOST:PORT`: exit 0 when the server's
grpc.health.v1 check says SERVING, 1 otherwise (the container health check)."""

from __future__ import annotations

import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def check(target: str, timeout: float = 3.0) -> bool:
    with grpc.insecure_channel(target) as channel:
        try:
            resp = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""),
                                                             timeout=timeout)
        except grpc.RpcError:
            return False
    return resp.status == health_pb2.HealthCheckResponse.SERVING


def main(argv: list[str]) -> int:
    target = argv[1] if len(argv) > 1 else "127.0.0.1:50051"
    serving = check(target)
    print(f"{target}: {'SERVING' if serving else 'not serving'}")
    return 0 if serving else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
