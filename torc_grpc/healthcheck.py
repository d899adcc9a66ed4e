"""`python -m torc_grpc.healthcheck HOST:PORT`: exit 0 when the server's
grpc.health.v1 check says SERVING, 1 otherwise (the container health check).

Health is open (no token). With TORC_TLS_CA set the check uses TLS, and
checks the certificate against TORC_TLS_SERVER_NAME (default: localhost),
since it dials the server from inside its own container."""

from __future__ import annotations

import os
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def _channel(target: str) -> grpc.Channel:
    ca = os.environ.get("TORC_TLS_CA")
    if not ca:
        return grpc.insecure_channel(target)
    with open(ca, "rb") as f:
        creds = grpc.ssl_channel_credentials(root_certificates=f.read())
    name = os.environ.get("TORC_TLS_SERVER_NAME", "localhost")
    return grpc.secure_channel(target, creds, options=[("grpc.ssl_target_name_override", name)])


def check(target: str, timeout: float = 3.0) -> bool:
    with _channel(target) as channel:
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
