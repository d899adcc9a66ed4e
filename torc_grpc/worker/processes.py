"""Running jobs: spawn each as a shell process in its own session with torc's
environment and per-attempt output files (children.py: posix_spawn, one
reaped by the loop's own thread through the inbox), signal it, and check
what it declared it would write."""

from __future__ import annotations

import logging
import os
import queue
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import Optional, Union

from torc_core.resources import Capacity

from .._pb import common_pb2
from .children import Child, Reaper, spawn_shell
from .config import StopReason, WorkerConfig
from .inbox import Inbox
from .monitor import Monitor

log = logging.getLogger("torc_grpc.worker")

#: Longest a recovery script may run.
RECOVERY_TIMEOUT = 300.0
#: Return code reported for a job the worker could not start (the shell's
#: "cannot execute"); the reason is in the result's error and the stderr file.
CANNOT_START = 126
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class Finished:
    """A job's process ended (or never started: then `error` says why)."""

    job_id: int
    return_code: int
    error: str = ""
    #: Held back a moment before it was reported (the worker's release mode).
    held: bool = False


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
    #: None when the job could not be started.
    proc: Optional[Child]
    started: float
    stderr_path: str
    #: The run it was started in (what its completion names).
    run_id: int = 0
    #: What it takes of the node (read once from the job: free() runs several times a job).
    need: Optional[Capacity] = None

    def __post_init__(self) -> None:
        if self.need is None:
            self.need = job_need(self.job)


def job_need(job: common_pb2.Job) -> Capacity:
    rr = job.resource_requirements.resources
    return Capacity(rr.num_cpus, rr.memory_bytes, rr.num_gpus, rr.num_nodes)


class Processes:
    """The jobs this worker runs; their ends arrive in `inbox` as Finished."""

    def __init__(self, config: WorkerConfig, inbox: Optional[Inbox]) -> None:
        self.config = config
        self.inbox = inbox
        #: job id -> the running process.
        self.running: dict[int, RunningJob] = {}
        #: Jobs killed on purpose (end time): reported TERMINATED.
        self.terminating: set[int] = set()
        #: Jobs killed because the server took them away: not reported.
        self.abandoned: set[int] = set()
        #: pid -> job id of the running children.
        self._jobs_of: dict[int, int] = {}
        self._reaper = Reaper(self._exited, inbox)
        #: Samples the running jobs' process trees (configured at registration).
        self.monitor = Monitor()
        #: This process's environment, copied once (each job adds its own on top).
        self._base_env = dict(os.environ)

    def free(self) -> Capacity:
        """The node's capacity less what the running jobs take (the one resource rule)."""
        cfg = self.config
        free = Capacity(cfg.num_cpus, cfg.memory_bytes, cfg.num_gpus, cfg.num_nodes)
        for r in self.running.values():
            free = free.minus(r.need)
        return free.clamped()

    def spawn(self, job: common_pb2.Job, started: common_pb2.Job, run_id: int, node: int) -> None:
        """Start the job's shell process. A job that cannot be started (bad
        environment, NUL byte, missing shell, fork failure, unwritable output
        dir) ends at once as Finished(CANNOT_START, error): its content never
        kills the worker."""
        out = os.fspath(self.config.output_dir)  # strings: pathlib cost ~9% of the worker's GIL time here
        stem = f"job_{job.id}_{run_id}_{started.attempt_id}"
        stderr_path = os.path.join(out, f"{stem}.e")
        try:
            env = self._environment(job, started, run_id, node, out)
            command = f"{job.invocation_script} {job.command}".strip()
            if "\x00" in command:
                raise ValueError("the command contains a NUL byte")
            proc = spawn_shell(command, env, os.path.join(out, f"{stem}.o"), stderr_path)
        except (OSError, ValueError) as exc:
            self._not_started(job, started, stderr_path, f"{type(exc).__name__}: {exc}", run_id)
            return
        self.running[job.id] = RunningJob(started, proc, time.time(), stderr_path, run_id)
        self._jobs_of[proc.pid] = job.id
        self._reaper.watch(proc)
        self.monitor.watch(job.id, proc.pid)
        log.debug("job %d (%s) attempt %d started: pid %d, output %s.o/.e", job.id, job.name,
                  started.attempt_id, proc.pid, stem)

    def _environment(self, job: common_pb2.Job, started: common_pb2.Job, run_id: int, node: int,
                     out: str) -> dict[str, str]:
        for key, value in job.env.items():
            if not _ENV_NAME.match(key):
                raise ValueError(f"environment variable name {key[:40]!r} is not valid")
            if "\x00" in value:
                raise ValueError(f"environment variable {key} contains a NUL byte")
        return {**self._base_env, **dict(job.env), "TORC_WORKFLOW_ID": str(self.config.workflow_id),
                "TORC_JOB_ID": str(job.id), "TORC_JOB_NAME": job.name, "TORC_RUN_ID": str(run_id),
                "TORC_ATTEMPT_ID": str(started.attempt_id), "TORC_COMPUTE_NODE_ID": str(node),
                "TORC_OUTPUT_DIR": out}

    def _not_started(self, job: common_pb2.Job, started: common_pb2.Job, stderr_path: str,
                     reason: str, run_id: int = 0) -> None:
        reason = f"torc-grpc worker could not start job {job.id} ({job.name}): {reason}"[:4000]
        log.warning("%s", reason)
        try:
            with open(stderr_path, "a") as err:
                err.write(reason + "\n")
        except OSError:  # the output dir itself may be the problem; the result has the reason
            pass
        self.running[job.id] = RunningJob(started, None, time.time(), stderr_path, run_id)
        self.inbox.put(Finished(job.id, CANNOT_START, reason))

    def _exited(self, child: Child) -> None:
        """A child ended (called on the inbox's reading thread)."""
        self.inbox.put(Finished(self._jobs_of.pop(child.pid), child.returncode))

    @staticmethod
    def signal(proc: Optional[Child], sig: int) -> None:
        if proc is None:
            return
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def terminate_all(self, grace: float) -> list[Finished]:
        """SIGTERM the jobs that support it, SIGKILL the others (and whoever
        outlives `grace`); returns their ends, reported TERMINATED."""
        for job_id, r in self.running.items():
            if r.proc is None:
                continue  # never started: reported with its error
            self.terminating.add(job_id)
            self.signal(r.proc, signal.SIGTERM if r.job.supports_termination else signal.SIGKILL)
        done: list[Finished] = []
        self._collect(done, time.monotonic() + grace)
        for r in self.running.values():
            if r.proc is not None and r.proc.returncode is None:
                self.signal(r.proc, signal.SIGKILL)  # a straggler
        self._collect(done, time.monotonic() + 30)
        return done

    def _collect(self, done: list[Finished], deadline: float) -> None:
        """Ends from the inbox into `done` until every running job has one or the deadline."""
        while len(done) < len(self.running) and time.monotonic() < deadline:
            try:
                item = self.inbox.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                return
            if isinstance(item, Finished):
                done.append(item)

    def abandon(self, job_id: int) -> None:
        """The server no longer gives this job to the node: kill it, never report it."""
        r = self.running.get(job_id)
        if r is not None:
            self.abandoned.add(job_id)
            self.signal(r.proc, signal.SIGKILL)  # None (never started): its Finished is on the way

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
