"""`torc-grpc report ID` (requested against used, per resource set, and the
jobs flagged) and `torc-grpc recover ID` (torc's recovery: memory x1.5 after
an out-of-memory kill, runtime x1.5 after a timeout, then the failed jobs
reset and the workflow restarted). The numbers come from the worker's
resource monitor (torc's resource_monitor, on by default)."""

from __future__ import annotations

import argparse
import json
from typing import Callable

from torc_core.units import format_bytes

from . import commands, usage, views
from ._pb import job_pb2 as jpb
from ._pb import workflow_pb2 as wpb
from .cli_security import client_auth


def add_parsers(sub, server_arg: Callable[[argparse.ArgumentParser], None]) -> None:
    report = sub.add_parser("report", help="requested against used resources, per resource set; jobs "
                            "over memory or CPUs, or near their runtime",
                            description="Compare each resource set's request with what its jobs used "
                            "(peak memory and CPU from the resource monitor, run times), and list the jobs "
                            "that ran over memory or CPUs, or near or past their runtime.")
    server_arg(report)
    report.add_argument("workflow", type=int, help="workflow id")
    report.add_argument("--json", action="store_true", help="print JSON instead of tables")
    report.set_defaults(func=_report, default_log="WARNING")
    recover = sub.add_parser("recover", help="raise memory x1.5 for jobs killed out of memory and runtime "
                             "x1.5 for jobs that timed out, reset the failed jobs and restart",
                             description="torc's recovery: each job that failed out of memory (killed, "
                             "return code 137 or -9) gets a new resource set with 1.5x the memory, each "
                             "that timed out one with 1.5x the runtime; then the failed jobs are reset and "
                             "the workflow restarted. Prints every change.")
    server_arg(recover)
    recover.add_argument("workflow", type=int, help="workflow id")
    recover.add_argument("--dry-run", action="store_true", help="print the changes, make none")
    recover.set_defaults(func=_recover, default_log="WARNING")


def _uses(stubs, wf: int) -> tuple[list, list[usage.JobUse]]:
    jobs = commands.list_jobs(stubs, wf, [])
    return jobs, usage.job_uses(jobs, commands.list_results(stubs, wf, False))


def _report(args: argparse.Namespace) -> int:
    stubs = commands.connect(args.server, client_auth(args))
    _jobs, uses = _uses(stubs, args.workflow)
    sets = usage.by_resource_set(uses)
    flagged = [{"job_id": u.job_id, "job_name": u.name, "resource_set": u.resource_set, "status": u.status,
                "flags": usage.flags(u)} for u in uses if usage.flags(u)]
    if args.json:
        print(json.dumps({"resource_sets": sets, "flagged": flagged}, indent=2))
        return 0
    print(commands.table(
        ["resource_set", "jobs", "reported", "cpus", "peak_cpu_%", "memory", "peak_memory", "runtime",
         "max_exec_s", "flagged"],
        [[s["resource_set"], s["jobs"], s["reported"], s["num_cpus"], s["peak_cpu_percent"],
          format_bytes(s["memory_bytes"]), format_bytes(s["peak_memory_bytes"]),
          f"{s['runtime_seconds']:.0f} s", s["max_exec_time_seconds"], s["flagged"]] for s in sets]))
    if flagged:
        print()
        print(commands.table(["job_id", "job_name", "resource_set", "status", "flags"],
                             [[f["job_id"], f["job_name"], f["resource_set"], f["status"], "; ".join(f["flags"])]
                              for f in flagged]))
    return 0


def _recover(args: argparse.Namespace) -> int:
    stubs = commands.connect(args.server, client_auth(args))
    wf = args.workflow
    jobs, uses = _uses(stubs, wf)
    sets = {j.resource_requirements.name or "default": j.resource_requirements for j in jobs}
    run_id = commands.status_counts(stubs, wf).run_id
    plan = usage.recovery_plan(uses, sets, set(sets), run_id)
    if not plan:
        failed = sum(1 for u in uses if u.status in ("failed", "terminated"))
        print(f"workflow {wf}: nothing to recover ({failed} failed or terminated jobs, none out of memory "
              "or out of time)")
        return 0
    for fix in plan:
        names = ", ".join(fix.job_names[:5]) + (f" and {len(fix.job_names) - 5} more" if len(fix.job_names) > 5
                                                  else "")
        print(f"{fix.reason}: {len(fix.job_ids)} job{'s' if len(fix.job_ids) != 1 else ''} ({names}): "
              f"{fix.resource} {fix.old} -> {fix.new} (resource set {fix.new_set!r}, was {fix.resource_set!r})")
        if not args.dry_run:
            stubs.job.UpdateJobResources(jpb.UpdateJobResourcesRequest(
                workflow_id=wf, job_ids=list(fix.job_ids),
                resource_requirements=usage.new_resources(fix, sets[fix.resource_set])), timeout=60)
    if args.dry_run:
        print("dry run: nothing changed")
        return 0
    reset = stubs.workflow.ResetJobStatus(wpb.ResetJobStatusRequest(workflow_id=wf, failed_only=True),
                                          timeout=300).updated_count
    started = commands.start(stubs, wf)
    print(f"workflow {wf}: {reset} jobs reset; run {started.run_id} started, {started.num_ready} ready")
    return 0
