"""The job runner (`torc-grpc worker`): claims ready jobs that fit this node,
runs them, reports back.

    config.py     WorkerConfig (resources, end time, behaviour), StopReason, WorkerSummary
    node.py       the compute node's session: calls retried across server
                  restarts, registration, heartbeats, adopting lost claims
    processes.py  running jobs: spawn with torc's env and output files, reap,
                  signal, recovery scripts, declared outputs
    loop.py       Worker: the loop that ties them together (claims in flight)
    ahead.py      claim-ahead for short jobs
    reports.py    what the next claim tells: starts and completions
    children.py   posix_spawn, and reaping through pidfds
    inbox.py      the loop's one place to wait: messages and children's pidfds
    monitor.py    the resource monitor (psutil), torc's resource_monitor
    actions.py    run_commands actions
    signals.py    SIGTERM/SIGINT: stop cleanly
"""

from .config import StopReason, WorkerConfig, WorkerSummary, detect_gpus, slurm_end_time
from .loop import Worker
from .signals import stop_on_signals

__all__ = ["StopReason", "Worker", "WorkerConfig", "WorkerSummary", "detect_gpus", "slurm_end_time", "stop_on_signals"]
