"""The torc-grpc command line."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

import grpc

from torc_core.errors import TorcError

from .cli_pictures import add_parsers as add_picture_parsers
from .cli_security import add_parsers as add_security_parsers
from .cli_security import client_args, client_auth
from .cli_slurm import add_parsers as add_slurm_parsers
from .cli_slurm import add_serve_args as add_slurm_serve_args
from .cli_slurm import slurm_config
from .cli_usage import add_parsers as add_usage_parsers
from .cli_views import add_parsers as add_view_parsers


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
        limits=_limits(args.limit),
        auth_file=args.auth_file,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        tls_client_ca=args.tls_client_ca,
        insecure=args.insecure,
        max_streams_per_user=args.max_streams_per_user,
        slurm=slurm_config(args),
        metrics_port=args.metrics_port,
        metrics_host=args.metrics_host,
    )
    return serve(config)


def _limits(pairs: list[str]):
    from .validation import Limits

    overrides = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        try:
            overrides[name.strip()] = float(value)
        except ValueError:
            raise SystemExit(f"torc-grpc serve: --limit {pair!r}: expected NAME=NUMBER") from None
    try:
        return Limits().with_overrides(overrides)
    except ValueError as exc:
        raise SystemExit(f"torc-grpc serve: --limit: {exc}") from None


def _worker_config(args: argparse.Namespace, target: str = "", workflow_id: int = 0):
    from torc_core.units import parse_memory

    from .worker import WorkerConfig

    config = WorkerConfig(target=target, workflow_id=workflow_id, label=args.label,
                          output_dir=args.output_dir, wait_seconds=args.wait,
                          idle_timeout=args.idle_timeout, term_grace=args.term_grace,
                          termination_margin=args.termination_margin, on_signal=args.on_signal,
                          max_parallel_jobs=args.max_parallel_jobs, claim_ahead=args.claim_ahead,
                          scheduler_config_id=args.scheduler_config_id,
                          strict_scheduler_match=args.strict_scheduler_match)
    if args.cpus:
        config.num_cpus = args.cpus
    if args.memory:
        config.memory_bytes = parse_memory(args.memory)
    if args.gpus is not None:
        config.num_gpus = args.gpus
    if args.end_time:
        config.end_time = args.end_time
    elif args.time_limit:
        config.end_time = time.time() + args.time_limit
    return config


def _worker(args: argparse.Namespace) -> int:
    from .worker import Worker, stop_on_signals

    config = _worker_config(args, args.server, args.workflow)
    config.auth = client_auth(args)
    worker = Worker(config)
    with stop_on_signals(worker):
        summary = worker.run()
    print(f"compute node {summary.compute_node_id}: {summary.jobs_run} jobs run, {summary.completed} "
          f"completed, {summary.failed} failed; {summary.rpcs} calls, {summary.stream_messages} stream "
          f"messages; stopped: {summary.reason}", flush=True)
    return 0 if summary.reason is not None and summary.reason.ok else 2


def _run(args: argparse.Namespace) -> int:
    from .run import run_spec

    return run_spec(args.spec, args.db, _worker_config(args), force=args.force)


def _submit(args: argparse.Namespace) -> int:
    from . import commands

    loaded = commands.read_spec(args.spec, output_dir=args.output_dir)
    commands.warn_insane(loaded.spec)
    if args.start:
        commands.check_inputs(loaded.spec, args.force)
    stubs = commands.connect(args.server, client_auth(args))
    submitted = commands.submit(stubs, loaded.spec)
    if args.start:
        try:
            commands.start(stubs, submitted.workflow_id)
        except BaseException:  # a failing submit leaves nothing behind
            commands.delete(stubs, submitted.workflow_id)
            raise
    print(submitted.workflow_id)
    return 0


def _client(args: argparse.Namespace) -> int:
    """The commands that act on one workflow of a running server."""
    from . import commands
    from ._pb import workflow_pb2 as wpb

    stubs = commands.connect(args.server, client_auth(args))
    wf = args.workflow
    if args.command in ("start", "restart"):
        resp = commands.start(stubs, wf, rerun_all=getattr(args, "rerun_all", False))
        print(f"workflow {wf}: run {resp.run_id}, {resp.num_ready} ready, {resp.num_blocked} blocked")
    elif args.command == "delete":
        stubs.workflow.DeleteWorkflow(wpb.DeleteWorkflowRequest(workflow_id=wf), timeout=300)
        print(f"workflow {wf} deleted (its jobs, results, events and nodes with it)")
    elif args.command == "cancel":
        n = stubs.workflow.CancelWorkflow(wpb.CancelWorkflowRequest(workflow_id=wf), timeout=60).num_canceled
        print(f"workflow {wf} canceled ({n} claimed or running jobs canceled)")
    elif args.command == "reset":
        n = stubs.workflow.ResetJobStatus(wpb.ResetJobStatusRequest(
            workflow_id=wf, failed_only=args.failed_only, force=args.force), timeout=300).updated_count
        print(f"workflow {wf}: {n} jobs reset; `torc-grpc restart {wf}` runs them again")
    return 0


class _Version(argparse.Action):
    """--version: read the package version only when asked (it costs an import)."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        from . import __version__

        print(f"torc-grpc {__version__} (API torc.v1)")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="torc-grpc",
        description="Workflow orchestration server for HPC (torc-compatible, over gRPC).",
    )
    parser.add_argument(
        "--log-level",
        default=os.environ.get("TORC_LOG_LEVEL"),
        help="DEBUG, INFO, WARNING or ERROR (default: $TORC_LOG_LEVEL, else INFO for serve and "
        "worker, WARNING for the others)",
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="print the version and exit")
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
    serve.add_argument(
        "--limit", action="append", default=[], metavar="NAME=N",
        help="raise (or lower) a request cap, e.g. command_bytes=262144 (repeatable; docs/limits.md)",
    )
    env = os.environ.get
    serve.add_argument("--auth-file", default=env("TORC_AUTH_FILE", ""),
                       help="users and token digests (torc-grpc users): every call then needs a token "
                       "(docs/security.md; default: $TORC_AUTH_FILE)")
    serve.add_argument("--tls-cert", default=env("TORC_SERVER_TLS_CERT", ""),
                       help="PEM certificate: serve TLS (default: $TORC_SERVER_TLS_CERT)")
    serve.add_argument("--tls-key", default=env("TORC_SERVER_TLS_KEY", ""),
                       help="PEM key of --tls-cert (default: $TORC_SERVER_TLS_KEY)")
    serve.add_argument("--tls-client-ca", default=env("TORC_SERVER_TLS_CLIENT_CA", ""),
                       help="require client certificates signed by this CA (mTLS; default: "
                       "$TORC_SERVER_TLS_CLIENT_CA)")
    serve.add_argument("--insecure", action="store_true", help="allow a non-loopback --host without "
                       "--auth-file and TLS: on a trusted network only")
    serve.add_argument("--max-streams-per-user", type=int, default=0,
                       help="streams one user may hold (default: half of --max-streams)")
    serve.add_argument("--grace", type=float, default=30.0, help="seconds in-flight calls may finish on shutdown")
    serve.add_argument("--metrics-port", type=int, default=None,
                       help="serve Prometheus metrics on this port (0 = any free one, printed as "
                       "TORC_METRICS_PORT=<port>; default: off)")
    serve.add_argument("--metrics-host", default="127.0.0.1",
                       help="address of the metrics endpoint (default: 127.0.0.1)")
    add_slurm_serve_args(serve)
    serve.set_defaults(func=_serve, default_log="INFO")

    worker = sub.add_parser(
        "worker",
        help="run jobs of a workflow on this machine until it is complete",
        description="Register this machine as a compute node, then claim ready jobs that fit its "
        "free resources, run them and report back, until the workflow is complete or canceled. "
        "Exit status 0 when the workflow completed (or the end time or idle timeout came), 2 otherwise.",
    )
    _server_arg(worker)
    worker.add_argument("--workflow", type=int, required=True, help="workflow id")
    _worker_args(worker)
    worker.set_defaults(func=_worker, default_log="INFO")

    run = sub.add_parser(
        "run",
        help="run a workflow spec to completion on this machine (no separate server)",
        description="Start an embedded server on a local SQLite file, submit SPEC (torc YAML, JSON, "
        "JSON5 or KDL), run its jobs with a local worker until the workflow is complete, print a "
        "summary. Exit status 0 when every job completed.",
    )
    run.add_argument("spec", help="workflow spec file (.yaml, .yml, .json, .json5, .kdl)")
    run.add_argument("--db", default="torc.db", help="SQLite database file (default: torc.db; kept afterwards)")
    run.add_argument("--force", action="store_true", help="start even if input files are missing")
    _worker_args(run)
    run.set_defaults(func=_run, default_log="WARNING")

    submit = sub.add_parser("submit", help="create a workflow from a spec file on a server; prints its id",
                            description="Create the workflow described by SPEC on the server (large specs "
                            "go in AddJobs batches) and print its id. Start it with `start`, or pass --start.")
    _server_arg(submit)
    submit.add_argument("spec", help="workflow spec file (.yaml, .yml, .json, .json5, .kdl)")
    submit.add_argument("--start", action="store_true", help="also start it (checks that input files exist)")
    submit.add_argument("--force", action="store_true", help="with --start: start even if input files are missing")
    submit.add_argument("--output-dir", default="torc_output",
                        help="where Slurm allocations (serve --slurm) write their logs and jobs their "
                        "outputs (default: ./torc_output, made absolute)")
    submit.set_defaults(func=_submit, default_log="WARNING")

    def client(name: str, help_text: str):
        cmd = sub.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
        _server_arg(cmd)
        cmd.add_argument("workflow", type=int, help="workflow id")
        cmd.set_defaults(func=_client, default_log="WARNING")
        return cmd

    client("start", "initialize a workflow's jobs and start its first (or next) run")
    restart = client("restart", "start the next run: jobs reset since the last run (and what needs them) run again")
    restart.add_argument("--rerun-all", action="store_true", help="rerun every job, completed ones too")
    client("cancel", "cancel a workflow: running jobs are stopped, nothing new starts")
    client("delete", "delete a workflow and everything in it (its owner only)")
    reset = client("reset", "return jobs to uninitialized so that `restart` runs them again")
    reset.add_argument("--failed-only", action="store_true", help="only failed/canceled jobs and what depends on them")
    reset.add_argument("--force", action="store_true", help="even while jobs are running")
    add_view_parsers(sub, _server_arg)
    add_usage_parsers(sub, _server_arg)
    add_security_parsers(sub, _server_arg)
    add_slurm_parsers(sub, _server_arg)
    add_picture_parsers(sub, _server_arg)
    return parser


def _server_arg(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--server", default=os.environ.get("TORC_SERVER", "127.0.0.1:50051"),
                     help="server address HOST:PORT (default: $TORC_SERVER or 127.0.0.1:50051)")
    client_args(cmd)


def _worker_args(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--cpus", type=int, default=0, help="CPUs to offer (default: all of this machine)")
    cmd.add_argument("--memory", default="", help='memory to offer, e.g. "16g" (default: all of it)')
    cmd.add_argument("--gpus", type=int, default=None, help="GPUs to offer (default: NVIDIA GPUs found)")
    cmd.add_argument("--label", default="", help="claim only jobs with this label")
    cmd.add_argument("--end-time", type=float, default=0.0,
                     help="unix time this worker must be done by (default: the Slurm allocation's end "
                     "when inside one)")
    cmd.add_argument("--time-limit", type=float, default=0.0, help="seconds from now this worker may run")
    cmd.add_argument("--term-grace", type=float, default=10.0,
                     help="on SIGTERM/SIGINT: seconds jobs that support termination get before SIGKILL "
                     "(default: 10; keep it under Slurm's KillWait, 30 s by default)")
    cmd.add_argument("--idle-timeout", type=float, default=0.0,
                     help="stop after this many seconds with nothing to run (default: never)")
    cmd.add_argument("--termination-margin", type=float, default=30.0,
                     help="stop claiming and terminate running jobs this many seconds before the end "
                     "time (at most a tenth of the time there is; default: 30)")
    cmd.add_argument("--on-signal", choices=("terminate", "release"), default="terminate",
                     help="SIGTERM/SIGINT: report running jobs TERMINATED (default), or release them "
                     "to the server, which fails them with -128 so failure handlers apply (the "
                     "allocator's workers: scancel, preemption)")
    cmd.add_argument("--max-parallel-jobs", type=int, default=0,
                     help="most jobs running at once (default: as resources allow)")
    cmd.add_argument("--claim-ahead", type=int, default=8, choices=range(0, 17), metavar="0-16",
                     help="while jobs are short, claim about 0.1 s of work more than fits (at most "
                     "this many node-fulls), so a slot that frees up is refilled at once instead of "
                     "after a call (default: 8; 0 = never)")
    cmd.add_argument("--scheduler-config-id", type=int, default=None,
                     help="the scheduler this worker's allocation came from: claims prefer its jobs")
    cmd.add_argument("--strict-scheduler-match", action="store_true",
                     help="with --scheduler-config-id: never take jobs routed to another scheduler")
    cmd.add_argument("--output-dir", default="torc_output", help="where job stdout/stderr go (default: torc_output)")
    cmd.add_argument("--wait", type=float, default=60.0,
                     help="longest wait for news from the server before claiming again (default: 60)")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=(args.log_level or args.default_log).upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return args.func(args)
    except TorcError as exc:
        print(f"torc-grpc: {exc.message}", file=sys.stderr)
        return 1
    except grpc.RpcError as exc:
        print(f"torc-grpc: {_rpc_error(exc, getattr(args, 'server', ''))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `torc-grpc events 1 | head`: the reader left; so do we, quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (OSError, RuntimeError, ImportError) as exc:
        print(f"torc-grpc: {exc}", file=sys.stderr)
        return 1


def _rpc_error(exc: grpc.RpcError, server: str) -> str:
    """One line for a failed call; an unreachable server says where and what to do."""
    if exc.code() == grpc.StatusCode.UNAVAILABLE and server:
        return (f"cannot reach a torc-grpc server at {server} ({exc.details()}). Start one with "
                "`torc-grpc serve`, or point --server or TORC_SERVER at the one you use.")
    return f"{exc.code().name}: {exc.details()}"


if __name__ == "__main__":
    sys.exit(main())
