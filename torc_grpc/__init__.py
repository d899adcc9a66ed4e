"""torc_grpc: the gRPC server, client and CLI of torc-grpc over torc_core."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("torc-grpc")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
