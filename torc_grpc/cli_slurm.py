"""`serve --slurm` flags and `torc-grpc slurm list|schedule|cancel` (docs/slurm.md)."""

from __future__ import annotations

import argparse
import os
from ._pb import slurm_pb2 as spb


def add_serve_args(serve: argparse.ArgumentParser) -> None:
    env = os.environ.get
    serve.add_argument("--slurm", action="store_true",
                       help="run the Slurm allocator: submit allocations for workflows' schedulers and "
                       "actions with sbatch (squeue, scancel from PATH; SLURM_CONF from the environment)")
    serve.add_argument("--slurm-server-address", default=env("TORC_SLURM_SERVER_ADDRESS", ""),
                       help="HOST:PORT workers on compute nodes dial (default: this host and the port)")
    serve.add_argument("--slurm-tls-ca", default="", help="CA file workers verify this server's "
                       "certificate with (with --tls-cert)")
    serve.add_argument("--slurm-output-dir", default="torc_output",
                       help="logs of allocations of workflows submitted without an output dir "
                       "(default: ./torc_output/wf<ID>)")
    serve.add_argument("--slurm-poll-seconds", type=float, default=2.0,
                       help="seconds between squeue passes (default: 2)")
    serve.add_argument("--slurm-backlog", type=int, default=1,
                       help="queued allocations per scheduler the allocator keeps at most (default: 1)")
    serve.add_argument("--slurm-max-allocations", type=int, default=4,
                       help="live allocations per scheduler the allocator submits by itself at most "
                       "(default: 4; a scheduler's max_allocations wins)")


def slurm_config(args: argparse.Namespace):
    from .server_slurm import SlurmOptions

    if not args.slurm:
        return None
    return SlurmOptions(server_address=args.slurm_server_address, tls_ca=args.slurm_tls_ca,
                        output_dir=args.slurm_output_dir, poll_seconds=args.slurm_poll_seconds,
                        backlog=args.slurm_backlog, max_allocations=args.slurm_max_allocations)


def add_parsers(sub, server_arg) -> None:
    slurm = sub.add_parser("slurm", help="a workflow's Slurm allocations (serve --slurm)",
                           description="List, submit and cancel the Slurm allocations of a workflow.")
    slurm_sub = slurm.add_subparsers(dest="slurm_command", required=True)
    for name, help_text in (("list", "each allocation: Slurm job id, scheduler, state, nodes, start, end"),
                            ("schedule", "submit allocations of one of the workflow's schedulers now "
                             "(torc's schedule-nodes; resumes a paused scheduler)"),
                            ("cancel", "scancel every queued or running allocation of the workflow")):
        cmd = slurm_sub.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
        server_arg(cmd)
        cmd.add_argument("workflow", type=int, help="workflow id")
        if name == "schedule":
            cmd.add_argument("--scheduler", required=True, help="scheduler name (slurm_schedulers)")
            cmd.add_argument("--num-allocations", type=int, default=1, help="allocations (default: 1)")
            cmd.add_argument("--start-one-worker-per-node", action="store_true",
                             help="one worker per node of each allocation (srun)")
            cmd.add_argument("--max-parallel-jobs", type=int, default=0,
                             help="most jobs each worker runs at once (default: as resources allow)")
        cmd.set_defaults(func=_slurm, default_log="WARNING")


def _rows(allocations) -> list[list]:
    return [[a.id, a.slurm_job_id, a.scheduler, a.state, a.source, a.nodes or "-", a.start_time or "-",
             a.end_time or "-", a.message] for a in allocations]


_HEADERS = ["id", "slurm_job", "scheduler", "state", "source", "nodes", "start", "end", "message"]


def _slurm(args: argparse.Namespace) -> int:
    from . import commands
    from .cli_security import client_auth

    stubs = commands.connect(args.server, client_auth(args))
    wf = args.workflow
    if args.slurm_command == "list":
        resp = stubs.slurm.ListAllocations(spb.ListAllocationsRequest(workflow_id=wf), timeout=60)
        print(commands.table(_HEADERS, _rows(resp.allocations)))
        paused = [s for s in resp.schedulers if s.paused]
        for s in paused:
            print(f"scheduler {s.name!r} is paused after {s.consecutive_failures} failures: {s.message} "
                  f"(`torc-grpc slurm schedule {wf} --scheduler {s.name}` resumes it)")
    elif args.slurm_command == "schedule":
        resp = stubs.slurm.ScheduleNodes(spb.ScheduleNodesRequest(
            workflow_id=wf, scheduler=args.scheduler, num_allocations=args.num_allocations,
            start_one_worker_per_node=args.start_one_worker_per_node,
            max_parallel_jobs=args.max_parallel_jobs), timeout=300)
        print(commands.table(_HEADERS, _rows(resp.allocations)))
    else:
        resp = stubs.slurm.CancelAllocations(spb.CancelAllocationsRequest(workflow_id=wf), timeout=120)
        print(f"workflow {wf}: {len(resp.canceled)} allocations canceled")
    return 0
