"""The torc-grpc command line."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

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


def _worker(args: argparse.Namespace) -> int:
    from torc_core.units import parse_memory

    from .worker import Worker, WorkerConfig

    config = WorkerConfig(target=args.server, workflow_id=args.workflow, label=args.label,
                          output_dir=args.output_dir, wait_seconds=args.wait)
    if args.cpus:
        config.num_cpus = args.cpus
    if args.memory:
        config.memory_bytes = parse_memory(args.memory)
    config.num_gpus = args.gpus
    if args.time_limit:
        config.end_time = time.time() + args.time_limit
    summary = Worker(config).run()
    print(f"compute node {summary.compute_node_id}: {summary.jobs_run} jobs run, {summary.completed} "
          f"completed, {summary.failed} failed; stopped: {summary.reason}", flush=True)
    return 0 if summary.reason in ("complete", "time up") else 2


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

    worker = sub.add_parser(
        "worker",
        help="run jobs of a workflow on this machine until it is complete",
        description="Register this machine as a compute node, then claim ready jobs that fit its "
        "free resources, run them and report back, until the workflow is complete or canceled. "
        "Exit status 0 when the workflow completed (or the time limit was reached), 2 otherwise.",
    )
    worker.add_argument("--server", required=True, help="server address, HOST:PORT")
    worker.add_argument("--workflow", type=int, required=True, help="workflow id")
    worker.add_argument("--cpus", type=int, default=0, help="CPUs to offer (default: all of this machine)")
    worker.add_argument("--memory", default="", help='memory to offer, e.g. "16g" (default: all)')
    worker.add_argument("--gpus", type=int, default=0, help="GPUs to offer (default: 0)")
    worker.add_argument("--label", default="", help="claim only jobs with this label")
    worker.add_argument("--time-limit", type=float, default=0.0,
                        help="seconds this worker may run; jobs longer than the time left are not claimed")
    worker.add_argument("--output-dir", default="torc_output", help="where job stdout/stderr go")
    worker.add_argument("--wait", type=float, default=60.0,
                        help="longest wait for news from the server before claiming again (default: 60)")
    worker.set_defaults(func=_worker)
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
