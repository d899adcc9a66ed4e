"""Running jobs: spawn each as a shell process in its own session with torc's
environment and per-attempt output files, reap it on a thread, signal it,
and check what it declared it would write."""

from __future__ import annotations

import logging
import os
import queue
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

from torc_core.resources import Capacity

from .._pb import common_pb2
from .config import StopReason, WorkerConfig

log = logging.getLogger("torc_grpc.worker")

#: Longest a recovery script may run.
RECOVERY_TIMEOUT = 300.0


@dataclass(frozen=True)
class Finished:
    """A job's process ended."""

    job_id: int
    return_code: int


@dataclass(frozen=True)
class Stop:
    """The stream or the heartbeat said the worker must stop."""

    reason: StopReason


@dataclass(frozen=True)
class News:
    """The server said jobs became ready (or the stream reconnected)."""


Message = Union[Finished, Stop, News]


@dataclass
class RunningJob:
    job: common_pb2.Job
    proc: subprocess.Popen
    started: float
    stderr_path: str


def job_need(job: common_pb2.Job) -> Capacity:
    rr = job.resource_requirements.resources
    return Capacity(rr.num_cpus, rr.memory_bytes, rr.num_gpus, rr.num_nodes)


class Processes:
    """The jobs this worker runs; their ends arrive in `inbox` as Finished."""

    def __init__(self, config: WorkerConfig, inbox: "queue.SimpleQueue[Message]") -> None:
        self.config = config
        self.inbox = inbox
        #: job id -> the running process.
        self.running: dict[int, RunningJob] = {}
        #: Jobs killed on purpose (end time): reported TERMINATED.
        self.terminating: set[int] = set()

    def free(self) -> Capacity:
        """The node's capacity less what the running jobs take (the one resource rule)."""
        cfg = self.config
        free = Capacity(cfg.num_cpus, cfg.memory_bytes, cfg.num_gpus, cfg.num_nodes)
        for r in self.running.values():
            free = free.minus(job_need(r.job))
        return free.clamped()

    def spawn(self, job: common_pb2.Job, started: common_pb2.Job, run_id: int, node: int) -> None:
        out = Path(self.config.output_dir)
        stem = f"job_{job.id}_{run_id}_{started.attempt_id}"
        env = {**os.environ, **dict(job.env), "TORC_WORKFLOW_ID": str(self.config.workflow_id),
               "TORC_JOB_ID": str(job.id), "TORC_JOB_NAME": job.name, "TORC_RUN_ID": str(run_id),
               "TORC_ATTEMPT_ID": str(started.attempt_id), "TORC_COMPUTE_NODE_ID": str(node),
               "TORC_OUTPUT_DIR": str(out)}
        command = f"{job.invocation_script} {job.command}".strip()
        with open(out / f"{stem}.o", "wb") as stdout, open(out / f"{stem}.e", "wb") as stderr:
            proc = subprocess.Popen(command, shell=True, stdout=stdout, stderr=stderr, env=env,
                                    start_new_session=True)
        self.running[job.id] = RunningJob(started, proc, time.time(), str(out / f"{stem}.e"))
        threading.Thread(target=self._reap, args=(job.id, proc), daemon=True).start()

    def _reap(self, job_id: int, proc: subprocess.Popen) -> None:
        self.inbox.put(Finished(job_id, proc.wait()))

    @staticmethod
    def signal(proc: subprocess.Popen, sig: int) -> None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass

    def terminate_all(self, grace: float) -> list[Finished]:
        """SIGTERM the jobs that support it, SIGKILL the others (and whoever
        outlives `grace`); returns their ends, reported TERMINATED."""
        for job_id, r in self.running.items():
            self.terminating.add(job_id)
            self.signal(r.proc, signal.SIGTERM if r.job.supports_termination else signal.SIGKILL)
        end = time.monotonic() + grace
        for r in list(self.running.values()):
            try:
                r.proc.wait(max(0.0, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.signal(r.proc, signal.SIGKILL)
        done: list[Finished] = []
        while len(done) < len(self.running):
            item = self.inbox.get(timeout=30)
            if isinstance(item, Finished):
                done.append(item)
        return done

    def kill_all(self) -> None:
        for r in self.running.values():
            self.signal(r.proc, signal.SIGKILL)

    def missing_outputs(self, r: RunningJob) -> list[str]:
        """Declared output files the job did not write (logged to its stderr file)."""
        missing = [p for p in r.job.output_file_paths if not os.path.exists(p)]
        if missing:
            log.warning("job %d (%s) exited 0 but did not write %s: reported FAILED", r.job.id,
                        r.job.name, ", ".join(missing))
            with open(r.stderr_path, "a") as err:
                err.write(f"torc-grpc worker: missing output files: {', '.join(missing)}\n")
        return missing

    def recover(self, job: common_pb2.Job, rc: int, script: str) -> Optional[int]:
        """Run a failure handler's recovery script (torc: a failure is only
        logged); returns its exit status (None when it timed out)."""
        env = {**os.environ, **dict(job.env), "TORC_WORKFLOW_ID": str(self.config.workflow_id),
               "TORC_JOB_ID": str(job.id), "TORC_JOB_NAME": job.name,
               "TORC_API_URL": self.config.target, "TORC_OUTPUT_DIR": self.config.output_dir,
               "TORC_ATTEMPT_ID": str(job.attempt_id), "TORC_RETURN_CODE": str(rc)}
        try:
            done = subprocess.run(script, shell=True, env=env, capture_output=True,
                                  timeout=RECOVERY_TIMEOUT)
        except subprocess.TimeoutExpired:
            log.warning("job %d: recovery script timed out after %.0f s", job.id, RECOVERY_TIMEOUT)
            return None
        if done.returncode != 0:
            log.warning("job %d: recovery script exited %d: %s", job.id, done.returncode,
                        done.stderr.decode(errors="replace")[-500:])
        return done.returncode
