"""The batch script of an allocation: sbatch options from the scheduler (and
the workflow's slurm_defaults), then `torc-grpc worker`, one per node through
srun when asked (with torc's `srun --wait=0 --kill-on-bad-exit=0` lesson: one
worker that ends early must not take the others down)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from .models import SchedulerSpec, SlurmSettings

#: SchedulerSpec fields that are sbatch options of the same name.
_OPTIONS = (("account", "account"), ("partition", "partition"), ("mem", "mem"), ("gres", "gres"),
            ("qos", "qos"), ("tmp", "tmp"), ("ntasks_per_node", "ntasks-per-node"))


@dataclass(frozen=True)
class WorkerLaunch:
    """How a batch script reaches the server (the allocator's, for every workflow).

    Attributes:
        command: argv that runs the torc-grpc CLI on a compute node.
        server: Address workers dial (host:port reachable from compute nodes).
        tls_ca: CA file for the server's certificate ("" = plaintext).
    """

    command: tuple[str, ...]
    server: str
    tls_ca: str = ""


@dataclass(frozen=True)
class BatchRequest:
    """One allocation to write a script for."""

    workflow_id: int
    scheduler_id: int
    scheduler: SchedulerSpec
    settings: SlurmSettings
    output_dir: str
    start_one_worker_per_node: bool = False
    max_parallel_jobs: int = 0


def job_name(workflow_id: int, scheduler: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in scheduler)[:64]
    return f"torc_wf{workflow_id}_{safe}"


def sbatch_options(a: BatchRequest) -> list[str]:
    """Every #SBATCH option, in order: ours, the scheduler's, slurm_defaults it does not set, extra."""
    s = a.scheduler
    opts = [f"--job-name={job_name(a.workflow_id, s.name)}", f"--nodes={s.nodes}",
            f"--time={s.walltime}", f"--chdir={a.output_dir}",
            f"--output={a.output_dir}/slurm_wf{a.workflow_id}_%j.o",
            f"--error={a.output_dir}/slurm_wf{a.workflow_id}_%j.e"]
    given = {"job-name", "nodes", "time", "chdir", "output", "error"}
    for attr, option in _OPTIONS:
        value = getattr(s, attr)
        if value:
            opts.append(f"--{option}={value}")
            given.add(option)
    for option, value in sorted(a.settings.defaults.items()):
        option = option.lstrip("-").replace("_", "-")
        if option not in given:
            opts.append(f"--{option}={value}" if value != "" else f"--{option}")
    opts.extend(shlex.split(s.extra))
    return opts


def worker_argv(a: BatchRequest, launch: WorkerLaunch) -> list[str]:
    argv = [*launch.command, "worker", "--workflow", str(a.workflow_id), "--server", launch.server,
            "--scheduler-config-id", str(a.scheduler_id), "--strict-scheduler-match",
            "--output-dir", a.output_dir,
            "--idle-timeout", f"{a.settings.wait_for_new_jobs_seconds:g}",
            "--termination-margin", f"{a.settings.expiration_buffer_seconds:g}",
            "--on-signal", "release"]
    if a.max_parallel_jobs:
        argv += ["--max-parallel-jobs", str(a.max_parallel_jobs)]
    if launch.tls_ca:
        argv += ["--tls-ca", launch.tls_ca]
    return argv


def render(a: BatchRequest, launch: WorkerLaunch) -> str:
    """The script text (sent to sbatch on stdin). The worker token, when auth
    is on, comes through sbatch's environment, never through the script."""
    options = sbatch_options(a)
    if any("\n" in o or "\r" in o for o in options):
        raise ValueError("an sbatch option has a line break")  # refused at submit; never rendered
    lines = ["#!/bin/bash"]
    lines += [f"#SBATCH {shlex.quote(o)}" for o in options]
    lines += ["# Written by the torc-grpc allocator (docs/slurm.md).", "set -u"]
    argv = " ".join(shlex.quote(x) for x in worker_argv(a, launch))
    if a.start_one_worker_per_node and a.scheduler.nodes > 1:
        # Per-node memory variables would make srun refuse when they disagree with the step.
        lines += ["unset SLURM_MEM_PER_CPU SLURM_MEM_PER_GPU SLURM_MEM_PER_NODE",
                  f"exec srun --wait=0 --kill-on-bad-exit=0 --ntasks-per-node=1 --nodes={a.scheduler.nodes} "
                  f"{argv}"]
    else:
        lines.append(f"exec {argv}")
    return "\n".join(lines) + "\n"


