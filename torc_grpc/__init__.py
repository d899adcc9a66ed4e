"""torc_grpc: the gRPC server, client and CLI of torc-grpc over torc_core."""


def __getattr__(name: str) -> str:
    # __version__ on first use: importlib.metadata costs every CLI start ~25 ms.
    if name != "__version__":
        raise AttributeError(f"module 'torc_grpc' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        value = version("torc-grpc")
    except PackageNotFoundError:  # running from a source tree that is not installed
        value = "0.0.0+unknown"
    globals()["__version__"] = value
    return value
