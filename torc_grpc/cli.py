"""The torc-grpc command line."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from torc_core.errors import TorcError


def _serve(args: argparse.Namespace) -> int:
    from .server import ServerConfig, serve

    config = ServerConfig(
        db=args.db,
        host=args.host,
        port=args.port,
        max_workers=args.max_workers,
        max_streams=args.max_streams,
        stream_backlog=args.stream_backlog,
        node_lease=args.node_lease,
        max_message_bytes=args.max_message_mb * 1024 * 1024,
        grace_seconds=args.grace,
    )
    return serve(config)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="torc-grpc",
        description="Workflow orchestration server for HPC (torc-compatible, over gRPC).",
    )
    parser.add_argument(
        "--log-level",
        default=os.environ.get("TORC_LOG_LEVEL", "INFO"),
        help="DEBUG, INFO, WARNING or ERROR (default: INFO, or $TORC_LOG_LEVEL)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser(
        "serve",
        help="run the server on a SQLite file",
        description="Run the gRPC server. Prints TORC_SERVER_PORT=<port> once it accepts "
        "calls; SIGTERM drains in-flight calls and closes the database cleanly.",
    )
    serve.add_argument("--db", default="torc.db", help="SQLite database file, on a local disk (default: torc.db)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=50051, help="port to bind, 0 = any free port (default: 50051)")
    serve.add_argument("--max-workers", type=int, default=32, help="threads serving calls (default: 32)")
    serve.add_argument(
        "--max-streams", type=int, default=2000,
        help="open WatchReadyJobs/WatchEvents streams allowed; each holds a thread (default: 2000)",
    )
    serve.add_argument(
        "--stream-backlog", type=int, default=50_000,
        help="undelivered messages a subscriber may hold before it is ended with "
        "RESOURCE_EXHAUSTED (default: 50000)",
    )
    serve.add_argument(
        "--node-lease", type=float, default=120.0,
        help="seconds a compute node stays registered without a Heartbeat; then its pending jobs "
        "are given back and its running jobs fail with return code -128 (default: 120, 0 = never)",
    )
    serve.add_argument("--max-message-mb", type=int, default=64, help="largest message in MiB (default: 64)")
    serve.add_argument("--grace", type=float, default=30.0, help="seconds in-flight calls may finish on shutdown")
    serve.set_defaults(func=_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return args.func(args)
    except TorcError as exc:
        print(f"torc-grpc: {exc.message}", file=sys.stderr)
        return 1
    except (OSError, RuntimeError, ImportError) as exc:
        print(f"torc-grpc: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
