"""`serve --slurm`: the settings of the server's Slurm allocator and how it is
built once the server knows its port (torc_core/slurm/allocator.py)."""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import dataclass
from typing import Optional

from torc_core.engine import Engine
from torc_core.slurm.allocator import Allocator, AllocatorConfig
from torc_core.slurm.commands import SlurmCommands
from torc_core.slurm.models import DEFAULT_BACKLOG, DEFAULT_MAX_ALLOCATIONS
from torc_core.slurm.script import WorkerLaunch


@dataclass(frozen=True)
class SlurmOptions:
    """Attributes:
        server_address: host:port that workers on compute nodes dial
            (default: this host's name and the bound port).
        tls_ca: CA file workers verify the server's certificate with (TLS on).
        output_dir: Where allocations of workflows without an output_dir write.
        poll_seconds: Time between squeue passes.
        backlog, max_allocations: The allocator's bounds per scheduler
            (a scheduler's own keys win).
    """

    server_address: str = ""
    tls_ca: str = ""
    output_dir: str = "torc_output"
    poll_seconds: float = 2.0
    backlog: int = DEFAULT_BACKLOG
    max_allocations: int = DEFAULT_MAX_ALLOCATIONS


def check_slurm(options: Optional[SlurmOptions]) -> Optional[str]:
    """Why `serve --slurm` cannot start (None when it can)."""
    if options is None:
        return None
    missing = SlurmCommands.available()
    if missing:
        return f"--slurm needs Slurm's commands on PATH; missing: {missing}"
    if options.poll_seconds <= 0 or options.backlog < 0 or options.max_allocations < 0:
        return "--slurm-poll-seconds must be > 0, --slurm-backlog and --slurm-max-allocations >= 0"
    return None


def _address(host: str, port: int, given: str) -> str:
    if given:
        return given
    if host in ("", "0.0.0.0", "::", "[::]"):
        host = socket.getfqdn()
    return f"{host}:{port}"


def build_allocator(options: SlurmOptions, engine: Engine, host: str, port: int,
                    auth: bool) -> Allocator:
    launch = WorkerLaunch(command=(sys.executable, "-m", "torc_grpc.cli"),
                          server=_address(host, port, options.server_address), tls_ca=options.tls_ca)
    config = AllocatorConfig(launch=launch, output_dir=os.path.abspath(options.output_dir),
                             poll_seconds=options.poll_seconds, backlog=options.backlog,
                             max_allocations=options.max_allocations, worker_tokens=auth)
    return Allocator(engine, SlurmCommands(), config)
